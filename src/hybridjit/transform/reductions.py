"""Reductions, cumulative operations and new sequences as loop nests.

Contract: helpers of :mod:`hybridjit.transform.arrays` (they take its
lowerer, ``lw``): :func:`scalar_reduction` lowers an ``ArrayReduce`` over
all elements to statements computing a scalar variable; :func:`axis_reduction`
one along axes into a new array; :func:`cumulative`, :func:`sequence` and
:func:`concat` the other array builders.  Results follow NumPy: a reduction
of an empty array without identity (min, max, argmin, argmax) raises its
ValueError; NaNs propagate through min/max, and argmin/argmax return the
first NaN; mean/var/std divide by the count (minus ``ddof``).

Parallelism: the outermost loop of a whole-array reduction is a ``prange``
loop (NumPy sums pairwise, not sequentially, so no order is "the" order;
results differ in rounding only, as documented); along an axis, the nest
over the kept dimensions is an ordinary loop nest, which the dependence
analysis proves parallel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SourceLoc
from ..ir.arrays import ArrayReduce, ArrayView, Concat, Cumulative, NewAxisDim, Sequence, SliceDim
from ..ir.nodes import (
    Assign,
    BinOp,
    BoolOp,
    Cast,
    Compare,
    Const,
    Expr,
    ExprStmt,
    If,
    Intrinsic,
    Reduction,
    Stmt,
    Store,
    Var,
)
from ..types import BOOL, FLOAT64, INT64, PY_INT, Array, Scalar

if TYPE_CHECKING:
    from .arrays import _Lowerer

Shape_ = tuple[Expr, ...]


# ------------------------------------------------------------------ pieces


def _const(v: bool | int | float, t: Scalar, loc: SourceLoc) -> Const:
    return Const(v, t, loc)


def _cast(e: Expr, t: Scalar) -> Expr:
    return e if e.type == t else Cast(e, t, "", e.loc)


def _size(shape: Shape_, loc: SourceLoc) -> Expr:
    out: Expr = Const(1, PY_INT, loc)
    for x in shape:
        out = BinOp("*", out, _cast(x, PY_INT), PY_INT, False, loc)
    return out


def _identity(kind: str, t: Scalar) -> bool | int | float:
    if kind == "sum":
        return False if t.is_bool else 0
    if kind == "prod":
        return True if t.is_bool else 1
    if kind == "any":
        return False
    if kind == "all":
        return True
    smallest = kind == "max"  # the start of a max is the smallest value
    if t.is_float:
        return -math.inf if smallest else math.inf
    if t.is_bool:
        return not smallest
    info = np.iinfo(t.dtype)
    return int(info.min) if smallest else int(info.max)


def _combine(kind: str, acc: Expr, x: Expr, t: Scalar, loc: SourceLoc) -> Expr:
    if kind in ("sum", "prod"):
        op = "+" if kind == "sum" else "*"
        if t.is_bool:
            op = "|" if kind == "sum" else "&"
        return BinOp(op, acc, _cast(x, t), t, False, loc)
    if kind in ("any", "all"):  # max/min of truth values: a reduction OpenMP knows
        truth = Compare("!=", x, Const(0, x.type, loc), BOOL, loc) \
            if not (isinstance(x.type, Scalar) and x.type.is_bool) else x
        return Intrinsic("max" if kind == "any" else "min", (acc, truth), BOOL, loc)
    # min/max: NaN propagates (NumPy's minimum/maximum)
    name = ("np_" if t.is_float else "") + kind
    return Intrinsic(name, (acc, _cast(x, t)), t, loc)


def _simd(kind: str, acc: str, t: Scalar) -> tuple[Reduction, ...]:
    """The reduction the innermost loop may vectorise (sums and products in
    any order, as NumPy's own are pairwise; integer min/max)."""
    if kind in ("sum", "prod") and not t.is_bool:
        return (Reduction(acc, "+" if kind == "sum" else "*"),)
    if kind in ("min", "max") and t.is_int:
        return (Reduction(acc, kind),)
    return ()


def _parallel_combine(kind: str, t: Scalar) -> bool:
    """Whether the accumulation is a reduction the parallel loop can
    combine: a NaN-propagating float min/max is not (OpenMP's min/max drop
    NaNs), so it runs serially."""
    return not (kind in ("min", "max") and t.is_float)


def _no_identity_check(kind: str, size: Expr, loc: SourceLoc) -> Stmt:
    """NumPy's ValueError for min/max/argmin/argmax of an empty array."""
    return ExprStmt(Intrinsic("host.empty_reduction", (size, Const(_KINDS.index(kind), PY_INT,
                                                                   loc)), PY_INT, loc), loc)


#: kinds named in the empty-reduction message, in this order (prelude)
_KINDS = ("min", "max", "argmin", "argmax", "pymin", "pymax")


def _flat_index(idx: tuple[Expr, ...], shape: Shape_, loc: SourceLoc) -> Expr:
    out: Expr = Const(0, PY_INT, loc)
    for i, n in zip(idx, shape):
        out = BinOp("+", BinOp("*", out, _cast(n, PY_INT), PY_INT, False, loc),
                    _cast(i, PY_INT), PY_INT, False, loc)
    return out


# ------------------------------------------------------------ reductions


def _accumulate(lw: _Lowerer, e: ArrayReduce, vshape: Shape_, axes: tuple[int, ...],
                kidx: tuple[Expr, ...], t: Scalar, pre: list[Stmt], loc: SourceLoc,
                prange: bool) -> tuple[list[Stmt], Expr]:
    """Statements reducing ``e.value`` over ``axes`` (the other indices are
    ``kidx``) and the expression of the result, of type ``t``."""
    kind, value = e.kind, e.value
    red_shape = tuple(vshape[a] for a in axes)

    def full(ridx: tuple[Expr, ...]) -> tuple[Expr, ...]:
        out, r, k = [], iter(ridx), iter(kidx)
        for d in range(len(vshape)):
            out.append(next(r) if d in axes else next(k))
        return tuple(out)

    count = _size(red_shape, loc)
    if kind.startswith("py"):
        return _python_builtin(lw, e, vshape, t, pre, loc)
    if kind in ("argmin", "argmax"):
        return _arg_reduce(lw, kind, value, vshape, red_shape, full, pre, loc)
    if kind in ("mean", "var", "std"):
        return _moments(lw, kind, value, vshape, red_shape, full, t, count, e.ddof, pre, loc,
                        prange)
    acc = lw.temp(t, "r")
    av = Var(acc, t, loc)
    stmts: list[Stmt] = []
    if kind in ("min", "max"):  # (once, before any nest: NumPy checks the reduced extent)
        pre.append(_no_identity_check(kind, count, loc))
    stmts.append(Assign(acc, _const(_identity(kind, t), t, loc), loc))
    stmts.append(lw.nest(red_shape, lambda ridx: [Assign(acc, _combine(
        kind, av, lw.element(value, full(ridx), vshape, pre), t, loc), loc)], loc,
        prange and _parallel_combine(kind, t), _simd(kind, acc, t)))
    return stmts, av


def _python_builtin(lw: _Lowerer, e: ArrayReduce, vshape: Shape_, t: Scalar,
                    pre: list[Stmt], loc: SourceLoc) -> tuple[list[Stmt], Expr]:
    """Python's sum/min/max over a 1-D array: one element after the other,
    in order (a serial loop: Python's result, rounding included)."""
    acc = lw.temp(t, "r")
    av = Var(acc, t, loc)
    if e.kind == "pysum":
        assert e.start is not None
        init: list[Stmt] = [Assign(acc, _cast(e.start, t), loc)]

        def step(idx: tuple[Expr, ...]) -> list[Stmt]:
            x = _cast(lw.element(e.value, idx, vshape, pre), t)
            return [Assign(acc, BinOp("+", av, x, t, False, loc), loc)]

        return [*init, lw.nest(vshape, step, loc)], av
    first = lw.temp(BOOL, "r")
    fv = Var(first, BOOL, loc)
    op = "<" if e.kind == "pymin" else ">"

    def better(idx: tuple[Expr, ...]) -> list[Stmt]:
        x = lw.temp(t, "r")
        xv = Var(x, t, loc)
        return [Assign(x, lw.element(e.value, idx, vshape, pre), loc),
                If(BoolOp("or", (fv, Compare(op, xv, av, BOOL, loc)), BOOL, loc),
                   (Assign(acc, xv, loc), Assign(first, Const(False, BOOL, loc), loc)), (), loc)]

    pre.append(_no_identity_check(e.kind, vshape[0], loc))
    return [Assign(first, Const(True, BOOL, loc), loc),
            Assign(acc, _const(_identity(e.kind[2:], t), t, loc), loc),
            lw.nest(vshape, better, loc)], av


def _moments(lw: _Lowerer, kind: str, value: Expr, vshape: Shape_, red_shape: Shape_,
             full: Callable[[tuple[Expr, ...]], tuple[Expr, ...]], t: Scalar, count: Expr,
             ddof: int, pre: list[Stmt], loc: SourceLoc, prange: bool) -> tuple[list[Stmt], Expr]:
    """mean = sum / n; var = sum((x - mean)**2) / (n - ddof); std = sqrt(var)
    (two passes, as NumPy computes them), in the result's float type."""
    acc = lw.temp(t, "r")
    av = Var(acc, t, loc)
    n = _cast(count, t)
    stmts: list[Stmt] = [Assign(acc, _const(0, t, loc), loc),
                         lw.nest(red_shape, lambda ridx: [Assign(acc, BinOp(
                             "+", av, _cast(lw.element(value, full(ridx), vshape, pre), t), t,
                             False, loc), loc)], loc, prange, _simd("sum", acc, t))]
    mean = BinOp("/", av, n, t, False, loc)
    if kind == "mean":
        return stmts, mean
    m = lw.temp(t, "r")
    stmts.append(Assign(m, mean, loc))
    mv = Var(m, t, loc)
    sq = lw.temp(t, "r")
    sv = Var(sq, t, loc)

    def square(ridx: tuple[Expr, ...]) -> list[Stmt]:
        d = BinOp("-", _cast(lw.element(value, full(ridx), vshape, pre), t), mv, t, False, loc)
        return [Assign(sq, BinOp("+", sv, BinOp("*", d, d, t, False, loc), t, False, loc), loc)]

    stmts += [Assign(sq, _const(0, t, loc), loc),
              lw.nest(red_shape, square, loc, prange, _simd("sum", sq, t))]
    denom = BinOp("-", n, _const(float(ddof), t, loc), t, False, loc)
    var = BinOp("/", sv, Intrinsic("max", (denom, _const(0.0, t, loc)), t, loc), t, False, loc)
    if kind == "var":
        return stmts, var
    return stmts, Intrinsic("sqrt", (var,), t, loc)


def _arg_reduce(lw: _Lowerer, kind: str, value: Expr, vshape: Shape_, red_shape: Shape_,
                full: Callable[[tuple[Expr, ...]], tuple[Expr, ...]], pre: list[Stmt],
                loc: SourceLoc) -> tuple[list[Stmt], Expr]:
    """The flat index of the first minimum (maximum); the first NaN wins."""
    vt = value.type
    assert isinstance(vt, Array)
    et = vt.dtype
    best, k, first = lw.temp(et, "r"), lw.temp(PY_INT, "r"), lw.temp(BOOL, "r")
    bv, kv, fv = Var(best, et, loc), Var(k, PY_INT, loc), Var(first, BOOL, loc)
    op = "<" if kind == "argmin" else ">"

    def step(ridx: tuple[Expr, ...]) -> list[Stmt]:
        x = lw.temp(et, "r")
        xv = Var(x, et, loc)
        better: Expr = Compare(op, xv, bv, BOOL, loc)
        if et.is_float:  # a NaN is taken over any number, never replaced
            better = BoolOp("or", (better, BoolOp("and", (
                Compare("!=", xv, xv, BOOL, loc), Compare("==", bv, bv, BOOL, loc)), BOOL, loc)),
                BOOL, loc)
        better = BoolOp("or", (fv, better), BOOL, loc)
        return [Assign(x, lw.element(value, full(ridx), vshape, pre), loc),
                If(better, (Assign(best, xv, loc), Assign(k, _flat_index(ridx, red_shape, loc),
                                                          loc),
                            Assign(first, Const(False, BOOL, loc), loc)), (), loc)]

    pre.append(_no_identity_check(kind, _size(red_shape, loc), loc))
    stmts: list[Stmt] = [
        Assign(first, Const(True, BOOL, loc), loc), Assign(k, Const(0, PY_INT, loc), loc),
        Assign(best, _const(_identity("min" if kind == "argmin" else "max", et), et, loc), loc),
        lw.nest(red_shape, step, loc),
    ]
    return stmts, Cast(kv, INT64, "", loc)


def scalar_reduction(lw: _Lowerer, e: ArrayReduce, pre: list[Stmt]) -> Expr:
    vshape = lw.shape_of(e.value, pre, e.loc)
    t = e.type
    assert isinstance(t, Scalar)
    stmts, result = _accumulate(lw, e, vshape, tuple(range(len(vshape))), (),
                                _acc_type(e.kind, t), pre, e.loc, True)
    pre += stmts
    out = lw.temp(t, "r")
    pre.append(Assign(out, _cast(result, t), e.loc))
    return Var(out, t, e.loc)


def axis_reduction(lw: _Lowerer, e: ArrayReduce, dest: str, loc: SourceLoc) -> list[Stmt]:
    pre: list[Stmt] = []
    vshape = lw.shape_of(e.value, pre, loc)
    axes = e.axes or ()
    kept = tuple(d for d in range(len(vshape)) if d not in axes)
    out_shape = tuple(Const(1, PY_INT, loc) if d in axes else vshape[d]
                      for d in range(len(vshape))) if e.keepdims else \
        tuple(vshape[d] for d in kept)
    pre += lw.allocate(dest, out_shape, loc)
    t = lw.types[dest]
    assert isinstance(t, Array)
    target = lw.var(dest, loc)

    def body(kidx: tuple[Expr, ...]) -> list[Stmt]:
        stmts, result = _accumulate(lw, e, vshape, axes, kidx, _acc_type(e.kind, t.dtype), pre,
                                    loc, False)
        if e.keepdims:
            k = iter(kidx)
            oidx = tuple(Const(0, INT64, loc) if d in axes else next(k)
                         for d in range(len(vshape)))
        else:
            oidx = kidx
        return [*stmts, Store(target, oidx, _cast(result, t.dtype), (False,) * len(oidx), loc)]

    pre.append(lw.nest(tuple(vshape[d] for d in kept), body, loc))
    return pre


def _acc_type(kind: str, t: Scalar) -> Scalar:
    """Sums of float32 accumulate in float64 (NumPy sums pairwise; a
    sequential float32 sum would lose far more)."""
    if kind in ("sum", "mean", "var", "std") and t.name == "float32":
        return FLOAT64
    return t


# ------------------------------------------------------------ builders


def cumulative(lw: _Lowerer, e: Cumulative, dest: str, loc: SourceLoc) -> list[Stmt]:
    pre: list[Stmt] = []
    vshape = lw.shape_of(e.value, pre, loc)
    t = lw.types[dest]
    assert isinstance(t, Array)
    et = t.dtype
    kind = e.kind
    if e.axis is None:
        size = lw.temp(PY_INT, "n")
        pre.append(Assign(size, _size(vshape, loc), loc))
        pre += lw.allocate(dest, (Var(size, PY_INT, loc),), loc)
        target = lw.var(dest, loc)
        acc, pos = lw.temp(et, "r"), lw.temp(PY_INT, "r")
        av, pv = Var(acc, et, loc), Var(pos, PY_INT, loc)
        pre += [Assign(acc, _const(_identity(kind, et), et, loc), loc),
                Assign(pos, Const(0, PY_INT, loc), loc)]
        pre.append(lw.nest(vshape, lambda idx: [
            Assign(acc, _combine(kind, av, lw.element(e.value, idx, vshape, pre), et, loc), loc),
            Store(target, (pv,), av, (False,), loc),
            Assign(pos, BinOp("+", pv, Const(1, PY_INT, loc), PY_INT, False, loc), loc)], loc))
        return pre
    axis = e.axis
    pre += lw.allocate(dest, vshape, loc)
    target = lw.var(dest, loc)
    others = tuple(d for d in range(len(vshape)) if d != axis)

    def line(kidx: tuple[Expr, ...]) -> list[Stmt]:
        acc = lw.temp(et, "r")
        av = Var(acc, et, loc)

        def full(i: Expr) -> tuple[Expr, ...]:
            k = iter(kidx)
            return tuple(i if d == axis else next(k) for d in range(len(vshape)))

        return [Assign(acc, _const(_identity(kind, et), et, loc), loc),
                lw.nest((vshape[axis],), lambda ridx: [
                    Assign(acc, _combine(kind, av, lw.element(e.value, full(ridx[0]), vshape,
                                                              pre), et, loc), loc),
                    Store(target, full(ridx[0]), av, (False,) * len(vshape), loc)], loc)]

    pre.append(lw.nest(tuple(vshape[d] for d in others), line, loc))
    return pre


def sequence(lw: _Lowerer, e: Sequence, dest: str, loc: SourceLoc) -> list[Stmt]:
    t = lw.types[dest]
    assert isinstance(t, Array)
    et = t.dtype
    pre: list[Stmt] = []
    args = [lw.hoist(a, pre) for a in e.args]
    if e.kind == "eye":
        rows, cols, k = args
        pre += lw.allocate(dest, (rows, cols), loc)
        target = lw.var(dest, loc)
        pre.append(lw.nest((rows, cols), lambda idx: [Store(
            target, idx, _cast(Compare("==", BinOp("-", _cast(idx[1], PY_INT), _cast(idx[0],
                                                                                    PY_INT),
                                                   PY_INT, False, loc), _cast(k, PY_INT), BOOL,
                                       loc), et), (False, False), loc)], loc))
        return pre
    if e.kind == "arange":
        start, delta, length = args
        pre += lw.allocate(dest, (length,), loc)
        target = lw.var(dest, loc)
        wt = et if et.is_float else INT64

        def arange_at(idx: tuple[Expr, ...]) -> list[Stmt]:
            i = _cast(idx[0], wt)
            v = BinOp("+", _cast(start, wt), BinOp("*", i, _cast(delta, wt), wt, False, loc),
                      wt, False, loc)
            return [Store(target, idx, _cast(v, et), (False,), loc)]

        pre.append(lw.nest((length,), arange_at, loc))
        return pre
    # linspace: NumPy's y[i] = i * step + start (step = (stop - start) / div),
    # the last one stop when the endpoint is included
    start, stop, num, endpoint = args
    pre += lw.allocate(dest, (num,), loc)
    target = lw.var(dest, loc)
    ft = FLOAT64 if not et.is_float else et
    div = lw.temp(PY_INT, "n")
    pre.append(Assign(div, BinOp("-", _cast(num, PY_INT), _cast(endpoint, PY_INT), PY_INT, False,
                                 loc), loc))
    step = lw.temp(ft, "s")
    delta = BinOp("-", _cast(stop, ft), _cast(start, ft), ft, False, loc)
    divisor = Intrinsic("max", (_cast(Var(div, PY_INT, loc), ft), _const(1.0, ft, loc)), ft, loc)
    pre.append(Assign(step, BinOp("/", delta, divisor, ft, False, loc), loc))

    def lin_at(idx: tuple[Expr, ...]) -> list[Stmt]:
        v = BinOp("+", BinOp("*", _cast(idx[0], ft), Var(step, ft, loc), ft, False, loc),
                  _cast(start, ft), ft, False, loc)
        return [Store(target, idx, _cast(v, et), (False,), loc)]

    pre.append(lw.nest((num,), lin_at, loc))
    last = BinOp("-", _cast(num, PY_INT), Const(1, PY_INT, loc), PY_INT, False, loc)
    ends = BinOp("&", Compare("!=", _cast(endpoint, PY_INT), Const(0, PY_INT, loc), BOOL, loc),
                 Compare(">", _cast(num, PY_INT), Const(1, PY_INT, loc), BOOL, loc), BOOL,
                 False, loc)
    pre.append(If(ends, (Store(target, (_cast(last, INT64),), _cast(stop, et), (False,), loc),),
                  (), loc))
    return pre


def concat(lw: _Lowerer, e: Concat, dest: str, loc: SourceLoc) -> list[Stmt]:
    pre: list[Stmt] = []
    parts = [lw.array_var(p, pre) for p in e.parts]
    if e.stack:  # each part gets a new axis of extent 1 at the stacking axis
        stacked = []
        for p in parts:
            pt = p.type
            assert isinstance(pt, Array)
            dims = [SliceDim(None, None, None, loc) for _ in range(pt.ndim)]
            dims.insert(e.axis, NewAxisDim(loc))  # type: ignore[arg-type]
            stacked.append(lw.array_var(ArrayView(p, tuple(dims), Array(
                pt.dtype, pt.ndim + 1, "A"), loc), pre))
        parts = stacked
    shapes = [lw.shape(p) for p in parts]
    axis = e.axis
    first = shapes[0]
    for s in shapes[1:]:
        for d in range(len(first)):
            if d != axis:
                pre.append(ExprStmt(Intrinsic("host.concat_check", (
                    _cast(first[d], PY_INT), _cast(s[d], PY_INT)), PY_INT, loc), loc))
    total: Expr = Const(0, PY_INT, loc)
    for s in shapes:
        total = BinOp("+", total, _cast(s[axis], PY_INT), PY_INT, False, loc)
    out_shape = tuple(total if d == axis else first[d] for d in range(len(first)))
    pre += lw.allocate(dest, out_shape, loc)
    t = lw.types[dest]
    assert isinstance(t, Array)
    offset: Expr = Const(0, INT64, loc)
    for p, s in zip(parts, shapes):
        stop = BinOp("+", offset, _cast(s[axis], INT64), INT64, False, loc)
        dims = [SliceDim(offset, stop, None, loc) if d == axis else SliceDim(None, None, None, loc)
                for d in range(len(first))]
        window = lw.window(ArrayView(lw.var(dest, loc), tuple(dims),
                                     Array(t.dtype, t.ndim, "A"), loc), pre)
        pre.append(lw.copy_nest(window, p, window.shape, loc, pre))
        offset = stop
    return pre

