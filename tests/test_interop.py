"""Zero-copy interop with foreign GPU arrays (``__cuda_array_interface__``).

Five tiers:

- parsing the interface and DLPack detection, with fake objects (no device);
- the dispatcher's errors for a foreign CUDA array when CUDA is unavailable;
- adopt/release and the memory manager's adoption checks on OpenCL (PoCL in
  CI), OpenCL buffers posing as CUDA memory with fake device addresses; on
  the CUDA device with the fake driver
  of ``test_runtime_cuda`` (host memory standing in for device memory) for
  pointer checks, streams, fault injection and ``__cuda_array_interface__``;
- adoption end to end on the CUDA device with the emulated driver
  (conftest's cuda-emu, no GPU needed): foreign arrays are real device
  memory of that driver, allocated and filled through the CUDADevice, so
  they go through exactly the path a CuPy array takes (parse, group, wrap
  the pointer, adopt, kernels in place, release); the generated CUDA
  kernels run on them in place (the driver's own record shows no
  allocation or copy), and results are compared with CPython;
- ``@pytest.mark.cuda``: CuPy / PyTorch on a real GPU (skipped elsewhere).
"""

from __future__ import annotations

import ctypes
import gc
import sys
import warnings
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import hybridjit
import loop_kernels
from conftest import fresh_device
from hybridjit import DeviceError, HybridJitWarning, UnsupportedError, jit, prange
from hybridjit.runtime import interop, offload, registry
from hybridjit.runtime.device import Buffer, Device
from hybridjit.runtime.device_array import DeviceArray
from hybridjit.runtime.interop import (
    ForeignArray,
    foreign_array,
    overlapping_groups,
    parse_cuda_array_interface,
    shadow_views,
)
from hybridjit.runtime.memory import MemoryManager

_OPENCL = registry.availability("opencl")
needs_opencl = pytest.mark.skipif(not _OPENCL.available,
                                  reason=f"no OpenCL device: {_OPENCL.reason}")


class FakeCudaArray:
    """An object exposing a given ``__cuda_array_interface__`` dict (no memory)."""

    def __init__(self, iface: Any) -> None:
        self.iface = iface

    @property
    def __cuda_array_interface__(self) -> Any:
        return self.iface


def cai(shape: tuple[int, ...] = (4,), typestr: str = "<f8", ptr: int = 0x7000_0000,
        **extra: Any) -> FakeCudaArray:
    iface = {"shape": shape, "typestr": typestr, "data": (ptr, False), "version": 3,
             "strides": None, **extra}
    return FakeCudaArray(iface)


# -- parsing (no device) -------------------------------------------------------------


def test_c_contiguous_interface():
    f = parse_cuda_array_interface(cai((3, 4), "<f4", stream=None))
    assert isinstance(f, ForeignArray)
    assert (f.shape, f.strides, f.dtype, f.readonly) == ((3, 4), (16, 4), np.float32, False)
    assert f.c_contiguous and f.stream is None and f.span() == (0x7000_0000, 0x7000_0000 + 48)
    assert str(f.hybrid_type()) == "array(float32, 2d, C)"


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_every_version_is_read(version: int):
    obj = cai((5,), "<i8", version=version)
    f = parse_cuda_array_interface(obj)
    assert f is not None and f.shape == (5,) and f.dtype == np.int64 and f.owner is obj


def test_strided_negative_readonly_and_stream():
    ptr = 0x7000_0000 + 9 * 8  # element (0,) of a reversed 10-element view
    f = parse_cuda_array_interface(cai((10,), strides=(-8,), ptr=ptr, stream=2,
                                       data=(ptr, True)))
    assert f is not None and f.readonly and f.stream == 2 and not f.c_contiguous
    assert f.span() == (0x7000_0000, 0x7000_0000 + 80)
    fortran = parse_cuda_array_interface(cai((3, 4), strides=(8, 24)))
    assert fortran is not None and not fortran.c_contiguous
    assert str(fortran.hybrid_type()) == "array(float64, 2d, A)"


def test_objects_without_the_interface():
    assert parse_cuda_array_interface(np.zeros(3)) is None
    assert parse_cuda_array_interface(3.0) is None
    assert foreign_array(np.zeros(3)) is None  # NumPy's DLPack device is the CPU


@pytest.mark.parametrize("shape,strides", [
    ((3, 4), None), ((3, 4), (32, 8)), ((3, 4), (8, 24)), ((1, 4), (999 * 8, 8)),
    ((4, 1), (8, 16)), ((0, 5), (40, 8)), ((2, 3, 4), (96, 32, 8)), ((2, 3, 4), (8, 16, 48)),
    ((5,), (16,)), ((5,), (0,)), ((), ()),
])
def test_c_contiguous_agrees_with_numpy(shape, strides):
    f = parse_cuda_array_interface(cai(shape, strides=strides))
    assert f is not None
    if f.size:
        _, _, (view,) = shadow_views([f])
    else:  # NumPy calls every empty array contiguous, whatever its strides
        view = np.ndarray(shape, np.float64, buffer=bytearray(8), strides=strides)
    assert f.c_contiguous == view.flags.c_contiguous


BAD = [
    ({"mask": object()}, "mask"),
    ({"typestr": ">f8" if sys.byteorder == "little" else "<f8"}, "byte order"),
    ({"typestr": "<f2"}, "does not support"),
    ({"typestr": "|V8"}, "does not support"),
    ({"strides": (6,)}, "not multiples"),
    ({"strides": (8, 8)}, "2 strides for 1 dimensions"),
    ({"version": 4}, "version 4"),
    ({"stream": 0}, "stream 0"),
    ({"data": (0x7000_0004, False)}, "not aligned"),
    ({"data": (0, False)}, "null data pointer"),
    ({"shape": (-1,)}, "negative"),
]


