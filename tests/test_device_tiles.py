"""Matrix products on devices as tiled kernels (issue 12, item 1).

A 2-D device kernel whose work-items each run a loop over ``k`` reading
``A[i, k]`` and ``B[k, j]`` stages those operands through 16x16 tiles of
local (shared) memory (transform/tiling.py, codegen/tiled.py).  The plan is
read from ``explain``; every result is differential against CPython or
NumPy on every device kind (poisoned fresh buffers, no fallback allowed:
conftest), over shapes that are not multiples of the tile, empty and
single-element extents, views, steps, offsets, wrapped indices, and
operands that alias the result.
"""

from __future__ import annotations

import numpy as np
import pytest

from difftest import check, make_view, random_array
from hybridjit import jit, prange
from hybridjit.transform.tiling import TILE

TOL = {"float32": {"rtol": 2e-5, "atol": 1e-5}, "float64": {"rtol": 1e-12, "atol": 1e-12},
       "complex64": {"rtol": 2e-5, "atol": 1e-5}, "complex128": {"rtol": 1e-12, "atol": 1e-12}}
TILED = "through tiles in local memory"


def opts(target):
    return {"target": target}


def device_line(fn, *args, target="opencl"):
    lines = [ln for ln in str(jit(fn, target=target).explain(*args)).splitlines()
             if "device:" in ln]
    assert len(lines) == 1, lines
    return lines[0]


def arr(shape, dtype, seed):
    a = random_array(shape, dtype, seed=seed)
    if np.dtype(dtype).kind in "iu":
        a = (a.astype(np.int64) % 7).astype(dtype)
    return a


# ----------------------------------------------------------- hand-written


def hand_matmul(A, B, C):
    n, p = A.shape
    m = B.shape[1]
    for i in range(n):
        for j in range(m):
            s = 0.0
            for k in range(p):
                s += A[i, k] * B[k, j]
            C[i, j] = s


def hand_matmul_int(A, B, C):
    for i in prange(A.shape[0]):
        for j in range(B.shape[1]):
            s = 0
            for k in range(A.shape[1]):
                s += A[i, k] * B[k, j]
            C[i, j] = s


SHAPES = [(20, 12, 9), (33, 17, 40), (TILE, TILE, TILE), (TILE + 1, 2 * TILE + 3, TILE - 1),
          (1, 1, 1), (1, 40, 1), (0, 3, 4), (5, 0, 3), (3, 4, 0), (70, 5, 3)]


@pytest.mark.parametrize(("n", "p", "m"), SHAPES)
def test_hand_written_product(offload_kind, n, p, m):
    A, B = arr((n, p), "float64", 1), arr((p, m), "float64", 2)
    check(hand_matmul, A, B, np.zeros((n, m)), jit_options=opts(offload_kind),
          **TOL["float64"])


@pytest.mark.parametrize("dtype", ["int64", "int32", "float32", "complex128"])
def test_hand_written_product_dtypes(offload_kind, dtype):
    A, B = arr((19, 23), dtype, 3), arr((23, 18), dtype, 4)
    C = np.zeros((19, 18), dtype)
    check(hand_matmul_int, A, B, C, jit_options=opts(offload_kind), **TOL.get(dtype, {}))


def test_hand_written_product_is_tiled():
    A, B, C = np.ones((4, 3)), np.ones((3, 5)), np.zeros((4, 5))
    line = device_line(hand_matmul, A, B, C)
    assert "kernel 2-D" in line and TILED in line and "A, B" in line, line


@pytest.mark.parametrize("kind", ["transposed", "strided", "negative", "sliced"])
def test_hand_written_product_of_views(offload_kind, kind):
    A = make_view(kind, (21, 18), "float64", seed=5)
    B = make_view(kind, (18, 17), "float64", seed=6)
    check(hand_matmul, A, B, np.zeros((21, 17)), jit_options=opts(offload_kind),
          **TOL["float64"])


def steps_and_offsets(A, B, C, lo):
    # k runs backwards from an offset, i and j with steps and offsets of their own
    for i in prange(1, A.shape[0], 2):
        for j in range(B.shape[1] - 1, -1, -3):
            s = 0.5
            for k in range(A.shape[1] - 1, lo - 1, -1):
                s = s + A[i, k] * B[k - lo, j] + A[i - 1, -k - 1]
            C[i, j] = s


def test_steps_offsets_and_wrapped_indices(offload_kind):
    A, B = arr((37, 29), "float64", 7), arr((29, 35), "float64", 8)
    check(steps_and_offsets, A, B, np.zeros((37, 35)), 3, jit_options=opts(offload_kind),
          **TOL["float64"])
    line = device_line(steps_and_offsets, A, B, np.zeros((37, 35)), 3)
    assert TILED in line, line


def prefix_and_reduction(A, B, C):
    # statements before and after the contraction, and a reduction of the region's own
    total = 0.0
    for i in prange(A.shape[0]):
        w = i * 0.5
        for j in range(B.shape[1]):
            s = w
            for k in range(A.shape[1]):
                s += A[i, k] * B[k, j] * 2.0
            C[i, j] = s
            total += s
    return total


def test_statements_around_the_contraction_and_a_reduction(offload_kind):
    A, B = arr((45, 33), "float64", 9), arr((33, 20), "float64", 10)
    check(prefix_and_reduction, A, B, np.zeros((45, 20)), jit_options=opts(offload_kind),
          rtol=1e-11, atol=1e-11)
    assert TILED in device_line(prefix_and_reduction, A, B, np.zeros((45, 20)))


def two_contractions(A, B, C, flag):
    for i in prange(A.shape[0]):
        for j in range(B.shape[1]):
            s = 0.0
            if flag > 0:
                for k in range(A.shape[1]):
                    s += A[i, k] * B[k, j]
            else:
                for k in range(A.shape[1]):
                    s -= A[i, k] + B[k, j]
            C[i, j] = s


