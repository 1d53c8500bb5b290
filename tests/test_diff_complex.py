"""Differential tests: complex numbers (issue 12, item 3) against CPython
(Python complex scalars) and NumPy (complex64/complex128 scalars and
arrays): arithmetic and promotion (a Python complex takes a NumPy float's
precision), division and powers (CPython's ZeroDivisionError, NumPy's
infinities), parts, conjugates, abs, ``complex()``, ``cmath``, NumPy's
complex functions, reductions, products, loops (prange reductions), a
radix-2 FFT written with loops; refusals where Python or NumPy raise
TypeError; regions with complex values stay on the host.
"""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest

from difftest import check, make_view, random_array
from hybridjit import TypingError, UnsupportedError, jit, prange

COMPLEX = ["complex64", "complex128"]
TOL = {"complex64": {"rtol": 2e-5, "atol": 1e-5}, "complex128": {"rtol": 1e-12, "atol": 1e-12}}


def arith(z, w):
    return z + w, z - w, z * w, z / w, -z, +z, z * 2, 3 - z, z == w, z != w


def powers(z, w):
    return z ** 2, z ** 3, z ** -2, z ** 0, z ** w, z ** 0.5


def parts(z):
    return z.real, z.imag, z.conjugate(), abs(z), bool(z)


def build(x, y):
    return complex(x, y), complex(x), complex(), x + 1j * y, x * 1j  # noqa: UP018


SCALARS = [1 + 2j, -0.5j, 3.0 + 0j, complex(1e200, -1e-300), np.complex128(2 - 1j),
           np.complex64(0.25 + 4j)]
OTHERS = [2.5, 3, True, -1 - 1j, np.float32(1.5), np.float64(-2.0), np.int16(7),
          np.complex64(1 - 1j), np.complex128(-3 + 0.5j)]


@pytest.mark.parametrize("z", SCALARS, ids=repr)
@pytest.mark.parametrize("w", OTHERS, ids=repr)
def test_arithmetic_and_promotion(z, w):
    check(arith, z, w)
    check(arith, w, z)


@pytest.mark.parametrize("z", SCALARS[:3] + SCALARS[4:], ids=repr)
def test_powers_parts_and_builders(z):
    check(powers, z, 0.5 - 1j, rtol=1e-6, atol=1e-12)
    check(parts, z)
    check(build, 1.5, -2)
    check(build, np.float32(1.5), np.int8(3))


def test_division_by_zero_python_raises_numpy_gives_inf():
    check(arith, 1 + 1j, 0j, raises=ZeroDivisionError)
    check(arith, 1 + 1j, 0.0, raises=ZeroDivisionError)
    check(powers, 0j, 2.0, raises=ZeroDivisionError)  # 0j ** -2
    with np.errstate(all="ignore"):
        check(arith, np.complex128(1 + 1j), np.complex128(0))
        check(arith, np.complex64(1 + 1j), 0.0)
        check(powers, np.complex128(0), 0.25 + 0.5j)  # 0 ** z: 0 when Re z > 0, else NaN
        check(powers, np.complex64(0), -1j)


def nan_and_inf(z):
    return np.isnan(z), np.isinf(z), np.isfinite(z), cmath.isnan(z), cmath.isinf(z)


def test_predicates_of_either_part():
    for z in (complex(math.nan, 1), complex(1, math.inf), 1 + 1j):
        check(nan_and_inf, z)
        check(nan_and_inf, np.complex64(z))


def cmath_functions(z):
    return (cmath.exp(z), cmath.log(z), cmath.sqrt(z), cmath.sin(z), cmath.cos(z),
            cmath.tan(z), cmath.sinh(z), cmath.tanh(z), cmath.phase(z), cmath.polar(z))


def numpy_functions(z):
    return (np.exp(z), np.log(z), np.sqrt(z), np.sin(z), np.cos(z), np.tanh(z), np.abs(z),
            np.conj(z), np.real(z), np.imag(z), np.angle(z), np.square(z), np.reciprocal(z),
            np.power(z, 2), np.negative(z))


