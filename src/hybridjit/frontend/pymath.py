"""Typing of the ``math`` module's integer functions and float
decompositions, and of ``round(x, ndigits)``.

Contract: :data:`HANDLERS` maps each callable (``math.gcd``, ``math.frexp``,
``round`` with two arguments ...) to a handler ``(CallSite) -> Expr`` with
CPython's semantics, merged into :data:`hybridjit.frontend.builtins.HANDLERS`.
Functions that can raise (a negative ``math.factorial``, an overflowing
``math.ldexp``, a result beyond 64 bits) become ``host.*`` intrinsics, which
run on the host only and report CPython's exception.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import SourceLoc, TypingError, UnsupportedError
from ..ir.nodes import Cast, Compare, Const, Expr, IfExp, Intrinsic, Let, MakeTuple, Var
from ..types import FLOAT64, PY_BOOL, PY_FLOAT, PY_INT, Scalar, Tuple
from .coerce import cast

if TYPE_CHECKING:
    from .builtins import CallSite

Handler = Callable[["CallSite"], Expr]
HANDLERS: dict[object, Handler] = {}


def _int_args(site: CallSite) -> list[Expr]:
    """The arguments as Python ints (ints, bools and NumPy integers, as
    ``__index__`` takes them; a float is CPython's TypeError)."""
    out = []
    for a, t in zip(site.args, site.scalar_args()):
        if t.is_float:
            raise TypingError(
                f"math.{site.name}() needs integers, got {t} ('float' object cannot be "
                "interpreted as an integer)", a.loc if a.loc.line else site.loc,
                hint="convert with int(...) first",
            )
        if t.is_bool and not t.weak:  # np.bool_ has no __index__
            raise TypingError(
                f"math.{site.name}() needs integers, got a NumPy bool ('numpy.bool' object "
                "cannot be interpreted as an integer)", a.loc if a.loc.line else site.loc,
                hint="convert with int(...) first",
            )
        out.append(cast(a, PY_INT))
    return out


def _float_args(site: CallSite) -> list[Expr]:
    site.scalar_args()
    return [cast(a, PY_FLOAT) for a in site.args]


def _host(name: str, args: list[Expr], t: Scalar, loc: SourceLoc) -> Intrinsic:
    return Intrinsic("host." + name, tuple(args), t, loc)


def _gcd_lcm(name: str, empty: int) -> Handler:
    def handler(site: CallSite) -> Expr:
        args = _int_args(site)
        if not args:
            return Const(empty, PY_INT, site.loc)
        acc = _host(name, [args[0], args[0]], PY_INT, site.loc) if len(args) == 1 else None
        if acc is not None:
            return acc  # gcd(a) == lcm(a) == abs(a), raising like the binary form
        out: Expr = args[0]
        for a in args[1:]:
            out = _host(name, [out, a], PY_INT, site.loc)
        return out

    return handler


def _int_function(name: str, nargs: tuple[int, ...]) -> Handler:
    def handler(site: CallSite) -> Expr:
        site.expect_args(min(nargs), max(nargs))
        args = _int_args(site)
        if name == "perm" and len(args) == 1:
            return _host("factorial", args, PY_INT, site.loc)
        return _host(name, args, PY_INT, site.loc)

    return handler


def _ldexp(site: CallSite) -> Expr:
    site.expect_args(2)
    x, i = site.args
    _, it = site.scalar_args()
    if not it.weak or it.is_float:  # CPython takes Python ints only, not NumPy's
        raise TypingError(f"math.ldexp() needs a Python int exponent, got {it} (Expected an "
                          "int as second argument to ldexp.)", site.loc,
                          hint="convert with int(...) first")
    return _host("ldexp", [cast(x, PY_FLOAT), cast(i, PY_INT)], PY_FLOAT, site.loc)


def _pair(site: CallSite, first: str, second: str, types: tuple[Scalar, Scalar]) -> Expr:
    """A tuple of two functions of one argument, evaluated once."""
    site.expect_args(1)
    (x,) = _float_args(site)
    if not isinstance(x, (Var, Const)):
        assert site.new_let is not None
        name = site.new_let()
        bound = Var(name, x.type, x.loc)
        body = MakeTuple((Intrinsic(first, (bound,), types[0], site.loc),
                          Intrinsic(second, (bound,), types[1], site.loc)),
                         Tuple(types), site.loc)
        return Let(name, x, body, Tuple(types), site.loc)
    return MakeTuple((Intrinsic(first, (x,), types[0], site.loc),
                      Intrinsic(second, (x,), types[1], site.loc)), Tuple(types), site.loc)


def _frexp(site: CallSite) -> Expr:
    return _pair(site, "host.frexp_m", "host.frexp_e", (PY_FLOAT, PY_INT))


def _modf(site: CallSite) -> Expr:
    return _pair(site, "host.modf_frac", "host.modf_int", (PY_FLOAT, PY_FLOAT))


def _float_function(name: str, nargs: int) -> Handler:
    """Functions of floats returning a Python float; ``math.`` names check
    CPython's domain and range errors (devices give nan/inf)."""

    def handler(site: CallSite) -> Expr:
        site.expect_args(nargs)
        return Intrinsic(name, tuple(_float_args(site)), PY_FLOAT, site.loc)

    return handler


def _isclose(site: CallSite) -> Expr:
    site.expect_args(2)
    a, b = _float_args(site)
    extra = set(site.keywords) - {"rel_tol", "abs_tol"}
    if extra:
        raise TypingError(f"math.isclose() got an unexpected keyword argument "
                          f"'{sorted(extra)[0]}'", site.loc)
    tols = []
    for key, default in (("rel_tol", 1e-09), ("abs_tol", 0.0)):
        node = site.keywords.get(key)
        value = site.lower(node) if node is not None else Const(default, PY_FLOAT, site.loc)
        if not isinstance(value.type, Scalar):
            raise TypingError(f"math.isclose() {key} must be a number", site.loc)
        tols.append(cast(value, PY_FLOAT))
    return _host("isclose", [a, b, *tols], PY_BOOL, site.loc)


HANDLERS[math.gcd] = _gcd_lcm("gcd", 0)
HANDLERS[math.lcm] = _gcd_lcm("lcm", 1)
HANDLERS[math.comb] = _int_function("comb", (2,))
HANDLERS[math.perm] = _int_function("perm", (1, 2))
HANDLERS[math.factorial] = _int_function("factorial", (1,))
HANDLERS[math.isqrt] = _int_function("isqrt", (1,))
HANDLERS[math.ldexp] = _ldexp
HANDLERS[math.frexp] = _frexp
HANDLERS[math.modf] = _modf
HANDLERS[math.remainder] = _float_function("math.remainder", 2)
HANDLERS[math.nextafter] = _float_function("nextafter", 2)
HANDLERS[math.ulp] = _float_function("host.ulp", 1)
HANDLERS[math.isclose] = _isclose
for _name in ("cbrt", "exp2"):  # Python 3.11
    if hasattr(math, _name):
        HANDLERS[getattr(math, _name)] = _float_function("math." + _name, 1)


# ------------------------------------------------------------ round(x, ndigits)


def round_digits(site: CallSite) -> Expr:
    """``round(x, ndigits)``: Python floats round correctly (CPython rounds
    the exact binary value to ``ndigits`` decimals, half to even); NumPy
    floats as NumPy does (scale by a power of ten, ``rint``, scale back) and
    keep their type; integers round to a multiple of ``10**-ndigits``, half
    to even."""
    x, nd = site.args
    xt, ndt = site.scalar_args()
    if not (ndt.is_int or ndt.is_bool):
        raise TypingError("round() ndigits must be an integer", site.loc,
                          hint="'float' object cannot be interpreted as an integer")
    ndigits = cast(nd, PY_INT)
    if xt.is_bool and not xt.weak:
        raise UnsupportedError("round() of a NumPy bool: NumPy defines no rounding for it",
                               site.loc, hint="convert with int(...) first")
    if xt.is_float:
        if xt.weak:
            return _host("round_py", [x, ndigits], PY_FLOAT, site.loc)
        return Intrinsic("host.round_np", (x, ndigits), xt, site.loc)
    if xt.weak:
        return Intrinsic("host.round_int", (cast(x, PY_INT), ndigits), PY_INT, site.loc)
    # NumPy rounds an integer to itself for ndigits >= 0 and otherwise through
    # float64 (divide, rint, multiply, cast back as C does): inexact beyond
    # 2**53, as NumPy is
    name = None
    if not isinstance(ndigits, (Var, Const)):
        assert site.new_let is not None
        name = site.new_let()
    nd = Var(name, PY_INT, site.loc) if name else ndigits
    through_float = Cast(Intrinsic("host.round_np", (cast(x, FLOAT64), nd), FLOAT64,
                                   site.loc), xt.strong(), "", site.loc)
    negative = Compare("<", nd, Const(0, PY_INT, site.loc), PY_BOOL, site.loc)
    out = IfExp(negative, through_float, cast(x, xt.strong()), xt.strong(), site.loc)
    return Let(name, ndigits, out, out.type, site.loc) if name else out
