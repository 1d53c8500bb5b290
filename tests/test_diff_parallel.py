"""Differential tests: ``prange`` loops.  Reductions (``+=``, ``*=``,
``s = min(s, ...)``, ``s = max(s, ...)``), private loop-local scalars, nested
loops, ranges with start/step, and the kernels of the issue (n-body, matrix
product, Jacobi).  Every test takes the ``target`` fixture (conftest), so the
same suite re-runs on later targets (opencl, cuda)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from difftest import check, make_view, random_array
from hybridjit import prange

N_BIG = 10_007  # odd, large enough that every thread gets iterations

# reductions reorder floating-point sums
RED_TOL = {"float32": (2e-4, 2e-3), "float64": (1e-10, 1e-9)}


def opts(target, parallel=True):
    return {"parallel": parallel, "target": target}


def tol(dtype):
    r, a = RED_TOL.get(np.dtype(dtype).name, (None, None))
    return {"rtol": r, "atol": a}


# --------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------


def psum(a):
    s = 0
    for i in prange(a.shape[0]):
        s += a[i]
    return s


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "float64"])
@pytest.mark.parametrize("n", [1, 7, N_BIG])
def test_sum_reduction(target, dtype, n):
    check(psum, random_array(n, dtype, seed=n), jit_options=opts(target), **tol(dtype))


def test_sum_reduction_empty(target):
    check(psum, np.zeros(0), jit_options=opts(target), check_type=False)


def psum_strided(a):
    s = 0.0
    t = 0.0
    for i in prange(a.shape[0]):
        s += a[i] * 2.0
        t -= a[i]
    return s, t


@pytest.mark.parametrize("kind", ["C", "strided", "negative"])
def test_two_sum_reductions_on_views(target, kind):
    check(psum_strided, make_view(kind, 999, "float64"), jit_options=opts(target),
          **tol("float64"))


def pprod(a):
    p = 1.0
    q = 1
    for i in prange(a.shape[0]):
        p *= a[i]
        q *= -1 if i % 5 == 0 else 1
    return p, q


@pytest.mark.parametrize("n", [1, 13, 2001])
def test_product_reduction(target, n):
    a = random_array(n, "float64", seed=5, low=0.999, high=1.001)
    check(pprod, a, jit_options=opts(target), **tol("float64"))


def int_product(a):
    p = 1
    for i in prange(a.shape[0]):
        p *= a[i]
    return p


def test_integer_product_reduction_wraps_identically(target):
    # modular arithmetic: the result does not depend on the order
    a = random_array(3001, "int64", seed=6, low=1, high=9)
    check(int_product, a, jit_options=opts(target))


def pminmax(a):
    lo = math.inf
    hi = -math.inf
    for i in prange(a.shape[0]):
        lo = min(lo, a[i])
        hi = max(hi, a[i])
    return lo, hi


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 8, N_BIG])
def test_min_max_reduction(target, dtype, n):
    check(pminmax, random_array(n, dtype, seed=n + 1, low=-1000, high=1000),
          jit_options=opts(target))


def pminmax_int(a):
    lo = a[0]
    hi = a[0]
    for i in prange(a.shape[0]):
        lo = min(lo, a[i])
        hi = max(a[i], hi)
    return lo, hi


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_min_max_reduction_int(target, dtype):
    check(pminmax_int, random_array(N_BIG, dtype, seed=9, low=-10**6, high=10**6),
          jit_options=opts(target))


def mixed_reductions(a, b):
    s = 0.0
    c = 0
    m = -1e300
    for i in prange(a.shape[0]):
        t = a[i] * b[i]      # private scalar
        if t > 0:
            c += 1
        s += t
        m = max(m, t)
    return s, c, m


def test_several_reductions_and_private_scalars(target):
    a = random_array(N_BIG, "float64", seed=10)
    b = random_array(N_BIG, "float64", seed=11)
    check(mixed_reductions, a, b, jit_options=opts(target), **tol("float64"))


def reduction_after_loop(a):
    s = 0.0
    for i in prange(a.shape[0]):
        s += a[i] * a[i]
    return math.sqrt(s) + 1.0


def test_reduction_result_used_after_loop(target):
    check(reduction_after_loop, random_array(N_BIG, "float64", seed=12),
          jit_options=opts(target), **tol("float64"))


def float32_accumulator(a):
    s = 0
    for i in prange(a.shape[0]):
        s += a[i] * 0.5
    return s


def test_reduction_keeps_float32(target):
    # the result type is float32 as in CPython (checked by check())
    check(float32_accumulator, random_array(N_BIG, "float32", seed=13),
          jit_options=opts(target), **tol("float32"))


# --------------------------------------------------------------------------
# elementwise / private scalars / ranges
# --------------------------------------------------------------------------


def saxpy(alpha, x, y, out):
    for i in prange(x.shape[0]):
        t = alpha * x[i]
        u = t + y[i]
        out[i] = u


@pytest.mark.parametrize("kind", ["C", "strided", "negative"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_elementwise_private_scalars(target, dtype, kind):
    x = make_view(kind, 5001, dtype, seed=1)
    y = make_view(kind, 5001, dtype, seed=2)
    check(saxpy, 1.5, x, y, np.zeros(5001, dtype), jit_options=opts(target))


def prange_start_step(a, out):
    n = a.shape[0]
    for i in prange(1, n - 1):
        out[i] = a[i - 1] + a[i + 1]
    for i in prange(0, n, 3):
        out[i] = out[i] * 2
    for i in prange(n - 1, -1, -2):
        out[i] = out[i] + 1


@pytest.mark.parametrize("n", [0, 1, 2, 3, 1000])
def test_prange_start_stop_step(target, n):
    check(prange_start_step, random_array(n, "int64", seed=3), np.zeros(n, np.int64),
          jit_options=opts(target))


def prange_2d(a, out):
    n, m = a.shape
    for i in prange(n):
        for j in range(m):
            acc = 0.0
            for k in range(j + 1):
                acc += a[i, k]
            out[i, j] = acc


@pytest.mark.parametrize("kind", ["C", "transposed"])
def test_nested_loops_private_accumulator(target, kind):
    a = make_view(kind, (101, 17), "float64", seed=4)
    check(prange_2d, a, np.zeros((101, 17)), jit_options=opts(target))


def nested_prange(a, out):
    for i in prange(a.shape[0]):
        for j in prange(a.shape[1]):
            out[i, j] = a[i, j] * (i - j)


def test_nested_prange(target):
    check(nested_prange, random_array((37, 53), "float32"), np.zeros((37, 53), np.float32),
          jit_options=opts(target))


def histogram_rows(a, counts):
    for i in prange(a.shape[0]):
        c = 0
        for j in range(a.shape[1]):
            if a[i, j] > 0:
                c += 1
        counts[i] = c


def test_per_iteration_counter(target):
    check(histogram_rows, random_array((503, 9), "int32", seed=5), np.zeros(503, np.int64),
          jit_options=opts(target))


def test_serial_when_parallel_false(target):
    check(psum, random_array(1001, "float64"), jit_options=opts(target, parallel=False))
    check(prange_start_step, random_array(50, "int64"), np.zeros(50, np.int64),
          jit_options=opts(target, parallel=False))


# --------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------


def nbody_accel(pos, mass, acc, eps2):
    n = pos.shape[0]
    for i in prange(n):
        ax = ay = az = 0.0
        for j in range(n):
            dx = pos[j, 0] - pos[i, 0]; dy = pos[j, 1] - pos[i, 1]; dz = pos[j, 2] - pos[i, 2]
            r2 = dx * dx + dy * dy + dz * dz + eps2
            s = mass[j] / (r2 * math.sqrt(r2))
            ax += s * dx; ay += s * dy; az += s * dz
        acc[i, 0] = ax; acc[i, 1] = ay; acc[i, 2] = az


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 2, 129])
def test_nbody_from_the_issue(target, dtype, n):
    pos = random_array((n, 3), dtype, seed=21)
    mass = random_array(n, dtype, seed=22, low=0.5, high=1.5)
    check(nbody_accel, pos, mass, np.zeros((n, 3), dtype), 0.01, jit_options=opts(target))


def matmul(a, b, c):
    n, k = a.shape
    m = b.shape[1]
    for i in prange(n):
        for j in range(m):
            s = 0.0
            for p in range(k):
                s += a[i, p] * b[p, j]
            c[i, j] = s


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("n", "k", "m"), [(1, 1, 1), (17, 9, 13), (64, 48, 33)])
def test_matrix_product(target, dtype, n, k, m):
    a = random_array((n, k), dtype, seed=31)
    b = random_array((k, m), dtype, seed=32)
    check(matmul, a, b, np.zeros((n, m), dtype), jit_options=opts(target))


def test_matrix_product_on_views(target):
    a = make_view("transposed", (20, 15), "float64", seed=33)
    b = make_view("negative", (15, 12), "float64", seed=34)
    check(matmul, a, b, np.zeros((20, 12)), jit_options=opts(target))


def jacobi(u, steps):
    n, m = u.shape
    v = np.zeros_like(u)
    for i in range(n):
        for j in range(m):
            v[i, j] = u[i, j]
    for _ in range(steps):
        for i in prange(1, n - 1):
            for j in range(1, m - 1):
                v[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1])
        u, v = v, u
    return u


@pytest.mark.parametrize(("shape", "steps"), [((3, 3), 1), ((34, 27), 10), ((65, 65), 25)])
def test_jacobi_time_loop(target, shape, steps):
    u = random_array(shape, "float64", seed=41)
    check(jacobi, u, steps, jit_options=opts(target))


def jacobi_inplace(u, tmp, steps):
    n, m = u.shape
    for _ in range(steps):
        for i in prange(1, n - 1):
            for j in range(1, m - 1):
                tmp[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1])
        for i in prange(1, n - 1):
            for j in range(1, m - 1):
                u[i, j] = tmp[i, j]


def test_jacobi_two_regions_per_step(target):
    u = random_array((40, 31), "float32", seed=42)
    check(jacobi_inplace, u, np.zeros((40, 31), np.float32), 7, jit_options=opts(target))


def double_helpers_in_narrow_kernel(a, out):
    for i in prange(a.shape[0]):
        # float64 intermediates only (a[i] / 3), in an int32/float32 kernel
        out[i] = (max(a[i] / 3, 1.0) + (a[i] / 3) % 2.0 + (a[i] / 3) // 1.5
                  + min(a[i] / 3, 9.0) + abs(-a[i] / 3) + math.sqrt(a[i] / 3))


@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_float64_helpers_in_kernels_without_float64_arrays(target, dtype):
    """The device dialects define every helper they call (the float64 ones
    were missing where no array or scalar was float64: the kernel failed to
    build and the region quietly ran on the CPU)."""
    a = (np.arange(40) % 13).astype(dtype)
    check(double_helpers_in_narrow_kernel, a, np.zeros(40, np.float32),
          jit_options=opts(target))


def empty_inner_loop_store(a):
    for i in range(1):
        for j in range(0, 0):
            a[i, 0] %= 0
    return a


def constant_infinity_floordiv(a):
    for i in range(1):
        a[i, i, 0] = np.exp2(-np.uint32(1)) // 1
    return a


def test_store_under_an_empty_inner_loop_writes_nothing(target):
    check(empty_inner_loop_store, np.ones((5, 5)), jit_options=opts(target))


def test_floor_division_of_a_constant_infinity(target):
    check(constant_infinity_floordiv, np.zeros((2, 2, 2)), jit_options=opts(target))
