"""NumPy-style array statements offloaded like the loops they become
(issue 11, scope 7), on every device kind the ``offload_kind`` fixture
provides (OpenCL/PoCL in CI; CUDA and the emulated driver where present).

Fresh device buffers are poisoned (0xFF bytes), results are compared with
NumPy running the same function on copies, and transfer byte counts are
exact, derived here from shapes: a slice's footprint is its box, so the
slice-style Jacobi moves exactly what the loop-style Jacobi moves.
"""

from __future__ import annotations

import numpy as np
import pytest

from hybridjit import jit, prange

F8 = np.dtype(np.float64).itemsize


def jacobi_slices(u, v, steps):
    for _ in range(steps):
        v[1:-1, 1:-1] = 0.2 * (u[1:-1, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] + u[2:, 1:-1]
                               + u[:-2, 1:-1])
        u[1:-1, 1:-1] = 0.2 * (v[1:-1, 1:-1] + v[1:-1, :-2] + v[1:-1, 2:] + v[2:, 1:-1]
                               + v[:-2, 1:-1])


def triad(out, a, x, b, y, z):
    out[:] = a * x + b * y * z


def rows_scaled(a, out):
    for i in prange(a.shape[0]):
        out[i, :] = np.sqrt(a[i, :]) * 2.0 + 1.0


def halves(a, out):
    out[: a.shape[0] // 2] = a[::2] * 3
    out[a.shape[0] // 2:] = -a[1::2]


def _run_both(fn, *args):
    expected = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    got = fn(*args)
    want = fn.py_func(*expected)
    return got, want, expected


def _offloaded(fn, kind):
    regions = fn.last_stats["regions"]
    assert regions and all(r["target"] == kind and r["reason"] == "offloaded"
                           for r in regions), regions
    return regions


@pytest.mark.parametrize("steps", [1, 4])
def test_slice_jacobi_moves_what_the_loop_jacobi_moves(steps, offload_kind):
    fn = jit(jacobi_slices, target=offload_kind)
    n, m = 13, 17
    rng = np.random.default_rng(steps)
    u, v = rng.random((n, m)), rng.random((n, m))
    _, _, (u_np, v_np, _) = _run_both(fn, u, v, steps)
    np.testing.assert_allclose(u, u_np, rtol=1e-12)
    np.testing.assert_allclose(v, v_np, rtol=1e-12)
    first, second = _offloaded(fn, offload_kind)
    whole = n * m * F8
    interior = (n - 2) * (m - 2) * F8
    assert first["bytes_to_device"] == whole  # u, once
    assert second["bytes_to_device"] == whole - interior  # v's ring, once
    st = fn.last_stats
    assert st["bytes_to_host"] == 2 * interior  # the two interiors, when it returns
    assert first["launches"] == second["launches"] == steps


def test_triad_moves_its_operands_in_and_its_result_out(offload_kind):
    fn = jit(triad, target=offload_kind)
    n = 1001
    rng = np.random.default_rng(0)
    args = [np.zeros(n)] + [rng.random(n) for _ in range(5)]
    _, _, expected = _run_both(fn, *args)
    np.testing.assert_allclose(args[0], expected[0], rtol=1e-15)
    (region,) = _offloaded(fn, offload_kind)
    assert region["bytes_to_device"] == 5 * n * F8  # out is only written: never copied in
    assert fn.last_stats["bytes_to_host"] == n * F8


def test_strided_slices_move_their_boxes(offload_kind):
    fn = jit(halves, target=offload_kind)
    a = np.arange(10.0)
    out = np.full(10, -7.0)
    _, _, (_, out_np) = _run_both(fn, a, out)
    np.testing.assert_array_equal(out, out_np)
    st = fn.last_stats
    assert st["bytes_to_host"] == 10 * F8
    assert st["bytes_to_device"] == 10 * F8  # a, once (both halves read it)


def test_overlapping_slices_on_a_device_keep_numpys_semantics(offload_kind):
    fn = jit(triad, target=offload_kind)
    base = np.arange(12.0)
    want = base.copy()
    triad(want[1:], want[:-1], want[:-1], want[1:], want[:-1], want[1:])
    fn(base[1:], base[:-1], base[:-1], base[1:], base[:-1], base[1:])
    np.testing.assert_array_equal(base, want)


def test_row_statements_in_prange_offload_or_fall_back_correctly(offload_kind):
    fn = jit(rows_scaled, target=offload_kind)
    a = np.abs(np.random.default_rng(3).random((9, 7)))
    out = np.zeros_like(a)
    _, _, (_, out_np) = _run_both(fn, a, out)
    np.testing.assert_allclose(out, out_np, rtol=1e-12)
