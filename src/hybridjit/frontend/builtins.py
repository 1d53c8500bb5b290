"""Typing of calls to Python built-ins, ``math`` and NumPy functions.

Contract: :data:`HANDLERS` maps a resolved Python callable (``abs``,
``math.sqrt``, ``np.zeros`` ...) to a handler ``(CallSite) -> Expr`` that
returns typed IR with the semantics of CPython running that call:
``math.*`` computes in double precision and returns a Python float (unless
``fastmath`` lets float32 stay float32); NumPy functions keep float32
float32.  Anything not listed is an UnsupportedError at the call site.
"""

from __future__ import annotations

import ast
import builtins
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SourceLoc, TypingError, UnsupportedError
from ..ir.nodes import BinOp, Const, Expr, IfExp, Intrinsic, Let, Shape, Stmt, Var
from ..types import (
    FLOAT32,
    FLOAT64,
    PY_BOOL,
    PY_FLOAT,
    PY_INT,
    Array,
    Scalar,
    Tuple,
    promote,
    select_type,
)
from .arrayfuncs import HANDLERS as ARRAY_HANDLERS
from .coerce import cast, fits_selection, int_of_float, truth
from .complexes import HANDLERS as COMPLEX_HANDLERS
from .npscalar import HANDLERS as NUMPY_HANDLERS
from .pymath import HANDLERS as MATH_HANDLERS
from .pymath import round_digits


