"""Integer index arrays: ``a[idx]``, ``a[idx] = v``, ``a[idx] op= v``
(issue 12, item 4).

Contract: :func:`gather` types the read ``a[idx]`` as a
:class:`~hybridjit.ir.arrays.Gather` (a new array of shape
``idx.shape + a.shape[1:]``); :func:`scatter` lowers a store through an
index array to a :class:`~hybridjit.ir.arrays.Scatter` statement, with
NumPy's conversions (a stored value converted to the array's dtype as
NumPy converts it, an augmented store within NumPy's same_kind rule).

NumPy's semantics for repeated indices: ``a[idx] = v`` stores in index
order, so the last value wins; ``a[idx] += v`` is ``a[idx] = a[idx] + v``
(every sum computed from the elements before the store), so a repeated
index is incremented once, not once per repetition (``np.add.at`` is the
function that accumulates).

One index array among other indices (``a[idx, j]``, ``a[:, idx]``,
``a[i, 1:, idx]``: :func:`mixed_index`) is the same gather or scatter on a
view: the array's place becomes a full slice, the view's dimension there is
moved to the front (``TransposeView``), and the result's dimensions are
moved back so that the index's dimensions stand where the array stood, as
NumPy places them for a single index array.  Two index arrays
(``a[i_arr, j_arr]``) and a boolean mask among other indices are refused
with a hint.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import IndexingError, SourceLoc, TypingError, UnsupportedError
from ..ir.arrays import (
    ArrayView,
    Gather,
    IndexDim,
    NewAxisDim,
    Scatter,
    SliceDim,
    ViewDim,
)
from ..ir.nodes import Expr, Stmt
from ..types import Array, Scalar
from . import views

if TYPE_CHECKING:
    from .lower import FunctionLowerer


def _check(base: Expr, index: Expr, loc: SourceLoc) -> tuple[Array, Array]:
    at, it = base.type, index.type
    if not isinstance(at, Array):
        raise TypingError(f"a {at} cannot be indexed with an array", loc)
    assert isinstance(it, Array)
    if at.ndim == 0:
        raise IndexingError("too many indices for a 0-dimensional array", loc)
    if not it.dtype.is_int:
        raise IndexingError(f"arrays used as indices must be of integer (or boolean) type, "
                            f"not {it.dtype}", loc)
    return at, it


def gather(base: Expr, index: Expr, loc: SourceLoc) -> Expr:
    """``base[index]``: a new array (NumPy copies for integer array indexing)."""
    at, it = _check(base, index, loc)
    return Gather(base, index, Array(at.dtype, it.ndim + at.ndim - 1, "C"), loc)


def scatter(fl: FunctionLowerer, node: ast.Subscript, index: Expr,
            value_node: ast.expr | Expr, op: str | None, loc: SourceLoc) -> list[Stmt]:
    """``a[index] = value`` (``op`` None) or ``a[index] op= value``."""
    base = fl.lower_expr(node.value)
    value = value_node if isinstance(value_node, Expr) else fl.lower_expr(value_node)
    return _scatter_into(base, index, value, op, loc)


def _scatter_into(base: Expr, index: Expr, value: Expr, op: str | None,
                  loc: SourceLoc) -> list[Stmt]:
    from .exprs import binop
    from .lower import store_value

    at, it = _check(base, index, loc)
    if op is not None:
        value = binop(op, gather(base, index, loc), value, loc)
    vt = value.type
    if not isinstance(vt, (Scalar, Array)):
        raise TypingError(f"cannot store a {vt} into an array", loc)
    vd = vt.dtype if isinstance(vt, Array) else vt
    if op is not None and not np.can_cast(vd.dtype, at.dtype.dtype, "same_kind"):
        raise TypingError(
            f"cannot cast the {vd.strong()} result to the array's dtype {at.dtype} in place "
            "(NumPy's same_kind rule)", loc,
            hint="convert the value with .astype(...) or np.<dtype>(...) first")
    if isinstance(vt, Array) and vt.ndim > it.ndim + at.ndim - 1:
        raise IndexingError(
            f"cannot store an array of {vt.ndim} dimensions into a selection of "
            f"{it.ndim + at.ndim - 1}", loc)
    if isinstance(vt, Scalar):
        value = store_value(value, at.dtype, loc)
    return [Scatter(base, index, value, loc)]


# ------------------------------------------------- one index array among others


@dataclass(frozen=True)
class Mixed:
    """``a[..., idx, ...]``: ``view`` is ``a`` indexed with a full slice in
    the array's place, ``axis`` that slice's dimension in ``view``, and
    ``place`` where the index's dimensions stand in the result."""

    view: Expr
    index: Expr
    axis: int
    place: int

    def front(self, loc: SourceLoc) -> Expr:
        """The view with dimension ``axis`` first (gathers pick along it)."""
        n = _ndim(self.view)
        perm = (self.axis, *(d for d in range(n) if d != self.axis))
        return views.transpose(self.view, perm, loc)

    def back(self) -> tuple[int, ...]:
        """The permutation putting a gather of :meth:`front` in NumPy's
        order: the view's dimensions before ``axis``, the index's, the rest."""
        m, n, k = _ndim(self.index), _ndim(self.view), self.place
        return (*(m + j for j in range(k)), *range(m), *(m + j for j in range(k, n - 1)))


