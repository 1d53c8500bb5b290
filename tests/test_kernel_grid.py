"""Device index spaces: which loop nests get a 2-D grid, and that every
shape of launch computes CPython's answer.

The plan is read from ``explain`` (its device line names the grid); results
are differential on every target (poisoned device buffers, no fallback
allowed), and the CUDA version of every kernel compiles to PTX (conftest).
"""

from __future__ import annotations

import numpy as np
import pytest

from difftest import check, make_view, random_array
from hybridjit import jit, prange
from hybridjit.runtime import offload
from hybridjit.runtime.offload import MAX_GRID_Y, MAX_THREADS, REDUCTION_THREADS, launch_counts


def opts(target):
    return {"parallel": True, "target": target}


def grid_text(fn, *args):
    lines = [ln for ln in str(jit(fn, target="opencl").explain(*args)).splitlines()
             if "device:" in ln]
    assert len(lines) == 1, lines
    return lines[0]


# ------------------------------------------------------------ 2-D nests


def stencil(a, out):
    n, m = a.shape
    for i in prange(1, n - 1):
        for j in range(1, m - 1):
            out[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1])


def row_prefix(a, out, scale):
    n, m = a.shape
    for i in prange(n):
        y = i * scale
        w = y + 1.0
        for j in range(0, m, 2):
            out[i, j] = a[i, j] * w + j


def column_major(a, out):
    n, m = a.shape
    for j in prange(m):
        for i in range(n - 1, -1, -1):
            out[j, i] = a[i, j] - i


def grid_sum(a):
    s = 0.0
    lo = 1e300
    for i in prange(a.shape[0]):
        for j in range(a.shape[1]):
            s += a[i, j]
            lo = min(lo, a[i, j])
    return s, lo


def test_stencil_gets_a_2d_grid_with_j_fastest():
    a = np.zeros((8, 9))
    text = grid_text(stencil, a, a.copy())
    assert "2-D: loops i and j" in text and "j the fastest" in text


def transposed_write(a, out):
    m, n = a.shape
    for j in prange(m):
        for i in range(n):
            out[j, i] = a[j, i] * 2.0


def test_unit_stride_loop_goes_on_the_fastest_dimension():
    # the outer loop's variable is the unit-stride subscript of both accesses
    def outer_unit(a, out):
        n, m = a.shape
        for j in prange(m):
            for i in range(n):
                out[i, j] = a[i, j] * 2.0

    a = np.zeros((5, 6))
    assert "j the fastest" in grid_text(outer_unit, a, a.copy())
    assert "i the fastest" in grid_text(transposed_write, a, a.copy())


@pytest.mark.parametrize("shape", [(1, 1), (3, 2), (37, 53), (2, 130), (130, 2)])
@pytest.mark.parametrize("kind", ["C", "transposed", "strided"])
def test_stencil(target, shape, kind):
    a = make_view(kind, shape, "float64", seed=1)
    check(stencil, a, np.zeros(shape), jit_options=opts(target))


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (1, 1), (17, 33)])
def test_prefix_assignments_and_inner_step(target, shape):
    a = random_array(shape, "float32", seed=2)
    check(row_prefix, a, np.zeros(shape, np.float32), 0.5, jit_options=opts(target))


@pytest.mark.parametrize("shape", [(1, 4), (29, 31)])
def test_negative_inner_step_and_transposed_output(target, shape):
    a = random_array(shape, "int64", seed=3)
    check(column_major, a, np.zeros(shape[::-1], np.int64), jit_options=opts(target))


@pytest.mark.parametrize("shape", [(1, 1), (3, 4097), (301, 7)])
def test_reductions_over_a_2d_grid(target, shape):
    check(grid_sum, random_array(shape, "float64", seed=4), jit_options=opts(target),
          rtol=1e-12, atol=1e-9)


def test_transposed_write(target):
    a = random_array((23, 41), "float64", seed=5)
    check(transposed_write, a, np.zeros((23, 41)), jit_options=opts(target))


# ------------------------------------------------------------ 3-D nests


def stencil3d(a, out):
    n, m, p = a.shape
    for i in prange(1, n - 1):
        for j in range(1, m - 1):
            for k in range(1, p - 1):
                out[i, j, k] = (a[i - 1, j, k] + a[i + 1, j, k] + a[i, j - 1, k]
                                + a[i, j + 1, k] + a[i, j, k - 1] + a[i, j, k + 1]) / 6.0


def prefixes3d(a, out, scale):
    n, m, p = a.shape
    for i in prange(n):
        y = i * scale
        for j in range(m - 1, -1, -1):
            z = y - j
            for k in range(0, p, 2):
                out[i, j, k] = a[i, j, k] * z + k