@pytest.mark.parametrize("z", [1 + 1j, -2 + 0.5j, 0.3 - 4j, 2.0, 3], ids=repr)
def test_cmath_and_numpy_functions(z):
    check(cmath_functions, z, rtol=1e-13, atol=1e-15)
    check(numpy_functions, z, rtol=1e-13, atol=1e-15)
    check(numpy_functions, np.complex64(z), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------
# arrays
# --------------------------------------------------------------------------


def array_expressions(a, b):
    return a * b + 1j, a / (b + 2), np.exp(1j * np.abs(a)), a.real * 1, a.imag + 0, \
        np.conj(b), np.angle(a), a * 2.5, a ** 2


def array_parts(a):
    return a.real, a.imag, np.real(a), np.imag(a)


def reductions(a):
    return a.sum(), np.prod(a[:4]), a.mean(), np.sum(a, axis=0), a.mean(axis=1), np.cumsum(a)


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("kind", ["C", "strided", "negative", "transposed"])
def test_array_expressions_and_reductions(dtype, kind):
    a = make_view(kind, (4, 5), dtype, seed=1)
    b = make_view(kind, (4, 5), dtype, seed=2)
    check(array_expressions, a, b, **TOL[dtype])
    check(reductions, a, **TOL[dtype])
    # a.real and a.imag are views in NumPy, new arrays here (documented):
    # the values agree
    from difftest import assert_same

    assert_same(array_parts(a.copy()), jit(array_parts)(a))


def test_empty_and_single_element_arrays():
    for n in (0, 1):
        a = random_array((n, 3), "complex128")
        check(array_expressions, a, a.copy())
        check(reductions, a) if n else check(lambda_sum, a)


def lambda_sum(a):
    return a.sum(), a.prod()


def mixed(a, x):
    # a float32 array with a Python complex is complex64; with float64, complex128
    return a * 1j + x, np.zeros(3, dtype=np.complex64) + a[0]


def test_mixed_real_and_complex_arrays():
    check(mixed, random_array(3, "float32"), 2.0, rtol=1e-5, atol=1e-6)
    check(mixed, random_array(3, "float64"), 1 + 1j)
    check(mixed, random_array(3, "int32"), np.complex64(1j), rtol=1e-5, atol=1e-6)


def products(a, b):
    return a @ b, np.dot(a[0], b[:, 0]), np.vdot(a, b), np.outer(a[0], b[0]), np.inner(a, b)


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("n", [1, 3, 40])
def test_matrix_products_and_vdot_conjugates(dtype, n):
    a, b = random_array((n, n), dtype, 3), random_array((n, n), dtype, 4)
    check(products, a, b, **TOL[dtype])


def store_elements(out, z):
    for i in range(out.shape[0]):
        out[i] = z * i


def test_stores_and_conversions():
    check(store_elements, np.zeros(4, np.complex128), 1 - 2j)
    check(store_elements, np.zeros(4, np.complex64), 0.5j, rtol=1e-6)
    check(store_elements, np.zeros(4, np.complex128), 2.5)
    with pytest.raises(TypingError, match="Python complex into an array of float64"):
        jit(store_elements)(np.zeros(4), 1j)
    with pytest.raises(UnsupportedError, match="imaginary parts"):
        jit(store_elements)(np.zeros(4), np.complex64(1j))


# --------------------------------------------------------------------------
# loops
# --------------------------------------------------------------------------


def dft(x):
    n = x.shape[0]
    out = np.zeros(n, dtype=np.complex128)
    for k in prange(n):
        s = 0j
        for t in range(n):
            s += x[t] * np.exp(-2j * np.pi * k * t / n)
        out[k] = s
    return out


def energy(x):
    s = 0j
    for i in prange(x.shape[0]):
        s += x[i] * x[i].conjugate()
    return s


def fft(x):
    """Iterative radix-2 FFT (n a power of two), as textbooks write it."""
    n = x.shape[0]
    a = x.astype(np.complex128)
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j ^= bit
        if i < j:
            t = a[i]
            a[i] = a[j]
            a[j] = t
    size = 2
    while size <= n:
        w = np.exp(-2j * np.pi / size)
        for start in range(0, n, size):
            wk = 1 + 0j
            for k in range(size // 2):
                u = a[start + k]
                v = a[start + k + size // 2] * wk
                a[start + k] = u + v
                a[start + k + size // 2] = u - v
                wk = wk * w
        size *= 2
    return a


def test_loops_with_complex_values():
    x = random_array(64, "complex128", 5)
    check(dft, x, rtol=1e-10, atol=1e-10)
    check(energy, x, rtol=1e-12)
    check(fft, x, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(jit(fft)(x), np.fft.fft(x), rtol=1e-9, atol=1e-9)
    check(fft, random_array(16, "float64", 6), rtol=1e-12, atol=1e-12)


def device_kernel(a, z, out):
    for i in prange(a.shape[0]):
        v = a[i]
        out[i] = np.exp(1j * v.real) * z + v / (v + 2) - v ** 2 + np.sqrt(v) * np.conj(v) \
            + np.log(v + 3) - np.cos(v) * np.sin(v) + abs(v) + np.angle(v) * (v == a[0])


def device_sum(a):
    s = 0j
    for i in prange(a.shape[0]):
        s += a[i] * a[i].conjugate() - 1j * a[i]
    return s


@pytest.mark.parametrize("dtype", COMPLEX)
def test_complex_kernels_on_devices(offload_kind, dtype):
    # float2/double2 on the device with the arithmetic spelled out (NumPy's
    # product and division); poisoned device buffers; a complex reduction's
    # partials combined on the host
    a = random_array(3000, dtype, 8)
    z = np.dtype(dtype).type(0.5 - 1.5j)
    tol = {"rtol": 2e-4, "atol": 2e-4} if dtype == "complex64" else {"rtol": 1e-9, "atol": 1e-9}
    fn = jit(device_kernel, target=offload_kind)
    out, want = np.zeros_like(a), np.zeros_like(a)
    fn(a, z, out)
    device_kernel(a, z, want)
    np.testing.assert_allclose(out, want, **tol)
    assert [r["reason"] for r in fn.last_stats["regions"]] == ["offloaded"]
    red = jit(device_sum, target=offload_kind)
    got = red(a)
    assert type(got) is type(device_sum(a))
    np.testing.assert_allclose(got, device_sum(a), rtol=1e-4 if dtype == "complex64" else 1e-10)
    assert [r["reason"] for r in red.last_stats["regions"]] == ["offloaded"]


def rare_function(a, out):
    for i in prange(a.shape[0]):
        out[i] = np.arctanh(a[i])


def test_complex_functions_devices_lack_stay_on_the_host():
    a = random_array(64, "complex128", 9)
    fn = jit(rare_function, target="opencl")
    out, want = np.zeros_like(a), np.zeros_like(a)
    fn(a, out)
    rare_function(a, want)
    np.testing.assert_allclose(out, want, rtol=1e-12)
    assert "complex function atanh, which devices do not have" in str(fn.explain(a, out))


# --------------------------------------------------------------------------
# refusals: CPython's and NumPy's TypeErrors, and what is not built
# --------------------------------------------------------------------------


def floor_div(z, w):
    return z // w


def ordering(z, w):
    return z < w


def math_of_complex(z):
    return math.sqrt(z)


def float_of_complex(z):
    return float(z)


def minimum(a):
    return a.min()


def test_refusals():
    check(floor_div, 1 + 1j, 2j, raises=TypeError)
    check(ordering, 1 + 1j, 2j, raises=TypeError)
    check(math_of_complex, 1j, raises=TypeError)
    check(float_of_complex, 1j, raises=TypeError)
    with pytest.raises(UnsupportedError, match="ordering comparisons"):
        jit(ordering)(np.complex128(1), np.complex128(2))
    with pytest.raises(UnsupportedError, match="of complex numbers is not supported"):
        jit(minimum)(np.ones(3, np.complex128))


# --------------------------------------------------------------------------
# bits: each product of a complex product rounded on its own, exp as NumPy's
# --------------------------------------------------------------------------


def product_sum(x, y):
    s = 0j
    for t in range(x.shape[0]):
        s += x[t] * y[t]
    return s


def products_into(x, y, out):
    for t in range(x.shape[0]):
        out[t] = x[t] * y[t]


def test_complex_products_round_each_product():
    # (1 + e + 1j) * (1 - e + 1j): ar*br rounds to 1 and the real part is 0
    # in CPython and NumPy's scalars; a fused multiply-add (GCC's complex
    # pattern under -ffp-contract=off) gave -2**-60 per product
    e = 2.0 ** -30
    x, y = np.full(5, 1 + e + 1j), np.full(5, 1 - e + 1j)
    check(product_sum, x, y, rtol=0, atol=0)
    check(products_into, x, y, np.zeros(5, complex), rtol=0, atol=0)
    check(product_sum, x.astype(np.complex64), y.astype(np.complex64), rtol=0, atol=0)


def exp_into(z, out):
    for i in range(z.shape[0]):
        out[i] = np.exp(z[i])


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_complex_exp_is_numpys_to_the_bit(dtype):
    # the inline common case of hj_cexp (exp times sincos) against np.exp:
    # overflow thresholds, tiny and huge imaginary parts, infinities, NaN
    rng = np.random.default_rng(12)
    re = np.concatenate([rng.uniform(-760, 760, 4000), rng.uniform(-5, 5, 4000),
                         rng.normal(0, 1e-300, 100), [709.0, 709.5, 88.0, 88.7, 710.0] * 4,
                         [np.inf, -np.inf, np.nan, 0.0, -0.0] * 4])
    im = np.concatenate([rng.uniform(-1e6, 1e6, 4000), rng.uniform(-7, 7, 4000),
                         rng.normal(0, 1e-310, 100), [0.0, -0.0, 1e-320, 3.0, np.pi] * 4,
                         [0.0, np.inf, np.nan, 1.0, -0.0] * 4])
    z = (re + 1j * im).astype(dtype)
    got = np.empty_like(z)
    jit(exp_into)(z, got)
    with np.errstate(all="ignore"):
        want = np.exp(z)
    bits = got.real.dtype.str.replace("f", "u")
    for part in ("real", "imag"):
        g, w = getattr(got, part), getattr(want, part)
        same = (g.view(bits) == w.view(bits)) | (np.isnan(g) & np.isnan(w))
        assert same.all(), (z[~same][:5], g[~same][:5], w[~same][:5])


# --------------------------------------------------------------------------
# NumPy's power shortcuts: values other than its power gives
# --------------------------------------------------------------------------


def power_operator(a, e):
    return a ** e


def power_half(a):
    return a ** 0.5


def power_minus_one(a):
    return a ** -1


def power_ufunc(a, e):
    return np.power(a, e)


def power_in_place(a):
    a **= 0.5


def reciprocal_ufunc(a):
    return np.reciprocal(a)


def conj_methods(a):
    return a.conj().T, a.conjugate() * 2


SPECIAL = [0j, -0.0 + 0j, complex(np.inf, 0), complex(-np.inf, 0), complex(0, np.inf),
           complex(np.nan, 1), 2 + 3j, -1.5 + 0.2j, 1e-3 - 4j, 1e300 + 1e300j, -4 + 0j]


def _bits_equal(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    if not np.array_equal(got.view(np.uint8), want.view(np.uint8)):
        raise AssertionError(f"{got} != {want}")


@pytest.mark.parametrize("dtype", ["complex64", "complex128", "float32", "float64"])
@pytest.mark.parametrize("fn", [power_half, power_minus_one, reciprocal_ufunc])
def test_power_shortcuts_are_numpys_to_the_bit(fn, dtype):
    # complex a ** 0.5 is np.sqrt and a ** -1 np.reciprocal (fast_scalar_power);
    # a float array's scalar exponent 0.5 is sqrt: -0.0 stays -0.0, -inf is NaN
    base = np.array(SPECIAL) if dtype.startswith("complex") else \
        np.array([-0.0, 0.0, -np.inf, np.inf, np.nan, 2.0, -3.0, 1e-310])
    a = base.astype(dtype)
    with np.errstate(all="ignore"):
        want = fn(a.copy())
    _bits_equal(jit(fn)(a.copy()), want)


@pytest.mark.parametrize("e", [0.5, -1, 2, 1.5, np.float64(0.5), np.float32(0.5), 0])
def test_power_with_a_run_time_exponent(e):
    # (not a complex array ** 2: np.square's SIMD loop may fuse its products,
    # as on AVX2 machines, where (1e300+1e300j)**2 is -inf+infj, not nan+infj)
    complexes = np.array(SPECIAL) if e != 2 else np.array(SPECIAL[:-2])
    for a in (complexes, np.array([-0.0, -np.inf, 4.0, 2.5])):
        with np.errstate(all="ignore"):
            want_op, want_fn = power_operator(a, e), power_ufunc(a, e)
            _bits_equal(jit(power_operator)(a, e), want_op)
            _bits_equal(jit(power_ufunc)(a, e), want_fn)


def test_power_in_place_and_conj_methods():
    for a in (np.array(SPECIAL), np.array([-0.0, -np.inf, 4.0])):
        want, got = a.copy(), a.copy()
        with np.errstate(all="ignore"):
            power_in_place(want)
        jit(power_in_place)(got)
        _bits_equal(got, want)
    z = random_array((3, 4), "complex128", 5)
    check(conj_methods, z)
    check(conj_methods, random_array((3, 4), "float32", seed=6))


def reciprocal_in_prange(a, out):
    for i in prange(a.shape[0]):
        out[i] = np.reciprocal(a[i]) + a[i] ** -1


def test_reciprocal_on_devices(offload_kind):
    a = np.array(SPECIAL * 3)
    check(reciprocal_in_prange, a, np.zeros_like(a), jit_options={"target": offload_kind})


# --------------------------------------------------------------------------
# cmath's errors: CPython's ValueError and OverflowError
# --------------------------------------------------------------------------

def cmath_exp(z):
    return cmath.exp(z)


def cmath_log(z):
    return cmath.log(z)


def cmath_atanh(z):
    return cmath.atanh(z)


def cmath_atan(z):
    return cmath.atan(z)


def cmath_cos(z):
    return cmath.cos(z)


def cmath_tanh(z):
    return cmath.tanh(z)


@pytest.mark.parametrize(("fn", "z", "error"), [
    (cmath_log, 0j, ValueError), (cmath_log, -0.0 + 0j, ValueError),
    (cmath_atanh, 1 + 0j, ValueError), (cmath_atanh, -1 + 0j, ValueError),
    (cmath_atan, 1j, ValueError), (cmath_exp, complex(1000, 1), OverflowError),
    (cmath_exp, complex(1, math.inf), ValueError), (cmath_cos, complex(math.inf, 1), ValueError),
    (cmath_cos, complex(1, 1000), OverflowError), (cmath_tanh, complex(2, math.inf), ValueError),
    (cmath_exp, complex(-math.inf, math.inf), None), (cmath_tanh, complex(1000, 1), None),
    (cmath_log, complex(1e-320, 0), None), (cmath_atanh, complex(1, 1e-300), None),
])
def test_cmath_raises_as_cpython(fn, z, error):
    check(fn, z, raises=error)


def cmath_in_loop(z, out):
    for i in range(z.shape[0]):
        out[i] = cmath.exp(complex(z[i])).real


def test_cmath_error_in_a_loop_stops_it():
    z = np.array([1 + 1j, 2 + 0j, 800 + 0j, 3 + 0j])
    check(cmath_in_loop, z, np.zeros(4), raises=OverflowError)


# --------------------------------------------------------------------------
# found by the fuzzer's complex programs
# --------------------------------------------------------------------------


def complex_range_sum(b):
    s = np.complex128(0)
    for i in range(b.shape[0]):
        s += b[i]
    return s


def complex_range_product(b):
    s = np.complex128(1)
    for i in range(b.shape[0]):
        s *= b[i]
    return s


def test_complex_sums_in_range_loops_stay_in_order():
    # like float sums: a parallel sum rounds differently (README), unless prange/fastmath
    rng = np.random.default_rng(1)
    b = rng.random(4000) * 4 - 2 + 1j * (rng.random(4000) * 4 - 2)
    for fn, arg in ((complex_range_sum, b), (complex_range_product, b[:3000] / np.abs(b[:3000]))):
        check(fn, arg, rtol=0, atol=0, jit_options={"parallel": "auto"})
        plan = jit(fn, parallel="auto").explain(arg)
        assert not plan.loop_at(fn.__code__.co_firstlineno + 2).parallel


def constant_arctanh():
    return np.arctanh(complex(10.0, 10.0))


def constant_power():
    return np.power(np.complex64(0.001 - 1j), np.float32(100.25))


def test_complex_library_calls_of_constants_are_not_folded():
    # GCC folds C99 complex functions of constants with MPC (correctly
    # rounded), an ulp from the C library NumPy calls
    check(constant_arctanh, rtol=0, atol=0)
    check(constant_power, rtol=0, atol=0)


def imag_of_uint8(y):
    return np.imag(np.uint8(y))


def imag_of_quotient(y):
    return (1 / y).imag


def test_the_imaginary_part_of_a_real_number_evaluates_it():
    check(imag_of_uint8, -8, raises=OverflowError)
    check(imag_of_quotient, 0, raises=ZeroDivisionError)
    check(imag_of_quotient, 4)


def angle_of(x):
    return np.angle(x)


def test_angle_of_integers_has_numpys_type():
    for v in (np.int16(-3), np.uint16(3), np.int32(-2), np.bool_(True), 3, 2.5, np.float32(-1)):
        check(angle_of, v)
    check(angle_of, np.array([-3, 0, 5], np.int16))
    with pytest.raises(TypingError, match="float16"):
        jit(angle_of)(np.int8(-3))


def sign_of(z):
    return np.sign(z)


def floor_of(z):
    return np.floor(z)


def test_refusals_name_numpys_typeerror_only_where_it_raises():
    with pytest.raises(TypingError, match=r"sign\(\) of a complex number is not supported"):
        jit(sign_of)(np.complex128(1 + 2j))
    with pytest.raises(TypingError, match="is a TypeError in NumPy"):
        jit(floor_of)(np.complex128(1 + 2j))


def int_complex_equality(i, z):
    return i == z, z == i, i != z, z != i


@pytest.mark.parametrize(("i", "z"), [(2**60 + 1, complex(2**60 + 1)), (3, 3 + 0j), (3, 3 + 1j),
                                      (True, 1 + 0j), (0, -0.0 + 0j),
                                      (5, complex(math.nan, 0))])
def test_python_int_and_complex_compare_exactly(i, z):
    # CPython: equal when the imaginary part is 0 and the real part is the
    # int exactly; 2**60 + 1 is not complex(2**60 + 1), which rounds (fuzz
    # seed 2101001196)
    check(int_complex_equality, i, z)
