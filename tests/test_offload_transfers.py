"""Exact host<->device transfers of offloaded regions, on every device kind.

The ``offload_kind`` fixture (conftest) runs each test on OpenCL (PoCL in CI),
on a real CUDA GPU (``-m cuda``) and on the emulated CUDA driver.  Every test
runs the device with poisoned buffers (``HYBRIDJIT_POISON=1``: fresh
device memory is 0xFF bytes, NaN as float64), so a transfer the memory manager
forgets shows up as a wrong answer, and compares with the plain Python function
(``fn.py_func``) run on copies.  Byte counts come from ``fn.last_stats`` and are
derived in the test from shapes and itemsizes.
"""

from __future__ import annotations

import numpy as np
import pytest

import loop_kernels
from hybridjit import jit, prange

F8 = np.dtype(np.float64).itemsize  # 8
F4 = np.dtype(np.float32).itemsize  # 4


def on(kind: str, fn):
    """``fn`` compiled for offloading to ``kind``."""
    return jit(fn, target=kind)


def _regions(fn) -> list[dict]:
    stats = fn.last_stats
    assert stats is not None, "no offload stats: the dispatch hook was not compiled in"
    return stats["regions"]


def _assert_all_offloaded(kind: str, fn, count: int) -> None:
    regions = _regions(fn)
    assert len(regions) == count, regions
    for r in regions:
        assert r["target"] == kind and r["reason"] == "offloaded", r


def _run_both(fn, *args):
    """Run the compiled function on ``args`` and Python on copies of them."""
    expected_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    got = fn(*args)
    want = fn.py_func(*expected_args)
    return got, want, expected_args


# ---------------------------------------------------------------- Jacobi


jacobi = loop_kernels.jacobi


@pytest.mark.parametrize("steps", [1, 3, 10])
def test_jacobi_moves_each_array_once_for_any_number_of_steps(steps, offload_kind):
    fn = on(offload_kind, jacobi)
    n, m = 13, 17  # non-square, odd
    rng = np.random.default_rng(steps)
    A, B = rng.random((n, m)), rng.random((n, m))
    _, _, (A_py, B_py, _) = _run_both(fn, A, B, steps)
    np.testing.assert_allclose(A, A_py, rtol=1e-12)
    np.testing.assert_allclose(B, B_py, rtol=1e-12)

    st = fn.last_stats
    _assert_all_offloaded(offload_kind, fn, 2)
    first, second = st["regions"]
    whole = n * m * F8  # 1768: region 0 reads A[0:n, 0:m] (all of A), once
    interior = (n - 2) * (m - 2) * F8  # 1320: what each region writes
    boundary = whole - interior  # 448: B's ring, read by region 1 but never written
    # A goes in once (step 1, region 0); every later read finds it on the device.
    assert first["bytes_to_device"] == whole
    # B's interior is fully overwritten by region 0 (never copied in); region 1
    # then needs only B's boundary, once.
    assert second["bytes_to_device"] == boundary
    assert st["bytes_to_device"] == whole + boundary
    # Only the two interiors come back, once, when the function returns.
    assert st["bytes_to_host"] == 2 * interior
    assert first["launches"] == second["launches"] == steps
    assert st["launches"] == 2 * steps


# ------------------------------------------------------- a block of a big array


def read_block(a, out):
    for i in prange(1000, 2000):
        for j in range(10, 20):
            out[i - 1000, j - 10] = a[i, j]


