"""Where regions run: ``target=`` policy, "auto" decisions, regions a device
cannot run (``transform/regions.py`` blockers), and what ``last_stats`` says."""

from __future__ import annotations

import numpy as np
import pytest

import hybridjit
from hybridjit import jit, prange
from hybridjit.runtime import offload, registry

pytest.importorskip("pyopencl", reason="pyopencl is not installed (pip install hybridjit[opencl])")

_AVAIL = registry.availability("opencl")
pytestmark = [pytest.mark.skipif(not _AVAIL.available,
                                 reason=f"no OpenCL device: {_AVAIL.reason}"),
              pytest.mark.usefixtures("poisoned_opencl")]


@pytest.fixture
def hook_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Region ids the dispatch hook is asked about."""
    calls: list[int] = []
    original = offload.OffloadSession.__call__

    def spy(self, rid, scalars, arrays):
        calls.append(rid)
        return original(self, rid, scalars, arrays)

    monkeypatch.setattr(offload.OffloadSession, "__call__", spy)
    return calls


def _double(a, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] * 2.0


double_cpu = jit(target="cpu")(_double)
double_auto = jit(target="auto")(_double)


def _check_double(fn, n=50):
    a = np.arange(n, dtype=np.float64)
    out = np.zeros(n)
    fn(a, out)
    np.testing.assert_array_equal(out, a * 2.0)


def test_cpu_target_never_calls_the_hook(hook_calls):
    _check_double(double_cpu)
    assert hook_calls == []
    # pinned: a CPU-only build has no dispatch hook, so no stats at all
    assert double_cpu.last_stats is None


def test_auto_on_a_machine_without_an_accelerator_pays_nothing(hook_calls):
    if registry.accelerator_may_exist():
        pytest.skip("this machine may have an accelerator")
    _check_double(double_auto, n=1 << 17)  # big enough for "auto"
    # pinned: with only PoCL (a CPU device) installed, "auto" compiles no
    # dispatch hook (registry.accelerator_may_exist), so it runs on the CPU
    # without ever asking, and reports no stats.
    assert hook_calls == []
    assert double_auto.last_stats is None


def _double_auto_hooked(a, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] * 2.0


def test_auto_declines_a_cpu_opencl_device_with_a_reason(monkeypatch, hook_calls):
    # pretend an accelerator might exist, so the hook is compiled in
    monkeypatch.setattr(registry, "accelerator_may_exist", lambda: True)
    monkeypatch.setattr(registry, "KINDS", ("opencl",))
    fn = jit(target="auto")(_double_auto_hooked)
    _check_double(fn, n=1 << 17)
    assert hook_calls == [0]
    (region,) = fn.last_stats["regions"]
    assert region["target"] == "cpu"
    assert "host CPU" in region["reason"]
    assert fn.last_stats["bytes_to_device"] == fn.last_stats["bytes_to_host"] == 0


@pytest.fixture
def pretend_accelerator(monkeypatch, poisoned_opencl):
    """PoCL's OpenCL device posing as an accelerator, so target="auto" uses it."""
    monkeypatch.setattr(registry, "accelerator_may_exist", lambda: True)
    monkeypatch.setattr(registry, "KINDS", ("opencl",))
    monkeypatch.setattr(poisoned_opencl, "is_accelerator", True)
    return poisoned_opencl


def _auto_trip(a, out, n):
    for i in prange(n):
        out[i] = a[i] + 1.0


def test_auto_offloads_only_regions_big_enough(monkeypatch, pretend_accelerator):
    monkeypatch.setattr(offload, "AUTO_MIN_TRIP", 64)
    fn = jit(target="auto")(_auto_trip)
    a = np.arange(100, dtype=np.float64)
    out = np.zeros(100)
    fn(a, out, 10)
    (region,) = fn.last_stats["regions"]
    assert region["target"] == "cpu" and "too few" in region["reason"]
    np.testing.assert_array_equal(out[:10], a[:10] + 1.0)
    fn(a, out, 100)
    (region,) = fn.last_stats["regions"]
    assert region["target"] == "opencl"
    np.testing.assert_array_equal(out, a + 1.0)


