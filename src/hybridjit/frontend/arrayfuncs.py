"""NumPy's array functions and array methods: creation, reductions, shapes.

Contract: :data:`HANDLERS` maps NumPy functions (``np.zeros``, ``np.sum``,
``np.transpose``, ``np.where`` ...) and :data:`METHODS` array method names
(``"sum"``, ``"copy"``, ``"reshape"`` ...; the array is ``site.args[0]``)
to handlers ``(CallSite) -> Expr`` building the array IR of
:mod:`hybridjit.ir.arrays` with NumPy 2's result dtypes, shapes and
view-or-copy behaviour.  Arguments that must be known at compile time
(``axis``, ``keepdims``, ``dtype``) are read from the call's source.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AxisError, ShapeError, TypingError, UnsupportedError
from ..ir.arrays import (
    ArrayReduce,
    ArrayView,
    Concat,
    Cumulative,
    Fresh,
    Map,
    ReshapeView,
    Sequence,
    SliceDim,
    element_name,
)
from ..ir.nodes import (
    Alloc,
    Const,
    Expr,
    IfExp,
    Intrinsic,
    MakeTuple,
    Shape,
    Static,
    TupleItem,
    Var,
)
from ..types import (
    BOOL,
    FLOAT64,
    INT64,
    PY_INT,
    UINT64,
    Array,
    Scalar,
    Tuple,
    promote_all,
    scalar_of_dtype,
)
from .arrayops import lift
from .coerce import cast, truth
from .views import transpose

if TYPE_CHECKING:
    from .builtins import CallSite

Handler = Callable[["CallSite"], Expr]
HANDLERS: dict[object, Handler] = {}
METHODS: dict[str, Handler] = {}

# ------------------------------------------------------------------ arguments


def _arg(site: CallSite, k: int, name: str, default: Any = None) -> Any:
    """Argument ``k`` (positional) or ``name`` (keyword): a lowered Expr
    for a positional one, the raw AST for a keyword one (see _static)."""
    if k < len(site.args):
        if name in site.keywords:
            raise TypingError(f"{site.name}() got multiple values for argument '{name}'",
                              site.loc)
        return site.args[k]
    return site.keywords.get(name, default)


def _static(site: CallSite, value: Any, what: str) -> Any:
    """The compile-time value of an argument (a constant, a tuple of them,
    None, a dtype)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Static):
        return value.value
    if isinstance(value, Const):
        return value.value
    if isinstance(value, MakeTuple):
        return tuple(_static(site, i, what) for i in value.items)
    if isinstance(value, ast.expr):
        if isinstance(value, ast.Constant):
            return value.value
        if isinstance(value, ast.Tuple):
            return tuple(_static(site, e, what) for e in value.elts)
        if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub) and isinstance(
                value.operand, ast.Constant) and isinstance(value.operand.value, int):
            return -value.operand.value
        return _static(site, site.lower(value), what)
    raise TypingError(f"{site.name}(): {what} must be a constant here", site.loc,
                      hint=f"write the {what} as a literal (e.g. axis=0)")


def resolve_dtype(site: CallSite, value: Any, default: Scalar | None) -> Scalar | None:
    """A dtype argument: np.float32, "float32", float, a.dtype, None."""
    if value is None:
        return default
    if isinstance(value, ast.Attribute) and value.attr == "dtype":
        base = site.lower(value.value)
        if isinstance(base.type, Array):
            return base.type.dtype
    if isinstance(value, ast.expr):
        value = value.value if isinstance(value, ast.Constant) else site.static(value)
    if isinstance(value, (Static, Const)):
        value = value.value
    if value is None:
        return default
    try:
        return scalar_of_dtype(np.dtype(value))
    except TypeError as exc:
        raise TypingError(f"unsupported dtype {value!r}", site.loc,
                          hint="use a NumPy dtype such as np.float64, np.float32, np.int64"
                          ) from exc


