"""Differential tests: arithmetic operators, NumPy 2 / NEP 50 promotion, floor
division and modulo signs, ``**``, zero division, bit operations, comparisons,
augmented assignment, and the documented int64 wrap-around departure."""

from __future__ import annotations

import numpy as np
import pytest

from difftest import assert_same, check, random_array, run_jit

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def mk(t: str, v: float) -> object:
    """A value of type ``t`` ("int", "float", "bool" or a NumPy dtype name)."""
    if t == "int":
        return int(v)
    if t == "float":
        return float(v)
    if t == "bool":
        return bool(v)
    dt = np.dtype(t)
    if dt.kind == "u":
        v = abs(v)
    if dt.kind in "iu":
        v = int(v)
    return dt.type(v)


# --------------------------------------------------------------------------
# binary operators over type pairs (promotion) and sign combinations
# --------------------------------------------------------------------------


def binops(x, y):
    return x + y, x - y, x * y, x / y, x // y, x % y


TYPE_PAIRS = [
    ("int", "int"), ("float", "float"), ("int", "float"), ("float", "int"),
    ("int32", "int32"), ("int64", "int64"), ("float32", "float32"), ("float64", "float64"),
    ("float32", "float"), ("float32", "int"), ("int32", "int"), ("float", "float32"),
    ("int32", "int64"), ("int32", "float32"), ("int8", "uint8"), ("int64", "uint64"),
    ("uint32", "int"),
]
INT_VALUES = [(7, 3), (-7, 3), (7, -3), (-7, -3), (6, 3), (0, 5), (1, 7), (-1, 7)]
FLOAT_VALUES = [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (-7.5, -2.0), (6.0, 3.0),
                (0.25, 4.0), (-0.5, 3.0)]


def _values_for(tx: str, ty: str) -> list[tuple[float, float]]:
    ints = all(t == "int" or (t not in ("float",) and np.dtype(t).kind in "iu")
               for t in (tx, ty))
    return INT_VALUES if ints else FLOAT_VALUES


def _unsigned(t: str) -> bool:
    return t not in ("int", "float") and np.dtype(t).kind == "u"


# with an unsigned operand both values are made non-negative: NumPy 2 refuses a
# negative Python int next to an unsigned value (OverflowError)
BINOP_CASES = [
    pytest.param(tx, ty, x, y, id=f"{tx}-{ty}-{x}-{y}")
    for tx, ty in TYPE_PAIRS for x0, y0 in _values_for(tx, ty)
    for x, y in [((abs(x0), abs(y0)) if _unsigned(tx) or _unsigned(ty) else (x0, y0))]
]


@pytest.mark.parametrize(("tx", "ty", "x", "y"), BINOP_CASES)
def test_binops_promotion_and_signs(tx, ty, x, y):
    check(binops, mk(tx, x), mk(ty, y))


def bool_ops(x, y):
    return x + y, x * y, x - y, x & y, x | y, x ^ y, x == y


@pytest.mark.parametrize("t", ["bool", "np.bool_"])
@pytest.mark.parametrize(("x", "y"), [(True, False), (True, True), (False, False)])
def test_bool_arithmetic(t, x, y):
    if t == "np.bool_":
        # NumPy refuses np.bool_ - np.bool_; its + and * are logical or/and
        check(_np_bool_ops, np.bool_(x), np.bool_(y))
    else:
        check(bool_ops, x, y)


def _np_bool_ops(x, y):
    return x + y, x * y, x & y, x | y, x ^ y, x == y


def unops(x):
    return -x, +x, not x, x == 0, 0 - x


@pytest.mark.parametrize("t", ["int", "float", "int32", "float32", "uint8", "int8"])
@pytest.mark.parametrize("v", [0, 3, -5, 2.5])
def test_unary(t, v):
    check(unops, mk(t, v))


# --------------------------------------------------------------------------
# comparisons across types (NEP 50 applies to comparisons too)
# --------------------------------------------------------------------------


def cmps(x, y):
    return x < y, x <= y, x == y, x != y, x > y, x >= y


