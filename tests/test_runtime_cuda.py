"""The CUDA device and NVRTC.

Three tiers: NVRTC tests run wherever the pip wheels are installed (no GPU
needed); ``CUDADevice`` tests against ``FakeDriver`` check our use of the
driver API (argument packing, copies, poison, launch geometry, error
reporting) on any machine, with host memory standing in for device memory;
``@pytest.mark.cuda`` tests run on a real GPU and skip with the probe's reason
elsewhere.
"""

from __future__ import annotations

import ctypes
import enum
import os
import subprocess
import sys
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from hybridjit.errors import DeviceError, HybridJitWarning, InternalError
from hybridjit.runtime import cuda as cuda_rt
from hybridjit.runtime import nvrtc
from hybridjit.runtime.device import KernelArg

SCALE_SRC = """
extern "C" __global__ void scale_{T}({T}* a, {T} factor, int n) {{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) a[i] = a[i] * factor;
}}
"""

ADD2D_SRC = """
extern "C" __global__ void add2d(const double* a, double* b, long long rows, long long cols) {
    long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    long long i = blockIdx.y * (long long)blockDim.y + threadIdx.y;
    if (i < rows && j < cols) b[i * cols + j] = a[i * cols + j] + (double)i * 1000.0 + j;
}
"""

needs_nvrtc = pytest.mark.skipif(
    not nvrtc.nvrtc_available().available, reason=nvrtc.nvrtc_available().reason
)