def outer_fastest3d(a, out):
    n, m, p = a.shape
    for k in prange(p):
        for j in range(m):
            for i in range(n):
                out[i, j, k] = a[i, j, k] + 1.0


def sum3d(a):
    s = 0
    hi = -(2**62)
    for i in prange(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                s += a[i, j, k]
                hi = max(hi, a[i, j, k])
    return s, hi


def scan_in_k(a):
    n, m, p = a.shape
    for i in prange(n):
        for j in range(m):
            for k in range(1, p):
                a[i, j, k] = a[i, j, k] + a[i, j, k - 1]


def test_3d_stencil_gets_a_3d_grid_with_k_fastest():
    a = np.zeros((4, 5, 6))
    text = grid_text(stencil3d, a, a.copy())
    assert "3-D: loops i, j and k" in text and "k the fastest" in text, text
    assert "k the fastest" in grid_text(prefixes3d, a, a.copy(), 0.5)
    assert "3-D" in grid_text(outer_fastest3d, a, a.copy()) and \
        "k the fastest" in grid_text(outer_fastest3d, a, a.copy())


def test_a_third_loop_that_carries_a_dependence_stays_inside_each_work_item():
    a = np.zeros((4, 5, 6))
    text = grid_text(scan_in_k, a)
    assert text.count("2-D: loops i and j") == 1, text
    assert "not proven parallel" in text and "runs inside each work-item" in text, text


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 3, 3), (5, 7, 33), (2, 40, 3), (9, 1, 65)])
@pytest.mark.parametrize("kind", ["C", "transposed", "negative"])
def test_3d_stencil(target, shape, kind):
    a = make_view(kind, shape, "float64", seed=7)
    check(stencil3d, a, np.zeros(shape), jit_options=opts(target))


@pytest.mark.parametrize("shape", [(0, 3, 3), (3, 0, 3), (2, 2, 0), (6, 5, 9)])
def test_3d_prefixes_and_steps(target, shape):
    a = random_array(shape, "float32", seed=8)
    check(prefixes3d, a, np.zeros(shape, np.float32), 0.5, jit_options=opts(target))


def test_3d_outer_loop_fastest(target):
    a = make_view("strided", (7, 6, 5), "float64", seed=9)
    check(outer_fastest3d, a, np.zeros((7, 6, 5)), jit_options=opts(target))


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 5, 7), (2, 3, 700), (65, 4, 3)])
def test_reductions_over_a_3d_grid(target, shape):
    check(sum3d, random_array(shape, "int64", seed=10), jit_options=opts(target))


def test_3d_scan_stays_2d_and_is_right(target):
    check(scan_in_k, random_array((4, 5, 6), "float64", seed=11), jit_options=opts(target),
          rtol=1e-12)


# ------------------------------------------------------------ stays 1-D


def prefix_reads_written(a):
    n, m = a.shape
    for i in prange(n):
        t = a[i, 0]
        for j in range(m):
            a[i, j] = t + j  # writes a[i, 0], which the prefix read


def triangular(a, out):
    n = a.shape[0]
    for i in prange(n):
        for j in range(i + 1):
            out[i, j] = a[i, j]


def row_scan(a):
    n, m = a.shape
    for i in prange(n):
        for j in range(1, m):
            a[i, j] = a[i, j] + a[i, j - 1]


def row_sums(a, out):
    n, m = a.shape
    for i in prange(n):
        s = 0.0
        for j in range(m):
            s += a[i, j]
        out[i] = s


def square(n=19):
    return random_array((n, n), "float64", seed=6)


ONE_D = [
    (prefix_reads_written, "follows a read of an array the loop nest writes",
     lambda: (square(),)),
    (triangular, "bounds that change with the outer loop", lambda: (square(), np.zeros((19, 19)))),
    (row_scan, "not proven parallel", lambda: (square(),)),
    (row_sums, "does not end in a nested loop", lambda: (square(), np.zeros(19))),
]


@pytest.mark.parametrize(("fn", "reason", "make"), ONE_D, ids=[c[0].__name__ for c in ONE_D])
def test_nests_a_gpu_cannot_split_stay_1d(target, fn, reason, make):
    args = make()
    text = grid_text(fn, *args)
    assert "1-D" in text and reason in text, text
    check(fn, *args, jit_options=opts(target))


def test_inner_reduction_of_its_own_stays_1d():
    def inner_own(a, out):
        for i in prange(a.shape[0]):
            s = 0.0
            for j in range(a.shape[1]):
                s += a[i, j]
    a = np.zeros((4, 4))
    assert "1-D" in grid_text(inner_own, a, a.copy())


