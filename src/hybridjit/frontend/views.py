"""Indexing: ``a[i, j]`` (an element) and basic slicing (a view).

Contract: :func:`index` lowers the subscript of an array to a scalar
:class:`~hybridjit.ir.nodes.Load` when every dimension gets an integer, and
otherwise to an :class:`~hybridjit.ir.arrays.ArrayView` (slices with any
start/stop/step, integer indices, ``None``/``np.newaxis``, ``...``) with
NumPy's result dimensions.  :func:`transpose` gives ``a.T``/``np.transpose``.
A single index array is masks.py's and fancy.py's, and so is one integer
index array among other indices (``fancy.mixed_index``); an index array
that reaches this module (an impure index expression) is refused with a
hint.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from ..errors import IndexingError, ShapeError, SourceLoc, TypingError, UnsupportedError
from ..ir.arrays import ArrayView, IndexDim, NewAxisDim, SliceDim, TransposeView, ViewDim
from ..ir.nodes import Const, Expr, Load
from ..types import INT64, Array, Scalar
from .coerce import cast

if TYPE_CHECKING:
    from .lower import FunctionLowerer


def index(fl: FunctionLowerer, base: Expr, node: ast.Subscript) -> Expr:
    loc = fl.loc(node)
    at = base.type
    assert isinstance(at, Array)
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    dims = _dims(fl, items, at.ndim, loc)
    if all(isinstance(d, IndexDim) for d in dims):
        indices = tuple(d.index for d in dims if isinstance(d, IndexDim))
        return Load(base, indices, at.dtype, (True,) * len(indices), loc)  # type: ignore[arg-type]
    ndim = sum(not isinstance(d, IndexDim) for d in dims)
    return ArrayView(base, dims, Array(at.dtype, ndim, view_layout(at, dims)), loc)


def _dims(fl: FunctionLowerer, items: list[ast.expr], ndim: int,
          loc: SourceLoc) -> tuple[ViewDim, ...]:
    """One entry per dimension of the base plus the new axes (``...`` and
    omitted trailing dimensions become full slices)."""
    out: list[ViewDim | None] = []  # None marks the Ellipsis until expanded
    for it in items:
        if isinstance(it, ast.Constant) and it.value is Ellipsis:
            if None in out:
                raise TypingError("an index can only have a single ellipsis ('...')", loc)
            out.append(None)
        elif _is_newaxis(fl, it):
            out.append(NewAxisDim(fl.loc(it)))
        elif isinstance(it, ast.Slice):
            out.append(SliceDim(_slice_part(fl, it.lower), _slice_part(fl, it.upper),
                                _slice_part(fl, it.step), fl.loc(it)))
        else:
            out.append(IndexDim(_integer_index(fl, it), fl.loc(it)))
    used = sum(not isinstance(d, NewAxisDim) and d is not None for d in out)
    if used > ndim:
        raise IndexingError(
            f"too many indices for an array of {ndim} dimension{'s' * (ndim != 1)}: "
            f"{used} were given", loc)
    fill = [SliceDim(None, None, None, loc)] * (ndim - used)
    if None in out:
        k = out.index(None)
        out[k:k + 1] = fill
    else:
        out += fill
    return tuple(d for d in out if d is not None)


def _is_newaxis(fl: FunctionLowerer, node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value is None
    if isinstance(node, ast.Attribute) and node.attr == "newaxis":
        try:
            return fl.static_value(node) is None
        except Exception:
            return False
    return False


def _slice_part(fl: FunctionLowerer, node: ast.expr | None) -> Expr | None:
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return None
    e = fl.lower_expr(node)
    if not (isinstance(e.type, Scalar) and (e.type.is_int or e.type.is_bool)):
        raise TypingError(f"slice indices must be integers or None, got {e.type}", fl.loc(node),
                          hint="convert with int(...)")
    return cast(e, INT64)


def _integer_index(fl: FunctionLowerer, node: ast.expr) -> Expr:
    e = fl.lower_expr(node)
    if isinstance(e.type, Array):
        raise UnsupportedError(
            "an index array computed in the subscript, together with other indices, is "
            "not supported", fl.loc(node),
            hint="assign the index array to a variable first (idx = ...; a[idx, j]), or "
            "write the loop over the indices",
        )
    if not (isinstance(e.type, Scalar) and e.type.is_int) or e.type.is_bool:
        raise TypingError(f"array indices must be integers, got {e.type}", fl.loc(node),
                          hint="convert with int(...)")
    return cast(e, INT64)


def view_layout(base: Array, dims: tuple[ViewDim, ...]) -> str:
    """"C" when the view of a C-contiguous base is provably contiguous:
    integer indices first, then a slice of step 1, then only whole
    dimensions (new axes anywhere)."""
    if base.layout != "C":
        return "A"
    sliced = False
    for d in dims:
        if isinstance(d, NewAxisDim):
            continue
        if isinstance(d, IndexDim):
            if sliced:
                return "A"
            continue
        if sliced and not d.is_full:
            return "A"
        if not sliced and d.step is not None and not (
                isinstance(d.step, Const) and d.step.value == 1):
            return "A"
        sliced = True
    return "C"


def transpose(base: Expr, perm: tuple[int, ...] | None, loc: SourceLoc) -> Expr:
    at = base.type
    assert isinstance(at, Array)
    perm = perm if perm is not None else tuple(reversed(range(at.ndim)))
    if sorted(perm) != list(range(at.ndim)):
        raise ShapeError(f"axes {perm} don't match an array of {at.ndim} dimensions", loc)
    if perm == tuple(range(at.ndim)):
        return base
    layout = "C" if at.ndim <= 1 and at.layout == "C" else "A"
    return TransposeView(base, perm, Array(at.dtype, at.ndim, layout), loc)