def test_auto_keeps_small_regions_on_the_device_when_their_arrays_live_there(
        monkeypatch, pretend_accelerator):
    # declining would copy every DeviceArray home and back: more work, not less
    monkeypatch.setattr(offload, "AUTO_MIN_TRIP", 64)
    fn = jit(target="auto")(_auto_trip)
    a_py, out_py = np.arange(100, dtype=np.float64), np.zeros(100)
    a, out = hybridjit.to_device(a_py, "opencl"), hybridjit.to_device(out_py, "opencl")
    fn(a, out, 10)
    (region,) = fn.last_stats["regions"]
    assert region["target"] == "opencl", region
    assert fn.last_stats["bytes_to_device"] == fn.last_stats["bytes_to_host"] == 0
    _auto_trip(a_py, out_py, 10)
    np.testing.assert_array_equal(np.asarray(out), out_py)
    fn(np.arange(100, dtype=np.float64), np.zeros(100), 10)  # host arrays: too few
    assert fn.last_stats["regions"][0]["target"] == "cpu"


def _device_then_small(a, b, out, m):
    for i in prange(a.shape[0]):
        b[i] = a[i] * 2.0
    for i in prange(m):
        out[i] = b[i] + 1.0


def test_auto_host_region_after_device_region_sees_device_data(monkeypatch, pretend_accelerator):
    monkeypatch.setattr(offload, "AUTO_MIN_TRIP", 50)
    fn = jit(target="auto")(_device_then_small)
    a = np.arange(100, dtype=np.float64)
    b, out = np.zeros(100), np.zeros(100)
    b_py, out_py = b.copy(), out.copy()
    fn.py_func(a, b_py, out_py, 10)
    # regression: the declined region's host loop read stale (zero) host b
    fn(a, b, out, 10)
    assert [r["target"] for r in fn.last_stats["regions"]] == ["opencl", "cpu"]
    np.testing.assert_array_equal(b, b_py)
    np.testing.assert_array_equal(out, out_py)


def test_hybridjit_target_environment_selects_opencl(monkeypatch, hook_calls):
    monkeypatch.setenv("HYBRIDJIT_TARGET", "opencl")
    fn = jit(_double)  # target read at decoration time
    _check_double(fn)
    assert hook_calls == [0]
    assert [r["target"] for r in fn.last_stats["regions"]] == ["opencl"]


# ------------------------------------------- regions a device cannot run


def helper(x):
    return x * 2.0 + 1.0


@jit(target="opencl")
def calls_helper(a, out):
    for i in prange(a.shape[0]):
        out[i] = helper(a[i])


@jit(target="opencl", boundscheck=True)
def checked(a, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] * 2.0


@jit(target="opencl")
def device_then_blocked(a, b, out):
    for i in prange(a.shape[0]):
        b[i] = a[i] * 2.0
    for i in prange(a.shape[0]):
        out[i] = helper(b[i])


@jit(target="opencl")
def blocked_then_device(a, b, out):
    for i in prange(a.shape[0]):
        b[i] = helper(a[i])
    for i in prange(a.shape[0]):
        out[i] = b[i] + 1.0


def test_blocked_regions_run_correctly_on_the_cpu(hook_calls):
    a = np.arange(20, dtype=np.float64)
    out = np.zeros(20)
    calls_helper(a, out)
    np.testing.assert_array_equal(out, a * 2.0 + 1.0)
    out[:] = 0
    checked(a, out)
    np.testing.assert_array_equal(out, a * 2.0)
    assert hook_calls == []  # a region no device can run never asks


@pytest.mark.parametrize("fn, words", [(calls_helper, "helper"), (checked, "boundscheck")])
def test_blocked_region_reports_cpu_with_its_reason(fn, words):
    a = np.arange(20, dtype=np.float64)
    out = np.zeros(20)
    fn(a, out)
    assert fn.last_stats is not None
    (region,) = fn.last_stats["regions"]
    assert region["target"] == "cpu"
    assert words in region["reason"]


@pytest.mark.parametrize("fn", [device_then_blocked, blocked_then_device])
def test_blocked_and_offloaded_regions_share_data(fn):
    a = np.arange(25, dtype=np.float64)
    b, out = np.full(25, 3.0), np.zeros(25)
    b_py, out_py = b.copy(), out.copy()
    fn.py_func(a, b_py, out_py)
    fn(a, b, out)
    np.testing.assert_array_equal(b, b_py)
    np.testing.assert_array_equal(out, out_py)
    offloaded = [r for r in fn.last_stats["regions"] if r["target"] == "opencl"]
    assert len(offloaded) == 1
