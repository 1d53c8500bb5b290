"""Explicit conversions between IR types used while lowering.

Contract: :func:`cast` returns an expression of exactly the requested type
with the conversion's CPython/NumPy meaning: constants are converted at
compile time exactly as NumPy converts them (integers wrap to the width,
float32 rounds), and a Python int narrowed to a NumPy integer type carries
NEP 50's overflow check (``Cast.check == "pyint"``) unless the value is a
constant that fits.  :func:`int_of_float` is Python's ``int()`` of a float
(checked), :func:`truth` the Python truth value of a scalar as a bool
expression, :func:`fold_python` the value of a Python-number operation on
constants.  All are pure.
"""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from ..errors import SourceLoc, TypingError
from ..ir.nodes import Cast, Compare, Const, Expr, MakeTuple, TupleItem
from ..types import BOOL, PY_BOOL, PY_COMPLEX, PY_FLOAT, PY_INT, Scalar, Tuple, Type

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def int_range(t: Scalar) -> tuple[int, int]:
    """The values an integer (or bool) type holds."""
    if t.is_bool:
        return 0, 1
    info = np.iinfo(t.dtype)
    return int(info.min), int(info.max)


def fits(value: int, t: Scalar) -> bool:
    lo, hi = int_range(t)
    return lo <= value <= hi


def narrows_python_int(src: Type, dst: Type) -> bool:
    """Whether converting ``src`` to ``dst`` is NEP 50's narrowing of a Python
    int to a NumPy integer type that cannot hold every Python int we hold
    (int64): NumPy raises OverflowError when the value does not fit."""
    return (isinstance(src, Scalar) and isinstance(dst, Scalar) and src.weak and src.is_int
            and not dst.weak and dst.is_int and dst.name != "int64")


def _uint64_to_python(src: Type, dst: Type) -> bool:
    return (isinstance(src, Scalar) and isinstance(dst, Scalar) and src.name == "uint64"
            and not src.weak and dst.weak and dst.is_int)


def cast(expr: Expr, to: Type) -> Expr:
    if expr.type == to:
        return expr
    if isinstance(to, Tuple) and isinstance(expr.type, Tuple):
        return _cast_tuple(expr, to)
    checked = narrows_python_int(expr.type, to)
    if _uint64_to_python(expr.type, to):
        # a Python int beyond 2**63 - 1 would not fit hybridjit's 64-bit ints
        if isinstance(expr, Const) and int(expr.value) < 2**63:
            return Const(int(expr.value), to, expr.loc)
        return Cast(expr, to, "u64", expr.loc)
    if isinstance(expr, Const) and isinstance(to, Scalar) and isinstance(expr.type, Scalar) \
            and not (checked and not fits(int(expr.value), to)):
        folded = convert_const(expr.value, to)
        if folded is not None:
            return Const(folded, to, expr.loc)
    return Cast(expr, to, "pyint" if checked else "", expr.loc)


def _cast_tuple(expr: Expr, to: Tuple) -> Expr:
    """A tuple converted item by item (a tuple has no C conversion of its
    own); a tuple-valued expression that is not a display is read item by
    item, so it must be free of side effects (the frontend binds calls)."""
    assert isinstance(expr.type, Tuple) and len(expr.type.items) == len(to.items)
    if isinstance(expr, MakeTuple):
        items = expr.items
    else:
        items = tuple(TupleItem(expr, k, t, expr.loc) for k, t in enumerate(expr.type.items))
    return MakeTuple(tuple(cast(i, t) for i, t in zip(items, to.items)), to, expr.loc)


def convert_const(value: bool | int | float | complex,
                  to: Scalar) -> bool | int | float | complex | None:
    """``value`` converted to ``to`` as NumPy converts a scalar (C casts:
    integers wrap, float32 rounds, a complex number loses its imaginary
    part), or None where C leaves the result undefined (a NaN, infinite or
    out-of-range float to an integer)."""
    if to.is_complex:
        if to.name == "complex64":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return complex(np.complex64(value))
        return complex(value)
    if isinstance(value, complex):
        value = value.real
    if to.is_bool:
        return bool(value)
    if to.weak:
        if to.is_int:
            return int(value) if not isinstance(value, float) else None
        return float(value)
    if to.is_int:
        if isinstance(value, float):
            if not math.isfinite(value):
                return None
            value = int(value)  # C truncates toward zero
            if not fits(value, to):
                return None
        lo, hi = int_range(to)
        return (int(value) - lo) % (hi - lo + 1) + lo
    if to.name == "float32":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # overflow to inf is the conversion's result
            return float(np.float32(value))
    return float(value)


