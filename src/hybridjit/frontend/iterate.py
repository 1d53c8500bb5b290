"""``for`` loops over arrays: ``for x in a``, ``enumerate``, ``zip``.

Contract: :func:`iteration` describes the iterable of a ``for`` statement
that is not ``range``/``prange`` as a length and an item at position ``k``;
the statement lowering turns it into the counted loop ``for k in
range(length)`` whose body first assigns the item to the loop's target.
A 1-D array yields its elements, an n-D array its rows (views, as NumPy's
iterator does); ``enumerate(it, start)`` pairs a counter with the items;
``zip(a, b, ...)`` stops at the shortest.  Each iterated array is evaluated
once, before the loop, as Python evaluates the iterable once.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SourceLoc, TypingError, UnsupportedError
from ..ir.arrays import ArrayView, IndexDim, SliceDim, ViewDim
from ..ir.nodes import Assign, BinOp, Compare, Const, Expr, IfExp, Load, MakeTuple, Shape, Var
from ..types import INT64, PY_INT, Array, Scalar, Tuple
from . import exprs
from .coerce import cast
from .views import view_layout

if TYPE_CHECKING:
    from .lower import FunctionLowerer


@dataclass(frozen=True)
class Iteration:
    #: the number of items (int64)
    length: Expr
    #: the item at position k (an int64 expression in [0, length))
    item: Callable[[Expr], Expr]


def iteration(fl: FunctionLowerer, node: ast.expr) -> Iteration:
    loc = fl.loc(node)
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)) \
            and exprs.is_static_chain(fl, node.func):
        func = fl.static_callee(node)
        if func is builtins.enumerate:
            return _enumerate(fl, node, loc)
        if func is builtins.zip:
            return _zip(fl, node, loc)
        if func is builtins.range:
            raise UnsupportedError(
                "range() inside enumerate() or zip() is not supported", loc,
                hint="loop over the range and index: for i in range(n): x = a[i]")
    value = fl.lower_expr(node)
    if not isinstance(value.type, Array):
        raise UnsupportedError(
            f"for loops can iterate over range(...), prange(...), arrays, enumerate(...) and "
            f"zip(...), not over a {value.type}", loc,
            hint="iterate over indices: for i in range(n): ...")
    if value.type.ndim == 0:
        raise TypingError("iteration over a 0-d array", loc)
    return _over_array(fl, value, loc)


def _over_array(fl: FunctionLowerer, value: Expr, loc: SourceLoc) -> Iteration:
    base = value if isinstance(value, Var) else _evaluated_once(fl, value, loc)
    at = base.type
    assert isinstance(at, Array)
    length = cast(Shape(base, 0, PY_INT, loc), INT64)

    def item(k: Expr) -> Expr:
        if at.ndim == 1:
            return Load(base, (k,), at.dtype, (False,), loc)
        dims: tuple[ViewDim, ...] = (
            IndexDim(k, loc), *(SliceDim(None, None, None, loc) for _ in range(at.ndim - 1)))
        return ArrayView(base, dims, Array(at.dtype, at.ndim - 1, view_layout(at, dims)), loc)

    return Iteration(length, item)


def _evaluated_once(fl: FunctionLowerer, value: Expr, loc: SourceLoc) -> Var:
    temp = fl.new_temp()
    t = fl.assign_type(temp, value.type, loc)
    fl.pre.append(Assign(temp, value, loc))
    return Var(temp, t, loc)


def _enumerate(fl: FunctionLowerer, node: ast.Call, loc: SourceLoc) -> Iteration:
    starts = node.args[1:] + [k.value for k in node.keywords if k.arg == "start"]
    if not node.args or len(starts) > 1 or any(k.arg != "start" for k in node.keywords):
        raise TypingError("enumerate() takes an iterable and an optional start", loc)
    inner = iteration(fl, node.args[0])
    start: Expr = Const(0, INT64, loc)
    if starts:
        s = fl.lower_expr(starts[0])
        if not (isinstance(s.type, Scalar) and s.type.is_int and not s.type.is_bool):
            raise TypingError(f"enumerate()'s start must be an integer, got {s.type}", loc)
        start = _evaluated_once(fl, cast(s, INT64), loc)

    def item(k: Expr) -> Expr:
        count = cast(BinOp("+", start, k, INT64, False, loc), PY_INT)
        value = inner.item(k)
        return MakeTuple((count, value), Tuple((PY_INT, value.type)), loc)

    return Iteration(inner.length, item)


def _zip(fl: FunctionLowerer, node: ast.Call, loc: SourceLoc) -> Iteration:
    if node.keywords:
        raise UnsupportedError("zip() keyword arguments are not supported", loc)
    if not node.args:
        raise UnsupportedError("zip() of nothing is not supported", loc)
    parts = [iteration(fl, a) for a in node.args]
    length = parts[0].length
    for p in parts[1:]:
        length = IfExp(Compare("<", p.length, length, loc=loc), p.length, length, INT64, loc)

    def item(k: Expr) -> Expr:
        items = tuple(p.item(k) for p in parts)
        return MakeTuple(items, Tuple(tuple(i.type for i in items)), loc)

    return Iteration(length, item)
