"""Lowering of Python expressions to typed IR expressions.

Contract: :func:`lower_expr` maps one ``ast.expr`` to an IR ``Expr`` whose
type follows NumPy 2 promotion (see types.py) and whose operands are cast
explicitly; :func:`binop` builds one typed arithmetic operation with CPython
semantics (floor division/modulo signs, true division to float, integer
powers, ZeroDivisionError between Python numbers).
"""

from __future__ import annotations

import ast
import types as pytypes
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import HybridJitError, SourceLoc, TypingError, UnsupportedError
from ..ir.nodes import (
    BinOp,
    BoolOp,
    Call,
    Cast,
    Compare,
    Const,
    Expr,
    IfExp,
    Intrinsic,
    Let,
    MakeTuple,
    Shape,
    Static,
    TupleItem,
    UnaryOp,
    Var,
)
from ..ir.visit import walk
from ..types import (
    BOOL,
    INT8,
    INT64,
    PY_BOOL,
    PY_COMPLEX,
    PY_FLOAT,
    PY_INT,
    UINT64,
    Array,
    Scalar,
    Tuple,
    Type,
    promote,
    scalar_of_dtype,
    select_type,
    true_divide_type,
    unify,
)
from . import complexes, fancy, linalg, masks, views, words
from .arrayops import lift
from .coerce import cast, convert_const, fits_selection, fold_python, truth

if TYPE_CHECKING:
    from .lower import FunctionLowerer

BINOPS: dict[type, str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
    ast.LShift: "<<", ast.RShift: ">>",
}
CMPOPS: dict[type, str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
}


def lower_expr(fl: FunctionLowerer, node: ast.expr) -> Expr:
    handler = _HANDLERS.get(type(node))
    if handler is None:
        raise UnsupportedError(
            f"{words.construct(type(node))} are not supported in compiled code",
            fl.loc(node),
            hint=words.hint_for(type(node), "rewrite it with loops over array elements"),
        )
    return handler(fl, node)


def _constant(fl: FunctionLowerer, node: ast.Constant) -> Expr:
    v = node.value
    loc = fl.loc(node)
    if isinstance(v, bool):
        return Const(v, PY_BOOL, loc)
    if isinstance(v, int):
        # may be beyond 64 bits while folding (2**64 - 1 + 0.5); checked at the end
        return Const(v, PY_INT, loc)
    if isinstance(v, float):
        return Const(v, PY_FLOAT, loc)
    if isinstance(v, complex):
        return Const(v, PY_COMPLEX, loc)
    what = "None" if v is None else f"{type(v).__name__} constants"
    raise UnsupportedError(
        f"{what} cannot be used as values in compiled code", loc,
        hint="only numbers and booleans can be used in compiled code",
    )


def _name(fl: FunctionLowerer, node: ast.Name) -> Expr:
    from .lower import global_constant

    loc = fl.loc(node)
    if node.id in fl.local_names:
        return fl.read_name(node.id, loc)
    value = fl.resolve_global(node.id, loc)
    const = global_constant(value, loc)
    if const is not None:
        return const
    raise UnsupportedError(
        f"global '{node.id}' ({type(value).__name__}) cannot be used as a value here", loc,
        hint="module-level numbers are constants; pass arrays as arguments",
    )


def _attribute(fl: FunctionLowerer, node: ast.Attribute) -> Expr:
    from .lower import global_constant, module_constant

    loc = fl.loc(node)
    if not is_static_chain(fl, node.value):
        base = fl.lower_expr(node.value)
        if node.attr in ("real", "imag") and isinstance(base.type, (Scalar, Array)):
            return complexes.part(base, node.attr, loc, fl.new_let)
        if isinstance(base.type, Array):
            return _array_attribute(fl, base, node.attr, loc)
        raise UnsupportedError(f"attribute '{node.attr}' of a {base.type} is not supported", loc)
    module = fl.static_value(node.value)
    if isinstance(module, pytypes.ModuleType):
        c = module_constant(module, node.attr)
        if c is not None:
            return Const(c, PY_FLOAT, loc)
    value = fl.static_value(node)
    const = global_constant(value, loc)
    if const is not None:
        return const
    raise UnsupportedError(f"'{ast.unparse(node)}' cannot be used as a value here", loc)


