"""Windows: a view of an array variable as index arithmetic on the variable.

Contract: a :class:`Window` describes a chain of basic views (slices,
integer indices, new axes, transposes) of one array variable, its *base*,
by what each of the base's dimensions is indexed with: ``lo + j * step``
where ``j`` is the index along one dimension of the view, or a fixed
``lo`` (an integer index).  :meth:`Window.at` turns view indices into base
indices, so the loop nest of an array statement reads and writes the base
array directly: ``u[1:-1, :-2]`` at ``(i, j)`` is ``u[1 + i, j]``.

Why: the nest's subscripts are then affine functions of its loop variables,
exactly as in the hand-written loop, so the dependence analysis, the
footprints of device regions (a slice's footprint is its box) and the C
compiler's vectoriser see through the slicing; and a statement inside a
parallel loop makes no array variable per iteration.

Slices are normalised as Python normalises them.  Constant bounds give
closed forms in the base's extent (``u[1:-1]`` has ``max(n - 2, 0)``
elements, ``u[:-2]`` and ``u[2:]`` the very same expression, so operands
of one stencil are seen to have equal extents); other bounds go through
the ``slice_lo``/``slice_len`` intrinsics, and a step that may be zero
through a check raising NumPy's ValueError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import SourceLoc
from ..ir.arrays import ArrayView, IndexDim, NewAxisDim, SliceDim
from ..ir.nodes import BinOp, Compare, Const, Expr, ExprStmt, IfExp, Intrinsic, Stmt, Var
from ..types import BOOL, PY_INT

Shape_ = tuple[Expr, ...]
#: evaluates an expression once, before the statement (a variable or constant)
HoistFn = Callable[[Expr], Expr]


@dataclass(frozen=True)
class BaseDim:
    """How one dimension of the base is indexed: ``lo + j[view] * step``,
    or the fixed index ``lo`` when ``view`` is None."""

    lo: Expr
    step: Expr
    view: int | None
    #: a fixed index that may be negative (counted from the end of the
    #: base's dimension, as a Load's or Store's wrap flag says)
    wrap: bool = False


@dataclass(frozen=True)
class Window:
    base: Var
    dims: tuple[BaseDim, ...]
    #: the view's extents
    shape: Shape_

    @staticmethod
    def whole(base: Var, shape: Shape_) -> Window:
        one, zero = _int(1), _int(0)
        return Window(base, tuple(BaseDim(zero, one, d) for d in range(len(shape))), shape)

    def at(self, idx: tuple[Expr, ...]) -> tuple[Expr, ...]:
        """The base's indices of the view's element ``idx``."""
        return tuple(d.lo if d.view is None else _add(d.lo, _mul(idx[d.view], d.step))
                     for d in self.dims)

    @property
    def wraps(self) -> tuple[bool, ...]:
        """The wrap flags of a Load or Store at :meth:`at`."""
        return tuple(d.wrap for d in self.dims)

    def is_identity(self, view_dim: int) -> bool:
        """Whether the view's dimension is a whole dimension of the base."""
        return any(d.view == view_dim and _is(d.lo, 0) and _is(d.step, 1) for d in self.dims)

    def transposed(self, perm: tuple[int, ...]) -> Window:
        back = {old: new for new, old in enumerate(perm)}
        dims = tuple(BaseDim(d.lo, d.step, None if d.view is None else back[d.view])
                     for d in self.dims)
        return Window(self.base, dims, tuple(self.shape[p] for p in perm))

    def offset_and_strides(self) -> tuple[Expr, tuple[Expr, ...]]:
        """The first element's offset from the base's data, and the view's
        element strides, in elements (for run-time overlap tests)."""
        offset: Expr = _int(0)
        strides: list[Expr] = [_int(0) for _ in self.shape]
        for k, d in enumerate(self.dims):
            s = Intrinsic("stride", (self.base, _int(k)), PY_INT)
            offset = _add(offset, _mul(d.lo, s))
            if d.view is not None:
                strides[d.view] = _add(strides[d.view], _mul(d.step, s))
        return offset, tuple(strides)


def apply_view(inner: Window, view: ArrayView, hoist: HoistFn,
               checks: list[Stmt]) -> Window:
    """``inner`` indexed by the dimensions of ``view`` (whose base it is)."""
    remap: dict[int, tuple[int | None, Expr, Expr, bool]] = {}
    shape: list[Expr] = []
    k = 0  # the dimension of ``inner`` the next entry applies to
    for d in view.dims:
        if isinstance(d, NewAxisDim):
            shape.append(_int(1))
            continue
        n = inner.shape[k]
        if isinstance(d, SliceDim):
            lo, length, step = normalise_slice(d, n, hoist, checks)
            remap[k] = (len(shape), lo, step, False)
            shape.append(length)
        else:
            assert isinstance(d, IndexDim)
            if inner.is_identity(k) and not isinstance(d.index, Const):
                # counted from the end by the wrap flag, which the range
                # analysis clears where the index is known not negative
                remap[k] = (None, hoist(d.index), _int(0), True)
            else:
                remap[k] = (None, _wrapped(d.index, n, hoist), _int(0), False)
        k += 1
    dims = []
    for bd in inner.dims:
        if bd.view is None:
            dims.append(bd)
            continue
        new_view, lo, step, wrap = remap.get(bd.view, (bd.view, _int(0), _int(1), False))
        dims.append(BaseDim(_add(bd.lo, _mul(lo, bd.step)), _mul(bd.step, step), new_view,
                            wrap))
    return Window(inner.base, tuple(dims), tuple(shape))