# ------------------------------------------------------------ launches


def test_launch_counts_fill_the_inner_loop_first():
    assert launch_counts([10], False) == [10]
    assert launch_counts([0], False) == [1]
    assert launch_counts([1 << 30], False) == [MAX_THREADS]
    assert launch_counts([1 << 30], True) == [REDUCTION_THREADS]
    assert REDUCTION_THREADS % 256 == 0
    assert launch_counts([1000, 1000], False) == [1000, 1000]
    assert launch_counts([1 << 20, 1024], False) == [MAX_THREADS // 1024, 1024]
    assert launch_counts([7, 3], True) == [7, 3]
    assert launch_counts([10**6, 10**6], True) == [REDUCTION_THREADS // 10**6 or 1, 10**6]
    # the dimension-1 loop stays within CUDA's grid y limit
    assert launch_counts([10**6, 4], False, (1, 0))[0] == MAX_GRID_Y
    assert launch_counts([4, 10**6], False, (0, 1)) == [4, MAX_GRID_Y]
    # 3-D: innermost served first; dimensions 1 and 2 (y and z) capped
    assert launch_counts([5, 6, 7], False, (2, 1, 0)) == [5, 6, 7]
    assert launch_counts([10**6, 10**6, 2], False, (2, 1, 0)) == [2, MAX_GRID_Y, 2]
    assert launch_counts([10**5, 3, 3], False, (0, 2, 1)) == [10**5, 3, 3]
    assert launch_counts([3, 10**5, 3], False, (0, 2, 1)) == [3, MAX_GRID_Y, 3]


def test_work_items_beyond_the_counts_do_nothing(poisoned_opencl, monkeypatch):
    """CUDA rounds a launch up to whole blocks (e.g. 4096 work-items in
    blocks of 640 make 4480), and reductions round up to whole work-groups:
    the extra work-items must not repeat iterations.  Simulated on OpenCL
    by padding every launch."""
    launched = []
    real = type(poisoned_opencl).launch

    def padded(self, program, kernel, global_size, args, local_size=None):
        # reductions come in whole work-groups already (their partials are
        # per group): pad the others
        size = global_size if local_size else tuple(-(-g // 96) * 96 + 96 for g in global_size)
        launched.append((size, local_size))
        return real(self, program, kernel, size, args, local_size)

    monkeypatch.setattr(type(poisoned_opencl), "launch", padded)

    def count_1d(a):
        s = 0
        for i in prange(a.shape[0]):
            s += a[i]
        return s

    a = np.ones(10_007, np.int64)
    assert jit(count_1d, target="opencl")(a) == 10_007
    g = np.ones((37, 53), np.int64)
    f = jit(grid_sum, target="opencl")
    assert f(g.astype(np.float64)) == (37 * 53, 1.0)
    src = random_array((37, 53), "float64", seed=7)
    out = np.zeros((37, 53))
    jit(stencil, target="opencl")(src, out)
    ref = np.zeros((37, 53))
    stencil(src, ref)
    np.testing.assert_array_equal(out, ref)
    assert [local for _, local in launched] == [(256,), (32, 8), None]
    assert launched[0][0] == (10_240,) and not offload.FALLBACKS


# ------------------------------------------------------------ float32 stays float32


def device_kernels(fn, *args, dialect="cuda"):
    """The kernel sources of ``fn``'s offloadable regions for ``args``."""
    from hybridjit.pipeline import analyse
    from hybridjit.transform.regions import outline_regions

    disp = jit(fn, target="opencl")
    program, _, _ = analyse(fn, disp.arg_types(args), disp.options)
    _, regions = outline_regions(program.entry, False, False)
    return [r.kernels[dialect] for r in regions if r.rid >= 0]


def single_precision(a, out):
    s = np.float32(0.0)
    for i in prange(a.shape[0]):
        x = a[i] * 0.5 + 1.25
        out[i] = np.sqrt(x) * np.exp(-x) + np.log1p(x) / np.float32(3)
        s += x
    return s


def test_float32_kernels_do_single_precision_math(target):
    a = random_array(1001, "float32", seed=8)
    for src in device_kernels(single_precision, a, np.zeros(1001, np.float32)):
        body = src[src.index('extern "C" __global__'):]
        assert "double" not in body, body
        assert all(f"{f}f(" in body for f in ("sqrt", "exp", "log1p")), body
    check(single_precision, a, np.zeros(1001, np.float32), jit_options=opts(target),
          rtol=2e-6, atol=1e-5)
