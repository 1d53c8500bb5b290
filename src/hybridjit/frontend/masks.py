"""Boolean masks: stores ``a[mask] = v``, ``a[a < 0] = 0``, ``a[m] = b[m]``,
``a[m] op= v``, and reads ``a[mask]`` (issue 12, item 4).

Contract: :func:`mask_index` recognises a subscript whose single index is a
boolean array of the indexed array's dimensions; :func:`masked_store`
lowers the store to an :class:`~hybridjit.ir.arrays.ArrayStore` of
``where(mask, value, a)`` into ``a``, so it is one element-wise loop nest
like any array statement (parallel, fused, offloadable), storing the new
value where the mask holds and the element itself elsewhere.  NumPy's
rules: the value is converted to ``a``'s dtype as a stored scalar is (a
float into an integer array as ``int()``), an augmented store keeps NumPy's
same-kind rule, and a mask whose extents differ from the array's raises
NumPy's IndexError (a run-time check before the nest).  An array value is
taken only as the same mask applied to an array of the same shape
(``a[m] = b[m]``: element ``k`` of the value is then ``b``'s element where
``a``'s is stored).  :func:`compress` reads ``a[mask]``, a new 1-D array
(:class:`~hybridjit.ir.arrays.Compress`).  Integer index arrays are
frontend/fancy.py's.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import IndexingError, SourceLoc, TypingError, UnsupportedError
from ..ir.arrays import ArrayStore, ArrayView, Compress, Map, NewAxisDim, Sequence, SliceDim
from ..ir.nodes import Const, Expr, ExprStmt, IfExp, Intrinsic, MakeTuple, Shape, Stmt
from ..types import INT64, PY_INT, Array, Scalar, Tuple
from .arrayops import lift
from .coerce import truth

if TYPE_CHECKING:
    from .lower import FunctionLowerer

#: index expressions tried as masks: lowering them twice (once here, once
#: as an ordinary index when they are not arrays) must have no effect, so
#: they call no function but NumPy's (a helper is inlined where it is
#: lowered: twice would run its body twice)
_PURE = (ast.Name, ast.Compare, ast.UnaryOp, ast.BinOp, ast.Attribute, ast.Call)


def mask_index(fl: FunctionLowerer, node: ast.Subscript) -> Expr | None:
    """The array (a boolean mask or integer indices) that is the single
    index of ``node``, or None for any other index."""
    idx = node.slice
    if not isinstance(idx, _PURE) or any(
            isinstance(n, ast.Call) and not _global_function(fl, n.func) for n in ast.walk(idx)):
        return None
    mask = fl.lower_expr(idx)
    mt = mask.type
    if not isinstance(mt, Array):
        return None
    return mask


def is_mask(index: Expr) -> bool:
    """Whether an array index (from :func:`mask_index`) is a boolean mask
    (else it is an integer index array: frontend/fancy.py)."""
    t = index.type
    return isinstance(t, Array) and t.dtype.is_bool


def _global_function(fl: FunctionLowerer, func: ast.expr) -> bool:
    """``np.isnan``-like: an attribute of a module, not a helper function
    (whose inlining has effects)."""
    from .exprs import is_static_chain

    return isinstance(func, ast.Attribute) and is_static_chain(fl, func)


def masked_store(fl: FunctionLowerer, node: ast.Subscript, mask: Expr,
                 value_node: ast.expr | Expr, op: str | None, loc: SourceLoc) -> list[Stmt]:
    """``a[mask] = value`` (``op`` None) or ``a[mask] op= value``."""
    from .exprs import binop
    from .lower import store_value

    base = fl.lower_expr(node.value)
    at, mt = base.type, mask.type
    if not isinstance(at, Array):
        raise TypingError(f"a {at} does not support item assignment", loc)
    assert isinstance(mt, Array)
    _check_ndim(at, mt, loc)
    checks: list[Stmt] = [_extent_check(base, mask, d, loc) for d in range(at.ndim)]
    value = _value(fl, node, value_node, mask, base, checks, loc)
    elem = at.dtype
    if op is not None:
        new = lift(lambda x, v: binop(op, x, v, loc), [base, value], loc)
        nt = new.type
        nd = nt.dtype if isinstance(nt, Array) else nt
        assert isinstance(nd, Scalar)
        if not np.can_cast(nd.dtype, elem.dtype, "same_kind"):
            raise TypingError(
                f"cannot cast the {nd.strong()} result to the array's dtype {elem} in place "
                "(NumPy's same_kind rule)", loc,
                hint="convert the value with .astype(...) or np.<dtype>(...) first")
        value = new

    def pick(m: Expr, v: Expr, old: Expr) -> Expr:
        return IfExp(truth(m, loc), store_value(v, elem, loc), old, elem, loc)

    return [*checks, ArrayStore(base, lift(pick, [mask, value, base], loc), loc)]


def compress(base: Expr, mask: Expr, loc: SourceLoc) -> Expr:
    """``base[mask]``: a new 1-D array of the elements where the mask holds
    (NumPy's IndexError when the mask's shape is not the array's)."""
    at, mt = base.type, mask.type
    assert isinstance(at, Array) and isinstance(mt, Array)
    _check_ndim(at, mt, loc)
    # the array seen through a view whose extents are checked equal to the
    # mask's: computed once, before the nests
    dims = tuple(SliceDim(None, Intrinsic("host.mask_match",
                                          (_extent(base, d, loc), _extent(mask, d, loc),
                                           Const(d, INT64, loc)), PY_INT, loc), None, loc)
                 for d in range(at.ndim))
    checked = ArrayView(base, dims, Array(at.dtype, at.ndim, "A"), loc)
    return Compress(checked, mask, Array(at.dtype, 1, "C"), loc)


def _check_ndim(at: Array, mt: Array, loc: SourceLoc) -> None:
    if mt.ndim != at.ndim:
        raise IndexingError(
            f"a boolean index of {mt.ndim} dimension{'s' * (mt.ndim != 1)} for an array of "
            f"{at.ndim}: only masks of the array's own shape are supported", loc,
            hint="index with a mask of the array's shape (a[m] with m.shape == a.shape)")


def _value(fl: FunctionLowerer, node: ast.Subscript, value_node: ast.expr | Expr,
           mask: Expr, base: Expr, checks: list[Stmt], loc: SourceLoc) -> Expr:
    """The stored value: a scalar, or the array ``b`` of ``b[mask]`` (the
    same mask as the target's) seen element by element."""
    if isinstance(value_node, ast.Subscript) and \
            ast.dump(value_node.slice) == ast.dump(node.slice):
        source = fl.lower_expr(value_node.value)
        st = source.type
        mt = mask.type
        if isinstance(st, Array) and isinstance(mt, Array):
            if st.ndim != mt.ndim:
                raise IndexingError("the value's array and the mask have different "
                                    "numbers of dimensions", loc)
            checks += [_extent_check(source, mask, d, loc) for d in range(st.ndim)]
            return source
    value = value_node if isinstance(value_node, Expr) else fl.lower_expr(value_node)
    if isinstance(value.type, Array):
        raise UnsupportedError(
            "storing an array through a boolean mask is supported only as a[m] = b[m] "
            "(the same mask, b of a's shape)", loc,
            hint="use np.where(m, b, a) for a value of a's shape")
    return value


def _extent_check(a: Expr, mask: Expr, d: int, loc: SourceLoc) -> Stmt:
    """NumPy's IndexError unless ``mask``'s extent ``d`` is ``a``'s."""
    return ExprStmt(Intrinsic("host.mask_match",
                              (_extent(a, d, loc), _extent(mask, d, loc),
                               Const(d, INT64, loc)), PY_INT, loc), loc)


def _extent(e: Expr, d: int, loc: SourceLoc) -> Expr:
    """Extent ``d`` of array expression ``e``; of an element-wise one, from
    its operands' (broadcast), so that nothing is computed for it."""
    et = e.type
    assert isinstance(et, Array)
    if not isinstance(e, Map):
        return Shape(e, d, PY_INT, loc)  # type: ignore[arg-type]
    out: Expr | None = None
    for arg in e.args:
        at = arg.type
        if not isinstance(at, Array) or d - (et.ndim - at.ndim) < 0:
            continue
        x = _extent(arg, d - (et.ndim - at.ndim), loc)
        out = x if out is None else Intrinsic("host.broadcast", (out, x), PY_INT, loc)
    assert out is not None
    return out


def nonzero(a: Expr, new_let: Callable[[], str], loc: SourceLoc) -> Expr:
    """``np.nonzero(a)`` (and one-argument ``np.where``): a tuple of int64
    index arrays, one per dimension, of the elements that are not zero, in C
    order: each the index grid of its dimension compressed by the mask."""
    from .arrayops import lift

    at = a.type
    assert isinstance(at, Array)
    if at.ndim == 0:
        raise UnsupportedError("np.nonzero() of a 0-d array is not supported", loc)
    mask = not_zero(a, new_let, loc)
    items = []
    for d in range(at.ndim):
        n = Shape(a, d, PY_INT, loc)  # type: ignore[arg-type]
        grid: Expr = Sequence("arange", (Const(0, INT64, loc), Const(1, INT64, loc), n),
                              Array(INT64, 1, "C"), loc)
        if at.ndim > 1:  # extent n along dimension d, 1 along the others
            dims = tuple(SliceDim(None, None, None, loc) if k == d else NewAxisDim(loc)
                         for k in range(at.ndim))
            grid = ArrayView(grid, dims, Array(INT64, at.ndim, "A"), loc)
            grid = lift(lambda i, m: i, [grid, mask], loc)
        items.append(Compress(grid, mask, Array(INT64, 1, "C"), loc))
    return MakeTuple(tuple(items), Tuple(tuple(i.type for i in items)), loc)


def not_zero(a: Expr, new_let: Callable[[], str], loc: SourceLoc) -> Expr:
    """``a != 0`` element by element (NumPy's truth of each element)."""
    from .exprs import compare

    return compare(new_let, "!=", a, Const(0, PY_INT, loc), loc)