@pytest.mark.parametrize(("x", "y"), [
    pytest.param(1, 1.0, id="int-float-eq"),
    pytest.param(2, 2.5, id="int-float-lt"),
    pytest.param(np.int64(-1), np.uint64(1), id="int64-uint64-neg"),
    pytest.param(np.int64(2**62), np.uint64(2**63 + 5), id="int64-uint64-big"),
    pytest.param(np.float32(0.1), 0.1, id="float32-weakfloat"),
    pytest.param(np.float32(0.1), np.float64(0.1), id="float32-float64"),
    pytest.param(np.int32(16777217), np.float32(16777216), id="int32-float32"),
    pytest.param(float("nan"), 1.0, id="nan"),
    pytest.param(np.float32("nan"), np.float32("nan"), id="nan32"),
    pytest.param(float("inf"), 1e308, id="inf"),
    pytest.param(2**62, 2**62 + 1, id="bigint"),
])
def test_comparisons(x, y):
    check(cmps, x, y)


# --------------------------------------------------------------------------
# floor division / modulo signs on array elements (int and float dtypes)
# --------------------------------------------------------------------------


def elem_divmod(a, b, q, r, t):
    for i in range(a.shape[0]):
        q[i] = a[i] // b[i]
        r[i] = a[i] % b[i]
        t[i] = a[i] / b[i]


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "float64", "int8", "uint64"])
@pytest.mark.parametrize("n", [0, 1, 31])
def test_elementwise_floordiv_mod_signs(dtype, n):
    a = random_array(n, dtype, seed=1, low=-50, high=50)
    b = random_array(n, dtype, seed=2, low=-7, high=7, nonzero=True)
    q = np.zeros(n, dtype)
    r = np.zeros(n, dtype)
    t = np.zeros(n, np.float64)
    check(elem_divmod, a, b, q, r, t)


# --------------------------------------------------------------------------
# power
# --------------------------------------------------------------------------


def pow2(x, y):
    return x ** y


@pytest.mark.parametrize(("x", "y"), [
    pytest.param(2, 10, id="int-int"), pytest.param(-3, 3, id="negint-int"),
    pytest.param(7, 0, id="int-zero"), pytest.param(0, 0, id="zero-zero"),
    pytest.param(2.0, 0.5, id="float-float"), pytest.param(-2.0, 3.0, id="negfloat-intvalued"),
    pytest.param(2.5, -1.5, id="float-negfloat"), pytest.param(2.0, -2, id="float-negint"),
    pytest.param(4, 0.5, id="int-float"), pytest.param(np.float32(1.5), 2, id="f32-int"),
    pytest.param(np.float32(2.0), 0.5, id="f32-float"),
    pytest.param(np.int32(3), 4, id="i32-int"), pytest.param(np.int32(3), np.int32(5), id="i32"),
])
def test_pow(x, y):
    check(pow2, x, y)


def lit_pows_float(x):
    return x ** 2, x ** 3, x ** 0.5, x ** -1, x ** 0, x ** 1.5


def lit_pows_int(x):
    return x ** 2, x ** 3, x ** 0, x ** 1


@pytest.mark.parametrize("x", [1.7, np.float32(1.7), np.float64(1.7), 3.0])
def test_pow_literal_float(x):
    check(lit_pows_float, x)


@pytest.mark.parametrize("x", [5, -4, np.int32(-4), np.uint8(3)])
def test_pow_literal_int(x):
    check(lit_pows_int, x)


def neg_literal_exponent(x):
    return x ** -1, x ** -2


def test_int_to_negative_literal_power_is_float():
    # CPython: 2 ** -1 == 0.5 (statically known: the exponent is a literal)
    check(neg_literal_exponent, 2)
    check(neg_literal_exponent, -4)


def numpy_int_pow(a, b):
    return a[0] ** b[0]


def test_numpy_int_negative_power_raises_value_error():
    # NumPy: "Integers to negative integer powers are not allowed."
    check(numpy_int_pow, np.array([2]), np.array([3]))
    check(numpy_int_pow, np.array([2]), np.array([-1]), raises=ValueError)


# --------------------------------------------------------------------------
# division by zero
# --------------------------------------------------------------------------


def zero_div(x, y, op):
    if op == 0:
        r = x / y
    elif op == 1:
        r = x // y
    else:
        r = x % y
    return r


@pytest.mark.parametrize("op", [0, 1, 2], ids=["div", "floordiv", "mod"])
@pytest.mark.parametrize(("x", "y"), [(1, 0), (-3, 0), (1.0, 0.0), (0.0, 0.0), (-3, 0.0)],
                         ids=["int-int", "negint-int", "float-float", "zero-zero", "int-float"])
def test_python_number_zero_division_raises(op, x, y):
    check(zero_div, x, y, op, raises=ZeroDivisionError)


def harmonic(n, k):
    s = 0.0
    for i in range(n):
        s += 1 / (i - k)
    return s


