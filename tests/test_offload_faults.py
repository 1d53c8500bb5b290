"""Device failures fall back to the CPU: correct results, a warning, stats.

The ``offload_kind`` fixture (conftest) runs each test on OpenCL (PoCL in CI),
on a real CUDA GPU (``-m cuda``) and on the emulated CUDA driver.  Faults are
injected with ``registry.inject_faults`` / ``HYBRIDJIT_FAULT`` (the device
raises the DeviceError a failing API call would, naming that kind's call:
see :data:`API_CALL`).  Devices are poisoned (``HYBRIDJIT_POISON=1``) so lost
data shows up as NaN.
"""

from __future__ import annotations

import contextlib
import gc
import warnings
import weakref

import numpy as np
import pytest

import loop_kernels
from hybridjit import HybridJitWarning, jit, prange
from hybridjit.runtime import registry

#: the API call each device names when an injected operation fails (the
#: strings its check_fault calls pass; "copy" is a 1-D host-to-device copy)
API_CALL = {
    "opencl": {"build": "clBuildProgram", "alloc": "clCreateBuffer",
               "launch": "clEnqueueNDRangeKernel", "copy": "clEnqueueWriteBuffer"},
    "cuda": {"build": "cuModuleLoadData", "alloc": "cuMemAlloc",
             "launch": "cuLaunchKernel", "copy": "cuMemcpyHtoDAsync"},
}
OPS = ["build", "alloc", "launch", "copy"]


def on(kind: str, fn):
    """``fn`` compiled for offloading to ``kind``."""
    return jit(fn, target=kind)


def _fallback_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, HybridJitWarning)]


def scale_into(a, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] * 2.0 + 1.0


@pytest.mark.parametrize("op", OPS)
def test_injected_fault_falls_back_to_cpu(offload_kind, op):
    fn = on(offload_kind, scale_into)
    call = API_CALL[offload_kind][op]
    a = np.arange(33, dtype=np.float64)
    out = np.full(33, -1.0)
    with pytest.warns(HybridJitWarning, match="fell back to the CPU") as record, \
            registry.inject_faults(op):
        fn(a, out)
    np.testing.assert_array_equal(out, a * 2.0 + 1.0)
    assert any(call in m for m in _fallback_warnings(record))
    st = fn.last_stats
    assert [r["target"] for r in st["regions"]] == ["cpu"]
    reason = st["regions"][0]["reason"]
    assert "device error" in reason and call in reason and "injected" in reason
    assert st["launches"] == 0
    assert st["bytes_to_host"] == 0  # nothing was computed on the device

    # the fault is gone: the next call runs on the device again
    out[:] = -1.0
    fn(a, out)
    np.testing.assert_array_equal(out, a * 2.0 + 1.0)
    assert [r["target"] for r in fn.last_stats["regions"]] == [offload_kind]


def test_fault_requested_through_the_environment(offload_kind, monkeypatch):
    fn = on(offload_kind, scale_into)
    monkeypatch.setenv("HYBRIDJIT_FAULT", "alloc,launch")
    a = np.arange(10, dtype=np.float64)
    out = np.zeros(10)
    with pytest.warns(HybridJitWarning, match="HYBRIDJIT_FAULT"):
        fn(a, out)
    np.testing.assert_array_equal(out, a * 2.0 + 1.0)
    assert fn.last_stats["regions"][0]["target"] == "cpu"


def two_regions(a, b, out):
    for i in prange(a.shape[0]):
        b[i] = a[i] * 2.0
    for i in prange(a.shape[0]):
        out[i] = b[i] + 1.0


@contextlib.contextmanager
def _fault_after_first_launch(device, monkeypatch, op):
    """Inject ``op`` faults once the first kernel launch has completed."""
    stack = contextlib.ExitStack()
    launch = device.launch
    count = [0]

    def counting_launch(*args, **kwargs):
        result = launch(*args, **kwargs)
        count[0] += 1
        if count[0] == 1:
            stack.enter_context(registry.inject_faults(op))
        return result

    monkeypatch.setattr(device, "launch", counting_launch)
    with stack:
        yield count