@pytest.mark.parametrize("change,message", BAD, ids=[m for _, m in BAD])
def test_bad_interfaces_raise_a_clear_error(change: dict[str, Any], message: str):
    obj = cai((4,))
    obj.iface.update(change)
    with pytest.raises(UnsupportedError, match=message) as info:
        parse_cuda_array_interface(obj)
    assert "FakeCudaArray" in str(info.value)


def test_malformed_interfaces():
    with pytest.raises(UnsupportedError, match="not a dict"):
        parse_cuda_array_interface(FakeCudaArray([1, 2]))
    with pytest.raises(UnsupportedError, match=r"malformed.*shape"):
        parse_cuda_array_interface(FakeCudaArray({"typestr": "<f8", "data": (8, False)}))

    class RequiresGrad:  # PyTorch raises RuntimeError from the property
        @property
        def __cuda_array_interface__(self) -> Any:
            raise RuntimeError("Can't get __cuda_array_interface__ on Variable that "
                               "requires grad")

    with pytest.raises(UnsupportedError, match="requires grad"):
        parse_cuda_array_interface(RequiresGrad())


class FakeDLPack:
    def __init__(self, device_type: int) -> None:
        self.device_type = device_type

    def __dlpack__(self, stream: Any = None) -> Any:
        raise AssertionError("hybridjit must not consume the capsule")

    def __dlpack_device__(self) -> tuple[int, int]:
        return (self.device_type, 0)


def test_dlpack_only_cuda_objects_get_a_clear_error():
    with pytest.raises(UnsupportedError, match="DLPack but not __cuda_array_interface__"):
        foreign_array(FakeDLPack(2))
    assert foreign_array(FakeDLPack(1)) is None  # a CPU tensor: the normal path

    @jit(target="cpu")
    def first(a):
        return a[0]

    with pytest.raises(UnsupportedError, match=r"argument 'a'.*DLPack") as info:
        first(FakeDLPack(2))
    assert "from_dlpack" in str(info.value)


def test_overlapping_groups_and_shadow_layout():
    base = 0x7000_0000
    x = parse_cuda_array_interface(cai((10,), ptr=base))
    tail = parse_cuda_array_interface(cai((9,), ptr=base + 8))
    other = parse_cuda_array_interface(cai((4,), ptr=base + 4096))
    odd = parse_cuda_array_interface(cai((5,), strides=(16,), ptr=base + 8, data=(base + 8, True)))
    assert None not in (x, tail, other, odd)
    arrays = [other, tail, x, odd]
    assert overlapping_groups(arrays) == [[2, 1, 3], [0]]  # type: ignore[arg-type]
    lo, nbytes, (vx, vtail, vodd) = shadow_views([x, tail, odd])  # type: ignore[list-item]
    assert (lo, nbytes) == (base, 80)
    assert vx.ctypes.data % interop.SHADOW_ALIGN == 0
    # shadow byte k is device byte lo + k: the same offsets and strides
    assert vtail.ctypes.data - vx.ctypes.data == 8 and vodd.strides == (16,)
    assert np.shares_memory(vx, vtail) and not vodd.flags.writeable and vx.flags.writeable


# -- the dispatcher without CUDA -------------------------------------------------------


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> str:
    """The CUDA device is unavailable (whatever the machine), with a known reason."""
    reason = "no NVIDIA driver (test)"
    monkeypatch.setitem(registry._devices, "cuda", None)
    monkeypatch.setitem(registry._reasons, "cuda", reason)
    return reason


def test_foreign_array_without_cuda_names_argument_and_reason(no_cuda: str):
    @jit(target="cpu")
    def total(n, values):
        s = 0.0
        for i in range(n):
            s += values[i]
        return s

    with pytest.raises(DeviceError) as info:
        total(4, cai((4,)))
    text = str(info.value)
    assert "total(): argument 'values'" in text and "CUDA array" in text
    assert no_cuda in text and "FakeCudaArray" in text
    assert total.compile_count == 0  # raised before compiling anything
    assert total(4, np.arange(4.0)) == 6.0  # host arrays are unaffected


def test_empty_foreign_array_needs_no_device(no_cuda: str):
    @jit(target="cpu")
    def size(a):
        return a.shape[0]

    assert size(cai((0,), ptr=0)) == 0


def test_bad_interface_names_the_argument():
    @jit(target="cpu")
    def first(a, b):
        return b[0]

    with pytest.raises(UnsupportedError, match=r"first\(\): argument 'b'.*mask"):
        first(np.zeros(2), cai((4,), mask=np.zeros(4)))


@needs_opencl
def test_opencl_device_array_has_no_cuda_interface(poisoned_opencl: Any):
    d = hybridjit.to_device(np.arange(4.0), "opencl")
    assert not hasattr(d, "__cuda_array_interface__")
    with pytest.raises(AttributeError, match="opencl"):
        d.__cuda_array_interface__  # noqa: B018
    assert foreign_array(d) is None


# -- adoption end to end on OpenCL --------------------------------------------------------