def is_static_chain(fl: FunctionLowerer, node: ast.expr) -> bool:
    """``np``, ``np.linalg``, ``math.pi``: names and attributes of globals,
    known at compile time (not a local variable, a call, a subscript ...)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id not in fl.local_names


def is_local_chain(fl: FunctionLowerer, node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in fl.local_names


def _array_attribute(fl: FunctionLowerer, base: Expr, attr: str, loc: SourceLoc) -> Expr:
    assert isinstance(base.type, Array)
    if attr == "shape":
        return fl.lower_shape_attr(base, loc)
    if attr == "ndim":
        return Const(base.type.ndim, PY_INT, loc)
    if attr in ("size", "nbytes"):
        size: Expr = Const(1 if attr == "size" else base.type.dtype.dtype.itemsize, PY_INT, loc)
        for d in range(base.type.ndim):
            size = BinOp("*", size, Shape(base, d, PY_INT, loc), PY_INT, False, loc)  # type: ignore[arg-type]
        return size
    if attr == "itemsize":
        return Const(base.type.dtype.dtype.itemsize, PY_INT, loc)
    if attr == "T":
        return views.transpose(base, None, loc)
    if attr == "dtype":  # a compile-time value: for dtype= arguments and == tests
        return Static(base.type.dtype.dtype, loc=loc)
    raise UnsupportedError(
        f"array attribute '{attr}' is not supported", loc,
        hint="supported array attributes: shape, ndim, size, itemsize, nbytes, T, real, imag "
        "(new arrays), and dtype "
        "where a dtype is expected (np.zeros(n, dtype=a.dtype))",
    )


def _subscript(fl: FunctionLowerer, node: ast.Subscript) -> Expr:
    loc = fl.loc(node)
    base = fl.lower_expr(node.value)
    if isinstance(base.type, Tuple) and isinstance(node.slice, ast.Slice):
        return _tuple_slice(fl, base, node.slice, loc)
    if isinstance(base.type, Tuple):
        idx = fl.lower_expr(node.slice)
        if not isinstance(idx, Const) or not isinstance(idx.value, int):
            raise UnsupportedError(
                "tuples can only be indexed with a constant", loc,
                hint="e.g. a.shape[0]",
            )
        n = len(base.type.items)
        k = int(idx.value)
        if not -n <= k < n:
            raise TypingError(f"tuple index {k} out of range for a tuple of {n}", loc)
        k %= n
        if isinstance(base, MakeTuple):
            return base.items[k]
        return TupleItem(base, k, base.type.items[k], loc)
    if not isinstance(base.type, Array):
        raise TypingError(f"a {base.type} cannot be indexed", loc)
    mask = masks.mask_index(fl, node)
    if mask is not None:
        if masks.is_mask(mask):
            return masks.compress(base, mask, loc)
        return fancy.gather(base, mask, loc)
    mixed = fancy.mixed_index(fl, node)
    if mixed is not None:
        return fancy.mixed_gather(mixed, loc)
    return views.index(fl, base, node)


def _tuple_slice(fl: FunctionLowerer, base: Expr, sl: ast.Slice, loc: SourceLoc) -> Expr:
    """``t[1:]``, ``a.shape[:-1]``: a tuple slice with constant bounds."""
    bounds = []
    for part in (sl.lower, sl.upper, sl.step):
        v = None if part is None else fl.lower_expr(part)
        if v is not None and not (isinstance(v, Const) and isinstance(v.value, int)):
            raise UnsupportedError("tuples can only be sliced with constants", loc,
                                   hint="e.g. a.shape[1:]")
        bounds.append(None if v is None else int(v.value))
    assert isinstance(base.type, Tuple)
    try:
        picked = range(len(base.type.items))[slice(*bounds)]
    except ValueError as exc:  # a zero step
        raise TypingError(str(exc), loc) from None
    if not isinstance(base, (MakeTuple, Var)):
        held = fl.hoist(base, loc)
        if held is None:
            raise UnsupportedError("a tuple computed here cannot be sliced", loc,
                                   hint="assign it to a variable first")
        base = held
    bt = base.type
    assert isinstance(bt, Tuple)
    items = tuple(base.items[k] if isinstance(base, MakeTuple) else TupleItem(base, k, bt.items[k],
                                                                              loc)
                  for k in picked)
    return MakeTuple(items, Tuple(tuple(i.type for i in items)), loc)


def binop(op: str, left: Expr, right: Expr, loc: SourceLoc) -> Expr:
    lt, rt = left.type, right.type
    if op == "**" and isinstance(lt, Array) and isinstance(rt, Scalar):
        return array_power(left, right, loc, operator=True)
    if isinstance(lt, Array) or isinstance(rt, Array):
        return lift(lambda a, b: binop(op, a, b, loc), [left, right], loc)
    if not isinstance(lt, Scalar) or not isinstance(rt, Scalar):
        raise TypingError(
            f"unsupported operand types for {op}: {lt} and {rt}", loc,
            hint="arithmetic works on numbers; index arrays element by element",
        )
    right = python_float_after_complex(left, right)
    rt = right.type
    assert isinstance(rt, Scalar)
    python_div = lt.weak and rt.weak
    if python_div and isinstance(left, Const) and isinstance(right, Const):
        folded = fold_python(op, left, right, loc)
        if folded is not None:
            return folded
    if op == "/":
        t = true_divide_type(lt, rt)
        return BinOp(op, cast(left, t), cast(right, t), t, python_div, loc)
    if op in ("<<", ">>", "&", "|", "^"):
        return _bitop(op, left, right, loc)
    t = promote(lt, rt)
    if t.is_complex and op in ("//", "%"):
        raise TypingError(
            f"operator {op} of complex numbers is a TypeError in "
            f"{'Python' if t.weak else 'NumPy'} (complex numbers have no floor)", loc,
            hint="take .real or abs() first")
    if t.is_bool and op in ("+", "*"):
        # NumPy booleans add as logical or and multiply as logical and.
        return BinOp("|" if op == "+" else "&", cast(left, t), cast(right, t), t, False, loc)
    if t.is_bool and op == "-":
        raise TypingError(
            "subtracting NumPy booleans is a TypeError in NumPy", loc,
            hint="use ^ (or np.logical_xor) for bools, or convert with int(...) first",
        )
    if t.is_bool and op in ("//", "%", "**"):
        t = INT8  # NumPy has no bool loops for these: the next type up is int8
    if op == "**" and t.is_int and isinstance(right, Const) and int(right.value) < 0:
        t = PY_FLOAT if t.weak else Scalar("float64")
    return BinOp(op, cast(left, t), cast(right, t), t, python_div, loc)


def array_power(base: Expr, exponent: Expr, loc: SourceLoc, operator: bool,
                plain: Callable[[Expr, Expr], Expr] | None = None) -> Expr:
    """``base ** exponent`` (``operator``) or ``np.power`` (``plain`` its
    scalar form) of an array and a scalar, with NumPy's shortcuts, which
    give other values than its power at some points: its float power loop
    takes a scalar exponent of 0.5 as np.sqrt (-0.0 for -0.0 and NaN for
    -inf, where pow gives 0.0 and inf), and the ``**`` operator of a complex
    array takes a Python int -1 as np.reciprocal and a Python float 0.5 as
    np.sqrt (other bits than its complex power; numpy/_core's float power
    loop and fast_scalar_power)."""
    power = plain or (lambda a, b: binop("**", a, b, loc))
    bt, et = base.type, exponent.type
    assert isinstance(bt, Array) and isinstance(et, Scalar)
    known = exponent.value if isinstance(exponent, Const) else None

    def shortcut(e: Expr, at: float, short: Expr, p: Expr) -> Expr:
        """``short`` where the exponent ``e`` is ``at``, else ``p``."""
        if known is not None:
            return short if known == at else p
        test = Compare("==", cast(e, PY_FLOAT), Const(float(at), PY_FLOAT, loc), BOOL, loc)
        return IfExp(test, short, p, p.type, loc)

    def element(x: Expr, e: Expr) -> Expr:
        p = power(x, e)
        t = p.type
        assert isinstance(t, Scalar)
        if t.is_float:
            return shortcut(e, 0.5, Intrinsic("sqrt", (cast(x, t),), t, loc), p)
        if t.is_complex and operator and bt.dtype.is_complex and et in (PY_INT, PY_FLOAT):
            fn, at = ("reciprocal", -1) if et == PY_INT else ("sqrt", 0.5)
            return shortcut(e, at, Intrinsic("complex." + fn, (cast(x, t),), t, loc), p)
        return p

    return lift(element, [base, exponent], loc)


def python_float_after_complex(left: Expr, right: Expr) -> Expr:
    """``right`` as Python sees it after a Python complex ``left``: an
    np.float64 is a Python float, and complex's own operator takes it first
    (a Python complex, CPython's arithmetic; np.float64 on the left gives
    NumPy's complex128)."""
    lt = left.type
    if isinstance(lt, Scalar) and lt.weak and lt.is_complex and right.type == Scalar("float64"):
        return cast(right, PY_FLOAT)
    return right


def _bitop(op: str, left: Expr, right: Expr, loc: SourceLoc) -> Expr:
    lt, rt = left.type, right.type
    assert isinstance(lt, Scalar) and isinstance(rt, Scalar)
    if lt.is_inexact or rt.is_inexact:
        raise TypingError(f"operator {op} needs integers, got {lt} and {rt}", loc)
    if lt.is_bool and rt.is_bool and op in ("&", "|", "^"):
        t = PY_BOOL if lt.weak and rt.weak else BOOL
        return BinOp(op, cast(left, t), cast(right, t), t, False, loc)
    t = promote(lt, rt)
    if t.is_float:  # int64 with uint64: NumPy promotes to float64, which has no bit ops
        raise TypingError(
            f"operator {op} of {lt} and {rt} is a TypeError in NumPy (they promote to "
            f"{t}, which has no bitwise operations)", loc,
            hint="convert one operand first, e.g. np.uint64(x) or np.int64(x)")
    if t.is_bool and op in ("<<", ">>"):
        # no bool shifts: Python's bools shift as ints, NumPy's as int8
        t = PY_INT if t.weak else INT8
    # a Python int shifted by a negative count is CPython's ValueError
    python = t.weak and op in ("<<", ">>")
    return BinOp(op, cast(left, t), cast(right, t), t, python, loc)


def _binop(fl: FunctionLowerer, node: ast.BinOp) -> Expr:
    op = BINOPS.get(type(node.op))
    if isinstance(node.op, ast.MatMult):
        return linalg.matmul_operator(fl.lower_expr(node.left), fl.lower_expr(node.right),
                                      fl.loc(node))
    if op is None:
        raise UnsupportedError(f"{words.construct(type(node.op))} is not supported yet",
                               fl.loc(node), hint=words.hint_for(type(node.op), ""))
    return binop(op, fl.lower_expr(node.left), fl.lower_expr(node.right), fl.loc(node))


def _unaryop(fl: FunctionLowerer, node: ast.UnaryOp) -> Expr:
    loc = fl.loc(node)
    operand = fl.lower_expr(node.operand)
    if isinstance(operand.type, Array) and not isinstance(node.op, ast.Not):
        return lift(lambda x: unary(node.op, x, loc), [operand], loc)
    return unary(node.op, operand, loc)


def unary(opnode: ast.unaryop, operand: Expr, loc: SourceLoc) -> Expr:
    """``-x``, ``+x``, ``~x``, ``not x`` of a scalar."""
    t = operand.type
    if isinstance(opnode, ast.Not):
        return UnaryOp("not", truth(operand, loc), PY_BOOL, loc)  # Python's not gives a bool
    if not isinstance(t, Scalar):
        raise TypingError(
            f"the truth value of an array ({t}) is ambiguous" if isinstance(t, Array)
            else f"bad operand type for unary operator: {t}", loc,
            hint="use np.any(a) or np.all(a)" if isinstance(t, Array) else None)
    if isinstance(opnode, ast.Invert):
        if t.is_inexact:
            raise TypingError("operator ~ needs an integer", loc)
        if t.is_bool and t.weak:
            t = PY_INT  # Python: ~True == -2
            operand = cast(operand, t)
        return UnaryOp("invert", operand, t, loc)
    if t.is_bool and not t.weak:
        sign = "-" if isinstance(opnode, ast.USub) else "+"
        raise TypingError(
            f"unary {sign} of a NumPy bool is a TypeError in NumPy", loc,
            hint="use ~ or np.logical_not for a bool, or convert with int(...) first",
        )
    if t.is_bool:
        t = PY_INT  # Python: -True == -1
        operand = cast(operand, t)
    if isinstance(operand, Const) and isinstance(opnode, ast.USub):
        # a Python int negates exactly; a NumPy integer wraps (-np.uint8(199) == 57)
        value = -operand.value if t.weak else convert_const(-operand.value, t)
        if value is not None:
            return Const(value, t, loc)
    return UnaryOp("neg" if isinstance(opnode, ast.USub) else "pos", operand, t, loc)


def _boolop(fl: FunctionLowerer, node: ast.BoolOp) -> Expr:
    loc = fl.loc(node)
    op = "and" if isinstance(node.op, ast.And) else "or"
    values = [fl.lower_expr(node.values[0])]
    fl.conditional += 1
    try:
        values += [fl.lower_expr(v) for v in node.values[1:]]
    finally:
        fl.conditional -= 1
    types = [v.type for v in values]
    if not all(isinstance(t, Scalar) for t in types):
        raise TypingError(f"'{op}' of {' and '.join(map(str, types))} is not supported", loc,
                          hint="'and'/'or' work on numbers here")
    scalars: list[Scalar] = types  # type: ignore[assignment]
    t = select_type(scalars, [fits_selection(v, scalars) for v in values])
    if t.is_bool:
        return _bool_chain(op, [cast(v, t) for v in values], t, loc)
    return _value_chain(fl, op, values, t, loc)


def _bool_chain(op: str, values: list[Expr], t: Type, loc: SourceLoc) -> Expr:
    """``v0 op v1 op ...`` of bools: C's short-circuit && and ||."""
    if len(values) == 1:
        return values[0]
    return _flat_boolop(op, values[0], _bool_chain(op, values[1:], t, loc), t, loc)


def _value_chain(fl: FunctionLowerer, op: str, values: list[Expr], t: Scalar,
                 loc: SourceLoc) -> Expr:
    """Python's value ``and``/``or``: the first operand that decides, with
    only that operand converted to the result type (a Python int that the
    type cannot hold raises only if it is the one returned).  An operand
    read twice (tested, then returned) that calls a function is bound once
    with a :class:`Let`."""
    first, rest = values[0], values[1:]
    if not rest:
        return cast(first, t)
    name = fl.new_let() if calls(first) else None
    ref = Var(name, first.type, first.loc) if name else first
    tail = _value_chain(fl, op, rest, t, loc)
    test = truth(ref, loc)
    out: Expr = (IfExp(test, cast(ref, t), tail, t, loc) if op == "or"
                 else IfExp(test, tail, cast(ref, t), t, loc))
    return Let(name, first, out, t, loc) if name else out


def _flat_boolop(op: str, first: Expr, tail: Expr, t: Type, loc: SourceLoc) -> BoolOp:
    if isinstance(tail, BoolOp) and tail.op == op:
        return BoolOp(op, (first, *tail.values), t, loc)
    return BoolOp(op, (first, tail), t, loc)


def _compare(fl: FunctionLowerer, node: ast.Compare) -> Expr:
    loc = fl.loc(node)
    for opnode in node.ops:
        if type(opnode) not in CMPOPS:
            raise UnsupportedError(
                f"{words.construct(type(opnode))} are not supported in compiled code", loc,
                hint=words.hint_for(type(opnode), "compare numbers with == and <"),
            )
    folded = _dtype_comparison(fl, node, loc)
    if folded is not None:
        return folded
    operands = [fl.lower_expr(node.left)]
    for k, c in enumerate(node.comparators):
        # Operands after the first comparison are evaluated only if it holds.
        fl.conditional += int(k >= 1)
        try:
            operands.append(fl.lower_expr(c))
        finally:
            fl.conditional -= int(k >= 1)
    ops = [CMPOPS[type(opnode)] for opnode in node.ops]
    if len(operands) > 2 and any(isinstance(e.type, Array) for e in operands):
        raise TypingError("a chained comparison of arrays is ambiguous", loc,
                          hint="write (a < b) & (b < c)")
    for e in operands:
        if not isinstance(e.type, (Scalar, Array)):
            raise TypingError(
                f"cannot compare {' and '.join(str(o.type) for o in operands)}", loc,
                hint="compare numbers (index arrays element by element)",
            )
    if len(operands) > 2 and calls(operands[1]) and not calls(operands[0]):
        # a < f() < b: Python calls f once; hoisting it keeps that (and the
        # order: a has no side effects) when this expression runs unconditionally.
        hoisted = fl.hoist(operands[1], loc)
        if hoisted is not None:
            operands[1] = hoisted
    return _compare_chain(fl, ops, operands, loc)


def _dtype_comparison(fl: FunctionLowerer, node: ast.Compare, loc: SourceLoc) -> Expr | None:
    """``a.dtype == np.float32``, ``x.dtype != "int64"``: known when compiling."""
    if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
        return None
    sides = [_dtype_of_node(fl, n) for n in (node.left, node.comparators[0])]
    if not any(isinstance(n, ast.Attribute) and n.attr == "dtype"
               for n in (node.left, node.comparators[0])) or any(x is None for x in sides):
        return None
    same = sides[0] == sides[1]
    return Const(same if isinstance(node.ops[0], ast.Eq) else not same, PY_BOOL, loc)


def _dtype_of_node(fl: FunctionLowerer, node: ast.expr) -> np.dtype | None:
    if isinstance(node, ast.Attribute) and node.attr == "dtype" \
            and not is_static_chain(fl, node.value):
        base = fl.lower_expr(node.value)
        return base.type.dtype.dtype if isinstance(base.type, Array) else None
    try:
        value = node.value if isinstance(node, ast.Constant) else (
            fl.static_value(node) if is_static_chain(fl, node) else None)
        return np.dtype(value) if isinstance(value, (str, type, np.dtype)) else None
    except (TypeError, HybridJitError):
        return None


def _compare_chain(fl: FunctionLowerer, ops: list[str], operands: list[Expr],
                   loc: SourceLoc) -> Expr:
    """``o0 op0 o1 op1 o2 ...``: each operand evaluated once, left to right,
    later ones only while the comparisons hold (operands with calls that
    would be read twice are bound by a :class:`Let`)."""
    left = operands[0]
    lets: list[tuple[str, Expr]] = []
    if len(ops) > 1 and calls(left):
        name = fl.new_let()
        lets.append((name, left))
        left = Var(name, left.type, left.loc)
    right = operands[1]
    rest_lets: list[tuple[str, Expr]] = []
    if len(ops) > 1 and calls(right):
        name = fl.new_let()
        rest_lets.append((name, right))
        right = Var(name, right.type, right.loc)
    first = compare(fl.new_let, ops[0], left, right, loc)
    if len(ops) == 1:
        return first
    tail = _compare_chain(fl, ops[1:], [right, *operands[2:]], loc)
    types = [first.type, tail.type]
    t = PY_BOOL if all(x == PY_BOOL for x in types) else BOOL
    out: Expr = _flat_boolop("and", cast(first, t), cast(tail, t), t, loc)
    for name, value in reversed(lets + rest_lets):
        out = Let(name, value, out, t, loc)
    return out


_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def compare(new_let: Callable[[], str], op: str, a: Expr, b: Expr, loc: SourceLoc) -> Expr:
    """One comparison by value, as CPython and NumPy 2 compare: a Python
    number compared with a NumPy integer is never converted to (and wrapped
    into) the NumPy type; Python ints and floats compare exactly.  The result
    is a Python bool when both operands are Python numbers; of arrays, an
    array of NumPy bools."""
    if isinstance(a.type, Array) or isinstance(b.type, Array):
        return lift(lambda x, y: cast(compare(new_let, op, x, y, loc), BOOL), [a, b], loc)
    at, bt = a.type, b.type
    assert isinstance(at, Scalar) and isinstance(bt, Scalar)
    if (at.is_complex or bt.is_complex) and op not in ("==", "!="):
        if at.weak and bt.weak:
            raise TypingError(f"'{op}' is not supported between complex numbers (a TypeError "
                              "in Python)", loc, hint="compare abs(z) or z.real")
        raise UnsupportedError(f"ordering comparisons ('{op}') of complex numbers are not "
                               "supported", loc, hint="compare abs(z) or z.real")
    b = python_float_after_complex(a, b)
    bt = b.type
    assert isinstance(bt, Scalar)
    rt = PY_BOOL if at.weak and bt.weak else BOOL
    if (at.is_complex or bt.is_complex) and at.weak and bt.weak:
        if _intlike(at) or _intlike(bt):
            return _int_complex_compare(new_let, op, a, b, loc)
        # (a float converts to a complex exactly)
        return Compare(op, cast(a, PY_COMPLEX), cast(b, PY_COMPLEX), rt, loc)
    if _intlike(at) and _intlike(bt):
        ct = _int_compare_type(a, b)
        if ct is None:
            return _unsigned_signed_compare(new_let, op, a, b, loc)
    elif at.weak and bt.weak and at.is_float != bt.is_float:
        # Python compares an int with a float exactly (2**53 + 1 != 2.0**53)
        i, f, iop = (a, b, op) if bt.is_float else (b, a, _FLIPPED[op])
        return Intrinsic("pycmp" + iop, (cast(i, PY_INT), f), rt, loc)
    else:
        ct = promote(at, bt)
    return Compare(op, cast(a, ct), cast(b, ct), rt, loc)


def _int_complex_compare(new_let: Callable[[], str], op: str, a: Expr, b: Expr,
                         loc: SourceLoc) -> Expr:
    """A Python int and a Python complex compare exactly, as CPython does:
    equal when the imaginary part is 0 and the real part equals the int
    (2**60 + 1 != complex(2**60 + 1), which rounds to 2**60)."""
    names = (new_let(), new_let())
    held = [Var(n, e.type, loc) for n, e in zip(names, (a, b))]
    i, z = (held[0], held[1]) if _is_complex(b) else (held[1], held[0])
    real = complexes.part(z, "real", loc)
    imag = complexes.part(z, "imag", loc)
    same = BoolOp("and", (Compare("==", imag, Const(0.0, PY_FLOAT, loc), PY_BOOL, loc),
                          Intrinsic("pycmp==", (cast(i, PY_INT), real), PY_BOOL, loc)),
                  PY_BOOL, loc)
    out: Expr = same if op == "==" else UnaryOp("not", same, PY_BOOL, loc)
    # both operands once, in order (a before b)
    return Let(names[0], a, Let(names[1], b, out, PY_BOOL, loc), PY_BOOL, loc)


def _is_complex(e: Expr) -> bool:
    return isinstance(e.type, Scalar) and e.type.is_complex


def _intlike(t: Scalar) -> bool:
    return t.is_int or t.is_bool


def _int_compare_type(a: Expr, b: Expr) -> Scalar | None:
    """A type holding every value of both integer operands, or None (a
    uint64 against a value that may be negative)."""
    at, bt = a.type, b.type
    assert isinstance(at, Scalar) and isinstance(bt, Scalar)
    if at.weak and bt.weak:
        return PY_INT
    if at.weak or bt.weak:
        weak, strong = (a, bt) if at.weak else (b, at)
        if strong.name != "uint64":
            return INT64
        if weak.type.is_bool or (isinstance(weak, Const) and int(weak.value) >= 0):  # type: ignore[attr-defined]
            return UINT64
        return None
    r = np.result_type(at.dtype, bt.dtype)
    return scalar_of_dtype(r) if r.kind in "iub" else None


def _unsigned_signed_compare(new_let: Callable[[], str], op: str, a: Expr, b: Expr,
                             loc: SourceLoc) -> Expr:
    """``a op b`` with one uint64 operand and one signed: a negative signed
    value is below every unsigned one, else both compare as uint64."""
    if not isinstance(a, (Var, Const)) or not isinstance(b, (Var, Const)):
        # both are evaluated once, in order, before the test (which may not
        # read the unsigned one: its failures, np.uint64(-1.5), still raise)
        na, nb = new_let(), new_let()
        va, vb = Var(na, a.type, a.loc), Var(nb, b.type, b.loc)
        inner = _unsigned_signed_compare(new_let, op, va, vb, loc)
        return Let(na, a, Let(nb, b, inner, BOOL, loc), BOOL, loc)
    at = a.type
    assert isinstance(at, Scalar)
    u, s, uop = (a, b, op) if at.name == "uint64" else (b, a, _FLIPPED[op])
    s64 = cast(s, INT64)
    negative = Compare("<", s64, Const(0, INT64, loc), BOOL, loc)
    above = uop in (">", ">=", "!=")  # u >= 0 > s
    same = Compare(uop, u, Cast(s64, UINT64, "", loc), BOOL, loc)
    return IfExp(negative, Const(above, BOOL, loc), same, BOOL, loc)


def calls(e: Expr) -> bool:
    """``e`` calls a compiled function (which may have side effects)."""
    return any(isinstance(n, Call) for n in walk(e))


def _ifexp(fl: FunctionLowerer, node: ast.IfExp) -> Expr:
    loc = fl.loc(node)
    test = truth(fl.lower_expr(node.test), loc)
    fl.conditional += 1
    try:
        body, orelse = fl.lower_expr(node.body), fl.lower_expr(node.orelse)
    finally:
        fl.conditional -= 1
    t: Type | None
    if isinstance(body.type, Scalar) and isinstance(orelse.type, Scalar):
        # a value chosen, not computed: typed as min/max and value and/or are
        # (``v if c else np.uint16(y)`` with a Python int v is int64, and only
        # the chosen operand is converted)
        pair = [body.type, orelse.type]
        t = select_type(pair, [fits_selection(v, pair) for v in (body, orelse)])
    else:
        t = unify(body.type, orelse.type)
    if t is None:
        raise TypingError(
            f"the branches of this conditional have types {body.type} and {orelse.type}", loc
        )
    return IfExp(test, cast(body, t), cast(orelse, t), t, loc)


def _call(fl: FunctionLowerer, node: ast.Call) -> Expr:
    return fl.call(node)


def _tuple(fl: FunctionLowerer, node: ast.Tuple) -> Expr:
    items = tuple(fl.lower_expr(e) for e in node.elts)
    return MakeTuple(items, Tuple(tuple(i.type for i in items)), fl.loc(node))


_HANDLERS: dict[type, Any] = {
    ast.Constant: _constant,
    ast.Name: _name,
    ast.Attribute: _attribute,
    ast.Subscript: _subscript,
    ast.BinOp: _binop,
    ast.UnaryOp: _unaryop,
    ast.BoolOp: _boolop,
    ast.Compare: _compare,
    ast.IfExp: _ifexp,
    ast.Call: _call,
    ast.Tuple: _tuple,
}

