"""Typed, structured IR: one frozen dataclass per node kind.

Contract: the frontend produces a :class:`Program` whose every expression
carries its final :class:`~hybridjit.types.Type` and every node a
:class:`SourceLoc`.  Implicit conversions are explicit :class:`Cast` nodes, so
the operands of a :class:`BinOp` already have the node's type (comparison
operands share a common type; shift operands keep their own integer types).
Control flow stays structured (``For``/``While``/``If`` with bodies as tuples
of statements): loop nests are what every analysis reasons about.

Decisions made by analyses travel as annotations on nodes (``For.parallel``,
``Load.wrap``), set by passes that return new trees; emitters only print them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UNKNOWN_LOC, SourceLoc
from ..types import BOOL, NONE, PY_INT, Array, Scalar, Type


class Node:
    """Base of every IR node (expressions, statements, functions)."""

    __slots__ = ()
    loc: SourceLoc


class Expr(Node):
    __slots__ = ()
    type: Type


class Stmt(Node):
    __slots__ = ()


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Const(Expr):
    value: Any  # bool | int | float; a complex for the complex types
    type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Var(Expr):
    name: str
    type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class BinOp(Expr):
    """Arithmetic/bitwise op; ``op`` is one of + - * / // % ** & | ^ << >>.

    ``python_zero_div`` marks an operation on two Python (weak) numbers, which
    raises ZeroDivisionError on a zero divisor as CPython does; NumPy-typed
    operations follow NumPy (inf/nan for floats, 0 for integers).
    """

    op: str
    left: Expr
    right: Expr
    type: Type
    python_zero_div: bool = False
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


def binop_may_raise(e: BinOp) -> str | None:
    """Why evaluating ``e`` may raise (CPython's or NumPy's exception), or
    None: division, floor division and modulo of Python numbers by zero,
    Python float powers (zero to a negative power, a complex result,
    overflow), Python int shifts by a negative count, integer powers with a
    negative exponent."""
    if e.python_zero_div and e.op in ("/", "//", "%"):
        return "divides Python numbers that may raise ZeroDivisionError"
    if e.op == "**" and isinstance(e.type, Scalar) and e.type.is_int:
        return "raises an integer to a power that may be negative"
    if e.python_zero_div and e.op == "**":
        return "raises a Python float to a power, which may raise"
    if e.python_zero_div and e.op in ("<<", ">>"):
        return "shifts a Python int by a count that may be negative"
    return None


@dataclass(frozen=True, slots=True)
class UnaryOp(Expr):
    """``op`` is one of: neg, pos, not, invert."""

    op: str
    operand: Expr
    type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    """A single comparison (chains are lowered to ``and`` of these)."""

    op: str  # < <= > >= == !=
    left: Expr
    right: Expr
    type: Type = BOOL
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class BoolOp(Expr):
    """Short-circuit ``and``/``or``; values are cast to ``type``.

    With a non-bool type the value is Python's: ``a or b`` is ``a`` if ``a`` is
    truthy, else ``b``.  Operands are side-effect free (the frontend checks).
    """

    op: str  # and | or
    values: tuple[Expr, ...]
    type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class IfExp(Expr):
    test: Expr
    body: Expr
    orelse: Expr
    type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Cast(Expr):
    """Conversion of ``value`` to ``type``.

    ``check`` says what may raise, as CPython/NumPy raise for that conversion:
    ``""`` nothing (C conversion; NumPy wraps integers);
    ``"pyint"`` a Python int narrowed to a NumPy integer type raises
    OverflowError when it does not fit (NEP 50);
    ``"int"`` a float converted as Python's ``int()`` raises ValueError for
    NaN and OverflowError for infinities and values the type cannot hold;
    ``"u64"`` a NumPy uint64 becoming a Python int raises OverflowError
    beyond 2**63 - 1 (hybridjit's Python ints are 64-bit).
    """

    value: Expr
    type: Type
    check: str = ""
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Load(Expr):
    """``array[indices]`` reading one element; indices are int64 expressions.

    ``wrap[d]`` is True where the index may be negative and must wrap around
    by the extent (a pass clears it where the index is provably >= 0).
    """

    array: Var
    indices: tuple[Expr, ...]
    type: Type
    wrap: tuple[bool, ...] = ()
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Shape(Expr):
    """``array.shape[dim]``: a Python int."""

    array: Var
    dim: int
    type: Type = PY_INT
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Intrinsic(Expr):
    """A built-in operation with fixed semantics, e.g. sqrt, exp, min, max,
    abs, floor, round, isnan; argument types are final (cast by the frontend)."""

    name: str
    args: tuple[Expr, ...]
    type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """Call of another compiled function of the program (by its symbol)."""

    func: str
    args: tuple[Expr, ...]
    type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class MakeTuple(Expr):
    items: tuple[Expr, ...]
    type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class TupleItem(Expr):
    value: Expr
    index: int
    type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Let(Expr):
    """``body`` with ``name`` bound to ``value``, which is evaluated once,
    before ``body``.  Used where Python evaluates an operand with side
    effects (a call) once but the IR reads it twice: the middle of
    ``a < f(x) < b``, the first operand of a value-returning ``f(x) or b``.
    ``name`` is local to this expression, not a variable of the function."""

    name: str
    value: Expr
    body: Expr
    type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class BoundCheck(Expr):
    """``value`` (a read of ``name``), raising UnboundLocalError when the
    bool variable ``flag`` (set wherever ``name`` is assigned) is false.
    Inserted where definite assignment cannot prove ``name`` assigned; as a
    statement (``ExprStmt``) for array variables, whose reads are not
    expressions of their own."""

    flag: Var
    name: str
    value: Expr
    type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Static(Expr):
    """A compile-time Python object given to a function that takes one (a
    dtype such as ``np.float32``, a string): handlers consume it; one left in
    the IR is an error at its line."""

    value: object
    type: Type = NONE
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Alloc(Expr):
    """A new NumPy array: kind is empty | zeros | ones | full."""

    kind: str
    shape: tuple[Expr, ...]
    fill: Expr | None
    type: Array
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


# ----------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Assign(Stmt):
    target: str
    value: Expr
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Store(Stmt):
    array: Var
    indices: tuple[Expr, ...]
    value: Expr
    wrap: tuple[bool, ...] = ()
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class ExprStmt(Stmt):
    value: Expr
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class If(Stmt):
    test: Expr
    body: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...]
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Reduction:
    """A scalar reduction of a parallel loop: ``var`` combined with ``op``
    (one of + * min max)."""

    var: str
    op: str


@dataclass(frozen=True, slots=True)
class ArgReduce:
    """``if d < best: best = d; k = c``: ``var`` reduced with ``op`` (min/max),
    the ``index_vars`` carried along; ``strict`` (< or >) keeps the earliest."""

    var: str
    index_vars: tuple[str, ...]
    op: str
    strict: bool


@dataclass(frozen=True, slots=True)
class ValueGuard:
    """A run-time test on data that a loop's parallel execution depends on.

    ``value`` (loop-invariant, evaluated once before the loop starts) must
    pass ``test``: "nonneg" (not below zero; NaN passes), "nonpos" (not above
    zero) or "zero".  When it fails, or an index in ``value`` is out of
    bounds, the loop runs serially.  ``why`` says what it protects, for
    ``explain``.
    """

    value: Expr
    test: str
    why: str


@dataclass(frozen=True, slots=True)
class ParallelInfo:
    """How a loop runs in parallel: its private scalars and reductions.

    ``source`` says why: "prange" (the user asserted it) or "auto" (proven).
    ``region`` is the id of the offloadable region when the loop is the
    outermost loop of one, else None.
    """

    private: tuple[str, ...]
    reductions: tuple[Reduction, ...]
    source: str = "prange"
    region: int | None = None
    #: private variables whose value after the loop is the last iteration's
    lastprivate: tuple[str, ...] = ()
    arg_reductions: tuple[ArgReduce, ...] = ()
    #: run in parallel only when the trip count reaches this (0: always)
    min_trip: int = 0
    #: array variables that may share memory: run serially if they overlap
    distinct: tuple[tuple[str, str], ...] = ()
    #: pairs of ``distinct`` that may also be the very same view (same start,
    #: shape and strides: the loop stays parallel when they are)
    identical_ok: tuple[tuple[str, str], ...] = ()
    #: tests on data that must pass for the loop to run in parallel
    guards: tuple[ValueGuard, ...] = ()


@dataclass(frozen=True, slots=True)
class For(Stmt):
    """``for var in range(start, stop, step)``; ``loop_id`` is unique in the
    program; ``parallel`` is set by analysis for loops that run in parallel."""

    var: str
    start: Expr
    stop: Expr
    step: Expr
    body: tuple[Stmt, ...]
    is_prange: bool
    loop_id: int
    parallel: ParallelInfo | None = None
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)
    #: reductions the loop may reassociate to use vector instructions (NumPy's
    #: own sums are pairwise: no order is the program's); set by array lowering
    simd: tuple[Reduction, ...] = ()


@dataclass(frozen=True, slots=True)
class While(Stmt):
    test: Expr
    body: tuple[Stmt, ...]
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Break(Stmt):
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Continue(Stmt):
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


@dataclass(frozen=True, slots=True)
class Return(Stmt):
    value: Expr | None
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)


# ------------------------------------------------------------------ functions


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: Type


@dataclass(frozen=True, slots=True)
class Function:
    """One specialised function. ``locals`` maps every variable (parameters
    included) to its single type; ``symbol`` is its unique C name."""

    name: str
    symbol: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    locals: tuple[tuple[str, Type], ...]
    return_type: Type
    loc: SourceLoc = field(default=UNKNOWN_LOC, compare=False)

    def local_types(self) -> dict[str, Type]:
        return dict(self.locals)


@dataclass(frozen=True, slots=True)
class Program:
    """The entry function and every function it calls (callees first)."""

    entry: Function
    callees: tuple[Function, ...] = ()

    def functions(self) -> tuple[Function, ...]:
        return (*self.callees, self.entry)


def is_array(t: Type) -> bool:
    return isinstance(t, Array)


def is_scalar(t: Type) -> bool:
    return isinstance(t, Scalar)