def test_reading_a_block_copies_its_row_span_not_the_array(offload_kind):
    fn = on(offload_kind, read_block)
    rows, cols = 2500, 64
    a = np.arange(rows * cols, dtype=np.float64).reshape(rows, cols)
    out = np.full((1000, 10), 7.0)
    _, _, (_, out_py) = _run_both(fn, a, out)
    np.testing.assert_array_equal(out, out_py)
    np.testing.assert_array_equal(out, a[1000:2000, 10:20])

    st = fn.last_stats
    _assert_all_offloaded(offload_kind, fn, 1)
    # Documented policy (runtime/memory.py): a read box is copied as its row
    # span, the contiguous bytes from a[1000, 10] to a[1999, 19] inclusive:
    # 999 full rows of `cols` elements plus 10 elements = 63946 elements.
    span = ((1999 - 1000) * cols + (19 - 10) + 1) * F8
    assert span == 511568
    assert span < a.nbytes  # 1280000: not the whole array
    # `out` is fully overwritten: never copied in.
    assert st["bytes_to_device"] == span
    # Read-only `a` is never copied back; `out` comes back whole, once.
    assert st["bytes_to_host"] == out.nbytes == 1000 * 10 * F8


# ------------------------------------------------- inputs, outputs, partial writes


def add_into(a, b, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] + b[i]


def test_fully_overwritten_output_is_never_copied_in_and_inputs_never_back(offload_kind):
    fn = on(offload_kind, add_into)
    n = 101
    rng = np.random.default_rng(1)
    a = rng.random(n).astype(np.float32)
    b = rng.random(n)
    out = np.full(n, -3.0)
    a0, b0 = a.copy(), b.copy()
    _, _, (_, _, out_py) = _run_both(fn, a, b, out)
    np.testing.assert_array_equal(out, out_py)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    st = fn.last_stats
    _assert_all_offloaded(offload_kind, fn, 1)
    assert st["bytes_to_device"] == n * F4 + n * F8  # a (float32) + b (float64) only
    assert st["bytes_to_host"] == n * F8  # out only


def write_interior(a, out):
    for i in prange(1, a.shape[0] - 1):
        out[i] = a[i - 1] + a[i + 1]


def test_fully_overwritten_part_comes_back_exactly(offload_kind):
    fn = on(offload_kind, write_interior)
    n = 50
    a = np.arange(n, dtype=np.float64)
    out = np.full(n, 9.0)
    _, _, (_, out_py) = _run_both(fn, a, out)
    np.testing.assert_array_equal(out, out_py)
    assert out[0] == out[-1] == 9.0
    st = fn.last_stats
    _assert_all_offloaded(offload_kind, fn, 1)
    assert st["bytes_to_device"] == n * F8  # a[0:n] read; out[1:n-1] overwritten
    assert st["bytes_to_host"] == (n - 2) * F8  # exactly the written elements


def write_where_positive(a, out):
    for i in prange(a.shape[0]):
        if a[i] > 0.5:
            out[i] = a[i] * 2.0


def test_conditionally_written_output_is_copied_in_first(offload_kind):
    fn = on(offload_kind, write_where_positive)
    n = 101
    a = np.random.default_rng(2).random(n)
    out = np.arange(n, dtype=np.float64)
    untouched = a <= 0.5
    original = out.copy()
    _, _, (_, out_py) = _run_both(fn, a, out)
    np.testing.assert_array_equal(out, out_py)  # a poisoned NaN would show here
    np.testing.assert_array_equal(out[untouched], original[untouched])
    st = fn.last_stats
    _assert_all_offloaded(offload_kind, fn, 1)
    # `out` may not be fully written (the `if`), so it is copied in as well.
    assert st["bytes_to_device"] == n * F8 + n * F8
    assert st["bytes_to_host"] == n * F8  # out's write box; `a` never comes back


def write_every_other(a, out):
    for i in prange(0, a.shape[0], 2):
        out[i] = a[i] + 100.0


def test_strided_loop_output_is_copied_in_first(offload_kind):
    fn = on(offload_kind, write_every_other)
    n = 21
    a = np.arange(n, dtype=np.float64)
    out = -np.arange(n, dtype=np.float64)
    _, _, (_, out_py) = _run_both(fn, a, out)
    np.testing.assert_array_equal(out, out_py)
    st = fn.last_stats
    _assert_all_offloaded(offload_kind, fn, 1)
    # out's write box is elements 0..20, but a step-2 loop leaves gaps, so it
    # is not fully overwritten: copied in whole (n elements) and back whole.
    # a's read box, elements 0..20, is n more elements in.
    assert st["bytes_to_device"] == 2 * n * F8
    assert st["bytes_to_host"] == n * F8


