"""Matrix products: ``@``, ``np.matmul``, ``np.dot``, ``np.inner``,
``np.vdot``, ``np.outer`` of 1-D and 2-D arrays.

Contract: each product is built from the array IR that already exists, so
the lowering pass, fusion, parallelisation, offload and ``explain`` treat it
like any reduction: the operands are seen through views that line their
contracted dimension up (``A[:, :, None] * B[None, :, :]``), multiplied
element-wise (a :class:`~hybridjit.ir.arrays.Map`, NumPy's result dtype),
and summed over that dimension (an :class:`~hybridjit.ir.arrays.ArrayReduce`
in the result dtype, so integers wrap as NumPy's do; bools are or-ed ands,
as NumPy's bool products are).  No temporary holds the element-wise
products.  The contracted extents must be equal, not merely broadcastable:
the second operand's view takes its extent from ``host.core_match``, which
raises NumPy's ValueError when they differ and is evaluated once, before
the loop nest.

``out=`` (np.matmul, np.dot) stores the product into the given array,
computed first, after NumPy's checks, and returns that array.

Departures: the sums are sequential per result element (NumPy's BLAS
blocks and vectorises them), so float results differ in rounding within
the usual tolerance; there is no BLAS call yet, so large matrix-matrix
products are much slower than NumPy's.  Operands of more than 2
dimensions are refused.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from ..errors import ShapeError, SourceLoc, TypingError, UnsupportedError
from ..ir.arrays import ArrayReduce, ArrayStore, ArrayView, MatMul, NewAxisDim, SliceDim, ViewDim
from ..ir.nodes import Const, Expr, ExprStmt, Intrinsic, Shape
from ..types import INT64, PY_INT, Array, Scalar, scalar_of_dtype
from .arrayops import lift
from .coerce import cast
from .views import view_layout

if TYPE_CHECKING:
    from .builtins import CallSite

import numpy as np


def _full(loc: SourceLoc) -> SliceDim:
    return SliceDim(None, None, None, loc)


def _view(a: Expr, dims: tuple[ViewDim, ...], loc: SourceLoc) -> Expr:
    at = a.type
    assert isinstance(at, Array)
    # (slices and new axes only: one result dimension each)
    return ArrayView(a, dims, Array(at.dtype, len(dims), view_layout(at, dims)), loc)


def _matched(fn: str, a: Expr, da: int, b: Expr, db: int, loc: SourceLoc) -> SliceDim:
    """A slice of ``b``'s contracted dimension ``db`` whose stop is that
    extent once it is checked equal to ``a``'s dimension ``da``."""
    k = Intrinsic("host.core_match",
                  (Shape(a, da, PY_INT, loc), Shape(b, db, PY_INT, loc),  # type: ignore[arg-type]
                   Const(_FUNCTIONS.index(fn), INT64, loc)), PY_INT, loc)
    return SliceDim(None, k, None, loc)


#: the function names host.core_match's message can name (its third argument)
_FUNCTIONS = ("matmul", "dot", "inner")


def _product(a: Expr, b: Expr, loc: SourceLoc) -> tuple[Expr, str, Scalar]:
    """The element-wise product of the aligned operands, the reduction that
    contracts it, and the result dtype."""
    from .exprs import binop

    at, bt = a.type, b.type
    assert isinstance(at, Array) and isinstance(bt, Array)
    rt = scalar_of_dtype(np.result_type(at.dtype.dtype, bt.dtype.dtype))
    if rt.is_bool:
        return lift(lambda x, y: binop("&", x, y, loc), [a, b], loc), "any", rt
    return lift(lambda x, y: binop("*", x, y, loc), [a, b], loc), "sum", rt