@pytest.fixture
def cache_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def compile_counter(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the arch of every real NVRTC compilation."""
    calls: list[str] = []
    real = nvrtc._nvrtc_compile

    def counting(source: str, name: str, arch: str, options: Any, kind: str) -> bytes:
        calls.append(arch)
        return real(source, name, arch, options, kind)

    monkeypatch.setattr(nvrtc, "_nvrtc_compile", counting)
    return calls


# --------------------------------------------------------------------------- no GPU needed


def test_importing_does_not_import_cuda_bindings() -> None:
    code = (
        "import sys, hybridjit.runtime.cuda, hybridjit.runtime.nvrtc, hybridjit.doctor\n"
        "assert not any(m.startswith('cuda') for m in sys.modules), sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=_subprocess_env())


def _subprocess_env() -> dict[str, str]:
    import hybridjit

    src = os.path.dirname(next(iter(hybridjit.__path__)))  # the directory holding the package
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


def test_probe_never_raises_and_gives_a_reason() -> None:
    avail = cuda_rt.probe()
    assert avail.reason
    if not avail.available:
        assert "CUDA" in avail.reason or "NVIDIA" in avail.reason or "NVRTC" in avail.reason


def test_probe_without_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cuda_rt, "_driver_library_present", lambda: False)
    avail = cuda_rt.probe()
    assert not avail.available
    assert avail.reason == "no NVIDIA driver (libcuda.so.1 not found)"


def test_probe_driver_without_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDriver()
    fake.fail["cuInit"] = CUresult.CUDA_ERROR_NO_DEVICE
    _install(monkeypatch, fake)
    avail = cuda_rt.probe()
    assert not avail.available and avail.reason.startswith("no CUDA device")


def test_probe_when_bindings_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDriver()

    def broken_init(flags: int) -> Any:
        raise RuntimeError("symbol not found")

    fake.cuInit = broken_init  # type: ignore[method-assign]
    _install(monkeypatch, fake)
    avail = cuda_rt.probe()
    assert not avail.available and "symbol not found" in avail.reason


@needs_nvrtc
@pytest.mark.parametrize("ctype", ["float", "double"])
def test_nvrtc_compiles_to_ptx(ctype: str, cache_dir: Any) -> None:
    ptx = nvrtc.compile_to_ptx(SCALE_SRC.format(T=ctype), "scale.cu", "compute_80")
    assert f".entry scale_{ctype}" in ptx
    assert (".f64" in ptx) == (ctype == "double")
    assert ".target sm_80" in ptx


@needs_nvrtc
def test_nvrtc_compiles_to_cubin(cache_dir: Any) -> None:
    cubin = nvrtc.compile_to_cubin(SCALE_SRC.format(T="float"), "scale.cu", "sm_90")
    assert cubin.startswith(b"\x7fELF")


@needs_nvrtc
def test_nvrtc_syntax_error_raises_device_error(cache_dir: Any) -> None:
    bad = 'extern "C" __global__ void broken(float* a) { a[0] = ; }'
    with pytest.raises(DeviceError) as info:
        nvrtc.compile_to_ptx(bad, "broken.cu")
    message = str(info.value)
    assert "nvrtcCompileProgram failed" in message
    assert "broken.cu" in message and "error" in message
    assert len(message.splitlines()) <= nvrtc.LOG_LINES + 3


@needs_nvrtc
def test_nvrtc_cache_hit_skips_compilation(cache_dir: Any, compile_counter: list[str]) -> None:
    src = SCALE_SRC.format(T="float")
    first = nvrtc.compile_to_ptx(src, "scale.cu", "compute_80")
    second = nvrtc.compile_to_ptx(src, "scale.cu", "compute_80")
    assert first == second
    assert compile_counter == ["compute_80"]
    assert len(list((cache_dir / "nvrtc").glob("*.bin"))) == 1
    nvrtc.compile_to_ptx(src, "scale.cu", "compute_90")  # the arch is part of the key
    nvrtc.compile_to_ptx(src, "scale.cu", "compute_90", ["--fmad=false"])  # and options
    assert compile_counter == ["compute_80", "compute_90", "compute_90"]


@needs_nvrtc
def test_cache_key_includes_nvrtc_version(monkeypatch: pytest.MonkeyPatch) -> None:
    key = nvrtc.cache_key("src", "n.cu", "compute_80", (), "ptx")
    monkeypatch.setattr(nvrtc, "nvrtc_version", lambda: (99, 9))
    assert nvrtc.cache_key("src", "n.cu", "compute_80", (), "ptx") != key


@needs_nvrtc
def test_unwritable_cache_warns_and_still_compiles(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, compile_counter: list[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(HybridJitWarning, match="nvrtc cache disabled"):
        ptx = nvrtc.compile_to_ptx(SCALE_SRC.format(T="float"), "scale.cu")
    assert ".entry scale_float" in ptx
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HybridJitWarning)
        nvrtc.compile_to_ptx(SCALE_SRC.format(T="float"), "scale.cu")
    assert len(compile_counter) == 2  # no cache: compiled again


def test_choose_block_and_grid() -> None:
    assert cuda_rt.choose_block((10_000,), 256) == (256, 1, 1)
    assert cuda_rt.choose_block((100,), 256) == (128, 1, 1)  # whole warps
    assert cuda_rt.choose_block((7,), 256) == (7, 1, 1)
    assert cuda_rt.choose_block((1000, 1000), 256) == (256, 1, 1)
    assert cuda_rt.choose_block((40, 1000), 256) == (64, 4, 1)
    assert cuda_rt.choose_block((16, 16, 16), 1024) == (16, 16, 4)
    assert cuda_rt.grid_for((1000, 1000), (64, 4, 1)) == (16, 250, 1)
    with pytest.raises(DeviceError, match="grid dimension y"):
        cuda_rt.grid_for((1, 10**6), (1, 1, 1))


def test_pack_args_points_at_typed_values() -> None:
    device = SimpleNamespace()
    buf = cuda_rt.Buffer(0xDEADBEEF000, 64, device)  # type: ignore[arg-type]
    args = [
        KernelArg(buf),
        KernelArg(2.5, np.dtype(np.float32)),
        KernelArg(-3, np.dtype(np.int64)),
        KernelArg(7, np.dtype(np.int32)),
    ]
    pointers, storage = cuda_rt.pack_args(args)
    assert len(pointers) == 4 and len(storage) == 4
    assert _read(pointers[0], np.uint64) == 0xDEADBEEF000
    assert _read(pointers[1], np.float32) == np.float32(2.5)
    assert _read(pointers[2], np.int64) == -3
    assert _read(pointers[3], np.int32) == 7
    with pytest.raises(InternalError):
        cuda_rt.pack_args([KernelArg(1.0)])


def test_fma_contraction_is_off_unless_asked() -> None:
    assert cuda_rt.default_options(()) == ("--fmad=false",)
    assert cuda_rt.default_options(("--use_fast_math",)) == ("--use_fast_math",)


def _read(address: int, dtype: Any) -> Any:
    dt = np.dtype(dtype)
    return np.frombuffer(ctypes.string_at(int(address), dt.itemsize), dtype=dt)[0]


# --------------------------------------------------------------------------- fake driver


class CUresult(enum.IntEnum):
    CUDA_SUCCESS = 0
    CUDA_ERROR_OUT_OF_MEMORY = 2
    CUDA_ERROR_NO_DEVICE = 100
    CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222


class FakeDriver:
    """The slice of cuda.bindings.driver CUDADevice uses; host memory is "device" memory."""

    CUresult = CUresult
    CUdeviceptr = int
    CUDA_MEMCPY2D = SimpleNamespace
    CUmemorytype = SimpleNamespace(CU_MEMORYTYPE_HOST=1, CU_MEMORYTYPE_DEVICE=2)
    CUdevice_attribute = SimpleNamespace(
        CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR="major",
        CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR="minor",
    )

    def __init__(self) -> None:
        self.fail: dict[str, CUresult] = {}
        self.memory: dict[int, np.ndarray] = {}
        self.kernels: dict[str, Any] = {}  # name -> (param dtypes, python body)
        self.launches: list[dict[str, Any]] = []
        self.images: list[bytes] = []
        self.reject_ptx = False
        self.syncs = 0

    def _ok(self, call: str, *outputs: Any) -> tuple[Any, ...]:
        return (self.fail.get(call, CUresult.CUDA_SUCCESS), *outputs)

    def cuInit(self, flags: int) -> Any: return self._ok("cuInit")
    def cuDeviceGetCount(self) -> Any: return self._ok("cuDeviceGetCount", 1)
    def cuDeviceGet(self, i: int) -> Any: return self._ok("cuDeviceGet", i)
    def cuDeviceGetName(self, n: int, d: int) -> Any:
        return self._ok("cuDeviceGetName", b"Fake GPU".ljust(n, b"\0"))
    def cuDeviceGetAttribute(self, a: str, d: int) -> Any:
        return self._ok("cuDeviceGetAttribute", {"major": 9, "minor": 0}[a])
    def cuDriverGetVersion(self) -> Any: return self._ok("cuDriverGetVersion", 12040)
    def cuDeviceTotalMem(self, d: int) -> Any: return self._ok("cuDeviceTotalMem", 80 * 2**30)
    def cuDevicePrimaryCtxRetain(self, d: int) -> Any: return self._ok("ctx", "ctx")
    def cuDevicePrimaryCtxRelease(self, d: int) -> Any: return self._ok("release")
    def cuCtxSetCurrent(self, c: Any) -> Any: return self._ok("cuCtxSetCurrent")
    def cuStreamCreate(self, flags: int) -> Any: return self._ok("cuStreamCreate", "stream")
    def cuStreamDestroy(self, s: Any) -> Any: return self._ok("cuStreamDestroy")
    def cuModuleUnload(self, m: Any) -> Any: return self._ok("cuModuleUnload")

    def cuStreamSynchronize(self, s: Any) -> Any:
        self.syncs += 1
        return self._ok("cuStreamSynchronize")

    def cuMemAlloc(self, n: int) -> Any:
        if "cuMemAlloc" in self.fail:
            return (self.fail["cuMemAlloc"], None)
        mem = np.empty(n, np.uint8)
        self.memory[mem.ctypes.data] = mem
        return self._ok("cuMemAlloc", mem.ctypes.data)

    def cuMemFree(self, p: int) -> Any:
        del self.memory[int(p)]
        return self._ok("cuMemFree")

    def cuMemsetD8Async(self, p: int, value: int, n: int, s: Any) -> Any:
        ctypes.memset(int(p), value, n)
        return self._ok("cuMemsetD8Async")

    def cuMemcpyHtoDAsync(self, dst: int, src: int, n: int, s: Any) -> Any:
        ctypes.memmove(int(dst), src, n)
        return self._ok("cuMemcpyHtoDAsync")

    def cuMemcpyDtoHAsync(self, dst: int, src: int, n: int, s: Any) -> Any:
        ctypes.memmove(dst, int(src), n)
        return self._ok("cuMemcpyDtoHAsync")

    def cuMemcpy2DAsync(self, d: Any, s: Any) -> Any:
        src = d.srcHost if d.srcMemoryType == 1 else d.srcDevice
        dst = d.dstHost if d.dstMemoryType == 1 else d.dstDevice
        for row in range(d.Height):
            ctypes.memmove(int(dst) + row * d.dstPitch, int(src) + row * d.srcPitch, d.WidthInBytes)
        return self._ok("cuMemcpy2DAsync")

    def cuModuleLoadData(self, image: bytes) -> Any:
        if self.reject_ptx and not image.startswith(b"\x7fELF"):
            return (CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION, None)
        self.images.append(image)
        return self._ok("cuModuleLoadData", "module")

    def cuModuleGetFunction(self, m: Any, name: bytes) -> Any:
        return self._ok("cuModuleGetFunction", name.decode())

    def cuOccupancyMaxPotentialBlockSize(self, f: Any, cb: Any, smem: int, lim: int) -> Any:
        return self._ok("occupancy", 132, 768)

    def cuLaunchKernel(self, f: str, *rest: Any) -> Any:
        grid, block, (_smem, _stream, params, _extra) = rest[0:3], rest[3:6], rest[6:]
        dtypes, body = self.kernels[f]
        pointers = (ctypes.c_void_p * len(dtypes)).from_address(params)
        values = [_read(p, dt) for p, dt in zip(pointers, dtypes, strict=True)]
        self.launches.append({"kernel": f, "grid": grid, "block": block, "args": values})
        if body is not None:
            body(*values)
        return self._ok("cuLaunchKernel")


def _install(monkeypatch: pytest.MonkeyPatch, fake: FakeDriver) -> None:
    monkeypatch.setattr(cuda_rt, "_driver", lambda: fake)
    monkeypatch.setattr(cuda_rt, "_driver_library_present", lambda: True)


def _host_view(address: Any, n: int, dtype: Any) -> np.ndarray:
    dt = np.dtype(dtype)
    raw = (ctypes.c_uint8 * (n * dt.itemsize)).from_address(int(address))
    return np.frombuffer(raw, dtype=dt)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeDriver:
    driver = FakeDriver()
    _install(monkeypatch, driver)
    return driver


def test_fake_probe_describes_gpu(fake: FakeDriver) -> None:
    avail = cuda_rt.probe()
    if not nvrtc.nvrtc_available().available:
        assert "NVRTC" in avail.reason
    else:
        assert avail.available
        assert avail.reason == "Fake GPU (compute capability 9.0, 80 GiB, CUDA driver 12.4)"


def test_fake_alloc_poison_and_round_trip(fake: FakeDriver) -> None:
    dev = cuda_rt.CUDADevice(poison_byte=0xFF)
    buf = dev.alloc(80)
    out = np.zeros(10, np.float64)
    dev.copy_out(buf, 0, out)
    assert np.isnan(out).all()  # poison: never-written device memory reads as NaN
    data = np.arange(5, dtype=np.float64)
    dev.copy_in(buf, 16, data)
    dev.copy_out(buf, 0, out)
    assert np.array_equal(out[2:7], data) and np.isnan(out[:2]).all()
    with pytest.raises(InternalError, match="overruns"):
        dev.copy_in(buf, 48, data)
    dev.free(buf)
    assert not fake.memory
    dev.close()


def test_fake_strided_box_copies(fake: FakeDriver) -> None:
    dev = cuda_rt.CUDADevice(poison_byte=0)
    host = np.arange(6 * 8, dtype=np.float32).reshape(6, 8)
    buf = dev.alloc(host.nbytes)
    box = host[1:4, 2:5]
    offset = 1 * host.strides[0] + 2 * host.itemsize
    dev.copy_in_2d(buf, offset, host.strides[0], box)
    mirror = np.zeros_like(host)
    dev.copy_out(buf, 0, mirror.reshape(-1))
    expected = np.zeros_like(host)
    expected[1:4, 2:5] = box
    assert np.array_equal(mirror, expected)
    back = np.full_like(host, -1)
    dev.copy_out_2d(buf, offset, host.strides[0], back[1:4, 2:5])
    assert np.array_equal(back[1:4, 2:5], box) and (back[0] == -1).all()


@needs_nvrtc
def test_fake_build_and_launch(fake: FakeDriver, cache_dir: Any) -> None:
    dev = cuda_rt.CUDADevice(poison_byte=0xFF)
    program = dev.build(SCALE_SRC.format(T="float"))
    assert b".entry scale_float" in fake.images[0] and fake.images[0].endswith(b"\0")
    assert isinstance(program, cuda_rt.CUDAProgram) and program.arch == "compute_90"

    def body(ptr: int, factor: float, n: int) -> None:
        view = _host_view(ptr, int(n), np.float32)
        view *= factor

    fake.kernels["scale_float"] = ([np.uint64, np.float32, np.int32], body)
    a = np.arange(1000, dtype=np.float32)
    buf = dev.alloc(a.nbytes)
    dev.copy_in(buf, 0, a)
    f32, i32 = np.dtype(np.float32), np.dtype(np.int32)
    args = [KernelArg(buf), KernelArg(3.0, f32), KernelArg(1000, i32)]
    dev.launch(program, "scale_float", (1000,), args)
    (launch,) = fake.launches
    assert launch["block"] == (768, 1, 1)  # from the occupancy calculator
    assert launch["grid"] == (2, 1, 1)
    out = np.empty_like(a)
    dev.copy_out(buf, 0, out)
    assert np.array_equal(out, a * 3)
    dev.launch(program, "scale_float", (10, 10), args, local_size=(8, 4))
    assert fake.launches[-1]["block"] == (8, 4, 1) and fake.launches[-1]["grid"] == (2, 3, 1)
    dev.launch(program, "scale_float", (0,), args)  # empty index space: no launch
    assert len(fake.launches) == 2


@needs_nvrtc
def test_fake_old_driver_falls_back_to_cubin(fake: FakeDriver, cache_dir: Any) -> None:
    fake.reject_ptx = True
    dev = cuda_rt.CUDADevice()
    program = dev.build(SCALE_SRC.format(T="double"))
    assert isinstance(program, cuda_rt.CUDAProgram) and program.arch == "sm_90"
    assert fake.images[0].startswith(b"\x7fELF")


def test_fake_driver_errors_name_call_and_result(fake: FakeDriver) -> None:
    dev = cuda_rt.CUDADevice()
    fake.fail["cuMemAlloc"] = CUresult.CUDA_ERROR_OUT_OF_MEMORY
    with pytest.raises(DeviceError, match="cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY"):
        dev.alloc(1 << 40)


@needs_nvrtc
def test_fake_build_error_is_device_error(fake: FakeDriver, cache_dir: Any) -> None:
    dev = cuda_rt.CUDADevice()
    with pytest.raises(DeviceError, match="nvrtcCompileProgram"):
        dev.build('extern "C" __global__ void k(float* a) { a[0] = undefined_name; }')


# --------------------------------------------------------------------------- real GPU


@pytest.fixture
def gpu() -> Any:
    avail = cuda_rt.probe()
    if not avail.available:
        pytest.skip(f"CUDA unavailable: {avail.reason}")
    device = cuda_rt.CUDADevice(poison_byte=0xFF)
    yield device
    device.close()


@pytest.mark.cuda
def test_gpu_round_trip_and_poison(gpu: Any) -> None:
    buf = gpu.alloc(8 * 100)
    out = np.zeros(100, np.float64)
    gpu.copy_out(buf, 0, out)
    assert np.isnan(out).all()
    data = np.random.default_rng(0).random(50)
    gpu.copy_in(buf, 8 * 25, data)
    gpu.copy_out(buf, 0, out)
    assert np.array_equal(out[25:75], data)
    assert np.isnan(out[:25]).all() and np.isnan(out[75:]).all()
    gpu.free(buf)


@pytest.mark.cuda
@pytest.mark.parametrize("ctype,dtype", [("float", np.float32), ("double", np.float64)])
def test_gpu_launch_scale(gpu: Any, ctype: str, dtype: Any) -> None:
    program = gpu.build(SCALE_SRC.format(T=ctype))
    n = 100_003
    a = np.arange(n, dtype=dtype)
    buf = gpu.alloc(a.nbytes)
    gpu.copy_in(buf, 0, a)
    args = [KernelArg(buf), KernelArg(0.5, np.dtype(dtype)), KernelArg(n, np.dtype(np.int32))]
    gpu.launch(program, f"scale_{ctype}", (n,), args)
    out = np.empty_like(a)
    gpu.copy_out(buf, 0, out)
    assert np.array_equal(out, a * dtype(0.5))
    gpu.free(buf)


@pytest.mark.cuda
def test_gpu_launch_2d_and_box_copy(gpu: Any) -> None:
    rows, cols = 300, 517
    a = np.random.default_rng(1).random((rows, cols))
    da, db = gpu.alloc(a.nbytes), gpu.alloc(a.nbytes)
    gpu.copy_in(da, 0, a)
    program = gpu.build(ADD2D_SRC)
    i64 = np.dtype(np.int64)
    gpu.launch(program, "add2d", (cols, rows),
               [KernelArg(da), KernelArg(db), KernelArg(rows, i64), KernelArg(cols, i64)])
    expected = a + np.arange(rows)[:, None] * 1000.0 + np.arange(cols)[None, :]
    box = np.full((rows, cols), -1.0)
    offset = 10 * a.strides[0] + 20 * a.itemsize
    gpu.copy_out_2d(db, offset, a.strides[0], box[10:50, 20:90])
    assert np.array_equal(box[10:50, 20:90], expected[10:50, 20:90])
    assert (box[:10] == -1).all() and (box[:, :20] == -1).all()
    gpu.free(da)
    gpu.free(db)
