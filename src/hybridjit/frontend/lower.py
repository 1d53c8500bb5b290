"""Lowering: a Python function's AST + argument types -> typed IR.

Contract: :func:`lower_program` turns the entry function and, transitively,
every plain Python function it calls into an :class:`~hybridjit.ir.Program`.
Types are inferred by running the statement lowering to a fixpoint: a
variable's type is the promotion (:func:`~hybridjit.types.unify`) of every
value assigned to it, so a loop that changes a variable's type is seen on the
next round.  The final round builds the IR with explicit casts.  Anything
outside the supported subset raises a HybridJitError at the user's line.
Globals are resolved once, at compile time; each resolution is recorded in
``Context.assumptions`` so the disk cache can check them on load.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import types as pytypes
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cache_key import fingerprint
from ..errors import (
    HybridJitError,
    NameResolutionError,
    ShapeError,
    SourceLoc,
    TypingError,
    UnsupportedError,
)
from ..ir.arrays import ArrayStore, ArrayView, LibraryCall, SliceDim
from ..ir.nodes import (
    Assign,
    Break,
    Call,
    Const,
    Continue,
    Expr,
    ExprStmt,
    For,
    Function,
    If,
    Load,
    MakeTuple,
    Param,
    Program,
    Return,
    Shape,
    Static,
    Stmt,
    Store,
    TupleItem,
    Var,
    While,
)
from ..ir.visit import walk, walk_all
from ..types import (
    INT64,
    NONE,
    PY_BOOL,
    PY_COMPLEX,
    PY_FLOAT,
    PY_INT,
    Array,
    Scalar,
    Tuple,
    Type,
    scalar_of_dtype,
    unify,
)
from . import complexes, exprs, fancy, inline, iterate, library, masks, views, words
from .arrayfuncs import METHODS
from .arrayops import has_array, lift
from .builtins import CONSTANTS, ELEMENTWISE, HANDLERS, CallSite
from .coerce import INT64_MAX, INT64_MIN, cast, fits, int_of_float, truth
from .source import ParsedFunction, parse_function, signature_error


class _Pending(Exception):
    """A variable read before any type is known for it (earlier rounds only)."""


@dataclass
class Options:
    fastmath: bool = False
    boundscheck: bool = False


@dataclass
class Context:
    """State shared by every function lowered for one program."""

    options: Options
    functions: dict[tuple[Any, tuple[Type, ...]], Function] = field(default_factory=dict)
    order: list[Function] = field(default_factory=list)
    active: list[Any] = field(default_factory=list)
    assumptions: dict[tuple[str, str], str] = field(default_factory=dict)
    #: helpers lowered into their callers (inline.py), not compiled on their own
    inlined: set[str] = field(default_factory=set)
    loop_counter: int = 0
    symbol_counter: int = 0

    def new_loop_id(self) -> int:
        self.loop_counter += 1
        return self.loop_counter


def lower_program(pyfunc: Any, arg_types: tuple[Type, ...], options: Options) -> tuple[
    Program, Context
]:
    ctx = Context(options)
    entry = _lower_function(ctx, pyfunc, arg_types, is_entry=True)
    helpers = tuple(f for f in ctx.order if f is not entry and f.symbol not in ctx.inlined)
    return Program(entry, helpers), ctx


def _lower_function(ctx: Context, pyfunc: Any, arg_types: tuple[Type, ...], is_entry: bool,
                    call_loc: SourceLoc | None = None) -> Function:
    key = (pyfunc, arg_types)
    if key in ctx.functions:
        return ctx.functions[key]
    if pyfunc in ctx.active:
        raise UnsupportedError(
            f"recursive call of {pyfunc.__name__}() is not supported",
            call_loc,
            hint="rewrite the recursion as a loop",
        )
    parsed = parse_function(pyfunc)
    ctx.active.append(pyfunc)
    try:
        symbol = "hj_entry" if is_entry else f"hj_f{ctx.symbol_counter}_{pyfunc.__name__}"
        ctx.symbol_counter += 1
        fn = FunctionLowerer(ctx, parsed, arg_types, symbol, is_entry).run()
    finally:
        ctx.active.pop()
    ctx.functions[key] = fn
    ctx.order.append(fn)
    return fn


class FunctionLowerer:
    """Lowers one function; ``run`` iterates rounds until the types settle."""

    def __init__(self, ctx: Context, parsed: ParsedFunction, arg_types: tuple[Type, ...],
                 symbol: str, is_entry: bool):
        self.ctx = ctx
        self.parsed = parsed
        self.tree = parsed.tree
        self.symbol = symbol
        self.is_entry = is_entry
        self.globals: dict[str, Any] = parsed.pyfunc.__globals__
        self.module_name: str = parsed.pyfunc.__module__ or "__main__"
        self.arg_types = arg_types
        self.param_names = self._param_names()
        self.local_names = _assigned_names(self.tree) | set(self.param_names)
        self.var_types: dict[str, Type] = {}
        self.return_type: Type | None = None
        self.final = False
        self.parallel_depth = 0
        self.loop_depth = 0
        self.temp_counter = 0
        self.pending = False
        #: statements to run before the current one (values hoisted from it)
        self.pre: list[Stmt] = []
        #: >0 while lowering an expression that may not be evaluated at all,
        #: or more than once (short-circuit operands, a while test)
        self.conditional = 0
        #: set when this lowers a helper's body into its caller (inline.py)
        self.inline_prefix = ""
        self.return_shape: object = None
        #: variables holding tuples of arrays: name -> number of items
        self.tuple_vars: dict[str, int] = {}
        #: an inlined helper's parameters that are the caller's variables
        self.aliases: dict[str, Var] = {}
        #: an inlined helper's parameters given compile-time values (dtypes)
        self.static_args: dict[str, Any] = {}

    def share_state(self, caller: FunctionLowerer, prefix: str) -> None:
        """Lower into ``caller``: its variables, temporaries and loop context."""
        self.var_types = caller.var_types
        self.tuple_vars = caller.tuple_vars
        self.temp_counter = caller.temp_counter
        self.final = caller.final
        self.parallel_depth = caller.parallel_depth
        self.loop_depth = caller.loop_depth
        self.inline_prefix = prefix

    def take_state(self, child: FunctionLowerer) -> None:
        """Back from lowering an inlined body."""
        self.temp_counter = child.temp_counter
        self.pending = self.pending or child.pending

    # ------------------------------------------------------------ driver

    def _param_names(self) -> list[str]:
        a = self.tree.args
        if a.vararg or a.kwarg or a.kwonlyargs:
            raise signature_error(self.parsed)
        names = [arg.arg for arg in (*a.posonlyargs, *a.args)]
        if len(names) != len(self.arg_types):
            raise TypingError(
                f"{self.tree.name}() takes {len(names)} arguments, got {len(self.arg_types)}",
                self.parsed.loc(self.tree),
            )
        return names

    def run(self) -> Function:
        for _ in range(30):
            before = (dict(self.var_types), self.return_type)
            self._reset_round()
            self.final = False
            self.pending = False
            self.lower_body(self.tree.body)
            if (dict(self.var_types), self.return_type) == before and not self.pending:
                break
        self._reset_round()
        self.final = True
        body = self.lower_body(self.tree.body)
        ret = self.return_type if self.return_type is not None else NONE
        params, entry = self._params()
        body = entry + body
        check_int_constants_in(body)
        return Function(
            self.tree.name, self.symbol, params, tuple(body),
            tuple(sorted(self.var_types.items())), ret, self.parsed.loc(self.tree),
        )

    def _params(self) -> tuple[tuple[Param, ...], list[Stmt]]:
        """The parameters, and the statements converting those whose
        variable holds a wider type than the argument (``x = 2.5`` later in
        a function given an int): the argument arrives under a name of its
        own, of its own type, and is converted as an assignment would be."""
        params: list[Param] = []
        entry: list[Stmt] = []
        loc = self.parsed.loc(self.tree)
        for name, t in zip(self.param_names, self.arg_types):
            local = self.var_types[name]
            if local == t or not isinstance(t, Scalar):
                params.append(Param(name, t))
                continue
            arg = ".p_" + name
            self.var_types[arg] = t
            params.append(Param(arg, t))
            entry.append(Assign(name, cast(Var(arg, t, loc), local), loc))
        return tuple(params), entry

    def _reset_round(self) -> None:
        for name, t in zip(self.param_names, self.arg_types):
            self.var_types[name] = unify(self.var_types.get(name, t), t) or t
        self.temp_counter = 0

    def loc(self, node: ast.AST) -> SourceLoc:
        return self.parsed.loc(node)

    # ------------------------------------------------------------ variables

    def new_temp(self) -> str:
        self.temp_counter += 1
        return f".t{self.temp_counter}"

    def new_let(self) -> str:
        """A name for a :class:`~hybridjit.ir.nodes.Let` binding."""
        self.temp_counter += 1
        return f".l{self.temp_counter}"

    def assign_type(self, name: str, t: Type, loc: SourceLoc) -> Type:
        old = self.var_types.get(name)
        if old is None:
            new: Type | None = t
        else:
            new = unify(old, t)
        if new is None:
            raise TypingError(
                f"variable '{inline.shown_name(name)}' is assigned a {t} here but holds a "
                f"{old} elsewhere",
                loc,
                hint="use a different variable name for values of different kinds",
            )
        if isinstance(new, Tuple) and any(isinstance(i, (Array, Tuple)) for i in new.items):
            raise UnsupportedError(
                f"variable '{inline.shown_name(name)}' would hold a tuple containing arrays or "
                "tuples",
                loc,
                hint="unpack the tuple into separate variables: a, b = ...",
            )
        self.var_types[name] = new
        return new

    def read_var(self, name: str, loc: SourceLoc) -> Var:
        t = self.var_types.get(name)
        if t is None:
            if not self.final:
                self.pending = True
                raise _Pending(name)
            raise NameResolutionError(
                f"variable '{inline.shown_name(name)}' is used before it is assigned", loc,
                hint="assign it on every path before this line",
            )
        return Var(name, t, loc)

    # ------------------------------------------------------------ statements

    def lower_body(self, stmts: list[ast.stmt]) -> list[Stmt]:
        out: list[Stmt] = []
        for s in stmts:
            try:
                out.extend(self.lower_stmt(s))
            except _Pending:
                if self.final:
                    raise
        return out

    def lower_stmt(self, s: ast.stmt) -> list[Stmt]:
        method = getattr(self, "stmt_" + type(s).__name__, None)
        if method is None:
            raise UnsupportedError(
                f"{words.construct(type(s))} are not supported in compiled code", self.loc(s),
                hint=words.hint_for(type(s), "rewrite it with loops and assignments"),
            )
        outer, self.pre = self.pre, []
        try:
            out = method(s)
            return [*self.pre, *out]
        finally:
            self.pre = outer

    def hoist(self, value: Expr, loc: SourceLoc) -> Var | None:
        """Evaluate ``value`` once, just before the current statement, when
        that is where Python evaluates it anyway; None when it is not."""
        if self.conditional:
            return None
        temp = self.new_temp()
        t = self.assign_type(temp, value.type, loc)
        self.pre.append(Assign(temp, cast(value, t), loc))
        return Var(temp, t, loc)

    def emit_before(self, stmt: Stmt) -> None:
        """A statement run just before the current one (a NumPy call's
        ``out=`` store), where Python evaluates the call."""
        if self.conditional:
            raise UnsupportedError(
                "out= is not supported where the call may not be evaluated (after and/or, in "
                "a conditional expression or a while test)", stmt.loc,
                hint="make the call a statement of its own")
        self.pre.append(stmt)

    def library_call(self, function: str, values: tuple[Expr, ...], names: tuple[str, ...],
                     items: tuple[Type, ...], loc: SourceLoc) -> Expr:
        """A NumPy function called just before the current statement (where
        Python calls it: its operands are evaluated there too), its result
        items in new variables; the expression standing for the result."""
        shown = library.shown(function)
        if self.parallel_depth:
            raise UnsupportedError(
                f"{shown}() cannot run inside a prange loop: it calls NumPy, which needs the "
                "Python interpreter", loc,
                hint="make this loop a plain range loop, or call it before the loop")
        if self.conditional:
            raise UnsupportedError(
                f"{shown}() is not supported where it may not be evaluated (after and/or, in "
                "a conditional expression or a while test)", loc,
                hint="assign its result to a variable in a statement of its own first")
        targets: list[str] = []
        scalar_items: list[bool] = []
        results: list[Expr] = []
        for t in items:
            temp = self.new_temp()
            targets.append(temp)
            if isinstance(t, Array):
                self.assign_type(temp, t, loc)
                results.append(Var(temp, t, loc))
                scalar_items.append(False)
                continue
            assert isinstance(t, Scalar)
            at = self.assign_type(temp, Array(t.strong(), 1, "C"), loc)
            results.append(Load(Var(temp, at, loc), (Const(0, INT64, loc),), t, (False,), loc))
            scalar_items.append(True)
        self.pre.append(LibraryCall(tuple(targets), function, values[:1], names[1:], values[1:],
                                    tuple(scalar_items), loc))
        if len(results) == 1:
            return results[0]
        return MakeTuple(tuple(results), Tuple(items), loc)

    def stmt_Pass(self, s: ast.Pass) -> list[Stmt]:
        return []

    def stmt_Expr(self, s: ast.Expr) -> list[Stmt]:
        if isinstance(s.value, ast.Constant) and isinstance(s.value.value, str):
            return []  # docstring
        v = s.value
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) \
                and v.func.attr == "fill" and not exprs.is_static_chain(self, v.func.value):
            target = self.lower_expr(v.func.value)
            if isinstance(target.type, Array) and len(v.args) == 1 and not v.keywords:
                return [self.array_store(target, self.lower_expr(v.args[0]), self.loc(s))]
        value = self.lower_expr(s.value)
        if isinstance(value, Static) and value.value is None:
            return []  # an inlined helper returning None: its body is the statement
        if isinstance(value.type, Array) and all(
                isinstance(n, (Var, Const, ArrayView, SliceDim)) or not isinstance(n, Expr)
                for n in walk(value)):
            return []  # (np.dot(a, b, out=c[1:]): the work is done before; the view unused)
        return [ExprStmt(value, self.loc(s))]

    def stmt_Assign(self, s: ast.Assign) -> list[Stmt]:
        if len(s.targets) == 1:
            return self.assign_to(s.targets[0], s.value, self.loc(s))
        value = self.lower_expr(s.value)
        temp = self.new_temp()
        self.assign_type(temp, value.type, self.loc(s))
        out: list[Stmt] = [Assign(temp, value, self.loc(s))]
        for tgt in s.targets:
            out.extend(self.assign_value(tgt, Var(temp, self.var_types[temp], value.loc),
                                         self.loc(s)))
        return out

    def stmt_AnnAssign(self, s: ast.AnnAssign) -> list[Stmt]:
        if s.value is None:
            return []
        return self.assign_to(s.target, s.value, self.loc(s))

    def assign_to(self, target: ast.expr, value_node: ast.expr, loc: SourceLoc) -> list[Stmt]:
        if isinstance(target, ast.Tuple) and isinstance(value_node, ast.Tuple):
            # a, b = b, a: evaluate every right-hand value before assigning any.
            if len(target.elts) != len(value_node.elts):
                raise TypingError("tuple unpacking with mismatched lengths", loc)
            out: list[Stmt] = []
            temps = []
            for v in value_node.elts:
                expr = self.lower_expr(v)
                temp = self.new_temp()
                self.assign_type(temp, expr.type, loc)
                out.append(Assign(temp, cast(expr, self.var_types[temp]), loc))
                temps.append(Var(temp, self.var_types[temp], loc))
            for tgt, tv in zip(target.elts, temps):
                out.extend(self.assign_value(tgt, tv, loc))
            return out
        if isinstance(target, ast.Subscript):
            mask = masks.mask_index(self, target)
            if mask is not None and not masks.is_mask(mask):
                return fancy.scatter(self, target, mask, value_node, None, loc)
            if mask is not None:  # (before the value: a[m] = b[m] reads b[m] as b)
                return masks.masked_store(self, target, mask, value_node, None, loc)
            mixed = fancy.mixed_index(self, target)
            if mixed is not None:
                return fancy.mixed_scatter(self, mixed, value_node, None, loc)
        return self.assign_value(target, self.lower_expr(value_node), loc)

    def assign_value(self, target: ast.expr, value: Expr, loc: SourceLoc) -> list[Stmt]:
        if isinstance(target, ast.Name) and isinstance(value, MakeTuple) \
                and any(isinstance(i.type, Array) for i in value.items):
            return self.assign_tuple_of_arrays(target.id, value, loc)
        if isinstance(target, ast.Name):
            # (an array variable assigned in a parallel loop must be private
            # to the iteration: the dependence analysis decides)
            t = self.assign_type(target.id, value.type, loc)
            return [Assign(target.id, cast(value, t), loc)]
        if isinstance(target, ast.Subscript):
            mask = masks.mask_index(self, target)
            if mask is not None and not masks.is_mask(mask):
                return fancy.scatter(self, target, mask, value, None, loc)
            if mask is not None:
                return masks.masked_store(self, target, mask, value, None, loc)
            mixed = fancy.mixed_index(self, target)
            if mixed is not None:
                return fancy.mixed_scatter(self, mixed, value, None, loc)
            dest = self.subscript_target(target)
            if isinstance(dest, Load):
                if not isinstance(value.type, Scalar):
                    raise TypingError(
                        f"cannot store a {value.type} into one element of "
                        f"{dest.array.type}", loc,
                        hint="index fewer dimensions (a row a[i] or a slice a[i, :]) to store "
                        "an array")
                elem = dest.type
                assert isinstance(elem, Scalar)
                first: list[Stmt] = []
                if exprs.calls(value) and any(
                        exprs.calls(i) or any(isinstance(n, Load) for n in walk(i))
                        for i in dest.indices):
                    # Python evaluates the value before the index: a helper
                    # it calls may write what the index reads (a[b[0]] = h(b))
                    temp = self.new_temp()
                    first.append(Assign(temp, value, loc))
                    value = Var(temp, self.assign_type(temp, value.type, loc), loc)
                return [*first, Store(dest.array, dest.indices, store_value(value, elem, loc),
                                      dest.wrap, loc)]
            first = []
            if exprs.calls(value) and any(isinstance(n, (Load, Call)) for n in walk(dest)):
                # (a row or a slice as the target: its indices too come after
                # the value, a[b[0]] = h(b) with a 2-D a)
                temp = self.new_temp()
                first.append(Assign(temp, value, loc))
                value = Var(temp, self.assign_type(temp, value.type, loc), loc)
            return [*first, self.array_store(dest, value, loc)]
        if isinstance(target, ast.Tuple):
            return self.unpack(target, value, loc)
        raise UnsupportedError(
            f"cannot assign to {type(target).__name__}", self.loc(target),
            hint="assign to a variable, an array element a[i, j], or a tuple of those",
        )

    def assign_tuple_of_arrays(self, name: str, value: MakeTuple, loc: SourceLoc) -> list[Stmt]:
        """``r = f(a)`` where f returns arrays: one variable per item
        (``.r_k0``, ``.r_k1`` ...), read back as a tuple display."""
        n = len(value.items)
        if self.tuple_vars.setdefault(name, n) != n or name in self.var_types:
            raise TypingError(
                f"variable '{inline.shown_name(name)}' holds tuples of different lengths or "
                "kinds", loc, hint="use a different variable name for each")
        temps = [self.new_temp() for _ in value.items]
        out: list[Stmt] = []
        for temp, item in zip(temps, value.items):  # every item before any is assigned
            out.append(Assign(temp, item, loc))
            self.assign_type(temp, item.type, loc)
        for k, (temp, item) in enumerate(zip(temps, value.items)):
            out += self.assign_value(ast.Name(f".{name}_k{k}", ast.Store()),
                                     Var(temp, item.type, loc), loc)
        return out

    def read_name(self, name: str, loc: SourceLoc) -> Expr:
        """A local variable's value (a tuple of arrays is read item by item;
        an inlined helper's parameter may be the caller's variable)."""
        alias = self.aliases.get(name)
        if alias is not None:
            return Var(alias.name, alias.type, loc)
        n = self.tuple_vars.get(name)
        if n is None:
            return self.read_var(name, loc)
        items = tuple(self.read_var(f".{name}_k{k}", loc) for k in range(n))
        return MakeTuple(items, Tuple(tuple(i.type for i in items)), loc)

    def unpack(self, target: ast.Tuple, value: Expr, loc: SourceLoc) -> list[Stmt]:
        if not isinstance(value.type, Tuple):
            raise TypingError(f"cannot unpack a {value.type}", loc)
        n = len(value.type.items)
        if n != len(target.elts):
            raise TypingError(
                f"cannot unpack {n} values into {len(target.elts)} targets", loc
            )
        out: list[Stmt] = []
        if isinstance(value, MakeTuple):
            items = list(value.items)
        else:
            temp = self.new_temp()
            self.assign_type(temp, value.type, loc)
            out.append(Assign(temp, value, loc))
            tv = Var(temp, value.type, loc)
            items = [TupleItem(tv, k, value.type.items[k], loc) for k in range(n)]
        if isinstance(value, MakeTuple) and len(items) > 1:
            temps = []
            for it in items:
                temp = self.new_temp()
                self.assign_type(temp, it.type, loc)
                out.append(Assign(temp, cast(it, self.var_types[temp]), loc))
                temps.append(Var(temp, self.var_types[temp], loc))
            items = list(temps)
        for tgt, it in zip(target.elts, items):
            out.extend(self.assign_value(tgt, it, loc))
        return out

    def stmt_AugAssign(self, s: ast.AugAssign) -> list[Stmt]:
        loc = self.loc(s)
        op = exprs.BINOPS.get(type(s.op))
        if op is None:
            raise UnsupportedError(f"{words.construct(type(s.op))} is not supported yet", loc,
                                   hint=words.hint_for(type(s.op), ""))
        if isinstance(s.target, ast.Subscript):
            mask = masks.mask_index(self, s.target)
            if mask is not None and not masks.is_mask(mask):
                return fancy.scatter(self, s.target, mask, s.value, op, loc)
            if mask is not None:  # (before the value: a[m] += b[m] reads b[m] as b)
                return masks.masked_store(self, s.target, mask, s.value, op, loc)
            mixed = fancy.mixed_index(self, s.target)
            if mixed is not None:
                return fancy.mixed_scatter(self, mixed, s.value, op, loc)
        rhs = self.lower_expr(s.value)
        if isinstance(s.target, ast.Name):
            cur = self.read_var(s.target.id, loc)
            if isinstance(cur.type, Array):
                # NumPy updates the array in place (a += b is not a = a + b)
                return [self.array_store(cur, exprs.binop(op, cur, rhs, loc), loc, inplace=True)]
            return self.assign_value(s.target, exprs.binop(op, cur, rhs, loc), loc)
        if isinstance(s.target, ast.Subscript):
            dest = self.subscript_target(s.target)
            if isinstance(dest, Load):
                return self.element_update(op, dest, rhs, loc)
            # the view is made once: it is both what is read and what is written
            temp = self.new_temp()
            view = Var(temp, self.assign_type(temp, dest.type, loc), loc)
            return [Assign(temp, dest, loc),
                    self.array_store(view, exprs.binop(op, view, rhs, loc), loc, inplace=True)]
        raise UnsupportedError("unsupported augmented assignment target", loc)

    def element_update(self, op: str, dest: Load, rhs: Expr, loc: SourceLoc) -> list[Stmt]:
        """``a[i] op= rhs``.  Python evaluates the index once, then reads the
        element, then evaluates ``rhs``: an index that calls a function is
        bound to a temporary (it is both read and written), and so is the
        element when ``rhs`` calls one (which may change it)."""
        stmts: list[Stmt] = []

        def bound(e: Expr) -> Expr:
            temp = self.new_temp()
            stmts.append(Assign(temp, e, loc))
            return Var(temp, self.assign_type(temp, e.type, loc), loc)

        if any(exprs.calls(i) for i in dest.indices):
            dest = Load(dest.array, tuple(bound(i) if exprs.calls(i) else i
                                          for i in dest.indices), dest.type, dest.wrap, dest.loc)
        cur: Expr = bound(dest) if exprs.calls(rhs) else dest
        new = exprs.binop(op, cur, rhs, loc)
        elem = dest.type
        assert isinstance(elem, Scalar)
        stmts.append(Store(dest.array, dest.indices, store_value(new, elem, loc), dest.wrap,
                           loc))
        return stmts

    def subscript_target(self, node: ast.Subscript) -> Expr:
        """The element (a Load) or the view a subscripted target denotes."""
        base = self.lower_expr(node.value)
        if not isinstance(base.type, Array):
            raise TypingError(f"a {base.type} does not support item assignment",
                              self.loc(node))
        return views.index(self, base, node)

    def array_store(self, target: Expr, value: Expr, loc: SourceLoc,
                    inplace: bool = False) -> Stmt:
        """``target[...] = value`` (or ``target op= value``): the value is
        converted to the target's dtype as NumPy converts it (an in-place
        operation only within the same kind, as NumPy's same_kind rule)."""
        tt = target.type
        assert isinstance(tt, Array)
        vt = value.type
        if not isinstance(vt, (Scalar, Array)):
            raise TypingError(f"cannot store a {vt} into an array", loc)
        vd = vt.dtype if isinstance(vt, Array) else vt
        check_complex_store(vd, tt.dtype, loc)
        if inplace and not np.can_cast(vd.dtype, tt.dtype.dtype, "same_kind"):
            raise TypingError(
                f"cannot cast the {vd.strong()} result to the array's dtype {tt.dtype} in "
                "place (NumPy's same_kind rule)", loc,
                hint="write a = a ... to get a new array, or convert with .astype(...)")
        if isinstance(vt, Array) and vt.ndim > tt.ndim:
            raise ShapeError(
                f"cannot store an array of {vt.ndim} dimensions into one of {tt.ndim}", loc)
        if isinstance(vt, Scalar):
            value = store_value(value, tt.dtype, loc)
        return ArrayStore(target, value, loc)

    def stmt_If(self, s: ast.If) -> list[Stmt]:
        test = truth(self.lower_expr(s.test), self.loc(s.test))
        return [If(test, tuple(self.lower_body(s.body)), tuple(self.lower_body(s.orelse)),
                   self.loc(s))]

    def stmt_While(self, s: ast.While) -> list[Stmt]:
        if s.orelse:
            raise UnsupportedError("'while ... else' is not supported", self.loc(s))
        self.conditional += 1  # the test is evaluated before every iteration
        try:
            test = truth(self.lower_expr(s.test), self.loc(s.test))
        finally:
            self.conditional -= 1
        self.loop_depth += 1
        try:
            body = self.lower_body(s.body)
        finally:
            self.loop_depth -= 1
        return [While(test, tuple(body), self.loc(s))]

    def stmt_For(self, s: ast.For) -> list[Stmt]:
        loc = self.loc(s)
        if s.orelse:
            raise UnsupportedError("'for ... else' is not supported", loc)
        if not self.is_range_call(s.iter):
            return self.for_over_items(s)
        if not isinstance(s.target, ast.Name):
            raise UnsupportedError(
                "a loop over range(...) has one loop variable", self.loc(s.target),
                hint="for i in range(n): ...",
            )
        is_prange, bounds = self.range_call(s.iter)
        var = s.target.id
        self.assign_type(var, PY_INT, loc)
        loop_id = self.ctx.new_loop_id()
        self.loop_depth += 1
        self.parallel_depth += int(is_prange)
        try:
            body = self.lower_body(s.body)
        finally:
            self.loop_depth -= 1
            self.parallel_depth -= int(is_prange)
        start, stop, step = bounds
        return [For(var, start, stop, step, tuple(body), is_prange, loop_id, None, loc)]

    def is_range_call(self, node: ast.expr) -> bool:
        if not isinstance(node, ast.Call) or not isinstance(node.func, (ast.Name, ast.Attribute)) \
                or not exprs.is_static_chain(self, node.func):
            return False
        func = self.static_callee(node)
        return func is builtins.range or _is_prange(func)

    def for_over_items(self, s: ast.For) -> list[Stmt]:
        """``for x in a``, ``for i, x in enumerate(a)``, ``for x, y in zip(a, b)``:
        a counted loop whose body first assigns the item (iterate.py)."""
        loc = self.loc(s)
        it = iterate.iteration(self, s.iter)
        k = self.new_temp()
        self.assign_type(k, INT64, loc)
        loop_id = self.ctx.new_loop_id()
        self.loop_depth += 1
        try:
            body = self.assign_value(s.target, it.item(Var(k, INT64, loc)), loc)
            body += self.lower_body(s.body)
        finally:
            self.loop_depth -= 1
        return [For(k, Const(0, INT64, loc), it.length, Const(1, INT64, loc), tuple(body),
                    False, loop_id, None, loc)]

    def range_call(self, node: ast.expr) -> tuple[bool, tuple[Expr, Expr, Expr]]:
        loc = self.loc(node)
        func = self.static_callee(node) if isinstance(node, ast.Call) else None
        is_range = func is builtins.range
        is_prange = _is_prange(func)
        if not (is_range or is_prange) or not isinstance(node, ast.Call):
            raise UnsupportedError(
                "for loops must iterate over range(...) or prange(...)", loc,
                hint="iterate over indices: for i in range(len(a)): x = a[i]",
            )
        if node.keywords or not 1 <= len(node.args) <= 3:
            raise TypingError("range() takes 1 to 3 positional arguments", loc)
        args = [self.lower_expr(a) for a in node.args]
        for a in args:
            if not (isinstance(a.type, Scalar) and (a.type.is_int or a.type.is_bool)):
                raise TypingError(
                    f"range() arguments must be integers, got {a.type}", a.loc or loc,
                    hint="convert with int(...)",
                )
        args = [cast(a, INT64) for a in args]
        one, zero = Const(1, INT64, loc), Const(0, INT64, loc)
        if len(args) == 1:
            return is_prange, (zero, args[0], one)
        if len(args) == 2:
            return is_prange, (args[0], args[1], one)
        return is_prange, (args[0], args[1], args[2])

    def stmt_Break(self, s: ast.Break) -> list[Stmt]:
        if self.parallel_depth and not self._inside_inner_loop():
            raise UnsupportedError(
                "'break' cannot leave a parallel loop", self.loc(s),
                hint="use range instead of prange, or a flag checked in the loop",
            )
        return [Break(self.loc(s))]

    def _inside_inner_loop(self) -> bool:
        return self.loop_depth > self.parallel_depth

    def stmt_Continue(self, s: ast.Continue) -> list[Stmt]:
        return [Continue(self.loc(s))]

    def stmt_Return(self, s: ast.Return) -> list[Stmt]:
        loc = self.loc(s)
        if self.parallel_depth:
            raise UnsupportedError(
                "'return' inside a parallel loop is not supported", loc,
                hint="store results in an array and return after the loop",
            )
        if s.value is None:
            value: Expr | None = None
            t: Type = NONE
        else:
            value = self.lower_expr(s.value)
            t = value.type
        if self.return_type is None:
            self.return_type = t
        elif self.return_type != t:
            u = unify(self.return_type, t)
            if u is None:
                raise TypingError(
                    f"this returns a {t} but another return returns a {self.return_type}",
                    loc, hint="return values of one kind from every return statement",
                )
            self.return_type = u
        if self.inline_prefix:
            return inline.result_of_return(self, value, loc)
        if value is not None and self.final:
            value = cast(value, self.return_type)
        pre: list[Stmt] = []
        if value is not None:
            value = self._spill_arrays(value, pre, loc)
        return [*pre, Return(value, loc)]

    def _spill_arrays(self, value: Expr, pre: list[Stmt], loc: SourceLoc) -> Expr:
        """Returned arrays must live in variables (the entry owns their objects)."""
        if isinstance(value, MakeTuple):
            items = tuple(self._spill_arrays(i, pre, loc) for i in value.items)
            return MakeTuple(items, value.type, value.loc)
        if isinstance(value.type, Array) and not isinstance(value, Var):
            temp = self.new_temp()
            self.assign_type(temp, value.type, loc)
            pre.append(Assign(temp, value, loc))
            return Var(temp, value.type, loc)
        return value

    # ------------------------------------------------------------ expressions

    def lower_expr(self, node: ast.expr) -> Expr:
        return exprs.lower_expr(self, node)

    # ------------------------------------------------------------ globals

    def resolve_global(self, name: str, loc: SourceLoc) -> Any:
        if name in self.static_args:
            return self.static_args[name]
        if name in self.parsed.pyfunc.__code__.co_freevars:
            raise UnsupportedError(
                f"'{name}' is a variable of an enclosing function (a closure), which compiled "
                "code cannot read", loc,
                hint=f"pass '{name}' as an argument, or define it at module level (module-level "
                "numbers are compile-time constants)",
            )
        if name in self.globals:
            value = self.globals[name]
        elif hasattr(builtins, name):
            value = getattr(builtins, name)
        else:
            raise NameResolutionError(
                f"name '{name}' is not defined", loc,
                hint="define it at module level or pass it as an argument",
            )
        self.ctx.assumptions[(self.module_name, name)] = fingerprint(value)
        return value

    def static_value(self, node: ast.expr) -> Any:
        """Evaluate a compile-time name or attribute chain (np.float32, math.pi)."""
        if isinstance(node, ast.Name):
            if node.id in self.local_names:
                raise UnsupportedError(
                    f"'{node.id}' must be a compile-time constant here", self.loc(node)
                )
            return self.resolve_global(node.id, self.loc(node))
        if isinstance(node, ast.Attribute):
            base = self.static_value(node.value)
            try:
                return getattr(base, node.attr)
            except AttributeError:
                raise NameResolutionError(
                    f"'{getattr(base, '__name__', base)}' has no attribute '{node.attr}'",
                    self.loc(node),
                    hint="check the spelling; module attributes are looked up at compile time",
                ) from None
        if isinstance(node, ast.Constant):
            return node.value
        raise UnsupportedError("expected a compile-time constant", self.loc(node))

    def static_callee(self, call: ast.Call) -> Any:
        f = call.func
        if isinstance(f, ast.Name) and f.id in self.local_names:
            raise UnsupportedError(
                f"'{f.id}' is a variable, not a function", self.loc(f),
            )
        if isinstance(f, (ast.Name, ast.Attribute)):
            try:
                return self.static_value(f)
            except UnsupportedError:
                raise UnsupportedError(
                    "only functions named directly can be called", self.loc(f),
                    hint="call module-level functions, math.* or np.* functions",
                ) from None
        raise UnsupportedError("only functions named directly can be called", self.loc(f))

    def call(self, node: ast.Call) -> Expr:
        loc = self.loc(node)
        f = node.func
        if isinstance(f, ast.Attribute) and not exprs.is_static_chain(self, f.value):
            return self.method_call(node, f)
        func = self.static_callee(node)
        func = getattr(func, "py_func", func)  # a @jit-decorated helper
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise UnsupportedError("*args in calls is not supported", loc)
        if func is builtins.range or _is_prange(func):
            raise UnsupportedError(
                "range() can only be used as the iterable of a for loop", loc
            )
        if func is builtins.float and len(node.args) == 1 and not node.keywords \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            return _float_of_string(node.args[0].value, loc)
        handler = HANDLERS.get(func) if _hashable(func) else None
        if handler is not None:
            site = CallSite(
                name=getattr(func, "__name__", str(func)),
                args=[self.call_arg(_list_as_tuple(a)) for a in node.args],
                keywords={k.arg: _list_as_tuple(k.value) for k in node.keywords if k.arg},
                loc=loc, fastmath=self.ctx.options.fastmath,
                lower=self.lower_expr, static=self.static_value,
                in_parallel_loop=self.parallel_depth > 0,
                in_entry=self.is_entry,
                new_let=self.new_let, library=self.library_call,
                emit=self.emit_before,
            )
            if func is np.power and len(site.args) == 2 and not site.keywords \
                    and isinstance(site.args[0].type, Array) \
                    and isinstance(site.args[1].type, Scalar):
                # (NumPy's float power loop has shortcuts for scalar exponents)
                return exprs.array_power(
                    site.args[0], site.args[1], loc, operator=False,
                    plain=lambda a, b: handler(dataclasses.replace(site, args=[a, b])))
            if func in ELEMENTWISE and has_array(site.args):
                # a NumPy ufunc (or abs) of arrays: the scalar function per element
                return lift(lambda *xs: handler(dataclasses.replace(site, args=list(xs))),
                            site.args, loc)
            return handler(site)
        if isinstance(func, pytypes.FunctionType):
            return self.call_user(func, node, loc)
        name = getattr(func, "__qualname__", getattr(func, "__name__", repr(func)))
        mod = getattr(func, "__module__", None)
        full = f"{mod}.{name}" if mod and mod != "builtins" else name
        if str(mod).startswith("numpy"):
            raise UnsupportedError(
                f"calling {full}() is not supported in compiled code yet", loc,
                hint="supported NumPy functions: element-wise ones (np.sqrt, np.maximum, "
                "np.where ...), creation (np.zeros, np.arange, np.linspace, np.eye ...), "
                "reductions (np.sum, np.mean, np.argmax ...), np.cumsum, reshaping and "
                "joining (reshape, transpose, flip, concatenate, stack), np.copy, np.clip "
                "(the README lists them); otherwise write the loop",
            )
        raise UnsupportedError(
            f"calling {full}() is not supported in compiled code", loc,
            hint="supported: math.*, NumPy's array functions, abs/min/max/sum/int/float/bool/"
            "round/len, and plain Python functions",
        )

    def call_arg(self, node: ast.expr) -> Expr:
        """An argument of a built-in function: a value, or a compile-time
        object some functions take (a dtype such as ``np.float32``, a string)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return Static(node.value, loc=self.loc(node))
        if isinstance(node, (ast.Name, ast.Attribute)) and not exprs.is_local_chain(self, node):
            try:
                value = self.static_value(node)
            except HybridJitError:
                value = None
            if isinstance(value, (type, np.dtype)) and not isinstance(value, pytypes.ModuleType):
                return Static(value, loc=self.loc(node))
        return self.lower_expr(node)

    def method_call(self, node: ast.Call, f: ast.Attribute) -> Expr:
        """``a.sum(axis=0)``, ``a.copy()`` ...: an array method."""
        loc = self.loc(node)
        obj = self.lower_expr(f.value)
        t = obj.type
        if not node.args and not node.keywords and (
                (f.attr == "conjugate" and isinstance(t, (Scalar, Array)))
                or (f.attr == "conj" and (isinstance(t, Array)
                                          or (isinstance(t, Scalar) and not t.weak)))):
            # (of any number: a real one is its own; Python numbers have no .conj())
            if isinstance(t, Array) and not t.dtype.is_complex:
                return obj  # NumPy returns a real array itself, not a copy
            return complexes.conjugate(obj, loc)
        handler = METHODS.get(f.attr) if isinstance(obj.type, Array) else None
        if handler is None:
            raise UnsupportedError(
                f"method calls such as {ast.unparse(f)}() are not supported"
                + (" yet" if isinstance(obj.type, Array) else f" on a {obj.type}"), self.loc(f),
                hint="write the loop (s = 0.0; for i in range(a.shape[0]): s += a[i]), or "
                "call a module-level function with the value as an argument",
            )
        site = CallSite(
            name=f.attr, args=[obj, *(self.call_arg(_list_as_tuple(a)) for a in node.args)],
            keywords={k.arg: _list_as_tuple(k.value) for k in node.keywords if k.arg},
            loc=loc, fastmath=self.ctx.options.fastmath,
            lower=self.lower_expr, static=self.static_value,
            in_parallel_loop=self.parallel_depth > 0, in_entry=self.is_entry,
            new_let=self.new_let, library=self.library_call,
                emit=self.emit_before,
        )
        return handler(site)

    def call_user(self, func: pytypes.FunctionType, node: ast.Call, loc: SourceLoc) -> Expr:
        args = self.helper_arguments(func, node, loc)
        if any(isinstance(a, Static) for a in args):
            # a dtype or string argument is a compile-time value: only an
            # inlined body can use it (as NumPy functions take it)
            return inline.inline_call(self, func, args, node, loc)
        arg_types = tuple(a.type for a in args)
        callee = _lower_function(self.ctx, func, arg_types, is_entry=False, call_loc=loc)
        self.ctx.assumptions[(func.__module__ or "__main__", "<code>" + func.__qualname__)] = (
            fingerprint(func)
        )
        if inline.needs_inline(callee):
            self.ctx.inlined.add(callee.symbol)
            return inline.inline_call(self, func, args, node, loc)
        return Call(callee.symbol, tuple(args), callee.return_type, loc)

    def helper_arguments(self, func: pytypes.FunctionType, node: ast.Call,
                         loc: SourceLoc) -> list[Expr]:
        """The arguments of a call of a helper, by position: keywords put in
        their place, omitted ones taken from the defaults (numbers), each
        evaluated in the order Python evaluates them."""
        code = func.__code__
        names = list(code.co_varnames[:code.co_argcount])
        if len(node.args) > len(names):
            raise TypingError(f"{func.__name__}() takes {len(names)} positional arguments but "
                              f"{len(node.args)} were given", loc)
        given: dict[str, Expr] = {}
        for name, a in zip(names, node.args):
            given[name] = self.call_arg(a)
        for k in node.keywords:
            if k.arg is None or k.arg not in names or k.arg in given:
                what = "**kwargs" if k.arg is None else f"keyword argument '{k.arg}'"
                raise TypingError(f"{func.__name__}() got an unexpected {what}", loc)
            given[k.arg] = self.call_arg(k.value)
        defaults = dict(zip(names[len(names) - len(func.__defaults__ or ()):],
                            func.__defaults__ or ()))
        out = []
        for name in names:
            if name in given:
                out.append(given[name])
                continue
            if name not in defaults:
                raise TypingError(f"{func.__name__}() missing required argument '{name}'", loc)
            value = defaults[name]
            if isinstance(value, (str, type, np.dtype)):
                out.append(Static(value, loc=loc))
                continue
            const = global_constant(value, loc)
            if const is None:
                raise UnsupportedError(
                    f"the default value of {func.__name__}()'s parameter '{name}' is not a "
                    "number, a dtype or a string", loc, hint="pass the value explicitly")
            out.append(const)
        return out

    def lower_shape_attr(self, base: Expr, loc: SourceLoc) -> Expr:
        assert isinstance(base.type, Array)
        # (an array expression as base is computed into a variable when lowered)
        items = tuple(Shape(base, d, PY_INT, loc) for d in range(base.type.ndim))  # type: ignore[arg-type]
        return MakeTuple(items, Tuple(tuple(PY_INT for _ in items)), loc)


def store_value(value: Expr, elem: Scalar, loc: SourceLoc) -> Expr:
    """``value`` converted for ``a[i] = value`` into an array of ``elem``, as
    NumPy converts a scalar it stores: a float into an integer array as
    ``int()`` does (raising for NaN and values that do not fit), a Python
    int raising where the dtype cannot hold it."""
    vt = value.type
    if isinstance(vt, Scalar):
        check_complex_store(vt, elem, loc)
    if isinstance(vt, Scalar) and vt.is_float and elem.is_int:
        return int_of_float(value, elem, loc)
    return cast(value, elem)


def check_complex_store(vt: Scalar, elem: Scalar, loc: SourceLoc) -> None:
    """A complex value stored into an array of real numbers: Python's
    complex is NumPy's TypeError; a NumPy complex would lose its imaginary
    part with only a warning, which is refused here rather than done."""
    if not vt.is_complex or elem.is_complex:
        return
    if vt.weak:
        raise TypingError(f"cannot store a Python complex into an array of {elem} (a "
                          "TypeError in NumPy)", loc, hint="store z.real, or use a complex array")
    raise UnsupportedError(f"storing {vt} values into an array of {elem} would discard their "
                           "imaginary parts", loc, hint="store z.real explicitly")


def check_int_constants_in(body: list[Stmt]) -> None:
    """Every integer constant left in the IR must fit its type: folding
    Python-number operations keeps exact values (``2**63``), and one that
    survives to run time cannot be held in 64 bits."""
    for n in walk_all(body):
        if isinstance(n, Const) and isinstance(n.type, Scalar) and n.type.is_int \
                and not isinstance(n.value, bool):
            ok = INT64_MIN <= n.value <= INT64_MAX if n.type.weak else fits(int(n.value), n.type)
            if not ok:
                raise TypingError(
                    f"integer constant {n.value} does not fit in "
                    f"{'64 bits' if n.type.weak else n.type}", n.loc,
                    hint="hybridjit's integers are 64-bit; use a float (e.g. 2.0**64) "
                    "or a smaller value",
                )


def _list_as_tuple(node: ast.expr) -> ast.expr:
    """A list display given to a NumPy function (``np.stack([a, b])``,
    ``np.zeros([2, 3])``) means what the tuple display means there."""
    if isinstance(node, ast.List):
        return ast.copy_location(ast.Tuple(elts=node.elts, ctx=ast.Load()), node)
    return node


def _float_of_string(text: str, loc: SourceLoc) -> Expr:
    """``float("nan")``, ``float("-inf")``, ``float("1e3")``: a constant."""
    try:
        return Const(float(text), PY_FLOAT, loc)
    except ValueError:
        raise TypingError(f"could not convert string to float: {text!r}", loc) from None


def _is_prange(func: Any) -> bool:
    from .. import prange as hj_prange

    return func is hj_prange or _is_numba_prange(func)


def _is_numba_prange(func: Any) -> bool:
    return getattr(func, "__name__", "") == "prange" and "numba" in str(
        getattr(func, "__module__", "")
    )


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def global_constant(value: Any, loc: SourceLoc) -> Expr | None:
    """IR constant for a module-level numeric value, or None if not numeric."""
    if isinstance(value, bool):
        return Const(value, PY_BOOL, loc)
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise TypingError(f"integer constant {value} does not fit in 64 bits", loc)
        return Const(value, PY_INT, loc)
    if isinstance(value, float):
        return Const(value, PY_FLOAT, loc)
    if isinstance(value, np.generic) and value.dtype.name in (
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
        "uint64", "float32", "float64", "complex64", "complex128",
    ):
        return Const(value.item(), scalar_of_dtype(value.dtype), loc)
    if isinstance(value, complex):
        return Const(value, PY_COMPLEX, loc)
    return None


def module_constant(module: Any, attr: str) -> float | None:
    return CONSTANTS.get((getattr(module, "__name__", ""), attr))


def _assigned_names(tree: ast.FunctionDef) -> set[str]:
    """Every name the function assigns: Python makes these local throughout."""
    return {
        n.id for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