def contract(fn: str, a: Expr, b: Expr, loc: SourceLoc) -> Expr:
    """``a @ b`` for 1-D/2-D ``a`` and ``b`` (``fn`` names the function in
    the error message): NumPy's matmul rules for the dimensions."""
    at, bt = a.type, b.type
    assert isinstance(at, Array) and isinstance(bt, Array)
    for k, t in enumerate((at, bt)):
        if t.ndim == 0 or t.ndim > 2:
            raise UnsupportedError(
                f"{fn}() of a {t.ndim}-D operand (operand {k}) is not supported", loc,
                hint="matrix products take 1-D and 2-D arrays here")
    ka = at.ndim - 1  # a's contracted dimension: its last
    kb = 0 if bt.ndim == 1 else bt.ndim - 2  # b's: its first (1-D) or second-to-last
    check = _matched(fn, a, ka, b, kb, loc)
    if at.ndim == 1 and bt.ndim == 1:
        av, bv, axis = a, _view(b, (check,), loc), None
    elif at.ndim == 2 and bt.ndim == 1:
        av, bv, axis = a, _view(b, (NewAxisDim(loc), check), loc), 1
    elif at.ndim == 1 and bt.ndim == 2:
        av = _view(a, (_full(loc), NewAxisDim(loc)), loc)
        bv, axis = _view(b, (check, _full(loc)), loc), 0
    else:
        av = _view(a, (_full(loc), _full(loc), NewAxisDim(loc)), loc)
        bv, axis = _view(b, (NewAxisDim(loc), check, _full(loc)), loc), 1
    prod, kind, rt = _product(av, bv, loc)
    if axis is None:
        return ArrayReduce(kind, prod, None, False, rt, loc=loc)
    pt = prod.type
    assert isinstance(pt, Array)
    nest = ArrayReduce(kind, prod, (axis,), False, Array(rt, pt.ndim - 1, "C"), loc=loc)
    if at.ndim == bt.ndim == 2 and at.dtype == bt.dtype and at.dtype.is_inexact:
        # NumPy's BLAS where it pays (transform/arrays.py decides)
        return MatMul(a, b, nest, Array(rt, 2, "C"), loc)
    return nest


def matmul_operator(a: Expr, b: Expr, loc: SourceLoc) -> Expr:
    """``a @ b``."""
    for k, x in enumerate((a, b)):
        if not isinstance(x.type, Array):
            raise ShapeError(  # NumPy's ValueError
                f"matmul: Input operand {k} does not have enough dimensions (a {x.type} "
                "is not an array)", loc, hint="use * to multiply by a scalar")
    return contract("matmul", a, b, loc)


def _operands(site: CallSite, n: int = 2, out_ok: bool = False) -> list[Expr]:
    site.expect_args(n)
    if "out" in site.keywords and not out_ok:
        raise UnsupportedError(f"np.{site.name}(..., out=...) is not supported", site.loc,
                               hint="assign the result: out[...] = a @ b")
    return list(site.args)


def _matmul(site: CallSite) -> Expr:
    a, b = _operands(site, out_ok=True)
    return _into_out(site, matmul_operator(a, b, site.loc), (a, b), exact=False)


def _dot(site: CallSite) -> Expr:
    """np.dot: a product by a scalar when either is one, else matmul's
    rules for 1-D/2-D operands."""

    a, b = _operands(site, out_ok=True)
    if not isinstance(a.type, Array) or not isinstance(b.type, Array):
        product = _scalar_product(a, b, site.loc)
    else:
        product = contract("dot", a, b, site.loc)
    return _into_out(site, product, (a, b), exact=True)


def _into_out(site: CallSite, product: Expr, operands: tuple[Expr, Expr],
              exact: bool) -> Expr:
    """``out=``: the product stored into the given array (computed first:
    an ``out`` sharing memory with an operand is safe), which is then the
    call's value, as NumPy returns it.  Its shape must be the product's
    (NumPy's ValueError, checked before the store); np.dot (``exact``) also
    wants the product's very dtype and a C-contiguous array, np.matmul a
    dtype the result converts to by NumPy's same_kind rule."""
    node = site.keywords.get("out")
    if node is None:
        return product
    out = site.lower(node) if isinstance(node, ast.expr) else node
    ot, pt = out.type, product.type
    if not isinstance(ot, Array):
        raise TypingError(f"np.{site.name}(): out must be an array, got {ot}", site.loc)
    pd = pt.dtype if isinstance(pt, Array) else pt
    assert isinstance(pd, Scalar)
    pnd = pt.ndim if isinstance(pt, Array) else 0
    if exact and (ot.dtype != pd.strong() or ot.ndim != pnd or ot.layout != "C"):
        raise ShapeError("output array is not acceptable (must have the right datatype, number "
                         f"of dimensions, and be a C-Array): np.dot gives {pnd}-D {pd.strong()}",
                         site.loc)
    if ot.ndim != pnd:
        raise ShapeError(f"{site.name}: out has {ot.ndim} dimensions, the result {pnd}",
                         site.loc)
    if not np.can_cast(pd.dtype, ot.dtype.dtype, "same_kind"):
        raise TypingError(f"Cannot cast ufunc '{site.name}' output from {pd.strong()} to "
                          f"{ot.dtype} with casting rule 'same_kind'", site.loc)
    if pnd == 0:
        raise UnsupportedError(f"np.{site.name}() with a 0-d out= is not supported", site.loc)
    assert site.emit is not None
    extents = _result_extents(*operands)
    for d, want in enumerate(extents or ()):  # (else the store's own broadcasting check)
        site.emit(ExprStmt(Intrinsic("host.out_match", (
            Shape(out, d, PY_INT, site.loc), want,  # type: ignore[arg-type]
            Const(d, INT64, site.loc)), PY_INT, site.loc), site.loc))
    site.emit(ArrayStore(out, product, site.loc))
    return out


