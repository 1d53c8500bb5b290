"""DeviceArray: data resident on the device across calls, on every device kind.

The ``offload_kind`` fixture (conftest) runs each test on OpenCL (PoCL in CI),
on a real CUDA GPU (``-m cuda``) and on the emulated CUDA driver, with
poisoned device buffers.  Arrays go to the device through the public
``hybridjit.to_device``; kernels are plain functions compiled per test for
the kind (``on(kind, fn)``), so their ``last_stats`` belong to that test.
"""

from __future__ import annotations

import numpy as np
import pytest

import hybridjit
import loop_kernels
from hybridjit import jit, prange
from hybridjit.runtime import registry
from hybridjit.runtime.device_array import DeviceArray

F8 = np.dtype(np.float64).itemsize


def on(kind: str, fn):
    """``fn`` compiled for offloading to ``kind``."""
    return jit(fn, target=kind)


@pytest.fixture
def manager(offload_kind):
    mgr = registry.get_memory_manager(offload_kind)
    assert mgr is not None
    return mgr


def to_device(a: np.ndarray, kind: str) -> DeviceArray:
    d = hybridjit.to_device(a, kind)
    assert isinstance(d, DeviceArray)
    assert d.device.kind == kind
    return d


def test_public_api_exports_to_device():
    assert callable(hybridjit.to_device)
    assert hybridjit.DeviceArray is DeviceArray


def test_to_device_copies_once_and_to_host_round_trips(offload_kind, manager):
    a = np.arange(24, dtype=np.float64).reshape(4, 6)
    before = manager.stats.copy()
    d = to_device(a, offload_kind)
    assert (d.shape, d.dtype, d.ndim, d.size, d.nbytes) == (a.shape, a.dtype, 2, 24, a.nbytes)
    assert (manager.stats - before).bytes_to_device == a.nbytes
    a[:] = -1  # d holds a copy, not a view
    np.testing.assert_array_equal(d.to_host(), np.arange(24.0).reshape(4, 6))
    np.testing.assert_array_equal(np.asarray(d), np.arange(24.0).reshape(4, 6))
    # nothing was stale on the host: reading it back moved nothing
    assert (manager.stats - before).bytes_to_host == 0


def add(a, b, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] + b[i]


def test_three_calls_with_device_arrays_move_nothing(offload_kind, manager):
    fn = on(offload_kind, add)
    n = 50
    rng = np.random.default_rng(7)
    a, b = rng.random(n), rng.random(n)
    da, db = to_device(a, offload_kind), to_device(b, offload_kind)
    dout = to_device(np.zeros(n), offload_kind)
    before = manager.stats.copy()
    for _ in range(3):
        fn(da, db, dout)
        st = fn.last_stats
        assert [r["target"] for r in st["regions"]] == [offload_kind]
        assert st["bytes_to_device"] == 0
        # the written DeviceArray stays on the device: nothing comes back
        assert st["bytes_to_host"] == 0
        assert st["launches"] == 1
    assert (manager.stats - before).bytes_to_device == 0
    assert (manager.stats - before).bytes_to_host == 0
    np.testing.assert_array_equal(np.asarray(dout), a + b)
    # to_host copies back exactly the bytes the kernels wrote, once
    assert (manager.stats - before).bytes_to_host == n * F8
    np.testing.assert_array_equal(dout.to_host(), a + b)
    assert (manager.stats - before).bytes_to_host == n * F8


def jacobi_shapes_on_host(A, B, steps):
    n = A.shape[0]  # host code reads shapes only: resident data must stay put
    m = A.shape[1]
    for _ in range(steps):
        for i in prange(1, n - 1):
            for j in range(1, m - 1):
                B[i, j] = 0.25 * (A[i - 1, j] + A[i + 1, j] + A[i, j - 1] + A[i, j + 1])
        for i in prange(1, n - 1):
            for j in range(1, m - 1):
                A[i, j] = 0.25 * (B[i - 1, j] + B[i + 1, j] + B[i, j - 1] + B[i, j + 1])


