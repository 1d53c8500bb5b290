"""Views as C: pointer, extents and element strides of an array variable.

Contract: :func:`view_lines` prints the assignment of a view expression
(``ArrayView``, ``TransposeView``, ``ReshapeView``, ``BroadcastView`` of an
array variable) to an array variable's parts (``A*_d``, ``A*_n<k>``,
``A*_s<k>``) for any C-family renderer; slices are normalised at run time
as Python normalises them (``hj_slice`` in the host prelude).  It only
prints: every decision was made when the IR was built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InternalError
from ..ir.arrays import ArrayView, BroadcastView, IndexDim, ReshapeView, SliceDim, TransposeView
from ..ir.nodes import Const, Expr, Var
from ..types import Array
from .cfamily import array_part

if TYPE_CHECKING:
    from .cfamily import CFamilyRenderer


def view_lines(r: CFamilyRenderer, target: str, t: Array, value: Expr, ind: str) -> list[str]:
    base = getattr(value, "base", None)
    if not isinstance(base, Var) or not isinstance(base.type, Array):
        raise InternalError("a view's base must be an array variable by code generation")
    b = base.name
    i2 = ind + "    "
    out = [f"{ind}{{", f"{i2}{t.dtype.c_name} *hj_p = {array_part(b, 'd')};"]
    if isinstance(value, ArrayView):
        out += _array_view(r, b, target, value, i2)
    elif isinstance(value, TransposeView):
        for k, d in enumerate(value.perm):
            out.append(f"{i2}{array_part(target, f'n{k}')} = {array_part(b, f'n{d}')}; "
                       f"{array_part(target, f's{k}')} = {array_part(b, f's{d}')};")
    elif isinstance(value, ReshapeView):
        out += _reshape(r, b, base.type, target, value, i2)
    elif isinstance(value, BroadcastView):
        out += _broadcast(r, b, base.type, target, value, i2)
    else:
        raise InternalError(f"cannot print view {type(value).__name__}")
    out += [f"{i2}{array_part(target, 'd')} = hj_p;", f"{ind}}}"]
    return out


def _array_view(r: CFamilyRenderer, b: str, target: str, v: ArrayView, ind: str) -> list[str]:
    out: list[str] = []
    bd = 0  # dimension of the base
    k = 0  # dimension of the view
    for d in v.dims:
        nk, sk = array_part(target, f"n{k}"), array_part(target, f"s{k}")
        if isinstance(d, SliceDim):
            n, s = array_part(b, f"n{bd}"), array_part(b, f"s{bd}")
            step = "1" if d.step is None else r.expr(d.step)
            start = "0" if d.start is None else r.expr(d.start)
            stop = "0" if d.stop is None else r.expr(d.stop)
            out.append(f"{ind}{{ int64_t hj_lo, hj_len, hj_stp = {step}; hj_slice({n}, "
                       f"{int(d.start is not None)}, {start}, {int(d.stop is not None)}, {stop}, "
                       f"hj_stp, &hj_lo, &hj_len, &hj_st); hj_p += hj_lo * {s}; {nk} = hj_len; "
                       f"{sk} = {s} * hj_stp; }}")
            bd += 1
            k += 1
        elif isinstance(d, IndexDim):
            n, s = array_part(b, f"n{bd}"), array_part(b, f"s{bd}")
            idx = r.expr(d.index)
            if not (isinstance(d.index, Const) and int(d.index.value) >= 0):
                idx = f"hj_wrap({idx}, {n})"
            if r.boundscheck:
                out.append(f"{ind}if (!hj_inb({idx}, {n})) hj_st |= HJ_INDEX;")
            out.append(f"{ind}hj_p += ({idx}) * {s};")
            bd += 1
        else:  # a new axis
            out.append(f"{ind}{nk} = 1; {sk} = 0;")
            k += 1
    return out


def _reshape(r: CFamilyRenderer, b: str, bt: Array, target: str, v: ReshapeView,
             ind: str) -> list[str]:
    """A C-contiguous base seen with another shape (one extent may be -1)."""
    size = " * ".join(array_part(b, f"n{d}") for d in range(bt.ndim)) or "1"
    nd = len(v.shape)
    exts = ", ".join(r.expr(e) for e in v.shape) or "0"
    out = [f"{ind}int64_t hj_e[{max(nd, 1)}] = {{{exts}}};",
           f"{ind}hj_reshape({nd}, hj_e, {size}, &hj_st);"]
    stride = "1"
    for k in reversed(range(nd)):
        out.append(f"{ind}{array_part(target, f'n{k}')} = hj_e[{k}]; "
                   f"{array_part(target, f's{k}')} = {stride};")
        stride = f"{array_part(target, f's{k}')} * hj_e[{k}]"
    return out


def _broadcast(r: CFamilyRenderer, b: str, bt: Array, target: str, v: BroadcastView,
               ind: str) -> list[str]:
    out = []
    lead = len(v.shape) - bt.ndim
    for k, e in enumerate(v.shape):
        nk, sk = array_part(target, f"n{k}"), array_part(target, f"s{k}")
        bd = k - lead
        if bd < 0:
            out.append(f"{ind}{nk} = {r.expr(e)}; {sk} = 0;")
        else:
            n, s = array_part(b, f"n{bd}"), array_part(b, f"s{bd}")
            out.append(f"{ind}{nk} = {r.expr(e)}; {sk} = {n} == 1 ? 0 : {s};")
    return out