def _result_extents(a: Expr, b: Expr) -> tuple[Expr, ...] | None:
    """The extents of a product of 1-D/2-D operands (or of an array by a
    scalar), read from operands that are variables or views (reading
    another expression's extents would compute it an extra time)."""
    from ..ir.arrays import VIEWS
    from ..ir.nodes import Var

    for x in (a, b):
        if isinstance(x.type, Array) and not isinstance(x, (Var, *VIEWS)):
            return None
    at, bt = a.type, b.type
    loc = a.loc

    def ext(x: Expr, d: int) -> Expr:
        return Shape(x, d, PY_INT, loc)  # type: ignore[arg-type]

    if not isinstance(at, Array):
        return tuple(ext(b, d) for d in range(bt.ndim)) if isinstance(bt, Array) else None
    if not isinstance(bt, Array):
        return tuple(ext(a, d) for d in range(at.ndim))
    return (*(ext(a, 0) for _ in range(at.ndim - 1)), *(ext(b, 1) for _ in range(bt.ndim - 1)))


def _scalar_product(a: Expr, b: Expr, loc: SourceLoc) -> Expr:
    """np.dot/np.inner with a scalar operand: a product.  Not a ufunc: a
    Python number becomes a NumPy one first (np.dot(2, float32 array) is
    float64)."""
    from .exprs import binop

    a, b = (cast(x, x.type.strong()) if isinstance(x.type, Scalar) and x.type.weak else x
            for x in (a, b))
    return lift(lambda x, y: binop("*", x, y, loc), [a, b], loc)


def _inner(site: CallSite) -> Expr:
    """np.inner: sums over the last axes of both (``A @ B.T`` for 2-D)."""
    from .views import transpose

    a, b = _operands(site)
    if not isinstance(a.type, Array) or not isinstance(b.type, Array):
        return _scalar_product(a, b, site.loc)
    if b.type.ndim == 2:
        b = transpose(b, None, site.loc)
    return contract("inner", a, b, site.loc)


def _vdot(site: CallSite) -> Expr:
    """np.vdot: the dot product of both operands flattened (they must have
    the same size)."""
    from .arrayfuncs import flattened

    a, b = _operands(site)
    for x in (a, b):
        if not isinstance(x.type, Array):
            raise UnsupportedError("np.vdot() of scalars is not supported", site.loc,
                                   hint="multiply them: a * b")
    from .complexes import conjugate

    # (the first operand's complex conjugate, as np.vdot takes it)
    return contract("dot", conjugate(flattened(a, site), site.loc), flattened(b, site), site.loc)


def _outer(site: CallSite) -> Expr:
    """np.outer: ``a.ravel()[:, None] * b.ravel()[None, :]``."""
    from .arrayfuncs import flattened
    from .exprs import binop

    a, b = _operands(site)
    loc = site.loc
    for x in (a, b):
        if not isinstance(x.type, Array):
            raise UnsupportedError("np.outer() of scalars is not supported", site.loc,
                                   hint="multiply them: a * b")
    av = _view(flattened(a, site), (_full(loc), NewAxisDim(loc)), loc)
    bv = _view(flattened(b, site), (NewAxisDim(loc), _full(loc)), loc)
    return lift(lambda x, y: binop("*", x, y, loc), [av, bv], loc)


HANDLERS = {np.matmul: _matmul, np.dot: _dot, np.inner: _inner, np.vdot: _vdot,
            np.outer: _outer}
METHODS = {"dot": _dot}