def test_host_shape_reads_do_not_move_resident_arrays(offload_kind):
    fn = on(offload_kind, jacobi_shapes_on_host)
    rng = np.random.default_rng(3)
    a = rng.random((9, 11))
    b = a.copy()
    da, db = to_device(a, offload_kind), to_device(b, offload_kind)
    for _ in range(3):
        fn(da, db, 2)
        st = fn.last_stats
        assert [r["target"] for r in st["regions"]] == [offload_kind, offload_kind]
        assert st["bytes_to_device"] == 0 and st["bytes_to_host"] == 0
    a2, b2 = a.copy(), b.copy()
    for _ in range(3):
        jacobi_shapes_on_host(a2, b2, 2)
    np.testing.assert_allclose(da.to_host(), a2, rtol=1e-12)
    np.testing.assert_allclose(db.to_host(), b2, rtol=1e-12)


def test_device_inputs_with_a_host_output(offload_kind):
    fn = on(offload_kind, add)
    n = 40
    a, b = np.arange(n, dtype=np.float64), np.ones(n)
    da, db = to_device(a, offload_kind), to_device(b, offload_kind)
    for _ in range(2):
        out = np.full(n, np.nan)
        fn(da, db, out)
        np.testing.assert_array_equal(out, a + b)
        st = fn.last_stats
        assert st["bytes_to_device"] == 0  # inputs resident, out fully overwritten
        assert st["bytes_to_host"] == n * F8  # the host array comes home


def test_empty_device_array_filled_by_a_kernel_moves_nothing(offload_kind, manager):
    fn = on(offload_kind, add)
    n = 30
    da = to_device(np.arange(n, dtype=np.float64), offload_kind)
    db = to_device(np.full(n, 2.0), offload_kind)
    out = DeviceArray.empty((n,), np.float64, manager)
    fn(da, db, out)
    assert fn.last_stats["bytes_to_device"] == fn.last_stats["bytes_to_host"] == 0
    np.testing.assert_array_equal(out.to_host(), np.arange(n) + 2.0)


bump = loop_kernels.bump


def test_in_place_updates_accumulate_on_the_device(offload_kind):
    fn = on(offload_kind, bump)
    d = to_device(np.zeros(10), offload_kind)
    for _ in range(3):
        fn(d)
        assert fn.last_stats["bytes_to_device"] == fn.last_stats["bytes_to_host"] == 0
    np.testing.assert_array_equal(d.to_host(), np.full(10, 3.0))


def bump_then_host(a):
    for i in prange(a.shape[0]):
        a[i] = a[i] + 1.0
    a[0] = 100.0 + a[1]


def test_host_code_touching_a_device_array_inside_the_function(offload_kind):
    fn = on(offload_kind, bump_then_host)
    n = 10
    d = to_device(np.zeros(n), offload_kind)
    expect = np.zeros(n)
    for _ in range(2):
        fn(d)
        bump_then_host(expect)
        np.testing.assert_array_equal(d.to_host(), expect)
    st = fn.last_stats
    # second call: the host wrote a[0] last time, so the device copy of a was
    # dropped (whole view); a goes in again and comes back for the host write
    assert st["bytes_to_device"] == n * F8
    assert st["bytes_to_host"] == n * F8


@pytest.mark.parametrize("kernel,target", [
    (loop_kernels.prefix_sum, "device"),  # offloading target, but host-only code
    (loop_kernels.bump, "cpu"),
], ids=["serial-prefix-on-device-target", "bump-on-cpu"])
def test_device_array_accepted_by_functions_without_offload(offload_kind, kernel, target):
    # regression: these raised TypeError "does not match the compiled
    # signature" (only the offloading entry unwrapped DeviceArray arguments)
    fn = jit(kernel, target=offload_kind if target == "device" else target)
    d = to_device(np.ones(6), offload_kind)
    on(offload_kind, bump)(d)  # newest data on the device only
    expect = np.full(6, 2.0)
    kernel(expect)
    fn(d)
    np.testing.assert_array_equal(d.to_host(), expect)