class ClMemory:
    """OpenCL buffers posing as CUDA memory: each gets a fake device address
    (``wrap_pointer`` of the OpenCL device is replaced by :meth:`wrap_pointer`)."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.buffers: dict[int, Buffer] = {}
        self.next_address = 1 << 40

    def array(self, data: Any, readonly: bool = False) -> StandInArray:
        data = np.ascontiguousarray(data)
        buf = self.device.alloc(data.nbytes)
        self.device.copy_in(buf, 0, data.reshape(-1).view(np.uint8))
        address = self.next_address
        self.next_address += (data.nbytes // 4096 + 1) * 4096
        self.buffers[address] = buf
        return StandInArray(self, address, address, data.shape, data.strides, data.dtype, readonly)

    def wrap_pointer(self, address: int, nbytes: int) -> Buffer:
        buf = self.buffers.get(address)
        if buf is None or nbytes > buf.nbytes:
            raise DeviceError(f"fake: no buffer starts at {address:#x}")
        return Buffer(buf.handle, nbytes, self.device, owned=False)

    def raw(self, base: int) -> np.ndarray:
        buf = self.buffers[base]
        out = np.empty(buf.nbytes, np.uint8)
        self.device.copy_out(buf, 0, out)
        return out


class StandInArray:
    """A CuPy stand-in: ``__cuda_array_interface__`` over a buffer of a
    ClMemory or an EmuMemory (whose ``raw(base)`` reads the buffer at ``base``)."""

    def __init__(self, mem: ClMemory | EmuMemory, base: int, pointer: int,
                 shape: tuple[int, ...], strides: tuple[int, ...], dtype: np.dtype,
                 readonly: bool, stream: int | None = None) -> None:
        self.mem, self.base, self.pointer = mem, base, pointer
        self.shape, self.strides, self.dtype, self.readonly = shape, strides, dtype, readonly
        self.stream = stream

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        return {"shape": self.shape, "typestr": self.dtype.str, "version": 3,
                "data": (self.pointer, self.readonly), "strides": self.strides,
                "stream": self.stream}

    def _layout(self, raw: np.ndarray) -> np.ndarray:
        return np.ndarray(self.shape, self.dtype, buffer=raw, offset=self.pointer - self.base,
                          strides=self.strides)

    def get(self) -> np.ndarray:
        """The current device contents (like ``cupy.asnumpy``)."""
        return self._layout(self.mem.raw(self.base)).copy()

    def __getitem__(self, key: Any) -> StandInArray:
        # the view's layout only: reading the device here would be a transfer
        raw = np.empty(self.mem.buffers[self.base].nbytes, np.uint8)
        view = self._layout(raw)[key]
        pointer = self.base + view.ctypes.data - raw.ctypes.data
        return StandInArray(self.mem, self.base, pointer, view.shape, view.strides, self.dtype,
                            self.readonly, self.stream)


@pytest.fixture
def clmem(poisoned_opencl: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClMemory]:
    """Foreign "CUDA" arrays live on the OpenCL device: the "cuda" memory
    manager is the OpenCL one and the device wraps fake pointers."""
    manager = registry.get_memory_manager("opencl")
    assert manager is not None
    manager.debug = True  # check the coherence invariants after every step
    mem = ClMemory(poisoned_opencl)
    monkeypatch.setitem(registry._managers, "cuda", manager)
    monkeypatch.setattr(poisoned_opencl, "wrap_pointer", mem.wrap_pointer)
    yield mem
    # no adopted mirror outlives its call, and the foreign memory is never freed
    assert all(m.buffer.owned for m in manager.mirrors)
    assert all(buf.handle is not None for buf in mem.buffers.values())


def _moved(fn: Any) -> tuple[int, int]:
    st = fn.last_stats
    return st["bytes_to_device"], st["bytes_to_host"]


# kernels of the end-to-end tiers (each compiles them for its target)


def add(a, b, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] + b[i]


def bump_then_host(a):
    for i in prange(a.shape[0]):
        a[i] = a[i] + 1.0
    a[0] = 100.0 + a[1]


def scale_and_sum(a, factor):
    for i in prange(a.shape[0]):
        a[i] = a[i] * factor
    s = 0.0
    for i in range(a.shape[0]):  # host code reads the kernel's results
        s += a[i]
    return s


bump_cpu = jit(target="cpu")(loop_kernels.bump)


def double_into(a, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] * 2.0


def write_evens_on_host(a):
    for i in prange(a.shape[0]):
        a[i] = a[i] + 0.5
    for i in range(1, a.shape[0]):  # a running sum: serial, on the host
        a[i] = a[i] + a[i - 1]


def shift(a, b):
    for i in range(a.shape[0]):  # parallel only if a and b do not overlap
        a[i] = b[i] + 1.0


def fill_and_return(a, value):
    for i in prange(a.shape[0]):
        a[i] = value
    return a


@jit(target="cpu")
def read_only_sum(a):
    s = 0
    for i in range(a.shape[0]):
        s += a[i]
    return s


@needs_opencl
def test_adopt_and_release_directly(clmem: ClMemory):
    manager = registry.get_memory_manager("opencl")
    assert manager is not None
    data = np.arange(10, dtype=np.float32)
    x = clmem.array(data)
    f = foreign_array(x[2:])
    assert f is not None
    with pytest.raises(DeviceError, match="fake: no buffer"):
        interop.adopt([f], manager)  # the fake cannot wrap an inner pointer
    (d,) = interop.adopt([foreign_array(x)], manager)  # type: ignore[list-item]
    mirror = d.mirror
    assert not mirror.buffer.owned and not mirror.host_valid
    np.testing.assert_array_equal(d.to_host(), data)  # reads copy the stale shadow back
    manager.prepare_host_access(d, write=True)
    d.host_storage[:] = -data
    interop.release([d])
    assert manager.mirror_of(d) is None
    np.testing.assert_array_equal(x.get(), -data)


@needs_opencl
def test_memory_manager_adopt_rejects_misuse(clmem: ClMemory):
    manager = registry.get_memory_manager("opencl")
    assert manager is not None
    x = clmem.array(np.zeros(4))
    buffer = clmem.wrap_pointer(x.base, 32)
    too_big = np.zeros(8)
    with pytest.raises(hybridjit.InternalError, match="64 bytes adopted from a 32-byte"):
        manager.adopt([too_big], buffer)
    shadow = np.zeros(4)
    manager.adopt([shadow], buffer)
    with pytest.raises(hybridjit.InternalError, match="overlaps"):
        manager.adopt([shadow[1:]], buffer)
    manager.discard(shadow)
    assert buffer.handle is not None  # not owned: never freed


bump_on_cuda = jit(target="cuda")(loop_kernels.bump)
bump_opencl = jit(target="opencl")(loop_kernels.bump)


@needs_opencl
def test_device_array_of_another_device_is_brought_home(poisoned_opencl: Any, no_cuda: str):
    # regression: a target="cuda" function (no CUDA here: its regions run on
    # the host) given an OpenCL DeviceArray read its stale host copy
    d = hybridjit.to_device(np.zeros(6), "opencl")
    bump_cpu(d)  # newest data now on the host...
    bump_opencl(d)  # ...and then only on the OpenCL device
    bump_on_cuda(d)
    np.testing.assert_array_equal(d.to_host(), np.full(6, 3.0))


# -- the CUDA device with the fake driver -------------------------------------------------


def _fake_driver_class() -> Any:
    pytest.importorskip("test_runtime_cuda")
    from test_runtime_cuda import FakeDriver

    class InteropDriver(FakeDriver):  # type: ignore[misc,valid-type]
        """Adds pointer queries and events; known pointers are ``foreign``
        (address -> ordinal) and the driver's own allocations."""

        CUstream = int
        CUpointer_attribute = SimpleNamespace(CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL="ordinal")

        def __init__(self) -> None:
            super().__init__()
            self.foreign: dict[int, int] = {}
            self.events: list[tuple[str, Any]] = []
            self.freed: list[int] = []

        def cuPointerGetAttribute(self, attribute: str, ptr: int) -> Any:
            for base, mem in self.memory.items():
                if base <= int(ptr) < base + mem.nbytes:
                    return (0, 0)
            if int(ptr) in self.foreign:
                return (0, self.foreign[int(ptr)])
            return (1, None)  # CUDA_ERROR_INVALID_VALUE

        def cuMemFree(self, p: int) -> Any:
            self.freed.append(int(p))
            return super().cuMemFree(p)

        def cuEventCreate(self, flags: int) -> Any:
            self.events.append(("create", flags))
            return (0, "event")

        def cuEventRecord(self, event: Any, stream: Any) -> Any:
            self.events.append(("record", stream))
            return (0,)

        def cuStreamWaitEvent(self, stream: Any, event: Any, flags: int) -> Any:
            self.events.append(("wait", stream))
            return (0,)

        def cuEventDestroy(self, event: Any) -> Any:
            self.events.append(("destroy", event))
            return (0,)

    return InteropDriver


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A CUDA device on the fake driver, registered as this process's "cuda"
    device with its memory manager (debug checks on)."""
    from hybridjit.runtime import cuda as cuda_rt

    driver = _fake_driver_class()()
    monkeypatch.setattr(cuda_rt, "_driver", lambda: driver)
    monkeypatch.setattr(cuda_rt, "_driver_library_present", lambda: True)
    device = cuda_rt.CUDADevice(poison_byte=0xFF)
    manager = MemoryManager(device, debug=True)
    monkeypatch.setitem(registry._devices, "cuda", device)
    monkeypatch.setitem(registry._managers, "cuda", manager)
    yield SimpleNamespace(driver=driver, device=device, manager=manager)
    manager.close()


class HostBackedCudaArray:
    """A "CUDA" array whose device memory is host memory (the fake driver's model)."""

    def __init__(self, memory: np.ndarray, driver: Any, stream: int | None = None) -> None:
        self.memory = memory
        self.stream = stream
        driver.foreign[memory.ctypes.data] = 0

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        m = self.memory
        return {"shape": m.shape, "typestr": m.dtype.str, "data": (m.ctypes.data, False),
                "strides": None if m.flags.c_contiguous else m.strides, "version": 3,
                "stream": self.stream}


def test_fake_cuda_wrap_pointer_checks_and_never_frees(fake_cuda: Any):
    device, driver = fake_cuda.device, fake_cuda.driver
    memory = np.zeros(4)
    driver.foreign[memory.ctypes.data] = 0
    buf = device.wrap_pointer(memory.ctypes.data, 32)
    assert not buf.owned and int(buf.handle) == memory.ctypes.data
    device.free(buf)
    assert not driver.freed
    with pytest.raises(DeviceError, match=r"cuPointerGetAttribute failed.*not CUDA memory"):
        device.wrap_pointer(0x1234_5678_0000, 8)
    driver.foreign[0x1000] = 1
    with pytest.raises(DeviceError, match="on GPU 1, but hybridjit uses GPU 0"):
        device.wrap_pointer(0x1000, 8)


def test_fake_cuda_waits_for_foreign_streams(fake_cuda: Any):
    device, driver = fake_cuda.device, fake_cuda.driver
    device.wait_for_stream(1)  # legacy default stream: our blocking stream waits already
    assert driver.events == []
    device.wait_for_stream(0xBEEF)
    assert driver.events == [("create", 2), ("record", 0xBEEF), ("wait", "stream"),
                             ("destroy", "event")]


@pytest.mark.parametrize("op,call", [("alloc", "cuMemAlloc"), ("copy", "cuMemcpyHtoDAsync")])
def test_fake_cuda_fault_injection(fake_cuda: Any, op: str, call: str):
    device = fake_cuda.device
    buf = device.alloc(8)
    with registry.inject_faults(op), pytest.raises(DeviceError, match=f"{call} failed: injected"):
        if op == "alloc":
            device.alloc(8)
        else:
            device.copy_in(buf, 0, np.zeros(1))
    device.free(buf)


def test_fake_cuda_launch_and_build_faults(fake_cuda: Any):
    device = fake_cuda.device
    with registry.inject_faults("build"), pytest.raises(DeviceError, match="cuModuleLoadData"):
        device.build("extern \"C\" __global__ void k() {}")
    with registry.inject_faults("launch"), pytest.raises(DeviceError, match="cuLaunchKernel"):
        device.launch(object(), "k", (1,), [])  # type: ignore[arg-type]


def test_fake_cuda_device_array_exports_the_interface(fake_cuda: Any):
    manager = fake_cuda.manager
    d = DeviceArray.from_host(np.arange(6, dtype=np.float32).reshape(2, 3), manager)
    iface = d.__cuda_array_interface__
    assert iface["version"] == 3 and iface["stream"] is None and iface["strides"] is None
    assert iface["shape"] == (2, 3) and iface["typestr"] == "<f4"
    pointer, readonly = iface["data"]
    assert not readonly
    assert pointer == int(d.mirror.buffer.handle) + d.mirror.offset_of(d.host_storage)
    device_bytes = np.frombuffer(ctypes.string_at(pointer, 24), np.float32)
    np.testing.assert_array_equal(device_bytes, np.arange(6))
    # host-newer bytes are flushed first; then the consumer may write the memory
    manager.prepare_host_access(d, write=True)
    d.host_storage[0, 0] = 42.0
    d.__cuda_array_interface__  # noqa: B018
    assert np.frombuffer(ctypes.string_at(pointer, 4), np.float32)[0] == 42.0
    ctypes.memmove(pointer + 4, np.float32(-1.0).tobytes(), 4)  # a CuPy kernel writes
    np.testing.assert_array_equal(d.to_host(), [[42.0, -1.0, 2.0], [3.0, 4.0, 5.0]])
    # our own parser reads what we export
    f = parse_cuda_array_interface(d)
    assert f is not None and f.pointer == pointer and f.c_contiguous


def test_fake_cuda_foreign_argument_end_to_end(fake_cuda: Any):
    driver = fake_cuda.driver
    memory = np.arange(10, dtype=np.float64)  # the "GPU" memory of a foreign array
    x = HostBackedCudaArray(memory, driver, stream=0xBEEF)
    expect = memory.copy()
    assert bump_cpu(x) is None
    bump_cpu.py_func(expect)
    np.testing.assert_array_equal(memory, expect)  # written back in place
    assert ("record", 0xBEEF) in driver.events  # the producer's stream was waited for
    assert not fake_cuda.manager.mirrors and not driver.freed
    assert read_only_sum(HostBackedCudaArray(np.arange(5), driver)) == 10


def test_fake_cuda_dispatch_hook_with_foreign_arrays_on_the_host(fake_cuda: Any):
    # a target="cuda" function whose launches fail (the fake GPU runs no
    # kernels): the region falls back to the host, the results are still right
    driver = fake_cuda.driver
    memory = np.arange(8, dtype=np.float64)
    x = HostBackedCudaArray(memory, driver)
    with warnings.catch_warnings(), registry.inject_faults("launch"):
        warnings.simplefilter("ignore", HybridJitWarning)
        try:
            bump_on_cuda(x)
        finally:
            offload.FALLBACKS.clear()
    np.testing.assert_array_equal(memory, np.arange(8) + 1.0)
    gc.collect()
    assert not fake_cuda.manager.mirrors


# -- the CUDA device on the emulated driver ------------------------------------------------


class EmuMemory:
    """Device memory of the emulated CUDA driver (conftest's cuda-emu),
    allocated and filled through the CUDADevice as another library would:
    foreign arrays over it are real device memory of this process, so
    ``wrap_pointer``'s check, the generated kernels and every copy act on it,
    under the emulator's bounds and guard-byte checks."""

    #: the driver calls :attr:`calls` records (a launch, or moving or allocating memory)
    WATCHED = ("cuMemAlloc", "cuMemcpyHtoDAsync", "cuMemcpyDtoHAsync", "cuMemcpy2DAsync",
               "cuStreamWaitEvent", "cuLaunchKernel", "cuPointerGetAttribute")

    def __init__(self, device: Any, driver: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.device, self.driver = device, driver
        self.buffers: dict[int, Buffer] = {}
        self.sources: list[np.ndarray] = []  # host data a producer's copy still reads
        self.calls: list[str] = []
        for name in self.WATCHED:
            monkeypatch.setattr(driver, name, self._recording(name, getattr(driver, name)))

    def _recording(self, name: str, call: Any) -> Any:
        def recorded(*args: Any) -> Any:
            self.calls.append(name)
            return call(*args)
        return recorded

    def moves(self) -> list[str]:
        """The recorded calls that allocate or copy memory (not launches,
        waits or pointer checks)."""
        return [c for c in self.calls
                if c not in ("cuLaunchKernel", "cuStreamWaitEvent", "cuPointerGetAttribute")]

    def array(self, data: Any, readonly: bool = False, stream: int | None = None) -> StandInArray:
        """A foreign array holding ``data``; with ``stream``, filled by an
        asynchronous copy on that (producer's) stream nobody has waited for."""
        data = np.ascontiguousarray(data)
        buf = self.device.alloc(data.nbytes)
        base = int(buf.handle)
        raw = data.reshape(-1).view(np.uint8)
        if stream is None:
            self.device.copy_in(buf, 0, raw)
        else:
            self.device.synchronize()  # the poison fill is on hybridjit's stream
            result = self.driver.cuMemcpyHtoDAsync(base, raw.ctypes.data, raw.nbytes, stream)
            assert int(result[0]) == 0, result
            self.sources.append(raw)
        self.buffers[base] = buf
        return StandInArray(self, base, base, data.shape, data.strides, data.dtype, readonly,
                            stream)

    def raw(self, base: int) -> np.ndarray:
        buf = self.buffers[base]
        out = np.empty(buf.nbytes, np.uint8)
        self.device.copy_out(buf, 0, out)
        return out

    def free_all(self) -> None:
        """cuMemFree every buffer (the emulator checks its guard bytes then),
        after checking hybridjit freed none: the memory is the producer's."""
        for base, buf in self.buffers.items():
            assert base in self.driver.allocations, f"hybridjit freed foreign memory at {base:#x}"
            self.device.free(buf)
        self.buffers.clear()


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmuMemory]:
    """The CUDA device on the emulated driver, fresh, poisoned, with the
    memory manager's debug checks; a region falling back to the CPU fails
    the test (a fallback would hide a broken kernel)."""
    from hybridjit.runtime import cuda as cuda_rt

    fresh_device("cuda-emu", monkeypatch)
    device = registry.get_device("cuda")
    manager = registry.get_memory_manager("cuda")
    assert device is not None and manager is not None, registry.availability("cuda").reason
    assert device.poison_byte == 0xFF and manager.debug
    mem = EmuMemory(device, cuda_rt._driver(), monkeypatch)
    yield mem
    fallbacks = list(offload.FALLBACKS)
    # no adopted mirror outlives its call
    assert all(m.buffer.owned for m in manager.mirrors)
    mem.free_all()
    registry.reset()
    assert not fallbacks, f"regions fell back to the CPU: {fallbacks}"


def on_cuda(fn: Any) -> Any:
    """A kernel of this file (or loop_kernels) compiled afresh for the CUDA
    device, so its ``last_stats`` belong to the test."""
    return jit(getattr(fn, "py_func", fn), target="cuda")


def _targets(fn: Any) -> list[str]:
    return [r["target"] for r in fn.last_stats["regions"]]


def test_emu_kernels_use_foreign_memory_in_place(emu: EmuMemory):
    fn = on_cuda(add)
    rng = np.random.default_rng(1)
    a, b = rng.random(100), rng.random(100)
    err, producer = emu.driver.cuStreamCreate(0)
    assert int(err) == 0
    fa, fb = emu.array(a), emu.array(b, stream=producer)
    fout = emu.array(np.full(100, -1.0))
    manager = registry.get_memory_manager("cuda")
    assert manager is not None
    before = manager.stats.copy()
    emu.calls.clear()
    for _ in range(3):
        fn(fa, fb, fout)
        assert _targets(fn) == ["cuda"]
        assert _moved(fn) == (0, 0) and fn.last_stats["launches"] == 1
    # the driver saw launches and waits for the producer's stream, nothing else:
    # no allocation, no copy, in either direction
    assert emu.moves() == []
    assert emu.calls.count("cuLaunchKernel") == 3
    assert emu.calls.count("cuStreamWaitEvent") == 3
    assert emu.calls.count("cuPointerGetAttribute") == 9  # each array wrapped once per call
    assert (manager.stats - before).bytes_to_device == 0
    assert (manager.stats - before).bytes_to_host == 0
    np.testing.assert_array_equal(fout.get(), a + b)


def test_emu_strided_and_reversed_views_in_place(emu: EmuMemory):
    fn = on_cuda(double_into)
    data = np.arange(20, dtype=np.float64)
    x = emu.array(data)
    out = emu.array(np.zeros(20))
    emu.calls.clear()
    fn(x[::-1], out)  # negative stride: element 0 is the buffer's last
    assert _moved(fn) == (0, 0) and emu.moves() == []
    np.testing.assert_array_equal(out.get(), data[::-1] * 2.0)
    fn(x[:10], out[::2])  # a strided output: odd elements untouched
    assert _targets(fn) == ["cuda"] and _moved(fn) == (0, 0)
    got = out.get()
    np.testing.assert_array_equal(got[::2], data[:10] * 2.0)
    np.testing.assert_array_equal(got[1::2], (data[::-1] * 2.0)[1::2])
    fn(x[4:14], out[6:16])  # pointers inside the allocations, not at their start
    assert _targets(fn) == ["cuda"] and _moved(fn) == (0, 0)
    got[6:16] = data[4:14] * 2.0
    np.testing.assert_array_equal(out.get(), got)


def test_emu_jacobi_on_strided_2d_views(emu: EmuMemory):
    fn = on_cuda(loop_kernels.jacobi)
    rng = np.random.default_rng(4)
    a0, b0 = rng.random((12, 10)), rng.random((24, 11))
    fa, fb = emu.array(a0), emu.array(b0)
    # reversed rows with a column step, and every other row with reversed columns
    fn(fa[::-1, ::2], fb[::2, 9::-2], 3)
    assert _targets(fn) == ["cuda", "cuda"] and fn.last_stats["launches"] == 6
    assert _moved(fn) == (0, 0)
    a_py, b_py = a0.copy(), b0.copy()
    loop_kernels.jacobi(a_py[::-1, ::2], b_py[::2, 9::-2], 3)
    # whole buffers: the elements between the views' are untouched too
    np.testing.assert_allclose(fa.get(), a_py, rtol=1e-12)
    np.testing.assert_allclose(fb.get(), b_py, rtol=1e-12)


def test_emu_aliasing_foreign_arguments(emu: EmuMemory):
    fn = on_cuda(shift)
    data = np.arange(12, dtype=np.float64)
    x = emu.array(data)
    fn(x[1:], x[:-1])  # overlapping: Python's serial meaning, a running sum
    expect = data.copy()
    shift(expect[1:], expect[:-1])
    np.testing.assert_array_equal(x.get(), expect)
    y, z = emu.array(data), emu.array(np.zeros(12))
    fn(z, y)  # distinct: runs on the device, in place
    assert _targets(fn) == ["cuda"] and _moved(fn) == (0, 0)
    np.testing.assert_array_equal(z.get(), data + 1.0)
    # Arguments sharing memory never run on a device (the host code keeps
    # coherence per argument): the host-only version runs.  Its prange loop
    # stays parallel, without a warning, for the very same view (each
    # element read and written by one iteration) and for views that do not
    # overlap.
    add_fn = on_cuda(add)
    w = emu.array(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        add_fn(w, w, w)  # one array three times
        add_fn(w[:6], w[6:], w[6:])  # two views inside one allocation
    expect = data.copy()
    add(expect, expect, expect)
    add(expect[:6], expect[6:], expect[6:])
    np.testing.assert_array_equal(w.get(), expect)


def test_emu_host_reads_copy_back_and_host_writes_reach_the_device(emu: EmuMemory):
    fn = on_cuda(bump_then_host)
    n = 40
    data = np.arange(n, dtype=np.float64)
    fa = emu.array(data)
    expect = data.copy()
    for _ in range(2):
        fn(fa)
        bump_then_host(expect)
        np.testing.assert_array_equal(fa.get(), expect)
    # the host write needs the kernel's results, and its bytes go back
    assert _moved(fn) == (n * 8, n * 8)
    summed = on_cuda(scale_and_sum)
    fb = emu.array(data)
    assert summed(fb, 3.0) == scale_and_sum(data.copy(), 3.0)
    np.testing.assert_array_equal(fb.get(), data * 3.0)
    assert _moved(summed) == (0, n * 8)  # read back once, nothing to write back


@pytest.mark.parametrize("kernel,target", [(loop_kernels.prefix_sum, "cuda"),
                                          (loop_kernels.bump, "cpu")],
                         ids=["host-only-code-on-cuda-target", "cpu-target"])
def test_emu_host_only_functions_on_foreign_arrays(emu: EmuMemory, kernel: Any, target: str):
    fn = jit(kernel, target=target)
    data = np.linspace(0.0, 1.0, 17)
    fa = emu.array(data)
    expect = data.copy()
    fn(fa)
    kernel(expect)
    np.testing.assert_array_equal(fa.get(), expect)
    strided = emu.array(np.arange(16, dtype=np.float64))
    on_cuda(write_evens_on_host)(strided[::2])
    expect = np.arange(16, dtype=np.float64)
    write_evens_on_host(expect[::2])
    np.testing.assert_array_equal(strided.get(), expect)  # the gaps are left alone


def test_emu_returned_argument_is_the_foreign_object_and_readonly_is_kept(emu: EmuMemory):
    fill = on_cuda(fill_and_return)
    x = emu.array(np.zeros(8))
    assert fill(x, 7.0) is x
    np.testing.assert_array_equal(x.get(), np.full(8, 7.0))
    ro = emu.array(np.arange(6, dtype=np.int64), readonly=True)
    emu.calls.clear()
    assert read_only_sum(ro) == 15
    # read back for the host, never written back: the producer said read-only
    assert "cuMemcpyHtoDAsync" not in emu.calls and "cuMemcpyDtoHAsync" in emu.calls
    with pytest.raises(ValueError, match="read-only"):
        fill(ro, 1.0)
    np.testing.assert_array_equal(ro.get(), np.arange(6))
    # kernels read read-only foreign memory in place
    add_fn = on_cuda(add)
    ro_f8 = emu.array(np.arange(6, dtype=np.float64), readonly=True)
    add_fn(ro_f8, ro_f8, x[:6])
    assert _targets(add_fn) == ["cuda"] and _moved(add_fn) == (0, 0)
    np.testing.assert_array_equal(x.get(), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 7.0, 7.0])


def test_emu_device_fault_falls_back_and_keeps_foreign_memory_correct(emu: EmuMemory):
    fn = on_cuda(bump_then_host)
    data = np.arange(30, dtype=np.float64)
    x = emu.array(data)
    expect = data.copy()
    with pytest.warns(HybridJitWarning, match="cuLaunchKernel"), registry.inject_faults("launch"):
        fn(x)
    offload.FALLBACKS.clear()
    bump_then_host(expect)
    np.testing.assert_array_equal(x.get(), expect)


def test_emu_device_array_interface_round_trip(emu: EmuMemory):
    data = np.arange(10, dtype=np.float64)
    d = hybridjit.to_device(data, "cuda")
    iface = d.__cuda_array_interface__
    pointer = iface["data"][0]
    assert pointer == int(d.mirror.buffer.handle) + d.mirror.offset_of(d.host_storage)
    emu.driver.allocation_of(pointer, d.nbytes, "DeviceArray interface")  # real device memory
    # another library's view of d's memory (as cupy.asarray(d) makes), passed back in
    fn = on_cuda(add)
    e = hybridjit.to_device(np.zeros(10), "cuda")
    emu.calls.clear()
    fn(FakeCudaArray(iface), d, e)
    assert _targets(fn) == ["cuda"] and _moved(fn) == (0, 0) and emu.moves() == []
    np.testing.assert_array_equal(e.to_host(), data * 2.0)
    # writes through the foreign view are d's data (the interface made d's
    # host copy stale), on the device and from host code
    bump = on_cuda(loop_kernels.bump)
    bump(FakeCudaArray(d.__cuda_array_interface__))
    assert _moved(bump) == (0, 0)
    np.testing.assert_array_equal(d.to_host(), data + 1.0)
    host = on_cuda(bump_then_host)
    host(FakeCudaArray(d.__cuda_array_interface__))
    expect = data + 1.0
    bump_then_host(expect)
    np.testing.assert_array_equal(np.asarray(d), expect)
    # and our own parser reads what we export
    f = parse_cuda_array_interface(d)
    assert f is not None and f.pointer == pointer and f.c_contiguous and f.stream is None


def _call_with_a_host_pointer() -> str:
    """add(a, b, out) with ``b`` host memory posing as a CUDA array (``a`` and
    ``out`` host arrays): the DeviceError's text, after checking that nothing
    ran and nothing stayed adopted."""
    fn = on_cuda(add)
    host = np.arange(4, dtype=np.float64)
    out = np.zeros(4)
    with pytest.raises(DeviceError) as info:
        fn(np.ones(4), cai((4,), ptr=host.ctypes.data), out)
    manager = registry.get_memory_manager("cuda")
    assert manager is not None and not manager.mirrors
    np.testing.assert_array_equal(out, np.zeros(4))  # nothing ran
    np.testing.assert_array_equal(host, np.arange(4))
    return str(info.value)


def test_emu_pointer_that_is_not_device_memory_is_refused(emu: EmuMemory):
    text = _call_with_a_host_pointer()
    assert "cuPointerGetAttribute failed" in text and "not CUDA memory" in text


def test_emu_pointer_that_is_not_device_memory_names_the_argument(emu: EmuMemory):
    assert "add(): argument 'b'" in _call_with_a_host_pointer()


def test_emu_refused_pointer_leaves_no_adopted_mirror(emu: EmuMemory):
    fn = on_cuda(add)
    a, out = emu.array(np.ones(4)), emu.array(np.zeros(4))
    # above every allocation: a and out, lower, are adopted before it is refused
    bad = max(emu.driver.allocations) + (1 << 30)
    with pytest.raises(DeviceError, match="cuPointerGetAttribute") as info:
        fn(a, cai((4,), ptr=bad), out)
    manager = registry.get_memory_manager("cuda")
    assert manager is not None
    left = [m.nbytes for m in manager.mirrors if not m.buffer.owned]
    np.testing.assert_array_equal(out.get(), np.zeros(4))  # nothing ran
    # the exception's frames hold the adopted arrays: once they go, so do the
    # mirrors (so that the fixture's own check sees a clean manager)
    del info
    gc.collect()
    assert not manager.mirrors
    assert left == [], f"adopted mirrors of {left} bytes outlived the failed call"


# -- a real GPU ----------------------------------------------------------------------------


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    avail = registry.availability("cuda")
    if not avail.available:
        pytest.skip(f"CUDA unavailable: {avail.reason}")
    cupy = pytest.importorskip("cupy")
    monkeypatch.setenv("HYBRIDJIT_POISON", "1")
    registry.reset()
    offload.FALLBACKS.clear()
    yield cupy
    fallbacks = list(offload.FALLBACKS)
    registry.reset()
    assert not fallbacks, f"regions fell back to the CPU: {fallbacks}"


add_cuda = jit(target="cuda")(add)
bump_then_host_cuda = jit(target="cuda")(bump_then_host)


@pytest.mark.cuda
def test_gpu_cupy_arrays_are_used_in_place(gpu: Any):
    cupy = gpu
    n = 100_000
    a = cupy.arange(n, dtype=cupy.float64)
    b = cupy.full(n, 0.5)
    out = cupy.zeros(n)
    pointer = out.data.ptr
    for _ in range(2):
        add_cuda(a, b, out)
        assert [r["target"] for r in add_cuda.last_stats["regions"]] == ["cuda"]
        assert _moved(add_cuda) == (0, 0)
    assert out.data.ptr == pointer
    np.testing.assert_array_equal(cupy.asnumpy(out), np.arange(n) + 0.5)
    # strided and reversed CuPy views, in place
    add_cuda(a[::-2], b[: n // 2], out[1::2])
    expect = np.arange(n) + 0.5
    expect[1::2] = np.arange(n)[::-2] + 0.5
    np.testing.assert_array_equal(cupy.asnumpy(out), expect)


@pytest.mark.cuda
def test_gpu_cupy_host_writes_reach_the_gpu(gpu: Any):
    cupy = gpu
    x = cupy.arange(50, dtype=cupy.float64)
    expect = np.arange(50, dtype=np.float64)
    bump_then_host_cuda(x)
    bump_then_host_cuda.py_func(expect)
    np.testing.assert_array_equal(cupy.asnumpy(x), expect)


@pytest.mark.cuda
def test_gpu_torch_tensor_is_used_in_place(gpu: Any):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    a = torch.arange(1000, dtype=torch.float64, device="cuda")
    b = torch.ones(1000, dtype=torch.float64, device="cuda")
    out = torch.zeros(1000, dtype=torch.float64, device="cuda")
    add_cuda(a, b, out)
    assert _moved(add_cuda) == (0, 0)
    np.testing.assert_array_equal(out.cpu().numpy(), np.arange(1000) + 1.0)


@pytest.mark.cuda
def test_gpu_cupy_asarray_shares_device_array_memory(gpu: Any):
    cupy = gpu
    d = hybridjit.to_device(np.arange(10, dtype=np.float64), "cuda")
    c = cupy.asarray(d)
    assert c.data.ptr == d.__cuda_array_interface__["data"][0]
    c *= 2.0  # CuPy writes the memory in place
    cupy.cuda.get_current_stream().synchronize()
    np.testing.assert_array_equal(d.to_host(), np.arange(10) * 2.0)
    e = hybridjit.to_device(np.zeros(10), "cuda")
    add_cuda(d, d, e)  # and hybridjit keeps using it in place
    assert _moved(add_cuda) == (0, 0)
    np.testing.assert_array_equal(cupy.asarray(e).get(), np.arange(10) * 4.0)