@pytest.mark.parametrize("flag", [1, -1])
def test_contractions_under_invariant_tests(offload_kind, flag):
    A, B = arr((18, 40), "float64", 11), arr((40, 22), "float64", 12)
    check(two_contractions, A, B, np.zeros((18, 22)), flag, jit_options=opts(offload_kind),
          **TOL["float64"])


# ----------------------------------------------------------- not tiled, still right


def triangular(A, B, C):
    # k's bounds change with i: work-items of a group run different counts
    for i in prange(A.shape[0]):
        for j in range(B.shape[1]):
            s = 0.0
            for k in range(i):
                s += A[i, k] * B[k, j]
            C[i, j] = s


def conditional_operand(A, B, C):
    # B is read only when A's element is positive: staging it would read more
    for i in prange(A.shape[0]):
        for j in range(B.shape[1]):
            s = 0.0
            for k in range(A.shape[1]):
                s += B[k, j] if A[i, k] > 0.5 else 1.0
            C[i, j] = s


def both_indices(A, B, C):
    for i in prange(A.shape[0]):
        for j in range(B.shape[1]):
            s = 0.0
            for k in range(A.shape[1]):
                s += A[i, k] * B[k, j] * A[j, i]
            C[i, j] = s


@pytest.mark.parametrize("fn", [triangular, conditional_operand, both_indices])
def test_nests_tiles_do_not_fit_stay_right(offload_kind, fn):
    A, B = arr((25, 25), "float64", 13), arr((25, 19), "float64", 14)
    check(fn, A, B, np.zeros((25, 19)), jit_options=opts(offload_kind), **TOL["float64"])


def test_tiles_only_where_the_group_shares_operands():
    A, B, C = np.ones((4, 4)), np.ones((4, 3)), np.zeros((4, 3))
    assert TILED not in device_line(triangular, A, B, C)
    line = device_line(conditional_operand, A, B, C)
    assert TILED in line and "read A through" in line, line  # A always read, B not
    line = device_line(both_indices, A, B, C)
    assert "read A, B through" in line, line  # A[j, i] is read directly


# ----------------------------------------------------------- aliasing


def test_result_aliasing_an_operand_runs_on_the_host(offload_kind):
    # C is A: rows are independent, the j loop is not (it reads what it
    # writes), so the 2-D kernel must not run; nor may tiles read A early
    A, B = arr((20, 20), "float64", 15), arr((20, 20), "float64", 16)
    fn = jit(hand_matmul, target=offload_kind)
    want = A.copy()
    hand_matmul(want, B, want)
    got = A.copy()
    fn(got, B, got)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    (region,) = fn.last_stats["regions"]
    assert region["target"] == "cpu" and "share memory" in region["reason"], region


# ----------------------------------------------------------- A @ B


def product(a, b):
    return a @ b


def product_of_views(a, b):
    return a.T @ b[::2, 1:]


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128", "int64"])
@pytest.mark.parametrize("n", [1, 17, 40, 70])
def test_products_run_as_tiled_kernels(offload_kind, dtype, n):
    # 40 and 70 are above the size from which the host calls BLAS: on a
    # device target the device runs the product.  Exactly the operands go to
    # the device (the fresh result is written whole: not sent), the result
    # comes back.
    a, b = arr((n, n + 3), dtype, 17), arr((n + 3, n - 1 or 1), dtype, 18)
    fn = jit(product, target=offload_kind)
    got = fn(a, b)
    want = a @ b
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, **TOL.get(dtype, {}))
    stats = fn.last_stats
    assert [r["reason"] for r in stats["regions"]] == ["offloaded"], stats
    assert stats["bytes_to_device"] == a.nbytes + b.nbytes, stats
    assert stats["bytes_to_host"] == got.nbytes, stats
    assert TILED in device_line(product, a, b)


@pytest.mark.parametrize(("sa", "sb"), [((0, 5), (5, 3)), ((4, 0), (0, 3)), ((4, 5), (5, 0))])
def test_empty_products_on_devices(offload_kind, sa, sb):
    a, b = arr(sa, "float64", 23), arr(sb, "float64", 24)
    check(product, a, b, jit_options=opts(offload_kind))


def test_product_of_views_on_devices(offload_kind):
    a, b = arr((50, 45), "float64", 19), arr((100, 30), "float64", 20)
    check(product_of_views, a, b, jit_options=opts(offload_kind), **TOL["float64"])


def test_products_without_a_device_call_blas():
    # NumPy's own product (its BLAS) gives NumPy's bits; the generated nest
    # sums in another order (on a device it does: see above)
    a, b = arr((40, 40), "float64", 21), arr((40, 40), "float64", 22)
    np.testing.assert_array_equal(jit(product, target="cpu")(a, b), a @ b)


def transposed_roles(A, B, C):
    # the region's loop i is the fastest-varying dimension here (C[j, i],
    # A[k, i]): the tiles' local indices swap launch dimensions
    for i in prange(A.shape[1]):
        for j in range(B.shape[1]):
            s = 0.0
            k = -1
            for k in range(A.shape[0]):
                s += A[k, i] * B[k, j]
            C[j, i] = s + k  # (k: its last value, as after any Python loop)


def test_region_loop_on_the_fastest_dimension(offload_kind):
    A, B = arr((27, 35), "float64", 25), arr((27, 19), "float64", 26)
    C = np.zeros((19, 35))
    line = device_line(transposed_roles, A, B, C)
    assert "i the fastest-varying" in line and TILED in line, line
    check(transposed_roles, A, B, C, jit_options=opts(offload_kind), **TOL["float64"])