def int_of_float(expr: Expr, to: Scalar, loc: SourceLoc) -> Expr:
    """Python's ``int()`` of a float value, as an integer of type ``to``:
    ValueError for NaN, OverflowError for infinities and values ``to``
    cannot hold (a Python int would; hybridjit's are 64-bit)."""
    assert isinstance(expr.type, Scalar) and expr.type.is_float
    if isinstance(expr, Const):
        v = float(expr.value)
        if math.isfinite(v) and fits(int(v), to):
            return Const(int(v), to, loc)
    return Cast(expr, to, "int", loc)


def truth(expr: Expr, loc: SourceLoc) -> Expr:
    """``bool(expr)`` for a scalar expression."""
    t = expr.type
    if not isinstance(t, Scalar):
        raise TypingError(
            f"a value of type {t} has no truth value here",
            loc,
            hint="compare explicitly, e.g. 'a.shape[0] > 0'",
        )
    if t.is_bool:
        return expr if t == BOOL else cast(expr, BOOL)
    if isinstance(expr, Const):
        return Const(bool(expr.value), BOOL, loc)
    return Compare("!=", expr, Const(0, t, loc), BOOL, loc)


_PY_OPS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "&": operator.and_,
    "|": operator.or_, "^": operator.xor, "<<": operator.lshift, ">>": operator.rshift,
}


def fold_python(op: str, left: Const, right: Const, loc: SourceLoc) -> Const | None:
    """``left op right`` on two Python numbers, computed by Python itself
    (so ``2**63`` is exact and ``1.0 + 2**100`` rounds once), or None where
    Python raises (the compiled code raises the same at run time) or the
    result is no longer a plain number.  Integers too large for 64 bits stay
    exact here; :func:`check_int_constants` reports those that survive."""
    if shift_too_large(op, right):
        # 1 << 10**9 would exhaust memory to compute: an int operand other
        # than 0 and +-1 surely gives more than 64 bits
        big = type(left.value) in (bool, int) and (
            abs(left.value) > 1 or (op == "<<" and left.value != 0))
        if big:
            raise TypingError(
                f"integer constant {left.value} {op} {right.value} does not fit in 64 bits",
                loc, hint="hybridjit's integers are 64-bit; use a float or a smaller value")
        if type(left.value) not in (bool, int):
            return None  # (2.0 ** 5000: CPython's OverflowError, at run time)
    try:
        value = _PY_OPS[op](left.value, right.value)
    except (ArithmeticError, ValueError, TypeError):  # (TypeError: 0.5 ^ 1.0, typed later)
        return None
    if isinstance(value, bool):
        return Const(value, PY_BOOL, loc)
    if isinstance(value, int):
        return Const(value, PY_INT, loc)
    if isinstance(value, float):
        return Const(value, PY_FLOAT, loc)
    if isinstance(value, complex) and complex in (type(left.value), type(right.value)):
        return Const(value, PY_COMPLEX, loc)
    return None  # a complex result of real operands (negative ** fraction): at run time


def shift_too_large(op: str, right: Const) -> bool:
    return op in ("<<", "**") and isinstance(right.value, int) and right.value > 4096


def fits_selection(e: Expr, among: list[Scalar]) -> bool:
    """A Python int constant that every NumPy integer type in ``among`` can
    hold (see types.select_type)."""
    if not (isinstance(e, Const) and isinstance(e.type, Scalar) and e.type.weak
            and e.type.is_int and not isinstance(e.value, bool)):
        return False
    return all(fits(int(e.value), t) for t in among if not t.weak and t.is_int)