# not "copy": region 1 reads only b, already on the device, so it copies nothing in
@pytest.mark.parametrize("op", ["build", "alloc", "launch"])
def test_fault_in_second_region_loses_no_data(offload_kind, monkeypatch, op):
    fn = on(offload_kind, two_regions)
    call = API_CALL[offload_kind][op]
    device = registry.get_device(offload_kind)
    n = 29
    a = np.random.default_rng(5).random(n)
    b = np.full(n, 7.0)
    out = np.zeros(n)
    b_py, out_py = b.copy(), out.copy()
    two_regions(a, b_py, out_py)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with _fault_after_first_launch(device, monkeypatch, op) as launches:
            fn(a, b, out)
    assert launches[0] == 1
    # b was written on the device by region 0 and must be home before the
    # host runs region 1, and stay correct after the call.
    np.testing.assert_array_equal(b, b_py)
    np.testing.assert_array_equal(out, out_py)
    msgs = _fallback_warnings(record)
    assert len(msgs) == 1 and call in msgs[0]
    first, second = fn.last_stats["regions"]
    assert (first["target"], first["reason"], first["launches"]) == (offload_kind, "offloaded", 1)
    assert second["target"] == "cpu" and call in second["reason"]
    assert second["launches"] == 0


jacobi = loop_kernels.jacobi


def test_launch_fault_in_the_middle_of_a_time_loop(offload_kind, monkeypatch):
    fn = on(offload_kind, jacobi)
    rng = np.random.default_rng(6)
    A, B = rng.random((9, 11)), rng.random((9, 11))
    A_py, B_py = A.copy(), B.copy()
    jacobi(A_py, B_py, 4)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with _fault_after_first_launch(registry.get_device(offload_kind), monkeypatch, "launch"):
            fn(A, B, 4)
    np.testing.assert_allclose(A, A_py, rtol=1e-12)
    np.testing.assert_allclose(B, B_py, rtol=1e-12)
    # 8 region runs: the first on the device, the other 7 fell back
    assert len(_fallback_warnings(record)) == 7
    st = fn.last_stats
    assert st["launches"] == 1
    assert {(r["region"], r["target"]) for r in st["regions"]} >= {
        (0, offload_kind), (0, "cpu"), (1, "cpu")}


bump = loop_kernels.bump


def test_fault_with_a_device_resident_argument(offload_kind):
    fn = on(offload_kind, bump)
    d = registry.to_device(np.zeros(10), offload_kind)
    fn(d)
    fn(d)  # device holds 2.0 everywhere, the host copy is stale
    with pytest.warns(HybridJitWarning, match="fell back"), registry.inject_faults("launch"):
        fn(d)
    np.testing.assert_array_equal(d.to_host(), np.full(10, 3.0))
    fn(d)  # and the device is usable again
    assert fn.last_stats["regions"][0]["target"] == offload_kind
    np.testing.assert_array_equal(np.asarray(d), np.full(10, 4.0))


def test_recreated_device_never_uses_a_stale_program(offload_kind):
    # Regression: programs were cached by id(device), so a device made after
    # registry.reset() at a dead device's address launched a program of a dead
    # context (INVALID_CONTEXT on OpenCL; a module of a released context on
    # CUDA) and fell back to the CPU.
    fn = on(offload_kind, scale_into)
    a = np.arange(8, dtype=np.float64)
    seen: set[int] = set()
    for _ in range(30):
        registry.reset()
        gc.collect()
        device = registry.get_device(offload_kind)
        reused = id(device) in seen
        seen.add(id(device))
        out = np.zeros(8)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            fn(a, out)
        np.testing.assert_array_equal(out, a * 2.0 + 1.0)
        assert _fallback_warnings(record) == []
        assert fn.last_stats["regions"][0]["target"] == offload_kind
        if reused:
            return
    pytest.skip("the allocator never reused a device's address: nothing to check")


def test_reset_device_is_not_kept_alive_by_its_programs(offload_kind):
    # A device registry.reset() dropped must die: else the test above never
    # meets its precondition (a new device at a dead one's address) and skips,
    # and every reset leaks a device with all the programs built for it.
    fn = on(offload_kind, scale_into)
    out = np.zeros(8)
    fn(np.arange(8, dtype=np.float64), out)
    assert fn.last_stats["regions"][0]["target"] == offload_kind
    device = weakref.ref(registry.get_device(offload_kind))
    registry.reset()
    gc.collect()
    assert device() is None, [type(r).__name__ for r in gc.get_referrers(device())]