def _ndim(e: Expr) -> int:
    t = e.type
    assert isinstance(t, Array)
    return t.ndim


def mixed_index(fl: FunctionLowerer, node: ast.Subscript) -> Mixed | None:
    """A subscript with exactly one integer index array among other indices
    (integers, slices, ``...``, ``None``), or None for any other subscript."""
    from .masks import _PURE, _global_function

    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else []
    found: list[tuple[int, Expr]] = []
    for p, it in enumerate(items):
        if _is_new_axis(it) or not isinstance(it, _PURE) or any(isinstance(n, ast.Call)
                                            and not _global_function(fl, n.func)
                                            for n in ast.walk(it)):
            continue
        e = fl.lower_expr(it)
        if isinstance(e.type, Array):
            found.append((p, e))
    if not found:
        return None
    loc = fl.loc(node)
    if len(found) > 1 or found[0][1].type.dtype.is_bool:  # type: ignore[attr-defined]
        raise UnsupportedError(
            "more than one index array, or a boolean mask among other indices, is not "
            "supported", loc,
            hint="index with one integer array among integers and slices (a[idx, j], "
            "a[:, idx]), or write the loop over the indices")
    p, index = found[0]
    full = ast.copy_location(ast.Slice(), items[p])
    sliced = ast.copy_location(ast.Subscript(
        value=node.value, slice=ast.Tuple(elts=[*items[:p], full, *items[p + 1:]],
                                          ctx=ast.Load()), ctx=ast.Load()), node)
    base = fl.lower_expr(node.value)
    if not isinstance(base.type, Array):
        raise TypingError(f"a {base.type} cannot be indexed with an array", loc)
    view = views.index(fl, base, sliced)
    assert isinstance(view, ArrayView)
    # the full slice's dimension in the view: dimensions the items before it make
    axis = _dims_before(items, p, base.type.ndim)
    assert axis < sum(not isinstance(d, IndexDim) for d in view.dims)
    # NumPy: integers beside an index array are index arrays too; all of them
    # next to each other put the result's dimensions where they stand, any
    # slice, new axis or ``...`` between them puts those dimensions first
    advanced = [q for q, it in enumerate(items) if q == p or not (
        isinstance(it, ast.Slice) or _is_new_axis(it) or _is_ellipsis(it))]
    adjacent = advanced == list(range(advanced[0], advanced[-1] + 1))
    return Mixed(view, index, axis, axis if adjacent else 0)


def _is_new_axis(it: ast.expr) -> bool:
    return (isinstance(it, ast.Constant) and it.value is None) \
        or (isinstance(it, ast.Attribute) and it.attr == "newaxis")


def _is_ellipsis(it: ast.expr) -> bool:
    return isinstance(it, ast.Constant) and it.value is Ellipsis


def _dims_before(items: list[ast.expr], p: int, ndim: int) -> int:
    """How many view dimensions the index items before item ``p`` give: a
    slice or a new axis one each, ``...`` the dimensions it stands for."""
    ellipsis = [_is_ellipsis(it) for it in items]
    used = sum(not e and not _is_new_axis(it) for it, e in zip(items, ellipsis))
    n = 0
    for it, e in zip(items[:p], ellipsis[:p]):
        if isinstance(it, ast.Slice) or _is_new_axis(it):
            n += 1
        elif e:
            n += ndim - used
    return n


def mixed_gather(m: Mixed, loc: SourceLoc) -> Expr:
    """``a[..., idx, ...]`` read: a gather along the moved dimension, its
    dimensions moved back."""
    return views.transpose(gather(m.front(loc), m.index, loc), m.back(), loc)


def mixed_scatter(fl: FunctionLowerer, m: Mixed, value_node: ast.expr | Expr, op: str | None,
                  loc: SourceLoc) -> list[Stmt]:
    """``a[..., idx, ...] = value`` (or ``op=``): the value, broadcast to the
    selection's shape, is put in the order of the moved view's gather."""
    value = value_node if isinstance(value_node, Expr) else fl.lower_expr(value_node)
    vt = value.type
    if isinstance(vt, Array) and vt.ndim > 0:
        back = m.back()
        r = len(back)
        if vt.ndim > r:
            raise IndexingError(
                f"cannot store an array of {vt.ndim} dimensions into a selection of {r}", loc)
        if vt.ndim < r:  # NumPy's broadcasting: new dimensions in front
            dims: tuple[ViewDim, ...] = (
                *(NewAxisDim(loc) for _ in range(r - vt.ndim)),
                *(SliceDim(None, None, None, loc) for _ in range(vt.ndim)))
            value = ArrayView(value, dims, Array(vt.dtype, r, "A"), loc)
        value = views.transpose(value, tuple(back.index(d) for d in range(r)), loc)
    return _scatter_into(m.front(loc), m.index, value, op, loc)
