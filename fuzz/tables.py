"""Which operator or function gives which type: tables for the generator.

Contract: importing this module computes, by running CPython/NumPy on sample
values (:mod:`fuzz.typesys`), for every result type the (operator, operand
types) and (function, argument types) combinations that produce it:
:data:`BIN_BY`, :data:`CMP_BY`, :data:`UN_BY`, :data:`CALL_BY`; and the
constructs CPython or NumPy refuse with a TypeError (:data:`TYPEERROR`,
hybridjit refuses them at compile time).  The lists of functions are the
subset's: the ``math`` module, NumPy's element-wise functions on scalars.

These module-level tables hold the real scalar types only
(:data:`REAL_TABLES`); :data:`COMPLEX_TABLES` holds the same over the real
and the complex types (feature "complex"), with the ``cmath`` functions,
``complex()``, ``np.conj``/``np.real``/``np.imag``/``np.angle``, and only
the operations on complex operands that hybridjit supports (README,
"Complex numbers"): ``+ - * / **``, ``==``/``!=``, unary ``-``/``+`` and
the functions of :data:`COMPLEX_OK`.  NumPy orders complex numbers (``<``,
``np.maximum``) and takes ``np.bool_(z)``, ``np.sign(z)``, ``np.log2(z)``
... where hybridjit refuses them: such entries are left out, not expected
to fail.  Its :data:`Tables.typeerror` adds what CPython refuses of a
Python complex (ordering, ``int()``, ``float()``, ``round()``, ``math.*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .typesys import (
    ALL_SCALARS,
    BINOPS,
    CMPOPS,
    COMPLEX_SCALARS,
    PY_BOOL,
    PY_COMPLEX,
    PY_FLOAT,
    PY_INT,
    ScalarT,
    binop_type,
    call_type,
    join,
    unop_type,
)

MATH_FLOAT1 = ("sqrt", "exp", "log", "log2", "log10", "log1p", "expm1", "sin", "cos", "tan",
               "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
               "erf", "erfc", "gamma", "lgamma", "fabs", "degrees", "radians")
MATH_FLOAT2 = ("atan2", "hypot", "copysign", "fmod", "pow", "log")
MATH_INT1 = ("floor", "ceil", "trunc")
MATH_PRED = ("isnan", "isinf", "isfinite")
#: further math functions with their arity (typed by running them)
MATH_MORE = {"exp2": 1, "cbrt": 1, "remainder": 2, "ldexp": 2, "gcd": 2, "lcm": 2, "comb": 2,
             "perm": 2, "factorial": 1, "isqrt": 1, "nextafter": 2, "ulp": 1, "isclose": 2}
NP_FUNC1 = ("sqrt", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sin", "cos",
            "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh",
            "arccosh", "arctanh", "cbrt", "floor", "ceil", "trunc", "rint", "fabs", "abs",
            "square", "isnan", "isinf", "isfinite")
NP_FUNC2 = ("arctan2", "hypot", "copysign", "fmod", "power", "fmin", "fmax", "minimum",
            "maximum")
#: NumPy's further scalar functions (feature "np_ufuncs"): sign, the
#: operators' ufuncs, comparisons, logical functions, degree conversions
NP_UFUNC1 = ("sign", "negative", "positive", "reciprocal", "invert", "logical_not",
             "deg2rad", "rad2deg", "degrees", "radians")
NP_UFUNC2 = ("add", "subtract", "multiply", "divide", "true_divide", "floor_divide",
             "remainder", "mod", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
             "right_shift", "equal", "not_equal", "less", "less_equal", "greater",
             "greater_equal", "logical_and", "logical_or", "logical_xor")
#: a ufunc whose second operand needs an operator's care (divisor, shift
#: count, exponent): the operator
UFUNC_OPERATOR = {"divide": "/", "true_divide": "/", "floor_divide": "//", "remainder": "%",
                  "mod": "%", "fmod": "%", "left_shift": "<<", "right_shift": ">>",
                  "power": "**"}
#: math functions whose domain excludes some reals (arguments are made safe
#: most of the time so programs get past them)
DOMAIN_LIMITED = {"sqrt", "log", "log2", "log10", "log1p", "asin", "acos", "acosh", "atanh",
                  "gamma", "lgamma", "arcsin", "arccos", "arccosh", "arctanh"}

#: complex-only functions of the complex tables: cmath's (a Python complex,
#: a float, a bool), NumPy's parts, conjugate and angle
CMATH1 = ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin", "acos",
          "atan", "asinh", "acosh", "atanh", "phase", "isnan", "isinf", "isfinite")
#: the cmath functions hybridjit computes with the C library (not bit for bit
#: CPython's algorithms: a few ulps are a departure, fuzz.compare)
CMATH_INEXACT = CMATH1[:15]
NP_COMPLEX1 = ("conj", "conjugate", "real", "imag", "angle")
#: the functions hybridjit takes complex arguments of (probed: the other
#: NumPy functions of complex numbers are refused, documented)
COMPLEX_OK = frozenset(
    {"abs", "complex", "np.abs", "np.square", "np.negative", "np.positive", "np.reciprocal",
     "np.power", "np.add", "np.subtract", "np.multiply", "np.divide", "np.true_divide",
     "np.equal", "np.not_equal", "np.isnan", "np.isinf", "np.isfinite"}
    | {f"np.{n}" for n in ("sqrt", "exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh",
                           "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh")}
    | {f"np.{n}" for n in NP_COMPLEX1} | {f"cmath.{n}" for n in CMATH1})
COMPLEX_BINOPS = ("+", "-", "*", "/", "**")
COMPLEX_CMPOPS = ("==", "!=")

ARITH = ("+", "-", "*", "/", "//", "%", "**")
BITS = ("&", "|", "^", "<<", ">>")
CMPS = tuple(CMPOPS)


def _complex_ok(kind: str, name: str, ts: tuple[ScalarT, ...]) -> bool:
    """hybridjit takes this operation (an operator or a function: ``kind``
    "op", "cmp", "unop", "call") on operands of types ``ts``: anything of
    real operands; of complex ones only the supported subset."""
    if not any(t.is_complex for t in ts):
        return True
    if kind == "op":
        return name in COMPLEX_BINOPS
    if kind == "cmp":
        return name in COMPLEX_CMPOPS
    if kind == "unop":
        return name in ("-", "+")
    if name == "complex" and len(ts) == 2:
        return False  # complex(re, im) of real parts only
    return name in COMPLEX_OK


def _build_tables(scalars: tuple[ScalarT, ...]) -> tuple[dict[ScalarT, list[Any]], ...]:
    bin_by: dict[ScalarT, list[tuple[str, ScalarT, ScalarT]]] = {}
    cmp_by: dict[ScalarT, list[tuple[str, ScalarT, ScalarT]]] = {}
    un_by: dict[ScalarT, list[tuple[str, ScalarT]]] = {}
    call_by: dict[ScalarT, list[tuple[str, tuple[ScalarT, ...]]]] = {}
    with_complex = any(t.is_complex for t in scalars)
    for a in scalars:
        for b in scalars:
            for op in BINOPS:
                r = binop_type(op, a, b)
                if r is not None and _complex_ok("op", op, (a, b)):
                    bin_by.setdefault(r, []).append((op, a, b))
            for op in CMPOPS:
                r = binop_type(op, a, b)
                if r is not None and _complex_ok("cmp", op, (a, b)):
                    cmp_by.setdefault(r, []).append((op, a, b))
        for op in ("-", "+", "~"):
            r = unop_type(op, a)
            if r is not None and _complex_ok("unop", op, (a,)):
                un_by.setdefault(r, []).append((op, a))
    funcs1 = [f"np.{n}" for n in NP_FUNC1 + NP_UFUNC1] + ["abs", "round"]
    funcs2 = [f"np.{n}" for n in NP_FUNC2 + NP_UFUNC2]
    if with_complex:
        funcs1 += [f"np.{n}" for n in NP_COMPLEX1] + [f"cmath.{n}" for n in CMATH1] \
            + ["complex"]
        funcs2 += ["complex"]
    for name in funcs1:
        for a in scalars:
            r = call_type(name, (a,))
            if r is not None and _complex_ok("call", name, (a,)):
                call_by.setdefault(r, []).append((name, (a,)))
    for name in funcs2:
        for a in scalars:
            for b in scalars:
                r = call_type(name, (a, b))
                if r is not None and _complex_ok("call", name, (a, b)):
                    call_by.setdefault(r, []).append((name, (a, b)))
    # (the math module's functions: of real numbers only, as in CPython; a
    # NumPy complex would be converted to float with a warning)
    def math_entries(names: tuple[str, ...], res: ScalarT, arity: int) -> None:
        for n in names:
            for a in ALL_SCALARS:
                for ts in ([(a,)] if arity == 1 else [(a, a), (a, PY_FLOAT)]):
                    if _math_accepts(f"math.{n}", ts, res):
                        call_by.setdefault(res, []).append((f"math.{n}", ts))

    math_entries(MATH_FLOAT1, PY_FLOAT, 1)
    math_entries(MATH_FLOAT2, PY_FLOAT, 2)
    math_entries(MATH_INT1, PY_INT, 1)
    math_entries(MATH_PRED, PY_BOOL, 1)
    for n, arity in MATH_MORE.items():
        # typed by running them: integer functions take integers only
        combos = [(a,) for a in ALL_SCALARS] if arity == 1 else \
            [(a, b) for a in ALL_SCALARS for b in ALL_SCALARS]
        for ts in combos:
            r = call_type(f"math.{n}", ts)
            if r is not None:
                call_by.setdefault(r, []).append((f"math.{n}", ts))
    return bin_by, cmp_by, un_by, call_by


def _math_accepts(name: str, ts: tuple[ScalarT, ...], res: ScalarT) -> bool:
    """CPython's math module takes these argument types and gives ``res`` (a
    domain error on the sample value does not count against it)."""
    import warnings

    from .typesys import resolve, sample, typeof

    fn = resolve(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = fn(*(sample(t) for t in ts))
        except TypeError:
            return False
        except Exception:
            return True
    return typeof(r) == res




def _type_error(fn: Any, *args: Any) -> bool:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(*args)
        except TypeError:
            return True
        except Exception:
            return False
    return False


def _build_typeerror(scalars: tuple[ScalarT, ...]) -> list[tuple[str, str, tuple[ScalarT, ...]]]:
    """("op"|"unop"|"call", operator or function, operand types) of every
    construct that raises TypeError on two sets of sample values (with a
    Python complex among ``scalars``: also its ordering comparisons and
    ``int()``, ``float()``, ``round()``, ``math.*`` of it)."""
    from .typesys import UNOPS, resolve, sample

    def raises(fn: Any, ts: tuple[ScalarT, ...]) -> bool:
        return all(_type_error(fn, *(sample(t, k + w) for k, t in enumerate(ts)))
                   for w in (0, 1))

    out: list[tuple[str, str, tuple[ScalarT, ...]]] = []
    for a in scalars:
        for op in ("-", "+", "~"):
            if raises(UNOPS[op], (a,)):
                out.append(("unop", op, (a,)))
        for b in scalars:
            for op, fn in BINOPS.items():
                if raises(fn, (a, b)):
                    out.append(("op", op, (a, b)))
            for op, fn in CMPOPS.items():
                if PY_COMPLEX in (a, b) and raises(fn, (a, b)):
                    out.append(("op", op, (a, b)))
    for n in NP_FUNC1 + NP_UFUNC1:
        for a in scalars:
            if raises(resolve(f"np.{n}"), (a,)):
                out.append(("call", f"np.{n}", (a,)))
    for n in NP_FUNC2 + NP_UFUNC2:
        for a in scalars:
            for b in scalars:
                if raises(resolve(f"np.{n}"), (a, b)):
                    out.append(("call", f"np.{n}", (a, b)))
    for n, arity in MATH_MORE.items():
        for a in scalars:
            ts = (a,) if arity == 1 else (a, PY_INT) if n != "ldexp" else (PY_FLOAT, a)
            if raises(resolve(f"math.{n}"), ts):
                out.append(("call", f"math.{n}", ts))
    if PY_COMPLEX in scalars:
        for name in ("int", "float", "round", "math.sqrt", "math.exp", "math.floor",
                     "math.isnan", "math.atan2"):
            ts = (PY_COMPLEX, PY_FLOAT) if name == "math.atan2" else (PY_COMPLEX,)
            if raises(resolve(name), ts):
                out.append(("call", name, ts))
    return out


@dataclass(frozen=True)
class Tables:
    """The tables over one set of scalar types (see the module docstring)."""

    scalars: tuple[ScalarT, ...]
    bin_by: dict[ScalarT, list[tuple[str, ScalarT, ScalarT]]]
    cmp_by: dict[ScalarT, list[tuple[str, ScalarT, ScalarT]]]
    un_by: dict[ScalarT, list[tuple[str, ScalarT]]]
    call_by: dict[ScalarT, list[tuple[str, tuple[ScalarT, ...]]]]
    typeerror: list[tuple[str, str, tuple[ScalarT, ...]]]


def build(scalars: tuple[ScalarT, ...]) -> Tables:
    bin_by, cmp_by, un_by, call_by = _build_tables(scalars)
    return Tables(scalars, bin_by, cmp_by, un_by, call_by, _build_typeerror(scalars))


#: the tables of the real types, and of the real and complex ones
REAL_TABLES = build(ALL_SCALARS)
COMPLEX_TABLES = build(ALL_SCALARS + COMPLEX_SCALARS)
BIN_BY, CMP_BY, UN_BY, CALL_BY = (REAL_TABLES.bin_by, REAL_TABLES.cmp_by, REAL_TABLES.un_by,
                                  REAL_TABLES.call_by)
#: constructs that raise TypeError in CPython/NumPy (feature "typeerror")
TYPEERROR = REAL_TABLES.typeerror
def np_bool_arith(op: str, a: ScalarT, b: ScalarT) -> bool:
    """Arithmetic (not bitwise) with a NumPy bool operand."""
    return op in ARITH and "bool" in (a.name, b.name)


def np_int_args(name: str, ts: tuple[ScalarT, ...]) -> bool:
    """A NumPy function of floats applied to integers or bools only."""
    return name.startswith("np.") and not any(t.is_float or t.is_complex for t in ts)


def fits_join(t: ScalarT, want: ScalarT) -> bool:
    return join([t, want]) == want