def _array(site: CallSite, k: int = 0) -> Expr:
    a = site.args[k] if k < len(site.args) else None
    if a is None or not isinstance(a.type, Array):
        raise TypingError(f"{site.name}() expects an array, got "
                          f"{'nothing' if a is None else a.type}", site.loc)
    return a


def _axes(site: CallSite, value: Any, ndim: int) -> tuple[int, ...] | None:
    axis = _static(site, value, "axis")
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in axes:
        if not isinstance(a, int) or not -ndim <= a < ndim:
            raise AxisError(f"axis {a} is out of bounds for an array of dimension {ndim}",
                              site.loc)
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise AxisError("repeated axis", site.loc)
    return tuple(sorted(out))


def shape_exprs(site: CallSite, shape: Expr) -> tuple[Expr, ...]:
    """Extents given as an int, a tuple display, a tuple variable, a.shape."""
    if isinstance(shape, MakeTuple):
        items = shape.items
    elif isinstance(shape.type, Tuple):
        items = tuple(TupleItem(shape, k, t, site.loc) for k, t in enumerate(shape.type.items))
    else:
        items = (shape,)
    for it in items:
        if not (isinstance(it.type, Scalar) and (it.type.is_int or it.type.is_bool)):
            raise TypingError(f"array dimensions must be integers, got {it.type}", site.loc)
    return tuple(cast(it, INT64) for it in items)


def _check_alloc_context(site: CallSite) -> None:
    """Arrays may be allocated anywhere: a helper that allocates is inlined
    into its caller (inline.py); one allocated in a parallel loop is private
    to the iteration or the loop does not run in parallel (the dependence
    analysis decides), and it lives in plain memory there (codegen)."""


# ------------------------------------------------------------------ creation


def _default_dtype(fill: Expr | None) -> Scalar:
    if fill is None or not isinstance(fill.type, Scalar):
        return FLOAT64
    t = fill.type
    if not t.weak:
        return t
    return FLOAT64 if t.is_float else (BOOL if t.is_bool else INT64)