def normalise_slice(d: SliceDim, n: Expr, hoist: HoistFn,
                    checks: list[Stmt]) -> tuple[Expr, Expr, Expr]:
    """(first index, length, step) of ``start:stop:step`` over ``n``
    elements, as Python computes them (the first index matters only when
    the length is not 0)."""
    loc = d.loc
    step = d.step if d.step is not None else _int(1, loc)
    if not (isinstance(step, Const) and int(step.value) != 0):
        checks.append(ExprStmt(Intrinsic("host.slice_step", (step,), PY_INT, loc), loc))
    closed = _closed_form(d, n, step)
    if closed is not None:
        return closed
    args = (n, _int(int(d.start is not None)), d.start or _int(0), _int(int(d.stop is not None)),
            d.stop or _int(0), step)
    step_v = step if isinstance(step, Const) else hoist(step)
    lo = hoist(Intrinsic("slice_lo", args, PY_INT, loc))
    length = hoist(Intrinsic("slice_len", args, PY_INT, loc))
    return lo, length, step_v


def _closed_form(d: SliceDim, n: Expr, step: Expr) -> tuple[Expr, Expr, Expr] | None:
    """Constant bounds and a positive constant step: ``c:``, ``:-k``, ``c:e``."""
    if not isinstance(step, Const) or int(step.value) <= 0:
        return None
    s = int(step.value)
    if not (_is_constant(d.start) and _is_constant(d.stop)):
        return None
    start = 0 if d.start is None else int(d.start.value)  # type: ignore[attr-defined]
    stop = None if d.stop is None else int(d.stop.value)  # type: ignore[attr-defined]
    if start < 0:
        return None
    if stop is None:  # c:   -> n - c elements (step 1)
        last: Expr = n
    elif stop < 0:  # c:-k -> n - k - c
        last = _add(n, _int(stop))
    else:  # c:e -> min(e, n) - c
        last = Intrinsic("min", (_int(stop), n), PY_INT)
    span = _add(last, _int(-start + s - 1))
    length: Expr = Intrinsic("max", (span, _int(0)), PY_INT)
    if s != 1:
        length = BinOp("//", length, _int(s), PY_INT, False)
    if start == 0 and stop is None and s == 1:
        length = n
    return _int(start), length, step


def _is_constant(e: Expr | None) -> bool:
    """An omitted bound or an integer constant."""
    return e is None or (isinstance(e, Const) and not isinstance(e.value, float))


def _wrapped(index: Expr, n: Expr, hoist: HoistFn) -> Expr:
    """An integer index counted from the end when negative (as Python)."""
    if isinstance(index, Const):
        k = int(index.value)
        return _int(k) if k >= 0 else _add(n, _int(k))
    i = hoist(index)
    neg = Compare("<", i, _int(0), BOOL)
    return hoist(IfExp(neg, BinOp("+", i, n, PY_INT, False), i, PY_INT))


# ------------------------------------------------------------- arithmetic


def _is(e: Expr, v: int) -> bool:
    return isinstance(e, Const) and int(e.value) == v


def _int(v: int, loc: SourceLoc | None = None) -> Const:
    return Const(v, PY_INT) if loc is None else Const(v, PY_INT, loc)


def _add(a: Expr, b: Expr) -> Expr:
    if isinstance(b, Const) and int(b.value) == 0:
        return a
    if isinstance(a, Const) and int(a.value) == 0:
        return b
    if isinstance(a, Const) and isinstance(b, Const):
        return _int(int(a.value) + int(b.value))
    if isinstance(b, Const) and isinstance(a, BinOp) and a.op == "+" \
            and isinstance(a.right, Const):
        return _add(a.left, _int(int(a.right.value) + int(b.value)))
    return BinOp("+", a, b, PY_INT, False)


def _mul(a: Expr, b: Expr) -> Expr:
    for x, y in ((a, b), (b, a)):
        if isinstance(y, Const) and int(y.value) == 1:
            return x
        if isinstance(y, Const) and int(y.value) == 0:
            return _int(0)
    if isinstance(a, Const) and isinstance(b, Const):
        return _int(int(a.value) * int(b.value))
    return BinOp("*", a, b, PY_INT, False)
