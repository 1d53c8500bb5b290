"""Complex numbers: parts, conjugates, ``complex()``, ``cmath`` and NumPy's
complex functions (issue 12, item 3).

Contract: functions building the typed IR of complex operations from
lowered operands: :func:`part` (``z.real``, ``z.imag`` of any number,
element-wise of arrays), :func:`conjugate`, :func:`make` (``complex(re,
im)``), :func:`absolute`, :func:`ufunc` (NumPy's ``np.exp`` ... of a complex
number), and the handlers :data:`HANDLERS` of the ``cmath`` module and of
``np.real``/``np.imag``/``np.conj``/``np.angle``.  The arithmetic itself is
``exprs.binop``'s (the types follow NumPy's promotion: a Python complex
takes a NumPy float's precision, ``np.float32(x) * 1j`` is a complex64);
the code generator prints it as NumPy's or CPython's algorithms (their
products, divisions and powers, see codegen/prelude.py).

Departures, documented: ``a.real``/``a.imag`` of an array is a new array
(NumPy gives a view, which can be written through); complex values run on
the host only (a region using one is not offloaded, explain says why);
ordering comparisons, ``//``, ``%``, ``min``/``max`` and ``np.sort`` of
complex numbers are refused.
"""

from __future__ import annotations

import cmath
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SourceLoc, TypingError, UnsupportedError
from ..ir.nodes import Const, Expr, Intrinsic, Let, MakeTuple, Var
from ..types import (
    BOOL,
    COMPLEX128,
    INT64,
    PY_BOOL,
    PY_COMPLEX,
    PY_FLOAT,
    PY_INT,
    Array,
    Scalar,
    Tuple,
)
from .arrayops import lift
from .coerce import cast

if TYPE_CHECKING:
    from .builtins import CallSite

Handler = Callable[["CallSite"], Expr]

#: NumPy's (and cmath's) complex functions -> the complex.<name> intrinsic
FUNCTIONS = {
    "exp": "exp", "log": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "arcsin": "asin", "arccos": "acos",
    "arctan": "atan", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh",
    "asin": "asin", "acos": "acos", "atan": "atan", "asinh": "asinh", "acosh": "acosh",
    "atanh": "atanh",
}


def _scalar(e: Expr) -> Scalar:
    t = e.type
    assert isinstance(t, Scalar)
    return t


def part(e: Expr, which: str, loc: SourceLoc,
         new_let: Callable[[], str] | None = None) -> Expr:
    """``e.real`` or ``e.imag`` (``which``) of a number or, element by
    element, of an array."""
    if isinstance(e.type, Array):
        return lift(lambda x: part(x, which, loc), [e], loc)  # (x: an element, a Var)
    t = e.type
    if not isinstance(t, Scalar):
        raise TypingError(f"a {t} has no attribute '{which}'", loc)
    if t.is_complex:
        return Intrinsic("complex." + which, (e,), t.real_type, loc)
    if t.is_bool and t.weak:
        t = PY_INT  # True.real == 1, an int
    if which == "real":
        return cast(e, t)
    zero = Const(0.0 if t.is_float else 0, t, loc)  # ((2.5).imag is 0.0, (3).imag 0)
    if isinstance(e, (Var, Const)):
        return zero
    # the operand is still evaluated: np.imag(np.uint8(-8)) raises NumPy's OverflowError
    assert new_let is not None, "part() of an expression needs new_let"
    return Let(new_let(), e, zero, t, loc)


def conjugate(e: Expr, loc: SourceLoc) -> Expr:
    """``z.conjugate()``, ``np.conj(z)``: a real number is its own."""
    if isinstance(e.type, Array):
        return lift(lambda x: conjugate(x, loc), [e], loc)
    t = _scalar(e)
    if not t.is_complex:
        return e
    return Intrinsic("complex.conj", (e,), t, loc)