def _alloc(kind: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        _check_alloc_context(site)
        nfill = 1 if kind == "full" else 0
        shape = shape_exprs(site, _arg(site, 0, "shape"))
        fill = _arg(site, 1, "fill_value") if kind == "full" else None
        if isinstance(fill, ast.expr):
            fill = site.lower(fill)
        dtype = resolve_dtype(site, _arg(site, 1 + nfill, "dtype"), _default_dtype(fill))
        assert dtype is not None
        value = _fill_value(site, fill, dtype)
        return Alloc(kind, shape, value, Array(dtype, len(shape), "C"), site.loc)

    return handler


def _alloc_like(kind: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        _check_alloc_context(site)
        proto = _array(site)
        pt = proto.type
        assert isinstance(pt, Array)
        shape = tuple(Shape(proto, d, INT64, site.loc) for d in range(pt.ndim))  # type: ignore[arg-type]
        fill = _arg(site, 1, "fill_value") if kind == "full" else None
        if isinstance(fill, ast.expr):
            fill = site.lower(fill)
        dtype = resolve_dtype(site, _arg(site, 2 if kind == "full" else 1, "dtype"), pt.dtype)
        assert dtype is not None
        value = _fill_value(site, fill, dtype)
        return Alloc(kind, shape, value, Array(dtype, pt.ndim, "C"), site.loc)

    return handler


def _fill_value(site: CallSite, fill: Expr | None, dtype: Scalar) -> Expr | None:
    """np.full's value, converted as NumPy's copyto(casting="unsafe") does
    (a C conversion: 2.7 becomes 2 in an integer array)."""
    if fill is None:
        return None
    if not isinstance(fill.type, Scalar):
        raise UnsupportedError(
            f"np.{site.name}() with a fill value that is not a number is not supported",
            site.loc, hint="allocate with np.empty(...) and assign: out[...] = value")
    return cast(fill, dtype)


def _scalar_arg(site: CallSite, value: Any) -> Expr:
    if isinstance(value, ast.expr):
        value = site.lower(value)
    if not isinstance(value, Expr) or not isinstance(value.type, Scalar):
        raise TypingError(f"{site.name}() expects a number here", site.loc)
    return value


def _arange(site: CallSite) -> Expr:
    _check_alloc_context(site)
    nums = [_scalar_arg(site, a) for a in site.args]
    if not 1 <= len(nums) <= 3:
        raise TypingError("arange() takes 1 to 3 positional arguments", site.loc)
    if len(nums) == 1:
        nums = [Const(0, PY_INT, site.loc), nums[0]]
    if len(nums) == 2:
        nums.append(Const(1, PY_INT, site.loc))
    types = [n.type for n in nums]
    dtype = resolve_dtype(site, site.keywords.get("dtype"), None)
    computed = promote_all(types)  # type: ignore[arg-type]
    computed = computed.strong() if not computed.weak else (
        FLOAT64 if computed.is_float else INT64)
    if computed.is_bool:
        computed = INT64
    out = dtype or computed
    start, stop, step = nums
    wt = FLOAT64 if computed.is_float else INT64
    length = Intrinsic("host.arange_length", tuple(cast(x, FLOAT64 if wt.is_float else INT64)
                                                   for x in (start, stop, step)), PY_INT, site.loc)
    if wt.is_float:  # NumPy steps by (start + step) - start, as it rounds
        s0 = cast(start, FLOAT64)
        delta: Expr = _binop("-", _binop("+", s0, cast(step, FLOAT64)), s0)
    else:
        delta = cast(step, INT64)
    return Sequence("arange", (cast(start, wt), delta, length), Array(out, 1, "C"), site.loc)


def _binop(op: str, a: Expr, b: Expr) -> Expr:
    from .exprs import binop

    return binop(op, a, b, a.loc)


def _linspace(site: CallSite) -> Expr:
    _check_alloc_context(site)
    start = _scalar_arg(site, _arg(site, 0, "start"))
    stop = _scalar_arg(site, _arg(site, 1, "stop"))
    num_arg = _arg(site, 2, "num")
    num = _scalar_arg(site, num_arg) if num_arg is not None else Const(50, PY_INT, site.loc)
    endpoint = _static(site, _arg(site, 3, "endpoint", True), "endpoint")
    dtype = resolve_dtype(site, site.keywords.get("dtype"), None)
    kinds = [start.type, stop.type]
    ft = FLOAT64
    if all(isinstance(t, Scalar) and t.is_float and not t.weak for t in kinds):
        ft = promote_all(kinds)  # type: ignore[arg-type]
    return Sequence("linspace", (start, stop, cast(num, INT64),
                                 Const(int(bool(endpoint)), INT64, site.loc)),
                    Array(dtype or ft, 1, "C"), site.loc)


def _eye(site: CallSite) -> Expr:
    _check_alloc_context(site)
    n = cast(_scalar_arg(site, _arg(site, 0, "N")), INT64)
    m_arg = _arg(site, 1, "M") if site.name == "eye" else None
    m = cast(_scalar_arg(site, m_arg), INT64) if m_arg is not None else n
    k_arg = _arg(site, 2, "k") if site.name == "eye" else None
    k = cast(_scalar_arg(site, k_arg), INT64) if k_arg is not None else Const(0, INT64, site.loc)
    dpos = 3 if site.name == "eye" else 1
    dtype = resolve_dtype(site, _arg(site, dpos, "dtype"), FLOAT64)
    assert dtype is not None
    return Sequence("eye", (n, m, k), Array(dtype, 2, "C"), site.loc)


def _copy(site: CallSite) -> Expr:
    _check_alloc_context(site)
    a = _array(site)
    at = a.type
    assert isinstance(at, Array)
    return Fresh(a, Array(at.dtype, at.ndim, "C"), site.loc)


def _astype(site: CallSite) -> Expr:
    _check_alloc_context(site)
    a = _array(site)
    at = a.type
    assert isinstance(at, Array)
    dtype = resolve_dtype(site, _arg(site, 1, "dtype"), None)
    if dtype is None:
        raise TypingError("astype() needs a dtype", site.loc)
    holder = Var(element_name(0), at.dtype, site.loc)
    conv = Map(cast_unchecked(holder, dtype), (a,), Array(dtype, at.ndim, "C"), site.loc)
    return Fresh(conv, conv.type, site.loc)


def cast_unchecked(e: Expr, t: Scalar) -> Expr:
    """An array's astype: C conversions (NumPy's unsafe casting)."""
    from ..ir.nodes import Cast

    if e.type == t:
        return e
    if t.is_bool:
        return truth(e, e.loc)
    return Cast(e, t, "", e.loc)


def _concatenate(stack: bool) -> Handler:
    def handler(site: CallSite) -> Expr:
        _check_alloc_context(site)
        parts = site.args[0] if site.args else None
        if not isinstance(parts, MakeTuple) or not parts.items:
            raise UnsupportedError(f"np.{site.name}() needs a tuple of arrays written out, "
                                   "e.g. (a, b)", site.loc)
        items = list(parts.items)
        for it in items:
            if not isinstance(it.type, Array):
                raise TypingError(f"np.{site.name}() of a {it.type}", site.loc)
        types = [it.type for it in items]
        ndim = types[0].ndim  # type: ignore[attr-defined]
        if any(t.ndim != ndim for t in types):  # type: ignore[attr-defined]
            raise ShapeError("all the input arrays must have the same number of dimensions",
                              site.loc)
        out_ndim = ndim + int(stack)
        axis = _static(site, _arg(site, 1, "axis", 0), "axis")
        if not isinstance(axis, int) or not -out_ndim <= axis < out_ndim:
            raise AxisError(f"axis {axis} is out of bounds", site.loc)
        dtype = promote_all([t.dtype for t in types])  # type: ignore[attr-defined]
        return Concat(tuple(items), axis % out_ndim, stack, Array(dtype, out_ndim, "C"),
                      site.loc)

    return handler


# ------------------------------------------------------------------ reductions

_SMALL_INTS = {"bool", "int8", "int16", "int32"}
_SMALL_UINTS = {"uint8", "uint16", "uint32"}


def reduce_dtype(kind: str, t: Scalar) -> Scalar:
    """NumPy's result dtype of a reduction of an array of ``t``."""
    if kind in ("sum", "prod", "cumsum", "cumprod"):
        if t.name in _SMALL_INTS:
            return INT64
        if t.name in _SMALL_UINTS:
            return UINT64
        return t
    if kind in ("mean", "var", "std"):
        return t if t.is_inexact else FLOAT64
    if kind in ("argmin", "argmax"):
        return INT64
    if kind in ("any", "all"):
        return BOOL
    return t


def _reduction(kind: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        a = site.args[0] if site.args else None
        if a is None or not isinstance(a.type, Array):
            raise TypingError(f"np.{site.name}() of a {a.type if a else 'nothing'} is not "
                              "supported here", site.loc, hint="reduce an array")
        at = a.type
        if at.dtype.is_complex and kind not in ("sum", "prod", "mean", "any", "all"):
            raise UnsupportedError(f"np.{site.name}() of complex numbers is not supported",
                                   site.loc, hint="reduce z.real, z.imag or np.abs(z)")
        axes = _axes(site, _arg(site, 1, "axis"), at.ndim)
        keep = bool(_static(site, site.keywords.get("keepdims", False), "keepdims"))
        ddof = _static(site, site.keywords.get("ddof", 0), "ddof")
        if kind in ("argmin", "argmax") and axes is not None and len(axes) != 1:
            raise TypingError(f"{kind}() takes one axis", site.loc)
        dtype = resolve_dtype(site, site.keywords.get("dtype"), None)
        rt = dtype or reduce_dtype(kind, at.dtype)
        if axes is None or (len(axes) == at.ndim and not keep and kind not in ("argmin",
                                                                                "argmax")):
            if keep:
                return ArrayReduce(kind, a, tuple(range(at.ndim)), True, Array(rt, at.ndim, "C"),
                                   int(ddof), loc=site.loc)
            return ArrayReduce(kind, a, None, False, rt, int(ddof), loc=site.loc)
        ndim = at.ndim if keep else at.ndim - len(axes)
        return ArrayReduce(kind, a, axes, keep, Array(rt, ndim, "C"), int(ddof), loc=site.loc)

    return handler


def _cumulative(kind: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        _check_alloc_context(site)
        a = _array(site)
        at = a.type
        assert isinstance(at, Array)
        axis = _static(site, _arg(site, 1, "axis"), "axis")
        rt = reduce_dtype("cum" + kind, at.dtype)
        if axis is None:
            return Cumulative(kind, a, None, Array(rt, 1, "C"), site.loc)
        if not isinstance(axis, int) or not -at.ndim <= axis < at.ndim:
            raise AxisError(f"axis {axis} is out of bounds", site.loc)
        return Cumulative(kind, a, axis % at.ndim, Array(rt, at.ndim, "C"), site.loc)

    return handler


# ------------------------------------------------------------------ shapes


def _transpose(site: CallSite) -> Expr:
    a = _array(site)
    at = a.type
    assert isinstance(at, Array)
    rest = site.args[1:]
    axes = _static(site, rest[0] if len(rest) == 1 else (MakeTuple(tuple(rest), Tuple(
        tuple(r.type for r in rest)), site.loc) if rest else site.keywords.get("axes")), "axes")
    perm = tuple(x % at.ndim for x in axes) if axes is not None else None
    return transpose(a, perm, site.loc)


def _reshape(site: CallSite) -> Expr:
    a = _array(site)
    at = a.type
    assert isinstance(at, Array)
    rest = site.args[1:]
    if len(rest) == 1:
        shape = shape_exprs(site, rest[0])
    elif rest:
        shape = tuple(cast(r, INT64) for r in rest)
    else:
        raise TypingError("reshape() needs a shape", site.loc)
    return _reshaped(a, shape, site)


def flattened(a: Expr, site: CallSite) -> Expr:
    """``a.ravel()``: ``a`` itself when 1-D."""
    at = a.type
    assert isinstance(at, Array)
    return a if at.ndim == 1 else _reshaped(a, (Const(-1, INT64, site.loc),), site)


def _reshaped(a: Expr, shape: tuple[Expr, ...], site: CallSite) -> Expr:
    """A view when the array is C-contiguous (surely, or at run time), else
    a reshaped copy: NumPy's choice for the common cases."""
    at = a.type
    assert isinstance(at, Array)
    out = Array(at.dtype, len(shape), "C")
    if at.layout == "C":
        return ReshapeView(a, shape, out, site.loc)
    copy = Fresh(a, Array(at.dtype, at.ndim, "C"), site.loc)
    contiguous = Intrinsic("is_contiguous", (a,), BOOL, site.loc)
    return IfExp(contiguous, ReshapeView(a, shape, out, site.loc),
                 ReshapeView(copy, shape, out, site.loc), out, site.loc)


def _ravel(copy: bool) -> Handler:
    def handler(site: CallSite) -> Expr:
        a = _array(site)
        at = a.type
        assert isinstance(at, Array)
        if copy:
            _check_alloc_context(site)
            return ReshapeView(Fresh(a, Array(at.dtype, at.ndim, "C"), site.loc),
                               (Const(-1, INT64, site.loc),), Array(at.dtype, 1, "C"), site.loc)
        return _reshaped(a, (Const(-1, INT64, site.loc),), site)

    return handler


def _flip(site: CallSite) -> Expr:
    a = _array(site)
    at = a.type
    assert isinstance(at, Array)
    axes = _axes(site, _arg(site, 1, "axis"), at.ndim)
    flipped = set(range(at.ndim)) if axes is None else set(axes)
    dims = tuple(SliceDim(None, None, Const(-1, INT64, site.loc), site.loc) if d in flipped
                 else SliceDim(None, None, None, site.loc) for d in range(at.ndim))
    return ArrayView(a, dims, Array(at.dtype, at.ndim, "A"), site.loc)


# ------------------------------------------------------------------ element-wise


def _where(site: CallSite) -> Expr:
    if len(site.args) == 1:
        return _nonzero(site)
    if len(site.args) != 3:
        raise TypingError("np.where() takes one or three arguments", site.loc)

    def pick(c: Expr, x: Expr, y: Expr) -> Expr:
        t = promote_all([x.type, y.type])  # type: ignore[list-item]
        t = t.strong() if not t.weak else t
        return IfExp(truth(c, site.loc), cast(x, t), cast(y, t), t, site.loc)

    return lift(pick, list(site.args), site.loc)


def _nonzero(site: CallSite) -> Expr:
    from .masks import nonzero

    assert site.new_let is not None
    return nonzero(_array(site), site.new_let, site.loc)


def _flatnonzero(site: CallSite) -> Expr:
    from .masks import nonzero

    assert site.new_let is not None
    found = nonzero(flattened(_array(site), site), site.new_let, site.loc)
    assert isinstance(found, MakeTuple)
    return found.items[0]


def _count_nonzero(site: CallSite) -> Expr:
    """np.count_nonzero(a) (no axis): an int64, as NumPy 2 returns."""
    from .masks import not_zero

    a = _array(site)
    if _arg(site, 1, "axis") is not None:
        raise UnsupportedError("np.count_nonzero(..., axis=...) is not supported yet",
                               site.loc, hint="use np.sum(a != 0, axis=...)")
    assert site.new_let is not None
    return ArrayReduce("sum", not_zero(a, site.new_let, site.loc), None, False, INT64,
                       loc=site.loc)


def _clip(site: CallSite) -> Expr:
    from .npscalar import HANDLERS as UFUNCS

    if len(site.args) != 3:
        raise TypingError("clip() takes an array and two bounds here", site.loc)
    maximum, minimum = UFUNCS[np.maximum], UFUNCS[np.minimum]

    def clipped(x: Expr, lo: Expr, hi: Expr) -> Expr:
        low = maximum(dataclasses.replace(site, args=[x, lo]))
        return minimum(dataclasses.replace(site, args=[low, hi]))

    return lift(clipped, list(site.args), site.loc)


# ------------------------------------------------------ Python's builtins


def python_sum(site: CallSite) -> Expr:
    """``sum(a)``, ``sum(a, start)`` of a 1-D array: Python adds the
    elements to ``start`` (0) in order, as NumPy scalars."""
    starts = site.args[1:] + [site.lower(v) for k, v in site.keywords.items() if k == "start"]
    if not site.args or len(starts) > 1 or any(k != "start" for k in site.keywords):
        raise TypingError("sum() takes an iterable and an optional start", site.loc)
    a = _one_d_iterable(site, "sum")
    start = starts[0] if starts else Const(0, PY_INT, site.loc)
    if not isinstance(start.type, Scalar):
        raise TypingError(f"sum() of an array cannot start from a {start.type}", site.loc)
    at = a.type
    assert isinstance(at, Array)
    t = promote_all([start.type, at.dtype]).strong()
    return ArrayReduce("pysum", a, None, False, t, 0, start, site.loc)


def python_extremum(kind: str, site: CallSite) -> Expr:
    """``min(a)``/``max(a)`` of a 1-D array: the first element not beaten
    by a later one under Python's ``<`` (``>``), so NaN handling is
    Python's, not NumPy's; an empty array raises Python's ValueError."""
    if len(site.args) != 1 or site.keywords:
        raise UnsupportedError(f"{kind}() of an array takes the array alone here", site.loc,
                               hint="key= and default= are not supported")
    a = _one_d_iterable(site, kind)
    at = a.type
    assert isinstance(at, Array)
    return ArrayReduce("py" + kind, a, None, False, at.dtype, 0, None, site.loc)


def _one_d_iterable(site: CallSite, name: str) -> Expr:
    a = site.args[0]
    if not isinstance(a.type, Array):
        raise TypingError(f"'{a.type}' object is not iterable", site.loc)
    if a.type.ndim != 1:
        raise UnsupportedError(
            f"{name}() of a {a.type.ndim}-D array (over its rows) is not supported", site.loc,
            hint=f"use np.{name}(a, axis=0) for NumPy's element-wise result")
    return a


# ------------------------------------------------------------------ tables

for _k in ("empty", "zeros", "ones", "full"):
    HANDLERS[getattr(np, _k)] = _alloc(_k)
    HANDLERS[getattr(np, _k + "_like")] = _alloc_like(_k)
HANDLERS[np.arange] = _arange
HANDLERS[np.linspace] = _linspace
HANDLERS[np.eye] = _eye
HANDLERS[np.identity] = _eye
HANDLERS[np.copy] = _copy
HANDLERS[np.concatenate] = _concatenate(False)
HANDLERS[np.stack] = _concatenate(True)
for _k in ("sum", "prod", "mean", "var", "std", "argmin", "argmax", "any", "all"):
    HANDLERS[getattr(np, _k)] = _reduction(_k)
    METHODS[_k] = _reduction(_k)
for _k, _f in (("min", np.min), ("max", np.max)):
    HANDLERS[_f] = _reduction(_k)
    METHODS[_k] = _reduction(_k)
HANDLERS[np.amin] = _reduction("min")
HANDLERS[np.amax] = _reduction("max")
for _k in ("sum", "prod"):
    HANDLERS[getattr(np, "cum" + _k)] = _cumulative(_k)
    METHODS["cum" + _k] = _cumulative(_k)
HANDLERS[np.transpose] = _transpose
HANDLERS[np.reshape] = _reshape
HANDLERS[np.ravel] = _ravel(False)
HANDLERS[np.flip] = _flip
HANDLERS[np.where] = _where
HANDLERS[np.clip] = _clip
HANDLERS[np.nonzero] = _nonzero
HANDLERS[np.flatnonzero] = _flatnonzero
HANDLERS[np.count_nonzero] = _count_nonzero
METHODS["nonzero"] = _nonzero
HANDLERS[builtins.sum] = python_sum
METHODS["copy"] = _copy
METHODS["astype"] = _astype
METHODS["transpose"] = _transpose
METHODS["reshape"] = _reshape
METHODS["ravel"] = _ravel(False)
METHODS["flatten"] = _ravel(True)
METHODS["clip"] = _clip

# matrix products (frontend/linalg.py) are NumPy functions too
from .linalg import HANDLERS as _LINALG_HANDLERS  # noqa: E402
from .linalg import METHODS as _LINALG_METHODS  # noqa: E402

HANDLERS.update(_LINALG_HANDLERS)
METHODS.update(_LINALG_METHODS)

# sorting, histograms, np.linalg: NumPy called from the host code (library.py)
from .library import HANDLERS as _LIBRARY_HANDLERS  # noqa: E402
from .library import METHODS as _LIBRARY_METHODS  # noqa: E402

HANDLERS.update(_LIBRARY_HANDLERS)
METHODS.update(_LIBRARY_METHODS)