def test_zero_division_inside_loop_raises():
    check(harmonic, 10, 3, raises=ZeroDivisionError)
    check(harmonic, 10, -3)


def numpy_zero_div(a, b):
    return a[0] / b[0], a[0] // b[0], a[0] % b[0], a[1] / b[1], a[1] // b[1], a[2] / b[2]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpy_float_zero_division_gives_inf_nan(dtype):
    a = np.array([1.0, -2.0, 0.0], dtype)
    b = np.zeros(3, dtype)
    check(numpy_zero_div, a, b)


def numpy_int_truediv_zero(a, b):
    return a[0] / b[0], a[1] / b[1]


def test_numpy_int_true_division_by_zero():
    check(numpy_int_truediv_zero, np.array([3, 0]), np.zeros(2, np.int64))


def weak_by_strong_zero(x, a):
    return x / a[0], x // a[0], x % a[0]


def test_python_float_by_numpy_zero_follows_numpy():
    check(weak_by_strong_zero, 1.0, np.zeros(1))
    check(weak_by_strong_zero, -2.5, np.zeros(1, np.float32))


# --------------------------------------------------------------------------
# bit operations
# --------------------------------------------------------------------------


def bitops(x, y):
    return x & y, x | y, x ^ y, ~x, x << 3, x >> 2, y >> 1, x << y


@pytest.mark.parametrize("t", ["int", "int32", "uint8", "uint32", "int8"])
@pytest.mark.parametrize(("x", "y"), [(13, 6), (-13, 6), (13, 1), (-1, 2), (0, 5)])
def test_bit_operations(t, x, y):
    check(bitops, mk(t, x), mk(t, y))


def bitops_mixed(a, b):
    x = a[0]
    y = b[0]
    return x & y, x | y, x ^ y, x << 1


@pytest.mark.parametrize(("da", "db"), [("int8", "uint8"), ("int32", "int64"),
                                        ("uint16", "int16")])
def test_bit_operations_mixed_dtypes(da, db):
    check(bitops_mixed, np.array([-5 if np.dtype(da).kind == "i" else 250], da),
          np.array([3], db))


def shifts(a, s, left, right):
    for i in range(a.shape[0]):
        left[i] = a[i] << s[i]
        right[i] = a[i] >> s[i]


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_shift_by_width_or_more_follows_numpy(dtype):
    # NumPy defines shifts by >= the bit width (0, or -1 for negative >>);
    # in C they are undefined behaviour
    bits = np.dtype(dtype).itemsize * 8
    vals = [1, -8, 5, 3, -1, 7] if np.dtype(dtype).kind == "i" else [1, 200, 5, 3, 255, 7]
    a = np.array(vals, dtype)
    s = np.array([bits, bits + 6, bits - 1, 0, 2 * bits, 1], dtype)
    check(shifts, a, s, np.zeros(6, dtype), np.zeros(6, dtype))


# --------------------------------------------------------------------------
# NEP 50 promotion
# --------------------------------------------------------------------------


def accumulate(a):
    s = 0
    for i in range(a.shape[0]):
        s += a[i]
    return s


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int32", "int64", "float32",
                                   "float64"])
@pytest.mark.parametrize("n", [0, 1, 7, 1001])
def test_accumulate_takes_array_dtype(dtype, n):
    """``s = 0; s += a[i]`` accumulates in a's dtype (uint8 wraps, float32 rounds)."""
    a = random_array(n, dtype, seed=n, low=0 if dtype == "uint8" else None)
    # with no iteration CPython returns the int 0; the compiled variable has the
    # unified type (documented departure), so only the value is compared
    check(accumulate, a, check_type=n > 0)