@dataclass
class CallSite:
    """What a handler sees: lowered positional args, raw keywords, helpers."""

    name: str
    args: list[Expr]
    keywords: dict[str, ast.expr]
    loc: SourceLoc
    fastmath: bool
    lower: Callable[[ast.expr], Expr]
    static: Callable[[ast.expr], Any]
    in_parallel_loop: bool
    in_entry: bool = True
    #: a fresh name for a Let binding (see ir.nodes.Let)
    new_let: Callable[[], str] | None = None
    #: emits a call of a NumPy function before the current statement and
    #: returns its result (see frontend/library.py and FunctionLowerer.library_call)
    library: Callable[..., Expr] | None = None
    #: emits a statement before the current one (``out=`` stores)
    emit: Callable[[Stmt], None] | None = None

    def expect_args(self, lo: int, hi: int | None = None) -> None:
        hi = lo if hi is None else hi
        if not lo <= len(self.args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise TypingError(
                f"{self.name}() takes {want} arguments here, got {len(self.args)}", self.loc
            )

    def scalar_args(self, complex_ok: bool = False) -> list[Scalar]:
        """The arguments' types, all numbers; complex ones only where the
        function takes them (``math.sqrt(1j)`` is CPython's TypeError,
        ``np.floor(1j)`` NumPy's)."""
        out = []
        for a in self.args:
            if not isinstance(a.type, Scalar):
                raise TypingError(
                    f"{self.name}() expects numbers, got {a.type}",
                    a.loc if a.loc.line else self.loc,
                    hint="index the array to get an element, e.g. a[i]",
                )
            if a.type.is_complex and not complex_ok:
                said = ("is a TypeError in Python" if a.type.weak
                        else "is a TypeError in NumPy" if _numpy_refuses_complex(self.name)
                        else "is not supported")
                raise TypingError(
                    f"{self.name}() of a complex number {said}",
                    a.loc if a.loc.line else self.loc,
                    hint="take z.real, z.imag or abs(z) first, or use cmath")
            out.append(a.type)
        return out


def _numpy_refuses_complex(name: str) -> bool:
    """Whether NumPy's function ``name`` raises TypeError for a complex
    number (np.floor does; np.sign and np.logical_and take one)."""
    fn = getattr(np, name, None)
    if not callable(fn):
        return False
    args = (np.complex128(1 + 1j),) * (getattr(fn, "nin", 1) or 1)
    try:
        with np.errstate(all="ignore"):
            fn(*args)
    except TypeError:
        return True
    except Exception:
        return False
    return False


Handler = Callable[[CallSite], Expr]
HANDLERS: dict[Any, Handler] = {}

# --------------------------------------------------------------- math module

_MATH_FLOAT_UNARY = {
    "sqrt": "sqrt", "exp": "exp", "log2": "log2", "log10": "log10",
    "log1p": "log1p", "expm1": "expm1", "sin": "sin", "cos": "cos", "tan": "tan",
    "asin": "asin", "acos": "acos", "atan": "atan", "sinh": "sinh", "cosh": "cosh",
    "tanh": "tanh", "asinh": "asinh", "acosh": "acosh", "atanh": "atanh",
    "erf": "erf", "erfc": "erfc", "gamma": "pygamma", "lgamma": "pylgamma", "fabs": "fabs",
}
_MATH_FLOAT_BINARY = {
    "atan2": "atan2", "hypot": "pyhypot", "copysign": "copysign", "fmod": "fmod", "pow": "pow",
}


def _math_arg_type(site: CallSite, t: Scalar) -> Scalar:
    # CPython's math module converts to a C double; fastmath keeps float32.
    if site.fastmath and t == FLOAT32:
        return FLOAT32
    return FLOAT64


def _math_result(t: Scalar) -> Scalar:
    return FLOAT32 if t == FLOAT32 else PY_FLOAT


def _math_name(cname: str, at: Scalar) -> str:
    """``math.sqrt`` checks for CPython's domain/range errors; the float32
    form that fastmath allows does not (and uses the C library's gamma)."""
    if at == FLOAT32:
        return {"pygamma": "tgamma", "pylgamma": "lgamma", "pyhypot": "hypot"}.get(cname, cname)
    return "math." + cname


def _math_unary(cname: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        site.expect_args(1)
        (t,) = site.scalar_args()
        at = _math_arg_type(site, t)
        return Intrinsic(_math_name(cname, at), (cast(site.args[0], at),), _math_result(at),
                         site.loc)

    return handler


def _math_binary(cname: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        site.expect_args(2)
        t1, t2 = site.scalar_args()
        at = _math_arg_type(site, promote(t1, t2).strong() if t1 == t2 else FLOAT64)
        args = tuple(cast(a, at) for a in site.args)
        return Intrinsic(_math_name(cname, at), args, _math_result(at), site.loc)

    return handler


def _math_log(site: CallSite) -> Expr:
    site.expect_args(1, 2)
    ts = site.scalar_args()
    at = _math_arg_type(site, ts[0]) if len(ts) == 1 else FLOAT64
    log = _math_name("log", at)
    num = Intrinsic(log, (cast(site.args[0], at),), _math_result(at), site.loc)
    if len(site.args) == 1:
        return num
    den = Intrinsic(log, (cast(site.args[1], at),), _math_result(at), site.loc)
    # CPython divides the two logs as Python floats: log(x, 1.0) is a ZeroDivisionError
    return BinOp("/", num, den, num.type, True, site.loc)


def _math_to_int(cname: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        site.expect_args(1)
        (t,) = site.scalar_args()
        if not t.weak and not t.is_float:
            # NumPy integers and bools have no __floor__/__ceil__/__trunc__:
            # CPython converts them to a float (inexact beyond 2**53)
            if cname == "trunc":
                raise TypingError(
                    f"math.trunc() of a NumPy {t} is a TypeError in CPython (type numpy.{t} "
                    "doesn't define __trunc__ method)", site.loc,
                    hint="convert with int(...) instead")
        elif not t.is_float:
            return cast(site.args[0], PY_INT)
        rounded = Intrinsic(cname, (cast(site.args[0], FLOAT64),), FLOAT64, site.loc)
        return int_of_float(rounded, PY_INT, site.loc)

    return handler


def _math_predicate(cname: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        site.expect_args(1)
        site.scalar_args()
        return Intrinsic(cname, (cast(site.args[0], FLOAT64),), PY_BOOL, site.loc)

    return handler


def _scale(factor: float) -> Handler:
    def handler(site: CallSite) -> Expr:
        site.expect_args(1)
        site.scalar_args()
        x = cast(site.args[0], PY_FLOAT)
        return BinOp("*", x, Const(factor, PY_FLOAT, site.loc), PY_FLOAT, False, site.loc)

    return handler


for _name, _c in _MATH_FLOAT_UNARY.items():
    HANDLERS[getattr(math, _name)] = _math_unary(_c)
for _name, _c in _MATH_FLOAT_BINARY.items():
    HANDLERS[getattr(math, _name)] = _math_binary(_c)
HANDLERS[math.log] = _math_log
HANDLERS[math.floor] = _math_to_int("floor")
HANDLERS[math.ceil] = _math_to_int("ceil")
HANDLERS[math.trunc] = _math_to_int("trunc")
for _name in ("isnan", "isinf", "isfinite"):
    HANDLERS[getattr(math, _name)] = _math_predicate(_name)
HANDLERS[math.degrees] = _scale(180.0 / math.pi)
HANDLERS[math.radians] = _scale(math.pi / 180.0)

# ------------------------------------------------------------------ builtins


def _abs(site: CallSite) -> Expr:
    site.expect_args(1)
    (t,) = site.scalar_args(complex_ok=True)
    if t.is_complex:
        from .complexes import absolute

        return absolute(site.args[0], site.loc, numpy=False)
    if t.is_bool and t.weak:
        t = PY_INT  # abs(True) == 1; NumPy's bool stays a bool
    return Intrinsic("abs", (cast(site.args[0], t),), t, site.loc)


def _minmax(name: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        if site.args and isinstance(site.args[0].type, Array):
            from .arrayfuncs import python_extremum

            return python_extremum(name, site)
        if len(site.args) < 2:
            raise UnsupportedError(
                f"{name}() needs two or more numbers here",
                site.loc,
                hint=f"to reduce an array write a loop: s = {name}(s, a[i])",
            )
        types = site.scalar_args()
        t = select_type(types, [fits_selection(a, types) for a in site.args])
        if not all(_exactly_representable(u, t) for u in types):
            return _select_by_value(site, name, t)
        acc = cast(site.args[0], t)
        for a in site.args[1:]:
            acc = Intrinsic(name, (acc, cast(a, t)), t, site.loc)
        return acc

    return handler


def _exactly_representable(u: Scalar, t: Scalar) -> bool:
    """Every value of ``u`` converts to ``t`` without check or change, so
    comparing in ``t`` is comparing the values (a Python int does not fit a
    narrow NumPy integer; uint64 and signed integers do not fit each other)."""
    if u == t or u.is_float or t.is_float or u.is_bool:
        return True
    if u.weak:
        return t.is_int and t.name == "int64"
    return bool(np.can_cast(u.dtype, t.dtype, "safe"))


def _select_by_value(site: CallSite, name: str, t: Scalar) -> Expr:
    """``min``/``max`` as CPython runs them - ``r = a; r = b if b < r else r``
    - comparing values, and converting only the one chosen (a Python int
    that ``t`` cannot hold raises only when it wins)."""
    from .exprs import compare

    assert site.new_let is not None
    new_let = site.new_let
    lets: list[tuple[str, Expr]] = []

    def bound(e: Expr) -> Expr:
        if isinstance(e, (Var, Const)):
            return e
        n = new_let()
        lets.append((n, e))
        return Var(n, e.type, e.loc)

    values = [bound(a) for a in site.args]  # every argument first, in order
    acc = values[0]
    for v in values[1:]:
        better = compare(new_let, "<" if name == "min" else ">", v, acc, site.loc)
        acc = bound(IfExp(better, cast(v, t), cast(acc, t), t, site.loc))
    out = cast(acc, t)
    for n, e in reversed(lets):
        out = Let(n, e, out, t, site.loc)
    return out


def _int(site: CallSite) -> Expr:
    site.expect_args(1)
    (t,) = site.scalar_args()
    if t.is_float:
        return int_of_float(site.args[0], PY_INT, site.loc)
    return cast(site.args[0], PY_INT)


def _float(site: CallSite) -> Expr:
    site.expect_args(1)
    site.scalar_args()
    return cast(site.args[0], PY_FLOAT)


def _bool(site: CallSite) -> Expr:
    site.expect_args(1)
    site.scalar_args(complex_ok=True)
    return cast(truth(site.args[0], site.loc), PY_BOOL)


def _round(site: CallSite) -> Expr:
    site.expect_args(1, 2)
    if len(site.args) == 2:
        return round_digits(site)
    (t,) = site.scalar_args()
    if not t.is_float:
        return cast(site.args[0], PY_INT)
    # Python rounds half to even, which is rint under the default rounding mode.
    return int_of_float(Intrinsic("rint", (site.args[0],), t, site.loc), PY_INT, site.loc)


def _complex_builtin(site: CallSite) -> Expr:
    from .complexes import complex_builtin

    return complex_builtin(site)


def _len(site: CallSite) -> Expr:
    site.expect_args(1)
    a = site.args[0]
    if isinstance(a.type, Array):
        return Shape(a, 0, PY_INT, site.loc)  # type: ignore[arg-type]
    if isinstance(a.type, Tuple):
        return Const(len(a.type.items), PY_INT, site.loc)
    raise TypingError(f"len() of {a.type} is not supported", site.loc)


HANDLERS[builtins.abs] = _abs
HANDLERS[builtins.complex] = _complex_builtin
HANDLERS[builtins.min] = _minmax("min")
HANDLERS[builtins.max] = _minmax("max")
HANDLERS[builtins.int] = _int
HANDLERS[builtins.float] = _float
HANDLERS[builtins.bool] = _bool
HANDLERS[builtins.round] = _round
HANDLERS[builtins.len] = _len

HANDLERS.update(MATH_HANDLERS)
HANDLERS.update(NUMPY_HANDLERS)
HANDLERS.update(ARRAY_HANDLERS)
HANDLERS.update(COMPLEX_HANDLERS)

#: functions that apply element by element to arrays (NumPy's ufuncs, abs)
ELEMENTWISE = frozenset(NUMPY_HANDLERS) | {builtins.abs}

#: Compile-time constants reachable as attributes of math and numpy.
CONSTANTS: dict[tuple[str, str], float] = {
    ("math", "pi"): math.pi, ("math", "e"): math.e, ("math", "tau"): math.tau,
    ("math", "inf"): math.inf, ("math", "nan"): math.nan,
    ("numpy", "pi"): math.pi, ("numpy", "e"): math.e, ("numpy", "inf"): math.inf,
    ("numpy", "nan"): math.nan,
}