def make(re: Expr, im: Expr, loc: SourceLoc) -> Expr:
    """``complex(re, im)`` of two real numbers: a Python complex."""
    for x in (re, im):
        t = x.type
        if not isinstance(t, Scalar) or t.is_complex:
            raise UnsupportedError(f"complex() of a {t} is not supported", loc,
                                   hint="pass real numbers: complex(re, im)")
    return Intrinsic("complex.make", (cast(re, PY_FLOAT), cast(im, PY_FLOAT)), PY_COMPLEX, loc)


def absolute(e: Expr, loc: SourceLoc, numpy: bool) -> Expr:
    """``abs(z)``: a real number of the parts' precision (``numpy``: a
    NumPy float even for a Python complex, as np.abs gives)."""
    t = _scalar(e)
    rt = t.real_type.strong() if numpy else t.real_type
    return Intrinsic("complex.abs", (e,), rt, loc)


def ufunc(name: str, e: Expr, loc: SourceLoc) -> Expr:
    """NumPy's ``np.<name>`` of a complex number (a Python complex counts as
    a complex128)."""
    fn = FUNCTIONS.get(name)
    if fn is None:
        raise UnsupportedError(f"np.{name}() of complex numbers is not supported", loc,
                               hint="supported: " + ", ".join(sorted(
                                   n for n in FUNCTIONS if n.startswith(("arc", "exp", "log",
                                                                         "s", "c", "t")))))
    t = _scalar(e).strong()
    return Intrinsic("complex." + fn, (cast(e, t),), t, loc)


def predicate(name: str, e: Expr, loc: SourceLoc) -> Expr:
    """np.isnan/isinf/isfinite of a complex number: of either part."""
    return Intrinsic("complex." + name, (e,), BOOL, loc)


# ----------------------------------------------------------------- handlers


def _one(site: CallSite) -> Expr:
    site.expect_args(1)
    a = site.args[0]
    if not isinstance(a.type, (Scalar, Array)):
        raise TypingError(f"{site.name}() expects a number, got {a.type}", site.loc)
    return a


def _elementwise(fn: Callable[[Expr], Expr]) -> Handler:
    def handler(site: CallSite) -> Expr:
        a = _one(site)
        if isinstance(a.type, Array):
            return lift(fn, [a], site.loc)
        return fn(a)
    return handler


#: cmath functions that may raise, by their code in the prelude's hj_cmath_check
_CMATH_ERRORS = {"exp": 0, "cosh": 1, "sinh": 2, "tanh": 3, "cos": 4, "sin": 5, "tan": 6,
                 "log": 7, "atanh": 8, "atan": 9}


def _cmath(name: str) -> Handler:
    """``cmath.<name>(x)``: of any number, a Python complex (CPython's
    algorithms are its own; the results agree with C's to the usual
    floating-point tolerance), with CPython's ValueError and OverflowError
    (``host.cmath_check``: the host runs it)."""

    def handler(site: CallSite) -> Expr:
        a = _one(site)
        t = a.type
        if isinstance(t, Array):
            raise TypingError(f"cmath.{name}() of an array is a TypeError in Python", site.loc,
                              hint=f"use np.{name}(a)")
        z = cast(a, PY_COMPLEX)
        r = Intrinsic("complex." + FUNCTIONS[name], (z,), PY_COMPLEX, site.loc)
        if name not in _CMATH_ERRORS:
            return r
        if site.new_let is None:
            return Intrinsic("host.cmath_check",
                             (r, z, Const(_CMATH_ERRORS[name], INT64, site.loc)),
                             PY_COMPLEX, site.loc)
        v = site.new_let()  # (z once: it may read memory a call changes)
        held = Var(v, PY_COMPLEX, site.loc)
        r = Intrinsic("complex." + FUNCTIONS[name], (held,), PY_COMPLEX, site.loc)
        check = Intrinsic("host.cmath_check", (r, held, Const(_CMATH_ERRORS[name], INT64,
                                                                site.loc)),
                          PY_COMPLEX, site.loc)
        return Let(v, z, check, PY_COMPLEX, site.loc)
    return handler


