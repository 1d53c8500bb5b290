"""Typing of NumPy's element-wise functions (ufuncs) on scalars.

Contract: :data:`HANDLERS` maps ``np.sqrt``, ``np.add``, ``np.fmod``,
``np.float32`` ... to handlers ``(CallSite) -> Expr`` (merged into
:data:`hybridjit.frontend.builtins.HANDLERS`) whose results have the value
and the type NumPy 2 gives for the same scalar arguments:

- Python numbers are weak (NEP 50), and a ufunc given only Python numbers
  computes in NumPy's defaults (``np.add(2, 3)`` is an ``np.int64``);
- a float function picks the smallest float type every argument converts
  to safely: float32 for 16-bit integers, float64 for wider ones or with a
  Python float; 8-bit integers and bools would give float16, which
  hybridjit refuses with a clear error;
- integer functions stay integer (``np.fmod``, ``np.power``, ``np.sign``,
  ``np.fmin`` of ints), bools become int8 where NumPy has no bool loop;
- operators' ufuncs (``np.add`` ...) mean what the operator means on the
  same NumPy-typed operands (exprs.binop and exprs.compare).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TypingError
from ..ir.nodes import BinOp, Const, Expr, Intrinsic, UnaryOp
from ..types import (
    BOOL,
    FLOAT32,
    FLOAT64,
    INT8,
    Scalar,
    promote_all,
    scalar_of_dtype,
)
from . import complexes
from .coerce import cast, int_of_float, truth

if TYPE_CHECKING:
    from .builtins import CallSite

Handler = Callable[["CallSite"], Expr]
HANDLERS: dict[object, Handler] = {}

_FLOAT_UNARY = {
    "sqrt": "sqrt", "exp": "exp", "exp2": "exp2", "log": "log", "log2": "log2",
    "log10": "log10", "log1p": "log1p", "expm1": "expm1", "sin": "sin", "cos": "cos",
    "tan": "tan", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh",
    "cosh": "cosh", "tanh": "tanh", "arcsinh": "asinh", "arccosh": "acosh",
    "arctanh": "atanh", "cbrt": "cbrt", "rint": "rint", "fabs": "fabs",
}
_FLOAT_BINARY = {"arctan2": "atan2", "hypot": "hypot", "copysign": "copysign"}
#: operators' ufuncs: name -> the operator (exprs.binop / exprs.compare)
_OPERATORS = {
    "add": "+", "subtract": "-", "multiply": "*", "divide": "/", "true_divide": "/",
    "floor_divide": "//", "remainder": "%", "mod": "%", "bitwise_and": "&",
    "bitwise_or": "|", "bitwise_xor": "^", "left_shift": "<<", "right_shift": ">>",
}
_COMPARISONS = {
    "equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">",
    "greater_equal": ">=",
}


def numpy_typed(t: Scalar) -> Scalar:
    """The NumPy type a ufunc gives a Python number when all its arguments
    are Python numbers (no NumPy type to be weak against)."""
    return t.strong() if t.weak else t


def float_type(types: list[Scalar], site: CallSite) -> Scalar:
    """The float type a NumPy float function of these arguments computes in
    (module docstring)."""
    strong = [t for t in types if not t.weak]
    if not strong:  # NumPy takes the Python numbers as its own (True as np.bool_)
        strong = types = [numpy_typed(t) for t in types]
    # NEP 50: Python numbers take part by kind (a Python int makes a NumPy
    # bool an int64: np.arctan2(np.bool_(x), -6) is a float64)
    weak = [(False if t.is_bool else 0.0 if t.is_float else 0) for t in types if t.weak]
    r = scalar_of_dtype(np.result_type(*(t.dtype for t in strong), *weak))
    if r.is_float:
        return r
    # the smallest float every NumPy integer converts to safely (int8 with
    # uint16: float32), unless a Python number widened them (bool with a
    # Python int: int64)
    by_strong = scalar_of_dtype(np.result_type(*(t.dtype for t in strong)))
    bits = r.bits if r != by_strong else max(8 if t.is_bool else t.bits for t in strong)
    if bits <= 8:
        what = " and ".join(sorted({str(t) for t in strong}))
        raise TypingError(
            f"np.{site.name}() of {what} gives a float16 in NumPy, and hybridjit does not "
            "support float16", site.loc,
            hint=f"convert an argument first, e.g. np.{site.name}(np.float32(x))",
        )
    return FLOAT32 if bits == 16 else FLOAT64


def _args(site: CallSite, n: int, complex_ok: bool = False) -> list[Scalar]:
    site.expect_args(n)
    return site.scalar_args(complex_ok)


def _float_unary(cname: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        (t,) = _args(site, 1, complex_ok=True)
        if t.is_complex:
            return complexes.ufunc(site.name, site.args[0], site.loc)
        ft = float_type([t], site)
        return Intrinsic(cname, (cast(site.args[0], ft),), ft, site.loc)

    return handler


def _float_binary(cname: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        ft = float_type(_args(site, 2), site)
        return Intrinsic(cname, tuple(cast(a, ft) for a in site.args), ft, site.loc)

    return handler


def numpy_promote(types: list[Scalar]) -> Scalar:
    """The type of an integer-preserving function of these arguments:
    NEP 50's promotion, or NumPy's defaults when all are Python numbers
    (``np.fmin(2, 3)`` is an ``np.int64``, ``np.minimum(True, False)`` an
    ``np.bool_``)."""
    if all(t.weak for t in types):
        return scalar_of_dtype(np.result_type(*(numpy_typed(t).dtype for t in types)))
    return promote_all(types)


def _rounding(cname: str) -> Handler:
    """floor/ceil/trunc: NumPy 2 keeps integers and bools as they are."""

    def handler(site: CallSite) -> Expr:
        (t,) = _args(site, 1)
        if not t.is_float:
            return cast(site.args[0], numpy_promote([t]))
        ft = t.strong()
        return Intrinsic(cname, (cast(site.args[0], ft),), ft, site.loc)

    return handler


def _fmod(site: CallSite) -> Expr:
    t = numpy_promote(_args(site, 2))
    if t.is_float:
        return Intrinsic("fmod", tuple(cast(a, t) for a in site.args), t, site.loc)
    it = INT8 if t.is_bool else t  # no bool loop
    return Intrinsic("np_fmod", tuple(cast(a, it) for a in site.args), it, site.loc)


def _fminmax(cname: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        t = numpy_promote(_args(site, 2))
        name = cname if t.is_float else "np_" + cname[1:]  # no NaN among integers
        return Intrinsic(name, tuple(cast(a, t) for a in site.args), t, site.loc)

    return handler


def _np_minmax(cname: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        t = numpy_promote(_args(site, 2))
        return Intrinsic(cname, tuple(cast(a, t) for a in site.args), t, site.loc)

    return handler


def _power(site: CallSite) -> Expr:
    t = numpy_promote(_args(site, 2, complex_ok=True))
    if t.is_complex:
        base, exponent = (cast(a, t) for a in site.args)
        return BinOp("**", base, exponent, t, False, site.loc)
    if t.is_float:
        return Intrinsic("pow", tuple(cast(a, t) for a in site.args), t, site.loc)
    it = INT8 if t.is_bool else t  # a negative exponent is NumPy's ValueError
    base, exp = (cast(a, it) for a in site.args)
    return BinOp("**", base, exp, it, False, site.loc)


def _abs(site: CallSite) -> Expr:
    (t,) = _args(site, 1, complex_ok=True)
    if t.is_complex:
        return complexes.absolute(site.args[0], site.loc, numpy=True)
    t = BOOL if t.is_bool else numpy_typed(t)
    return Intrinsic("abs", (cast(site.args[0], t),), t, site.loc)


def _square(site: CallSite) -> Expr:
    (t,) = _args(site, 1, complex_ok=True)
    st = INT8 if t.is_bool else numpy_typed(t)  # NumPy squares a bool as an int8
    x = cast(site.args[0], st)
    return BinOp("*", x, x, st, False, site.loc)


def _no_bool(site: CallSite, t: Scalar) -> None:
    if t.is_bool:
        raise TypingError(f"np.{site.name}() of a bool is a TypeError in NumPy", site.loc,
                          hint="convert with int(...) first")


def _sign(site: CallSite) -> Expr:
    (t,) = _args(site, 1)
    _no_bool(site, t)
    t = numpy_typed(t)
    return Intrinsic("sign", (cast(site.args[0], t),), t, site.loc)


def _negative(site: CallSite) -> Expr:
    (t,) = _args(site, 1, complex_ok=True)
    _no_bool(site, t)
    t = numpy_typed(t)
    return UnaryOp("neg", cast(site.args[0], t), t, site.loc)


def _positive(site: CallSite) -> Expr:
    (t,) = _args(site, 1, complex_ok=True)
    _no_bool(site, t)
    return cast(site.args[0], numpy_typed(t))


def _reciprocal(site: CallSite) -> Expr:
    (t,) = _args(site, 1, complex_ok=True)
    t = INT8 if t.is_bool else numpy_typed(t)
    x = cast(site.args[0], t)
    if t.is_complex:  # NumPy's own formula, not 1 / x (0-0j for an infinity)
        return Intrinsic("complex.reciprocal", (x,), t, site.loc)
    if t.is_inexact:
        return BinOp("/", Const(1.0, t, site.loc), x, t, False, site.loc)
    return Intrinsic("np_reciprocal", (x,), t, site.loc)


def _operator(op: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        from .exprs import binop

        types = _args(site, 2, complex_ok=True)
        a, b = site.args
        if all(t.weak for t in types):
            a, b = (cast(x, numpy_typed(t)) for x, t in zip((a, b), types))
        return binop(op, a, b, site.loc)

    return handler


def _comparison(op: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        from .exprs import compare

        _args(site, 2, complex_ok=True)
        assert site.new_let is not None
        c = compare(site.new_let, op, site.args[0], site.args[1], site.loc)
        return cast(c, BOOL)  # a NumPy bool, whatever the operands

    return handler


def _logical(op: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        _args(site, 2)
        a, b = (truth(x, site.loc) for x in site.args)
        return BinOp({"and": "&", "or": "|", "xor": "^"}[op], a, b, BOOL, False, site.loc)

    return handler


def _logical_not(site: CallSite) -> Expr:
    _args(site, 1)
    return UnaryOp("not", truth(site.args[0], site.loc), BOOL, site.loc)


def _invert(site: CallSite) -> Expr:
    (t,) = _args(site, 1)
    if t.is_float:
        raise TypingError(f"np.invert() of a {t} is a TypeError in NumPy", site.loc)
    t = BOOL if t.is_bool else numpy_typed(t)
    return UnaryOp("invert", cast(site.args[0], t), t, site.loc)


def _predicate(cname: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        (t,) = _args(site, 1, complex_ok=True)
        if t.is_complex:
            return complexes.predicate(cname, site.args[0], site.loc)
        # an integer is never NaN or infinite; float64 holds it for the test
        ft = t.strong() if t.is_float else FLOAT64
        return Intrinsic(cname, (cast(site.args[0], ft),), BOOL, site.loc)

    return handler


def _scalar_type(dtype: np.dtype) -> Handler:
    """``np.float32(x)``, ``np.uint8(x)``, ``np.bool_(x)``."""
    target = scalar_of_dtype(dtype)

    def handler(site: CallSite) -> Expr:
        (t,) = _args(site, 1, complex_ok=target.is_complex)
        if target.is_bool:
            return truth(site.args[0], site.loc)
        if target.is_int and t.is_float and t.weak:
            # np.int32(2.5) converts a Python float as int() does (and raises
            # where it does not fit); a NumPy float converts as C does
            return int_of_float(site.args[0], target, site.loc)
        return cast(site.args[0], target)

    return handler


for _name, _c in _FLOAT_UNARY.items():
    HANDLERS[getattr(np, _name)] = _float_unary(_c)
for _name, _c in _FLOAT_BINARY.items():
    HANDLERS[getattr(np, _name)] = _float_binary(_c)
for _name in ("floor", "ceil", "trunc"):
    HANDLERS[getattr(np, _name)] = _rounding(_name)
for _name, _op in _OPERATORS.items():
    HANDLERS[getattr(np, _name)] = _operator(_op)
for _name, _op in _COMPARISONS.items():
    HANDLERS[getattr(np, _name)] = _comparison(_op)
for _name in ("and", "or", "xor"):
    HANDLERS[getattr(np, "logical_" + _name)] = _logical(_name)
for _name in ("isnan", "isinf", "isfinite"):
    HANDLERS[getattr(np, _name)] = _predicate(_name)
for _dt in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
            "float32", "float64", "complex64", "complex128", "bool_"):
    HANDLERS[getattr(np, _dt)] = _scalar_type(np.dtype(_dt))
HANDLERS[np.fmod] = _fmod
HANDLERS[np.fmin] = _fminmax("fmin")
HANDLERS[np.fmax] = _fminmax("fmax")
HANDLERS[np.minimum] = _np_minmax("np_min")
HANDLERS[np.maximum] = _np_minmax("np_max")
HANDLERS[np.power] = _power
HANDLERS[np.abs] = _abs
HANDLERS[np.square] = _square
HANDLERS[np.sign] = _sign
HANDLERS[np.negative] = _negative
HANDLERS[np.positive] = _positive
HANDLERS[np.reciprocal] = _reciprocal
HANDLERS[np.logical_not] = _logical_not
HANDLERS[np.invert] = _invert


def _scale(numer: float, denom: float) -> Handler:
    """np.deg2rad/rad2deg: ``x * (numer / denom)``, the factor computed in
    the float type (as NumPy's npy_deg2radf does in single precision)."""

    def handler(site: CallSite) -> Expr:
        ft = float_type(_args(site, 1), site)
        factor = (float(np.float32(np.float32(numer) / np.float32(denom)))
                  if ft == FLOAT32 else numer / denom)
        x = cast(site.args[0], ft)
        return BinOp("*", x, Const(factor, ft, site.loc), ft, False, site.loc)

    return handler


HANDLERS[np.deg2rad] = HANDLERS[np.radians] = _scale(np.pi, 180.0)
HANDLERS[np.rad2deg] = HANDLERS[np.degrees] = _scale(180.0, np.pi)
