"""Device failures fall back to the CPU: correct results, a warning, stats.

Faults are injected with ``registry.inject_faults`` / ``HYBRIDJIT_FAULT``
(the device raises the DeviceError a failing API call would).  Devices are
poisoned (``HYBRIDJIT_POISON=1``) so lost data shows up as NaN.
"""

from __future__ import annotations

import contextlib
import gc
import warnings

import numpy as np
import pytest

import loop_kernels
from hybridjit import HybridJitWarning, jit, prange
from hybridjit.runtime import registry

pytest.importorskip("pyopencl", reason="pyopencl is not installed (pip install hybridjit[opencl])")

_AVAIL = registry.availability("opencl")
pytestmark = [pytest.mark.skipif(not _AVAIL.available,
                                 reason=f"no OpenCL device: {_AVAIL.reason}"),
              pytest.mark.usefixtures("poisoned_opencl")]

API_CALL = {"build": "clBuildProgram", "alloc": "clCreateBuffer",
            "launch": "clEnqueueNDRangeKernel"}


def _fallback_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, HybridJitWarning)]


@jit(target="opencl")
def scale_into(a, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] * 2.0 + 1.0


@pytest.mark.parametrize("op", ["build", "alloc", "launch"])
def test_injected_fault_falls_back_to_cpu(op):
    a = np.arange(33, dtype=np.float64)
    out = np.full(33, -1.0)
    with pytest.warns(HybridJitWarning, match="fell back to the CPU") as record, \
            registry.inject_faults(op):
        scale_into(a, out)
    np.testing.assert_array_equal(out, a * 2.0 + 1.0)
    assert any(API_CALL[op] in m for m in _fallback_warnings(record))
    st = scale_into.last_stats
    assert [r["target"] for r in st["regions"]] == ["cpu"]
    reason = st["regions"][0]["reason"]
    assert "device error" in reason and API_CALL[op] in reason and "injected" in reason
    assert st["launches"] == 0
    assert st["bytes_to_host"] == 0  # nothing was computed on the device

    # the fault is gone: the next call runs on the device again
    out[:] = -1.0
    scale_into(a, out)
    np.testing.assert_array_equal(out, a * 2.0 + 1.0)
    assert [r["target"] for r in scale_into.last_stats["regions"]] == ["opencl"]


def test_fault_requested_through_the_environment(monkeypatch):
    monkeypatch.setenv("HYBRIDJIT_FAULT", "alloc,launch")
    a = np.arange(10, dtype=np.float64)
    out = np.zeros(10)
    with pytest.warns(HybridJitWarning, match="HYBRIDJIT_FAULT"):
        scale_into(a, out)
    np.testing.assert_array_equal(out, a * 2.0 + 1.0)
    assert scale_into.last_stats["regions"][0]["target"] == "cpu"


@jit(target="opencl")
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


@pytest.mark.parametrize("op", ["build", "alloc", "launch"])
def test_fault_in_second_region_loses_no_data(poisoned_opencl, monkeypatch, op):
    n = 29
    a = np.random.default_rng(5).random(n)
    b = np.full(n, 7.0)
    out = np.zeros(n)
    b_py, out_py = b.copy(), out.copy()
    two_regions.py_func(a, b_py, out_py)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with _fault_after_first_launch(poisoned_opencl, monkeypatch, op) as launches:
            two_regions(a, b, out)
    assert launches[0] == 1
    # b was written on the device by region 0 and must be home before the
    # host runs region 1, and stay correct after the call.
    np.testing.assert_array_equal(b, b_py)
    np.testing.assert_array_equal(out, out_py)
    msgs = _fallback_warnings(record)
    assert len(msgs) == 1 and API_CALL[op] in msgs[0]
    first, second = two_regions.last_stats["regions"]
    assert (first["target"], first["reason"], first["launches"]) == ("opencl", "offloaded", 1)
    assert second["target"] == "cpu" and API_CALL[op] in second["reason"]
    assert second["launches"] == 0


jacobi_f = jit(target="opencl")(loop_kernels.jacobi)


def test_launch_fault_in_the_middle_of_a_time_loop(poisoned_opencl, monkeypatch):
    rng = np.random.default_rng(6)
    A, B = rng.random((9, 11)), rng.random((9, 11))
    A_py, B_py = A.copy(), B.copy()
    jacobi_f.py_func(A_py, B_py, 4)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with _fault_after_first_launch(poisoned_opencl, monkeypatch, "launch"):
            jacobi_f(A, B, 4)
    np.testing.assert_allclose(A, A_py, rtol=1e-12)
    np.testing.assert_allclose(B, B_py, rtol=1e-12)
    # 8 region runs: the first on the device, the other 7 fell back
    assert len(_fallback_warnings(record)) == 7
    st = jacobi_f.last_stats
    assert st["launches"] == 1
    assert {(r["region"], r["target"]) for r in st["regions"]} >= {(0, "opencl"), (0, "cpu"),
                                                                   (1, "cpu")}


@jit(target="opencl")
def bump(a):
    for i in prange(a.shape[0]):
        a[i] = a[i] + 1.0


def test_fault_with_a_device_resident_argument():
    d = registry.to_device(np.zeros(10), "opencl")
    bump(d)
    bump(d)  # device holds 2.0 everywhere, the host copy is stale
    with pytest.warns(HybridJitWarning, match="fell back"), registry.inject_faults("launch"):
        bump(d)
    np.testing.assert_array_equal(d.to_host(), np.full(10, 3.0))
    bump(d)  # and the device is usable again
    assert bump.last_stats["regions"][0]["target"] == "opencl"
    np.testing.assert_array_equal(np.asarray(d), np.full(10, 4.0))


def test_recreated_device_never_uses_a_stale_program():
    # Regression: programs were cached by id(device), so a device made after
    # registry.reset() at a dead device's address launched a program of a dead
    # context (INVALID_CONTEXT) and fell back to the CPU.
    a = np.arange(8, dtype=np.float64)
    seen: set[int] = set()
    for _ in range(30):
        registry.reset()
        gc.collect()
        device = registry.get_device("opencl")
        reused = id(device) in seen
        seen.add(id(device))
        out = np.zeros(8)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            scale_into(a, out)
        np.testing.assert_array_equal(out, a * 2.0 + 1.0)
        assert _fallback_warnings(record) == []
        assert scale_into.last_stats["regions"][0]["target"] == "opencl"
        if reused:
            return
    pytest.skip("the allocator never reused a device's address: nothing to check")
