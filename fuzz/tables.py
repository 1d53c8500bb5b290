"""Which operator or function gives which type: tables for the generator.

Contract: importing this module computes, by running CPython/NumPy on sample
values (:mod:`fuzz.typesys`), for every result type the (operator, operand
types) and (function, argument types) combinations that produce it:
:data:`BIN_BY`, :data:`CMP_BY`, :data:`UN_BY`, :data:`CALL_BY` (and
:data:`DOCGAP_BY`: functions the README's wording covers that hybridjit did
not implement when this was written).  The lists of functions are the
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
#: documented ("the math module's functions", "NumPy's element-wise functions")
#: but absent from hybridjit's tables when this was written: feature "docgap"
DOCGAP_FUNC1 = ("np.sign", "np.negative", "np.positive", "np.reciprocal")
DOCGAP_FUNC2 = ("np.add", "np.multiply", "np.true_divide", "np.subtract")
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
    funcs1 = [f"np.{n}" for n in NP_FUNC1] + ["abs", "round"]
    funcs2 = [f"np.{n}" for n in NP_FUNC2]
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
DOCGAP_BY: dict[ScalarT, list[tuple[str, tuple[ScalarT, ...]]]] = {}
for _name in DOCGAP_FUNC1:
    for _a in (PY_FLOAT, ScalarT("float64"), ScalarT("float32"), ScalarT("int64")):
        _r = call_type(_name, (_a,))
        if _r is not None:
            DOCGAP_BY.setdefault(_r, []).append((_name, (_a,)))
for _name in DOCGAP_FUNC2:
    for _a in (PY_FLOAT, PY_INT, ScalarT("float64"), ScalarT("int32")):
        _r = call_type(_name, (_a, _a))
        if _r is not None:
            DOCGAP_BY.setdefault(_r, []).append((_name, (_a, _a)))


def np_bool_arith(op: str, a: ScalarT, b: ScalarT) -> bool:
    """Arithmetic (not bitwise) with a NumPy bool operand."""
    return op in ARITH and "bool" in (a.name, b.name)


def np_int_args(name: str, ts: tuple[ScalarT, ...]) -> bool:
    """A NumPy function of floats applied to integers or bools only."""
    return name.startswith("np.") and not any(t.is_float for t in ts)


def fits_join(t: ScalarT, want: ScalarT) -> bool:
    return join([t, want]) == want
