"""The OpenCL device (PoCL in CI) and the device registry."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from hybridjit.errors import DeviceError, HybridJitWarning
from hybridjit.runtime import registry
from hybridjit.runtime.device import KernelArg

SRC = str(Path(__file__).resolve().parents[1] / "src")

SCALARS = r"""
__kernel void store(__global double* out, int a, long b, float c, double d, uchar e) {
    out[0] = a; out[1] = b; out[2] = c; out[3] = d; out[4] = e;
}
__kernel void iota(__global int* out, long off) {
    out[off + get_global_id(0)] = (int)get_global_id(0);
}
"""


def test_import_does_not_load_pyopencl():
    code = (
        "import sys, hybridjit.runtime.opencl, hybridjit.runtime.registry; "
        "assert 'pyopencl' not in sys.modules, 'pyopencl imported eagerly'"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


@pytest.fixture(scope="module")
def opencl():
    pytest.importorskip("pyopencl", reason="pyopencl is not installed (pip install pyopencl)")
    from hybridjit.runtime import opencl

    avail = opencl.probe()
    if not avail.available:
        pytest.skip(f"no OpenCL device: {avail.reason} (apt-get install pocl-opencl-icd)")
    return opencl


@pytest.fixture(scope="module")
def device(opencl, tmp_path_factory: pytest.TempPathFactory):
    return opencl.OpenCLDevice(poison_byte=0xFF, cache_dir=tmp_path_factory.mktemp("cache"))


def test_probe_and_device_description(opencl, device):
    avail = opencl.probe()
    assert avail.available and avail.reason == device.name
    assert isinstance(device.supports_float64, bool)
    assert "float64" in repr(device)


def test_alloc_is_poisoned_and_copies_round_trip(device):
    buf = device.alloc(64)
    out = np.zeros(64, dtype=np.uint8)
    device.copy_out(buf, 0, out)
    assert (out == 0xFF).all()
    device.copy_in(buf, 8, np.arange(16, dtype=np.uint8))
    part = np.zeros(20, dtype=np.uint8)
    device.copy_out(buf, 6, part)
    assert part.tolist() == [255, 255, *range(16), 255, 255]
    device.free(buf)
    device.free(buf)  # idempotent
    with pytest.raises(ValueError):
        device.copy_in(buf, 0, np.zeros(1, dtype=np.uint8))


def test_copy_range_is_checked(device):
    buf = device.alloc(16)
    with pytest.raises(ValueError, match="outside"):
        device.copy_in(buf, 8, np.zeros(16, dtype=np.uint8))
    device.free(buf)


def test_zero_byte_alloc_and_copy(device):
    buf = device.alloc(0)
    device.copy_in(buf, 0, np.zeros(0, dtype=np.uint8))
    device.copy_out(buf, 0, np.zeros(0, dtype=np.uint8))
    device.free(buf)


def test_rect_copies_touch_only_the_rows(device):
    buf = device.alloc(1000)
    host = np.arange(250, dtype=np.int32).reshape(10, 25)  # row stride 100 bytes
    block = host[2:7, 3:8]  # 5 rows of 20 bytes
    device.copy_in_2d(buf, 200, 40, block)  # device rows 40 bytes apart
    image = np.zeros(1000, dtype=np.uint8)
    device.copy_out(buf, 0, image)
    for r in range(5):
        row = image[200 + r * 40 : 220 + r * 40].view(np.int32)
        assert np.array_equal(row, block[r])
        assert (image[220 + r * 40 : 240 + r * 40] == 0xFF).all()
    back = np.zeros((10, 25), dtype=np.int32)
    device.copy_out_2d(buf, 200, 40, back[2:7, 3:8])
    assert np.array_equal(back[2:7, 3:8], block)
    assert back.sum() == block.sum()  # nothing else written
    device.free(buf)


def test_launch_with_scalar_dtypes(device):
    program = device.build(SCALARS)
    buf = device.alloc(5 * 8)
    args = [
        KernelArg(buf),
        KernelArg(-7, np.dtype(np.int32)),
        KernelArg(2**40, np.dtype(np.int64)),
        KernelArg(1.5, np.dtype(np.float32)),
        KernelArg(0.1, np.dtype(np.float64)),
        KernelArg(200, np.dtype(np.uint8)),
    ]
    device.launch(program, "store", (1,), args)
    out = np.zeros(5)
    device.copy_out(buf, 0, out)
    assert out.tolist() == [-7.0, 2.0**40, 1.5, 0.1, 200.0]
    device.launch(program, "store", (0,), args)  # empty index space: no launch
    with pytest.raises(ValueError, match="dtype"):
        device.launch(program, "store", (1,), [KernelArg(buf), KernelArg(1)])
    with pytest.raises(DeviceError, match=r"clCreateKernel\(nope\) failed"):
        device.launch(program, "nope", (1,), [])
    device.free(buf)


def test_launch_2d_with_local_size(device):
    program = device.build(SCALARS)
    buf = device.alloc(64 * 4)
    device.launch(program, "iota", (64,), [KernelArg(buf), KernelArg(0, np.dtype(np.int64))], (16,))
    device.synchronize()
    out = np.zeros(64, dtype=np.int32)
    device.copy_out(buf, 0, out)
    assert out.tolist() == list(range(64))
    device.free(buf)


def test_build_error_names_the_call_and_shows_the_log(device):
    with pytest.raises(DeviceError, match="clBuildProgram failed") as info:
        device.build("__kernel void k(__global int* a) { a[0] = undefined_thing; }")
    assert "undefined_thing" in str(info.value)


def test_program_cache_on_disk_and_in_memory(opencl, tmp_path: Path):
    first = opencl.OpenCLDevice(cache_dir=tmp_path)
    program = first.build(SCALARS, ("-cl-fast-relaxed-math",))
    assert first.build(SCALARS, ("-cl-fast-relaxed-math",)) is program
    assert (first.builds_from_source, first.builds_from_cache) == (1, 0)
    files = list((tmp_path / "opencl").glob("*.bin"))
    assert len(files) == 1 and not list((tmp_path / "opencl").glob(".tmp-*"))
    second = opencl.OpenCLDevice(cache_dir=tmp_path)
    second.build(SCALARS, ("-cl-fast-relaxed-math",))
    assert (second.builds_from_source, second.builds_from_cache) == (0, 1)
    second.build(SCALARS)  # other options: another key
    assert second.builds_from_source == 1
    # a corrupt entry is rebuilt from source and overwritten
    files[0].write_bytes(b"garbage")
    third = opencl.OpenCLDevice(cache_dir=tmp_path)
    third.build(SCALARS, ("-cl-fast-relaxed-math",))
    assert third.builds_from_source == 1 and files[0].read_bytes() != b"garbage"


def test_unwritable_cache_degrades_with_a_warning(opencl, tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    device = opencl.OpenCLDevice(cache_dir=blocker / "cache")
    with pytest.warns(HybridJitWarning, match="cache disabled"):
        device.build(SCALARS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        device.build(SCALARS + "\n")  # warned once, then silent
    assert device.builds_from_source == 2


def test_device_selection_by_substring(opencl, monkeypatch: pytest.MonkeyPatch, device):
    monkeypatch.setenv(opencl.SELECT_ENV, "no-such-device-anywhere")
    avail = opencl.probe()
    assert not avail.available and "no-such-device-anywhere" in avail.reason
    with pytest.raises(DeviceError, match="clGetDeviceIDs failed"):
        opencl.OpenCLDevice()
    word = device.name.split(":")[-1].split()[0]
    monkeypatch.setenv(opencl.SELECT_ENV, word.upper())
    assert opencl.OpenCLDevice().name == device.name


@pytest.mark.parametrize(
    ("fault", "call"),
    [("alloc", "clCreateBuffer"), ("build", "clBuildProgram"), ("launch", "clEnqueueNDRange")],
)
def test_fault_injection_through_the_environment(
    device, monkeypatch: pytest.MonkeyPatch, fault: str, call: str
):
    program = device.build(SCALARS)
    buf = device.alloc(8)
    monkeypatch.setenv(registry.FAULT_ENV, f"copy, {fault}")
    with pytest.raises(DeviceError, match=f"{call}.* failed: injected fault"):
        if fault == "alloc":
            device.alloc(8)
        elif fault == "build":
            device.build(SCALARS)
        else:
            device.launch(program, "iota", (1,), [KernelArg(buf), KernelArg(0, np.dtype(np.int64))])
    monkeypatch.delenv(registry.FAULT_ENV)
    device.free(buf)


# -- registry --------------------------------------------------------------------


@pytest.fixture
def fresh_registry():
    registry.reset()
    yield registry
    registry.reset()


def test_registry_creates_one_poisoned_device(opencl, fresh_registry, monkeypatch):
    monkeypatch.setenv(registry.POISON_ENV, "1")
    device = registry.get_device("opencl")
    assert device is not None and device is registry.get_device("opencl")
    assert device.poison_byte == 0xFF
    assert registry.availability("opencl").available
    manager = registry.get_memory_manager("opencl")
    assert manager is not None and manager is registry.get_memory_manager("opencl")
    d = registry.to_device(np.arange(4.0), kind="opencl")
    assert np.array_equal(np.asarray(d), np.arange(4.0))


def test_registry_reports_unavailable_kinds(fresh_registry, monkeypatch):
    monkeypatch.setenv("HYBRIDJIT_OPENCL_DEVICE", "no-such-device-anywhere")
    assert registry.get_device("opencl") is None
    assert not registry.availability("opencl").available
    with pytest.raises(DeviceError, match="to_device"):
        registry.to_device(np.zeros(3), kind="opencl")
    cuda = registry.availability("cuda")  # no GPU in CI: a reason, not an exception
    assert isinstance(cuda.reason, str)
    with pytest.raises(ValueError, match="unknown device kind"):
        registry.availability("metal")


@pytest.mark.parametrize(("value", "byte"), [("", None), ("0", None), ("1", 0xFF), ("0x7f", 0x7F)])
def test_poison_env_values(monkeypatch, value, byte):
    monkeypatch.setenv(registry.POISON_ENV, value)
    assert registry.poison_byte_from_env() == byte