# --------------------------------------------- host code between regions, views


def host_between(a, b, out):
    n = a.shape[0]
    for i in prange(n):
        b[i] = a[i] * 2.0
    for i in range(1, n):  # serial on the host (loop-carried dependence)
        b[i] = b[i] + b[i - 1]
    for i in prange(n):
        out[i] = b[i] * 3.0


def test_host_code_between_regions_sees_and_publishes_device_data(offload_kind):
    fn = on(offload_kind, host_between)
    n = 37
    a = np.random.default_rng(3).random(n)
    b = np.full(n, 5.0)
    out = np.zeros(n)
    _, _, (_, b_py, out_py) = _run_both(fn, a, b, out)
    np.testing.assert_allclose(b, b_py, rtol=1e-12)
    np.testing.assert_allclose(out, out_py, rtol=1e-12)
    st = fn.last_stats
    _assert_all_offloaded(offload_kind, fn, 2)
    first, second = st["regions"]
    assert first["bytes_to_device"] == n * F8  # a; b fully overwritten
    assert second["bytes_to_device"] == n * F8  # b again, after the host changed it
    # b comes home once for the host loop; out at the end.  b is not copied
    # back at the end: the host holds its newest value.
    assert st["bytes_to_host"] == 2 * n * F8


def twice(x, y):
    for i in prange(x.shape[0]):
        y[i] = x[i] * 2.0


def test_strided_view_argument(offload_kind):
    fn = on(offload_kind, twice)
    base = np.arange(40, dtype=np.float64)
    y = np.zeros(20)
    _, _, (_, y_py) = _run_both(fn, base[::2], y)
    np.testing.assert_array_equal(y, y_py)
    st = fn.last_stats
    _assert_all_offloaded(offload_kind, fn, 1)
    # base[::2] is read as its span: base[0] .. base[38], 39 elements.
    assert st["bytes_to_device"] == 39 * F8
    assert st["bytes_to_host"] == y.nbytes


def test_interleaved_views_of_one_buffer_as_two_arguments(offload_kind):
    fn = on(offload_kind, twice)
    base = np.arange(40, dtype=np.float64)
    expect = base.copy()
    twice(expect[1::2], expect[::2])
    fn(base[1::2], base[::2])  # reads odd elements, writes even ones
    np.testing.assert_array_equal(base, expect)
    _assert_all_offloaded(offload_kind, fn, 1)


def test_same_array_passed_twice_updated_in_place(offload_kind):
    fn = on(offload_kind, twice)
    x = np.arange(12, dtype=np.float64)
    x_py = x.copy()
    twice(x_py, x_py)
    fn(x, x)
    np.testing.assert_array_equal(x, x_py)
    assert fn.last_stats["bytes_to_host"] == x.nbytes


def plus_one_2d(a, out):
    for i in prange(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] + 1.0


def test_transposed_views_in_and_out(offload_kind):
    fn = on(offload_kind, plus_one_2d)
    m = np.random.default_rng(4).random((7, 5))
    out_base = np.zeros((7, 5))
    _, _, (_, out_py) = _run_both(fn, m.T, out_base.T)
    np.testing.assert_array_equal(out_base.T, out_py)
    np.testing.assert_array_equal(out_base, m + 1.0)
    _assert_all_offloaded(offload_kind, fn, 1)


def test_side_by_side_views_of_one_buffer(offload_kind):
    fn = on(offload_kind, plus_one_2d)
    buf = np.arange(30, dtype=np.float64).reshape(5, 6)
    expect = buf.copy()
    plus_one_2d(expect[:, :3], expect[:, 3:])
    fn(buf[:, :3], buf[:, 3:])
    np.testing.assert_array_equal(buf, expect)
    _assert_all_offloaded(offload_kind, fn, 1)


