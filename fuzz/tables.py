"""Which operator or function gives which type: tables for the generator.

Contract: importing this module computes, by running CPython/NumPy on sample
values (:mod:`fuzz.typesys`), for every result type the (operator, operand
types) and (function, argument types) combinations that produce it:
:data:`BIN_BY`, :data:`CMP_BY`, :data:`UN_BY`, :data:`CALL_BY`; and the
constructs CPython or NumPy refuse with a TypeError (:data:`TYPEERROR`,
hybridjit refuses them at compile time).  The lists of functions are the
subset's: the ``math`` module, NumPy's element-wise functions on scalars.
"""

from __future__ import annotations

from typing import Any

from .typesys import (
    ALL_SCALARS,
    BINOPS,
    CMPOPS,
    PY_BOOL,
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

ARITH = ("+", "-", "*", "/", "//", "%", "**")
BITS = ("&", "|", "^", "<<", ">>")
CMPS = tuple(CMPOPS)


def _build_tables() -> tuple[dict[ScalarT, list[Any]], ...]:
    bin_by: dict[ScalarT, list[tuple[str, ScalarT, ScalarT]]] = {}
    cmp_by: dict[ScalarT, list[tuple[str, ScalarT, ScalarT]]] = {}
    un_by: dict[ScalarT, list[tuple[str, ScalarT]]] = {}
    call_by: dict[ScalarT, list[tuple[str, tuple[ScalarT, ...]]]] = {}
    for a in ALL_SCALARS:
        for b in ALL_SCALARS:
            for op in BINOPS:
                r = binop_type(op, a, b)
                if r is not None:
                    bin_by.setdefault(r, []).append((op, a, b))
            for op in CMPOPS:
                r = binop_type(op, a, b)
                if r is not None:
                    cmp_by.setdefault(r, []).append((op, a, b))
        for op in ("-", "+", "~"):
            r = unop_type(op, a)
            if r is not None:
                un_by.setdefault(r, []).append((op, a))
    funcs1 = [f"np.{n}" for n in NP_FUNC1 + NP_UFUNC1] + ["abs", "round"]
    funcs2 = [f"np.{n}" for n in NP_FUNC2 + NP_UFUNC2]
    for name in funcs1:
        for a in ALL_SCALARS:
            r = call_type(name, (a,))
            if r is not None:
                call_by.setdefault(r, []).append((name, (a,)))
    for name in funcs2:
        for a in ALL_SCALARS:
            for b in ALL_SCALARS:
                r = call_type(name, (a, b))
                if r is not None:
                    call_by.setdefault(r, []).append((name, (a, b)))
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


BIN_BY, CMP_BY, UN_BY, CALL_BY = _build_tables()


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


def _build_typeerror() -> list[tuple[str, str, tuple[ScalarT, ...]]]:
    """("op"|"unop"|"call", operator or function, operand types) of every
    construct that raises TypeError on two sets of sample values."""
    from .typesys import UNOPS, resolve, sample

    def raises(fn: Any, ts: tuple[ScalarT, ...]) -> bool:
        return all(_type_error(fn, *(sample(t, k + w) for k, t in enumerate(ts)))
                   for w in (0, 1))

    out: list[tuple[str, str, tuple[ScalarT, ...]]] = []
    for a in ALL_SCALARS:
        for op in ("-", "+", "~"):
            if raises(UNOPS[op], (a,)):
                out.append(("unop", op, (a,)))
        for b in ALL_SCALARS:
            for op, fn in BINOPS.items():
                if raises(fn, (a, b)):
                    out.append(("op", op, (a, b)))
    for n in NP_FUNC1 + NP_UFUNC1:
        for a in ALL_SCALARS:
            if raises(resolve(f"np.{n}"), (a,)):
                out.append(("call", f"np.{n}", (a,)))
    for n in NP_FUNC2 + NP_UFUNC2:
        for a in ALL_SCALARS:
            for b in ALL_SCALARS:
                if raises(resolve(f"np.{n}"), (a, b)):
                    out.append(("call", f"np.{n}", (a, b)))
    for n, arity in MATH_MORE.items():
        for a in ALL_SCALARS:
            ts = (a,) if arity == 1 else (a, PY_INT) if n != "ldexp" else (PY_FLOAT, a)
            if raises(resolve(f"math.{n}"), ts):
                out.append(("call", f"math.{n}", ts))
    return out


#: constructs that raise TypeError in CPython/NumPy (feature "typeerror")
TYPEERROR = _build_typeerror()
def np_bool_arith(op: str, a: ScalarT, b: ScalarT) -> bool:
    """Arithmetic (not bitwise) with a NumPy bool operand."""
    return op in ARITH and "bool" in (a.name, b.name)


def np_int_args(name: str, ts: tuple[ScalarT, ...]) -> bool:
    """A NumPy function of floats applied to integers or bools only."""
    return name.startswith("np.") and not any(t.is_float for t in ts)


def fits_join(t: ScalarT, want: ScalarT) -> bool:
    return join([t, want]) == want
