"""Differential tests: builtins ``abs, min, max, int, float, bool, round``,
``math`` functions and constants (computed in double like CPython, also for
float32 inputs), and NumPy scalar functions (float32 stays float32)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from difftest import check, random_array

SCALARS = [
    pytest.param(v, id=f"{type(v).__name__}({v})")
    for v in [3, -4, 0, 2.75, -2.5, 0.0, np.float32(-1.25), np.float32(3.5), np.int32(-9),
              np.int64(11), np.float64(-0.75), np.uint8(200), np.int8(-100)]
]

# --------------------------------------------------------------------------
# abs, int, float, bool
# --------------------------------------------------------------------------


def conversions(x):
    return abs(x), int(x), float(x), bool(x), abs(-x) if x > 0 else abs(x)


@pytest.mark.parametrize("x", SCALARS)
def test_abs_int_float_bool(x):
    check(conversions, x)


def special_conversions(x):
    return bool(x), abs(x), float(x)


@pytest.mark.parametrize("x", [float("nan"), float("inf"), -float("inf"), -0.0])
def test_bool_abs_float_of_specials(x):
    check(special_conversions, x)  # bool(nan) is True


def int_of_bool(b):
    return int(b), float(b), abs(b), b + 0


@pytest.mark.parametrize("b", [True, False])
def test_conversions_of_bool(b):
    check(int_of_bool, b)


def int_truncates(a, out):
    for i in range(a.shape[0]):
        out[i] = int(a[i]) * 10 + int(a[i] * 3.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_int_truncates_toward_zero(dtype):
    check(int_truncates, random_array(21, dtype, seed=1, low=-5, high=5),
          np.zeros(21, np.int64))


# --------------------------------------------------------------------------
# min, max
# --------------------------------------------------------------------------


def minmax(x, y, z):
    return min(x, y), max(x, y), min(x, y, z), max(z, y, x), min(max(x, y), z)


@pytest.mark.parametrize(("x", "y", "z"), [
    (3, 5, -1), (5, 3, 7), (4, 4, 4), (2.5, -1.5, 0.25), (-0.5, -0.25, -1.0),
    (np.float32(1.5), np.float32(-2.5), np.float32(0.5)), (np.int32(-3), np.int32(8), np.int32(0)),
])
def test_min_max_same_types(x, y, z):
    check(minmax, x, y, z)


@pytest.mark.parametrize(("x", "y", "z"), [(1, 2.5, -3), (3, 2.5, 7)])
def test_min_max_mixed_types(x, y, z):
    # CPython returns one of the objects (int or float); the compiled result has
    # the promoted type (documented), so compare values only
    check(minmax, x, y, z, check_type=False)


def test_min_max_nan_follows_python_argument_order():
    # max(a, b) returns a unless b > a: max(nan, 1) is nan, max(1, nan) is 1
    nan = float("nan")
    check(minmax, nan, 1.0, 2.0)
    check(minmax, 1.0, nan, 2.0)
    check(minmax, 1.0, 2.0, nan)


def minmax_array(a):
    lo = a[0]
    hi = a[0]
    for i in range(1, a.shape[0]):
        lo = min(lo, a[i])
        hi = max(hi, a[i])
    return lo, hi


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "float64", "uint8"])
def test_min_max_over_array(dtype):
    check(minmax_array, random_array(17, dtype, seed=2))


# --------------------------------------------------------------------------
# round (banker's rounding, returns int)
# --------------------------------------------------------------------------


def round1(x):
    return round(x)


@pytest.mark.parametrize("x", [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.675, 3.49999, -3.5000001,
                               1e15 + 0.5, 7, -7])
def test_round_bankers_to_int(x):
    check(round1, x)


@pytest.mark.parametrize("x", [np.float32(2.5), np.float32(-3.5), np.float32(1.4),
                               np.float64(4.5)])
def test_round_numpy_float_to_int(x):
    check(round1, x)


def round_array(a, out):
    for i in range(a.shape[0]):
        out[i] = round(a[i] * 2)


def test_round_in_loop():
    a = np.array([0.25, 0.75, 1.25, -0.25, -0.75, 1.3, 2.6])
    check(round_array, a, np.zeros(7, np.int64))


# --------------------------------------------------------------------------
# math functions and constants
# --------------------------------------------------------------------------


def math_funcs(x, y):
    return (math.sqrt(x), math.exp(y), math.log(x), math.log10(x), math.sin(y),
            math.cos(y), math.tan(y), math.atan2(y, x), math.floor(y), math.ceil(y),
            math.fabs(y), math.pow(x, y), math.hypot(x, y), math.erf(y),
            math.isnan(y), math.isinf(y))


@pytest.mark.parametrize(("x", "y"), [
    pytest.param(2.0, 0.5, id="float"), pytest.param(0.3, -2.5, id="float-neg"),
    pytest.param(7, -3, id="int"),
    pytest.param(np.float32(2.0), np.float32(-1.7), id="float32"),
    pytest.param(np.float64(5.5), np.float64(3.25), id="float64"),
    pytest.param(np.int32(3), np.int32(2), id="int32"),
])
def test_math_functions(x, y):
    # math.* compute in double and return Python float (floor/ceil: int), also
    # for float32 arguments: the comparison is exact-typed and tight
    check(math_funcs, x, y, rtol=1e-14, atol=1e-15)


def math_specials(x):
    return math.isnan(x), math.isinf(x), math.fabs(x), math.sqrt(math.fabs(x))


@pytest.mark.parametrize("x", [float("nan"), float("inf"), -float("inf"), np.float32("nan")])
def test_math_isnan_isinf(x):
    check(math_specials, x)


def math_constants():
    return math.pi, math.e, math.inf, -math.inf, math.pi * 2


def test_math_constants():
    check(math_constants)


def math_float32_promotion(x):
    r = math.sqrt(x)  # Python float
    return r, r * x, x * 2.0, math.sin(x) + x


def test_math_on_float32_computes_in_double_then_nep50():
    x = np.float32(2.0)
    # r is float64 (exact double sqrt of the float32 value); r * x is float32
    check(math_float32_promotion, x, rtol=0, atol=0)
    check(math_float32_promotion, np.float32(0.1), rtol=0, atol=0)


def math_domain(x):
    return math.sqrt(x)


def test_math_domain_error_raises_value_error():
    check(math_domain, -1.0, raises=ValueError)


def math_in_loop(a, out):
    for i in range(a.shape[0]):
        out[i] = math.exp(-a[i] * a[i]) * math.cos(math.pi * a[i]) + math.floor(a[i])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_math_in_loop(dtype):
    check(math_in_loop, random_array(33, dtype, seed=3), np.zeros(33, dtype))


# --------------------------------------------------------------------------
# NumPy scalar functions
# --------------------------------------------------------------------------


def np_funcs(a):
    x = a[0]
    y = a[1]
    return (np.sqrt(x), np.exp(y), np.log(x), np.sin(y), np.cos(y), np.floor(y), np.ceil(y),
            np.abs(y), np.fabs(y), np.tanh(y), np.arctan2(y, x), np.isnan(y), np.isinf(y),
            np.sqrt(y), np.log10(x), np.minimum(x, y), np.maximum(x, y), np.trunc(y))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpy_scalar_functions_keep_dtype(dtype):
    # np.sqrt(negative) is nan (no error), float32 stays float32
    a = np.array([2.5, -1.75], dtype)
    check(np_funcs, a)


def np_funcs_int(a):
    x = a[0]
    return np.sqrt(x), np.abs(x), np.exp(x * 0), np.floor(x)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_numpy_functions_on_ints(dtype):
    # np.sqrt of an integer gives float64, np.abs keeps the integer type
    check(np_funcs_int, np.array([-9], dtype))


def np_on_python_float(x):
    return np.sqrt(x), np.floor(x), np.exp(x)


def test_numpy_functions_on_python_scalars():
    check(np_on_python_float, 2.25)
    check(np_on_python_float, 5)


def np_in_loop(a, out):
    for i in range(a.shape[0]):
        out[i] = np.sqrt(np.abs(a[i])) + np.exp(a[i] * 0.5) - np.floor(a[i])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpy_functions_in_loop(dtype):
    check(np_in_loop, random_array(40, dtype, seed=4), np.zeros(40, dtype))
