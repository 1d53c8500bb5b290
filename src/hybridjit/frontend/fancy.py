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
function that accumulates).  Only one index array, on the first axis, is
supported: ``a[idx, j]``, ``a[:, idx]`` and ``a[i_arr, j_arr]`` are
refused with a hint.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

import numpy as np

from ..errors import IndexingError, SourceLoc, TypingError
from ..ir.arrays import Gather, Scatter
from ..ir.nodes import Expr, Stmt
from ..types import Array, Scalar

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
    from .exprs import binop
    from .lower import store_value

    base = fl.lower_expr(node.value)
    at, it = _check(base, index, loc)
    value = value_node if isinstance(value_node, Expr) else fl.lower_expr(value_node)
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