def accumulate_float(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s


@pytest.mark.parametrize("dtype", ["int8", "int32", "float32"])
def test_accumulate_from_python_float(dtype):
    check(accumulate_float, random_array(9, dtype, seed=3))


def accumulate_tiny(a, start):
    s = start
    for i in range(a.shape[0]):
        s += a[i]
    return s


def test_float32_accumulation_really_is_float32():
    """1.0 + 1e-8 == 1.0 in float32: a double accumulator would drift to 1.0001."""
    a = np.full(10_000, 1e-8, np.float32)
    got = check(accumulate_tiny, a, 1.0, rtol=0, atol=0)
    assert got == np.float32(1.0) and isinstance(got, np.float32)


def mixed_elems(a, b):
    x = a[0]
    y = b[0]
    return x + y, x * y, x - y, x / y, x < y


@pytest.mark.parametrize(("da", "db"), [
    ("float32", "int64"), ("float32", "int16"), ("int8", "uint8"), ("uint64", "int64"),
    ("int32", "float64"), ("uint32", "int32"), ("bool", "int8"), ("float32", "uint8"),
])
def test_mixed_dtype_promotion(da, db):
    a = np.array([3], da) if da != "bool" else np.array([True])
    b = np.array([2], db)
    check(mixed_elems, a, b)


def weak_scalars(a):
    x = a[0]
    return x * 0.5, x + 1, x * 2, x / 2, x - 1.5, 2 * x, 1.5 + x


@pytest.mark.parametrize("dtype", ["float32", "int32", "int8", "uint8"])
def test_weak_python_scalars_keep_array_dtype(dtype):
    check(weak_scalars, np.array([5], dtype))


def weak_param(x, y):
    return x * y, x + y, y / x


def test_weak_python_parameters():
    check(weak_param, np.float32(3.0), 0.5)      # float32
    check(weak_param, np.int16(3), 7)            # int16
    check(weak_param, np.float32(3.0), np.float64(0.5))  # strong float64 wins


def unify_branch(n):
    x = 1
    if n > 0:
        x = 2.5
    return x * 2


def test_variable_unifies_to_promoted_type():
    check(unify_branch, 1)
    # CPython keeps the int when the branch is not taken; the compiled variable
    # is float (documented): same value
    check(unify_branch, 0, check_type=False)


def unify_loop(a):
    m = 0
    for i in range(a.shape[0]):
        if a[i] > m:
            m = a[i]
    return m


@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_variable_unifies_with_array_dtype(dtype):
    check(unify_loop, random_array(11, dtype, seed=5))


# --------------------------------------------------------------------------
# augmented assignment on scalars
# --------------------------------------------------------------------------


def aug(x, y):
    x += y
    x -= 1
    x *= y
    x //= 3
    x %= 1000
    x **= 2
    z = x
    z /= y
    return x, z


@pytest.mark.parametrize(("x", "y"), [(7, 3), (-7, 3), (7.5, 2.0), (np.float32(2.5), 3),
                                      (np.int32(9), np.int32(-2))])
def test_augmented_assignment_scalars(x, y):
    check(aug, x, y)


def aug_bits(x, y):
    x &= 0xFF
    x |= y
    x ^= 5
    x <<= 2
    x >>= 1
    return x


@pytest.mark.parametrize(("x", "y"), [(1234, 3), (-77, 9), (np.uint8(200), np.uint8(7))])
def test_augmented_bit_assignment(x, y):
    check(aug_bits, x, y)


# --------------------------------------------------------------------------
# integers: fixed-width int64 wrap-around (documented departure; the oracle is
# the same function run on np.int64 values, which wrap like the compiled code)
# --------------------------------------------------------------------------


def mul_loop(x, n):
    for _ in range(n):
        x = x * 3 + 1
    return x


def add_one(x):
    return x + 1


def negate(x):
    return -x


def power(x, k):
    return x ** k


def sum_big(n, v):
    s = 0
    for _ in range(n):
        s += v
    return s


def _numpy_int64(f, *args):
    with np.errstate(all="ignore"):
        return int(f(*(np.int64(a) for a in args)))


@pytest.mark.parametrize(("f", "args"), [
    (mul_loop, (1, 50)), (mul_loop, (-7, 45)), (add_one, (2**63 - 1,)),
    (negate, (-(2**63),)), (power, (3, 41)), (power, (-7, 33)), (sum_big, (5, 2**62)),
], ids=["mul_loop", "mul_loop_neg", "add_max", "neg_min", "pow", "pow_neg", "sum_big"])
def test_int64_wraps_like_numpy(f, args):
    expected = _numpy_int64(f, *args)
    got = run_jit(f, *args)
    assert isinstance(got, (int, np.integer))
    assert int(got) == expected


def square_scale(a, out):
    for i in range(a.shape[0]):
        out[i] = a[i] * a[i] * 100


@pytest.mark.parametrize("dtype", ["int32", "int16", "uint8"])
def test_small_int_array_arithmetic_wraps(dtype):
    a = random_array(17, dtype, seed=9, low=0, high=60000 if dtype == "int32" else 250)
    check(square_scale, a, np.zeros(17, dtype))


def test_int64_wrap_oracle_sanity():
    # guards the oracle above: np.int64 really wraps
    assert _numpy_int64(add_one, 2**63 - 1) == -(2**63)
    assert_same(np.int64(1), 1, check_type="kind")