def _cmath_phase(site: CallSite) -> Expr:
    a = _one(site)
    if isinstance(a.type, Array):
        raise TypingError("cmath.phase() of an array is a TypeError in Python", site.loc)
    return Intrinsic("complex.angle", (cast(a, PY_COMPLEX),), PY_FLOAT, site.loc)


def _cmath_polar(site: CallSite) -> Expr:
    z = _one(site)
    if isinstance(z.type, Array):
        raise TypingError("cmath.polar() of an array is a TypeError in Python", site.loc)
    zc = cast(z, PY_COMPLEX)
    # (the argument evaluated once: bound by a Let unless a constant)
    name = None if isinstance(zc, Const) or site.new_let is None else site.new_let()
    v = zc if name is None else Var(name, PY_COMPLEX, site.loc)
    out: Expr = MakeTuple((Intrinsic("complex.abs", (v,), PY_FLOAT, site.loc),
                           Intrinsic("complex.angle", (v,), PY_FLOAT, site.loc)),
                          Tuple((PY_FLOAT, PY_FLOAT)), site.loc)
    return out if name is None else Let(name, zc, out, out.type, site.loc)


def _cmath_predicate(name: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        a = _one(site)
        if isinstance(a.type, Array):
            raise TypingError(f"cmath.{name}() of an array is a TypeError in Python", site.loc)
        return cast(predicate(name, cast(a, PY_COMPLEX), site.loc), PY_BOOL)
    return handler


def _angle(site: CallSite) -> Expr:
    """``np.angle(z)``: atan2 of the parts, a NumPy float; of a real ``z``
    NumPy's ``arctan2(0, z)``, whose type follows z's (float32 for int16,
    float16, refused, for int8)."""
    from .npscalar import float_type

    def angle(x: Expr) -> Expr:
        t = _scalar(x)
        if t.is_complex:
            ct = t.strong()
        else:
            ft = float_type([PY_INT, t.strong()], site)
            ct = Scalar("complex64") if ft.name == "float32" else COMPLEX128
        return Intrinsic("complex.angle", (cast(x, ct),), ct.real_type.strong(), site.loc)
    return _elementwise(angle)(site)


def _np_part(which: str) -> Handler:
    """np.real/np.imag: the attribute (of a Python number, a Python number)."""
    def handler(site: CallSite) -> Expr:
        return part(_one(site), which, site.loc, site.new_let)
    return handler


def _np_conj(site: CallSite) -> Expr:
    a = _one(site)
    out = conjugate(a, site.loc)
    t = out.type
    return cast(out, t.strong()) if isinstance(t, Scalar) and t.weak else out


def complex_builtin(site: CallSite) -> Expr:
    """``complex()``, ``complex(x)``, ``complex(re, im)``."""
    site.expect_args(0, 2)
    if not site.args:
        return Const(0j, PY_COMPLEX, site.loc)
    if len(site.args) == 1:
        a = site.args[0]
        if not isinstance(a.type, Scalar):
            raise TypingError(f"complex() of a {a.type} is not supported", site.loc)
        return cast(a, PY_COMPLEX)
    return make(site.args[0], site.args[1], site.loc)


HANDLERS: dict[object, Handler] = {
    **{getattr(cmath, n): _cmath(n) for n in ("exp", "log", "sqrt", "sin", "cos", "tan",
                                               "sinh", "cosh", "tanh", "asin", "acos", "atan",
                                               "asinh", "acosh", "atanh")},
    cmath.phase: _cmath_phase,
    cmath.polar: _cmath_polar,
    **{getattr(cmath, n): _cmath_predicate(n) for n in ("isnan", "isinf", "isfinite")},
    np.real: _np_part("real"),
    np.imag: _np_part("imag"),
    np.conj: _np_conj,
    np.conjugate: _np_conj,
    np.angle: _angle,
}