def sum_into(a, b, out):
    for i in prange(out.shape[0]):
        out[i] = a[i] + b[i]


def test_overlapping_read_only_views(offload_kind):
    fn = on(offload_kind, sum_into)
    base = np.arange(30, dtype=np.float64)
    out = np.zeros(20)
    fn(base[:20], base[10:], out)
    np.testing.assert_array_equal(out, base[:20] + base[10:])
    np.testing.assert_array_equal(base, np.arange(30, dtype=np.float64))
    _assert_all_offloaded(offload_kind, fn, 1)
    assert fn.last_stats["bytes_to_host"] == out.nbytes


# ---------------------------------------------------------------- reductions


def region_then_test(a, out):
    for i in prange(a.shape[0]):
        a[i] = 0.0
    if a[0] < 1.0:  # read on the host, of what the device wrote
        for i in prange(out.shape[0]):
            out[i] = 5.0


def test_an_if_test_reads_device_data_back_first(offload_kind):
    # an if statement holding a region skipped the copy back its own test
    # needed: the test read the host's stale a[0]
    fn = on(offload_kind, region_then_test)
    a, out = np.full(100, 2.0), np.zeros(100)
    fn(a, out)
    np.testing.assert_array_equal(a, np.zeros(100))
    np.testing.assert_array_equal(out, np.full(100, 5.0))


def max_with_python_int(out, z):
    for i in prange(out.shape[0]):
        out[i] = max(7, z) + out[i]


def test_kernel_with_a_bound_value(offload_kind):
    # max(7, z) binds z once (a Let): the kernel declared the bound name as
    # a loop variable too, and compiling failed with KeyError
    fn = on(offload_kind, max_with_python_int)
    out = np.arange(6, dtype=np.uint32)
    fn(out, np.uint32(3))
    np.testing.assert_array_equal(out, np.arange(6) + 7)
    _assert_all_offloaded(offload_kind, fn, 1)


def uint64_sum(a):
    s = np.uint64(0)
    for i in prange(a.shape[0]):
        s += a[i]
    return s


def test_uint64_reduction_beyond_int64_on_the_device(offload_kind):
    # the device's partial came back as a Python int beyond 2**63 - 1, read
    # with PyLong_AsLongLong: an OverflowError left set (SystemError later)
    fn = on(offload_kind, uint64_sum)
    a = np.full(3002, 2**62 + 7, dtype=np.uint64)  # the sum wraps to 2**63 + 21014
    assert fn(a) == uint64_sum(a)
    _assert_all_offloaded(offload_kind, fn, 1)


def reductions(a, k):
    s = 0.0
    p = 1.0
    lo = 1e300
    hi = -1e300
    c = 0
    for i in prange(a.shape[0]):
        s += a[i]
        p *= 1.0 + a[i] * 0.0001
        lo = min(lo, a[i])
        hi = max(hi, a[i])
        c += k[i]
    return s, p, lo, hi, c


@pytest.mark.parametrize("n", [1001, 10007])  # fewer and more items than work-items
def test_reductions_on_the_device(n, offload_kind):
    fn = on(offload_kind, reductions)
    rng = np.random.default_rng(n)
    a = rng.random(n) - 0.25
    k = rng.integers(-1000, 1000, n).astype(np.int64)
    got = fn(a, k)
    want = reductions(a, k)
    s, p, lo, hi, c = got
    assert s == pytest.approx(want[0], rel=1e-12, abs=1e-9)
    assert p == pytest.approx(want[1], rel=1e-12)
    assert lo == want[2] == a.min()
    assert hi == want[3] == a.max()
    assert c == want[4]  # integer sum: exact
    st = fn.last_stats
    _assert_all_offloaded(offload_kind, fn, 1)
    assert st["bytes_to_device"] == n * F8 + n * F8  # a and k
    assert st["bytes_to_host"] == 0  # nothing written
    assert st["launches"] == 1
