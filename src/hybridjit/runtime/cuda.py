"""The CUDA device: NVRTC-compiled kernels launched through the CUDA driver API.

Contract: :func:`probe` says, without raising, whether a usable NVIDIA GPU is
here (and if not, why); :class:`CUDADevice` implements
:class:`~hybridjit.runtime.device.Device` on one GPU:

- *allocator*: ``cuMemAlloc``/``cuMemFree`` linear buffers, optionally filled
  with ``poison_byte`` (``cuMemsetD8Async``); ``copy_in``/``copy_out`` are
  ``cuMemcpyHtoDAsync``/``cuMemcpyDtoHAsync`` on the device's stream, and
  ``copy_out`` synchronises before it returns, so the host may read at once.
  Copies of at least ``HYBRIDJIT_CUDA_STAGING`` bytes (8 MiB unless set; 0
  turns it off) go through double-buffered pinned memory
  (:mod:`.cuda_staging`); smaller ones go straight from pageable memory.
  ``copy_in_2d``/``copy_out_2d`` move a strided box (rows of a 2-D view) in
  one ``cuMemcpy2DAsync``.
- *compiler*: ``build`` compiles CUDA C with NVRTC (see :mod:`.nvrtc`; cached
  on disk, keyed by source, options, architecture and NVRTC version) to PTX
  for the GPU's compute capability and loads it with ``cuModuleLoadData``.
- *launcher*: ``launch`` runs an ``extern "C" __global__`` kernel with
  ``cuLaunchKernel`` on the stream, asynchronously.  Scalars are packed with
  their NumPy dtype, buffers as ``CUdeviceptr``.  The grid is
  ``ceil(global / block)`` per dimension, so kernels must guard their own
  bounds (``if (i < n)``).  Index-space dimension 0 is ``x`` (fastest-varying).

Block size (when the caller gives no ``local_size``): the thread count that
``cuOccupancyMaxPotentialBlockSize`` suggests for the kernel (the smallest
block reaching maximum occupancy given its registers and shared memory), or
256 where that call is unavailable or fails.  Those threads go to ``x`` first
(up to the extent of dimension 0, rounded up to a warp, so a warp reads
consecutive elements), then ``y``, then ``z``.

Interop: ``wrap_pointer`` checks with ``cuPointerGetAttribute`` that a
foreign pointer is memory of this GPU and wraps it in a not-owned Buffer
(``free`` leaves it alone); ``wait_for_stream`` makes our stream wait for a
foreign one (an event recorded there, ``cuStreamWaitEvent`` here; nothing
for the legacy default stream, which our blocking stream already waits for).

Every driver call is checked; a failure raises
:class:`~hybridjit.errors.DeviceError` naming the call and the ``CUresult``.
Allocations, copies, builds and launches first call
:func:`~hybridjit.runtime.registry.check_fault`, so tests can inject failures.
cuda-bindings is imported lazily: without it, without a driver, or without a
GPU, :func:`probe` reports the device unavailable and nothing else breaks.
"""

from __future__ import annotations

import ctypes
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import config
from ..errors import DeviceError, InternalError
from . import nvrtc
from .cuda_staging import PinnedStaging
from .device import Availability, Buffer, Device, KernelArg, Program, row_layout
from .registry import check_fault

#: Threads per block when the occupancy calculator is unavailable.
DEFAULT_BLOCK_THREADS = 256
#: Hardware limits of every GPU since compute capability 3.0.
MAX_BLOCK_DIMS = (1024, 1024, 64)
MAX_GRID_DIMS = (2**31 - 1, 65535, 65535)
WARP = 32

_DRIVER_LIBRARY = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
_CU_STREAM_DEFAULT = 0
_CU_STREAM_LEGACY = 1  # the legacy default stream's handle in the interop protocols
_CU_EVENT_DISABLE_TIMING = 2
_ERROR_NO_DEVICE = 100  # CUDA_ERROR_NO_DEVICE
_ERROR_UNSUPPORTED_PTX_VERSION = 222  # CUDA_ERROR_UNSUPPORTED_PTX_VERSION


# --------------------------------------------------------------------------- driver access


def _driver() -> Any:
    """The cuda-bindings driver module (lazy; tests replace this function)."""
    try:
        from cuda.bindings import driver
    except ImportError:
        from cuda import cuda as driver  # cuda-python < 12.6 layout
    return driver


def _driver_library_present() -> bool:
    """Is the NVIDIA driver's user-space library loadable?  Checked before the
    bindings, whose own failure to find it differs between versions."""
    try:
        ctypes.CDLL(_DRIVER_LIBRARY)
    except OSError:
        return False
    return True


def _error_name(drv: Any, err: Any) -> str:
    name = getattr(err, "name", None)
    if isinstance(name, str):
        return name
    try:
        res, text = drv.cuGetErrorName(err)
        if int(res) == 0 and text:
            return bytes(text).decode(errors="replace")
    except Exception:  # naming the error must never mask it
        pass
    return f"CUresult {int(err)}"


def _check(drv: Any, result: Any, call: str) -> Any:
    """Unpack a cuda-bindings ``(CUresult, *outputs)`` tuple, raising on failure."""
    err, *outputs = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise DeviceError(f"{call} failed: {_error_name(drv, err)}")
    if not outputs:
        return None
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


# --------------------------------------------------------------------------- probing


@dataclass(frozen=True, slots=True)
class GpuInfo:
    """What doctor and probe say about one GPU."""

    name: str
    compute_capability: tuple[int, int]
    driver_version: tuple[int, int]  # CUDA version the driver supports
    total_memory: int  # bytes

    def describe(self) -> str:
        cc = ".".join(map(str, self.compute_capability))
        drv = ".".join(map(str, self.driver_version))
        gib = self.total_memory / 2**30
        return f"{self.name} (compute capability {cc}, {gib:.0f} GiB, CUDA driver {drv})"


def _init_driver() -> Any:
    """cuInit and return the driver module; raises DeviceError with a reason."""
    if not _driver_library_present():
        raise DeviceError(f"no NVIDIA driver ({_DRIVER_LIBRARY} not found)")
    try:
        drv = _driver()
    except ImportError as exc:
        raise DeviceError(f"cuda-bindings is not installed; {nvrtc.INSTALL_HINT}") from exc
    try:
        result = drv.cuInit(0)
    except Exception as exc:  # bindings too new for this driver, or a broken install
        raise DeviceError(f"CUDA driver unusable: {exc}") from exc
    err = result[0] if isinstance(result, tuple) else result
    if int(err) == _ERROR_NO_DEVICE:
        raise DeviceError("no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)")
    _check(drv, result, "cuInit")
    if _check(drv, drv.cuDeviceGetCount(), "cuDeviceGetCount") < 1:
        raise DeviceError("no CUDA device (cuDeviceGetCount returned 0)")
    return drv


def _attribute(drv: Any, dev: Any, name: str) -> int:
    attr = getattr(drv.CUdevice_attribute, name)
    return int(_check(drv, drv.cuDeviceGetAttribute(attr, dev), f"cuDeviceGetAttribute({name})"))


def gpu_info(ordinal: int = 0) -> GpuInfo:
    """Describe GPU ``ordinal``; raises DeviceError when there is none."""
    drv = _init_driver()
    dev = _check(drv, drv.cuDeviceGet(ordinal), "cuDeviceGet")
    raw = _check(drv, drv.cuDeviceGetName(256, dev), "cuDeviceGetName")
    name = bytes(raw).split(b"\0", 1)[0].decode(errors="replace").strip()
    major = _attribute(drv, dev, "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR")
    minor = _attribute(drv, dev, "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR")
    version = int(_check(drv, drv.cuDriverGetVersion(), "cuDriverGetVersion"))
    memory = int(_check(drv, drv.cuDeviceTotalMem(dev), "cuDeviceTotalMem"))
    return GpuInfo(name, (major, minor), (version // 1000, version % 1000 // 10), memory)


def probe() -> Availability:
    """Is a CUDA GPU usable here?  Never raises; the reason says why not, or names the GPU."""
    try:
        info = gpu_info(0)
    except DeviceError as exc:
        return Availability(False, exc.message)
    except Exception as exc:  # a probe must never break the caller
        return Availability(False, f"CUDA probe failed: {exc}")
    compiler = nvrtc.nvrtc_available()
    if not compiler.available:
        return Availability(False, f"{info.name} found but NVRTC unusable: {compiler.reason}")
    return Availability(True, info.describe())


# --------------------------------------------------------------------------- launch geometry


def choose_block(global_size: Sequence[int], threads: int) -> tuple[int, int, int]:
    """Split ``threads`` per block over (x, y, z), x first, as documented above."""
    dims = [*global_size, 1, 1][:3]
    threads = max(1, min(threads, MAX_BLOCK_DIMS[0]))
    # round dim 0 up to whole warps so each warp covers consecutive elements
    x = min(threads, _round_up(max(dims[0], 1), WARP) if dims[0] >= WARP else max(dims[0], 1))
    y = min(threads // x, max(dims[1], 1), MAX_BLOCK_DIMS[1])
    z = min(threads // (x * y), max(dims[2], 1), MAX_BLOCK_DIMS[2])
    return x, y, z


def grid_for(global_size: Sequence[int], block: Sequence[int]) -> tuple[int, int, int]:
    """ceil(global / block) per dimension; raises DeviceError beyond hardware limits."""
    dims = [*global_size, 1, 1][:3]
    grid = tuple(math.ceil(g / b) for g, b in zip(dims, block, strict=True))
    for axis, (g, limit) in enumerate(zip(grid, MAX_GRID_DIMS, strict=True)):
        if g > limit:
            raise DeviceError(
                f"cuLaunchKernel: grid dimension {'xyz'[axis]} = {g} exceeds the limit {limit}"
            )
    return grid[0], grid[1], grid[2]


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def pack_args(args: Sequence[KernelArg]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The ``void **kernelParams`` array for cuLaunchKernel, and the storage it points into.

    Each argument lives in its own one-element NumPy array of the parameter's
    exact type (a buffer as a 64-bit ``CUdeviceptr``); the caller keeps the
    storage alive until cuLaunchKernel returns (the driver copies the values
    during the call).
    """
    storage: list[np.ndarray] = []
    for arg in args:
        if isinstance(arg.value, Buffer):
            storage.append(np.array([int(arg.value.handle)], dtype=np.uint64))
        elif arg.dtype is None:
            raise InternalError(f"scalar kernel argument {arg.value!r} has no dtype")
        else:
            storage.append(np.array([arg.value], dtype=arg.dtype))
    pointers = np.array([s.ctypes.data for s in storage], dtype=np.uintp)
    return pointers, storage


def default_options(options: Sequence[str]) -> tuple[str, ...]:
    """Caller's NVRTC options plus ``--fmad=false`` unless FMA is decided by them.

    DESIGN: floating-point contraction is off unless ``fastmath=True``, and
    NVRTC contracts by default, so strictness is opt-out here.
    """
    opts = tuple(options)
    if any(o.startswith(("--fmad", "-fmad", "--use_fast_math", "-use_fast_math")) for o in opts):
        return opts
    return (*opts, "--fmad=false")


# --------------------------------------------------------------------------- device


class CUDAProgram(Program):
    """A loaded CUmodule; functions and their block sizes are looked up once."""

    def __init__(self, device: CUDADevice, module: Any, arch: str):
        self.device = device
        self.module = module
        self.arch = arch  # what the image was compiled for, e.g. "compute_90"
        self._functions: dict[str, Any] = {}
        self._block_threads: dict[str, int] = {}

    def function(self, kernel: str) -> Any:
        if kernel not in self._functions:
            drv = self.device.driver
            self._functions[kernel] = _check(
                drv, drv.cuModuleGetFunction(self.module, kernel.encode()), "cuModuleGetFunction"
            )
        return self._functions[kernel]

    def block_threads(self, kernel: str) -> int:
        if kernel not in self._block_threads:
            self._block_threads[kernel] = self.device.suggested_block_threads(
                self.function(kernel)
            )
        return self._block_threads[kernel]


class CUDADevice(Device):
    """One NVIDIA GPU through the driver API (see module docstring)."""

    kind = "cuda"
    supports_float64 = True

    def __init__(self, ordinal: int = 0, poison_byte: int | None = None):
        self._closed = False
        self.info = gpu_info(ordinal)  # initialises the driver, or says why it cannot
        self.ordinal = ordinal
        self.driver = _driver()
        self.name = self.info.name
        self.poison_byte = poison_byte
        self.compute_capability = self.info.compute_capability
        drv = self.driver
        self._dev = _check(drv, drv.cuDeviceGet(ordinal), "cuDeviceGet")
        # the primary context is the one CuPy, PyTorch and Numba use too, so
        # pointers they hand us are valid in ours
        self._ctx = _check(drv, drv.cuDevicePrimaryCtxRetain(self._dev), "cuDevicePrimaryCtxRetain")
        self._activate()
        # a blocking stream: it waits for work other libraries queued on the
        # legacy default stream, so arrays they produced are complete
        self._stream = _check(drv, drv.cuStreamCreate(_CU_STREAM_DEFAULT), "cuStreamCreate")
        self._in_flight: list[np.ndarray] = []  # host arrays async copies still read
        self._modules: list[Any] = []
        self._staging: PinnedStaging | None = None  # made on the first large copy
        self._programs: dict[tuple[str, tuple[str, ...]], CUDAProgram] = {}

    # ----------------------------------------------------------------- context

    def _activate(self) -> None:
        """Make our context current on this host thread (contexts are per thread)."""
        if self._closed:
            raise DeviceError("CUDA device used after close()")
        _check(self.driver, self.driver.cuCtxSetCurrent(self._ctx), "cuCtxSetCurrent")

    def _call(self, name: str, *args: Any) -> Any:
        return _check(self.driver, getattr(self.driver, name)(*args), name)

    def _ptr(self, buf: Buffer, offset: int, nbytes: int) -> Any:
        if buf.device is not self:
            raise InternalError("buffer belongs to another device")
        if offset < 0 or offset + nbytes > buf.nbytes:
            raise InternalError(
                f"device copy of {nbytes} bytes at offset {offset} "
                f"overruns a {buf.nbytes}-byte buffer"
            )
        return self.driver.CUdeviceptr(int(buf.handle) + offset)

    # ----------------------------------------------------------------- allocator

    def alloc(self, nbytes: int) -> Buffer:
        check_fault("alloc", "cuMemAlloc")
        self._activate()
        # cuMemAlloc rejects 0 bytes; an empty array still needs a valid handle
        size = max(int(nbytes), 1)
        ptr = self._call("cuMemAlloc", size)
        if self.poison_byte is not None:
            self._call("cuMemsetD8Async", ptr, self.poison_byte & 0xFF, size, self._stream)
        return Buffer(ptr, int(nbytes), self)

    def free(self, buf: Buffer) -> None:
        if not buf.owned:
            return  # another library's memory (wrap_pointer): it frees it
        self._activate()
        # queued kernels or copies may still use the memory
        self.synchronize()
        self._call("cuMemFree", buf.handle)

    def copy_in(self, buf: Buffer, offset: int, host: np.ndarray) -> None:
        _require_contiguous(host)
        if host.nbytes == 0:
            return
        self._activate()
        dst = self._ptr(buf, offset, host.nbytes)
        check_fault("copy", "cuMemcpyHtoDAsync")
        staging = self._staging_for(host.nbytes)
        if staging is not None:
            staging.to_device(int(dst), host)  # host bytes are in pinned buffers now
            return
        self._call("cuMemcpyHtoDAsync", dst, host.ctypes.data, host.nbytes, self._stream)
        # pinned host memory is read after this returns: keep it alive until sync
        self._in_flight.append(host)

    def copy_out(self, buf: Buffer, offset: int, host: np.ndarray) -> None:
        _require_contiguous(host)
        if not host.flags.writeable:
            raise InternalError("copy_out into a read-only host array")
        if host.nbytes == 0:
            return
        self._activate()
        src = self._ptr(buf, offset, host.nbytes)
        check_fault("copy", "cuMemcpyDtoHAsync")
        staging = self._staging_for(host.nbytes)
        if staging is not None:
            staging.to_host(host, int(src))
        else:
            self._call("cuMemcpyDtoHAsync", host.ctypes.data, src, host.nbytes, self._stream)
        self.synchronize()

    def _staging_for(self, nbytes: int) -> PinnedStaging | None:
        """The pinned staging buffers when a copy of ``nbytes`` should use them."""
        threshold = config.cuda_staging_min_bytes()
        if threshold is None or nbytes < threshold:
            return None
        if self._staging is None:
            self._staging = PinnedStaging(self._call, self.driver, self._stream)
        return self._staging

    def copy_in_2d(self, buf: Buffer, offset: int, pitch: int, host: np.ndarray) -> None:
        """Copy the rows of 2-D view ``host`` (unit-stride rows, any row stride)
        to ``buf`` at ``offset``, successive rows ``pitch`` bytes apart.

        For a device buffer laid out like the host array, ``offset`` is the
        box's byte offset in the array and ``pitch`` its row stride.  Pitches
        above the GPU's CU_DEVICE_ATTRIBUTE_MAX_PITCH (2 GiB class) make
        cuMemcpy2DAsync fail with a DeviceError, i.e. a CPU fallback."""
        self._copy_2d(buf, offset, pitch, host, to_device=True)

    def copy_out_2d(self, buf: Buffer, offset: int, pitch: int, host: np.ndarray) -> None:
        """Inverse of :meth:`copy_in_2d`; synchronises before returning."""
        if not host.flags.writeable:
            raise InternalError("copy_out_2d into a read-only host array")
        self._copy_2d(buf, offset, pitch, host, to_device=False)
        self.synchronize()

    def _copy_2d(
        self, buf: Buffer, offset: int, pitch: int, host: np.ndarray, *, to_device: bool
    ) -> None:
        rows, width = row_layout(host)
        if rows == 0 or width == 0:
            return
        if pitch < width:
            raise InternalError(f"device pitch {pitch} is narrower than a {width}-byte row")
        self._activate()
        dev = self._ptr(buf, offset, (rows - 1) * pitch + width)
        check_fault("copy", "cuMemcpy2DAsync")
        drv = self.driver
        desc = drv.CUDA_MEMCPY2D()
        host_kind = drv.CUmemorytype.CU_MEMORYTYPE_HOST
        dev_kind = drv.CUmemorytype.CU_MEMORYTYPE_DEVICE
        host_ptr, host_pitch = host.ctypes.data, host.strides[0]
        if to_device:
            desc.srcMemoryType, desc.srcHost, desc.srcPitch = host_kind, host_ptr, host_pitch
            desc.dstMemoryType, desc.dstDevice, desc.dstPitch = dev_kind, dev, pitch
        else:
            desc.srcMemoryType, desc.srcDevice, desc.srcPitch = dev_kind, dev, pitch
            desc.dstMemoryType, desc.dstHost, desc.dstPitch = host_kind, host_ptr, host_pitch
        desc.WidthInBytes, desc.Height = width, rows
        self._call("cuMemcpy2DAsync", desc, self._stream)
        self._in_flight.append(host)

    # ----------------------------------------------------------------- interop

    def wrap_pointer(self, address: int, nbytes: int) -> Buffer:
        """A not-owned Buffer over another library's memory at ``address``;
        DeviceError unless the driver knows it as memory of this GPU."""
        self._activate()
        drv = self.driver
        attribute = drv.CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL
        ptr = drv.CUdeviceptr(int(address))
        result = drv.cuPointerGetAttribute(attribute, ptr)
        err = result[0] if isinstance(result, tuple) else result
        if int(err) != 0:
            raise DeviceError(
                f"cuPointerGetAttribute failed: {_error_name(drv, err)}: address "
                f"{int(address):#x} is not CUDA memory of this process")
        ordinal = int(result[1])
        # managed memory may report no device (negative): any GPU can use it
        if ordinal >= 0 and ordinal != self.ordinal:
            raise DeviceError(
                f"the array lives on GPU {ordinal}, but hybridjit uses GPU {self.ordinal}")
        return Buffer(ptr, int(nbytes), self, owned=False)

    def wait_for_stream(self, stream: int) -> None:
        """Order our later work after the work queued so far on ``stream``."""
        if stream == _CU_STREAM_LEGACY:
            return  # our stream is blocking: it already waits for the legacy stream
        self._activate()
        drv = self.driver
        event = self._call("cuEventCreate", _CU_EVENT_DISABLE_TIMING)
        try:
            self._call("cuEventRecord", event, drv.CUstream(int(stream)))
            self._call("cuStreamWaitEvent", self._stream, event, 0)
        finally:
            # destroying an event another stream still waits on is allowed:
            # the driver releases it once the wait is satisfied
            self._call("cuEventDestroy", event)

    # ----------------------------------------------------------------- compiler

    def arch(self) -> str:
        """The NVRTC virtual architecture for this GPU: its own compute
        capability, or the newest NVRTC knows (PTX is forward compatible)."""
        cc = self.compute_capability[0] * 10 + self.compute_capability[1]
        archs = nvrtc.supported_archs()
        usable = [a for a in archs if a <= cc]
        if not usable:
            major, minor = nvrtc.nvrtc_version()
            raise DeviceError(
                f"NVRTC {major}.{minor} cannot target compute capability "
                f"{self.compute_capability[0]}.{self.compute_capability[1]} (oldest: {archs[0]}); "
                "install an older NVRTC, e.g. pip install nvidia-cuda-nvrtc-cu12"
            )
        return f"compute_{usable[-1]}"

    def build(self, source: str, options: tuple[str, ...] = ()) -> Program:
        check_fault("build", "cuModuleLoadData")
        self._activate()
        built = self._programs.get((source, tuple(options)))
        if built is not None:
            return built
        arch = self.arch()
        opts = default_options(options)
        ptx = nvrtc.compile_to_ptx(source, "hybridjit_kernels.cu", arch, opts)
        err, module = self._load_module(ptx.encode() + b"\0")
        if int(err) == _ERROR_UNSUPPORTED_PTX_VERSION:
            # NVRTC is newer than the driver: its PTX is too new to JIT, but a
            # cubin for the exact GPU needs no JIT
            arch = "sm_" + arch.removeprefix("compute_")
            cubin = nvrtc.compile_to_cubin(source, "hybridjit_kernels.cu", arch, opts)
            err, module = self._load_module(cubin)
        if int(err) != 0:
            raise DeviceError(_module_load_message(self.driver, err, self.info))
        self._modules.append(module)
        program = CUDAProgram(self, module, arch)
        self._programs[(source, tuple(options))] = program
        return program

    def _load_module(self, image: bytes) -> tuple[Any, Any]:
        result = self.driver.cuModuleLoadData(image)
        return result[0], (result[1] if len(result) > 1 else None)

    def suggested_block_threads(self, function: Any) -> int:
        """Threads per block from the occupancy calculator, else DEFAULT_BLOCK_THREADS."""
        occupancy = getattr(self.driver, "cuOccupancyMaxPotentialBlockSize", None)
        if occupancy is None:
            return DEFAULT_BLOCK_THREADS
        try:
            err, _min_grid, block = occupancy(function, None, 0, 0)
        except Exception:  # older bindings reject None for the callback: use the default
            return DEFAULT_BLOCK_THREADS
        if int(err) != 0 or int(block) <= 0:
            return DEFAULT_BLOCK_THREADS
        return int(block)

    # ----------------------------------------------------------------- launcher

    def launch(
        self,
        program: Program,
        kernel: str,
        global_size: tuple[int, ...],
        args: list[KernelArg],
        local_size: tuple[int, ...] | None = None,
    ) -> None:
        check_fault("launch", "cuLaunchKernel")
        if not isinstance(program, CUDAProgram) or program.device is not self:
            raise InternalError("launch of a program built for another device")
        if self.empty_index_space(global_size):
            return
        self._activate()
        function = program.function(kernel)
        if local_size is not None:
            block = (*local_size, 1, 1)[:3]
        else:
            block = choose_block(global_size, program.block_threads(kernel))
        grid = grid_for(global_size, block)
        for arg in args:
            if isinstance(arg.value, Buffer) and arg.value.device is not self:
                raise InternalError("kernel argument is a buffer of another device")
        # `storage` must outlive the call: the driver copies the values from it
        pointers, storage = pack_args(args)
        params = pointers.ctypes.data if storage else 0
        self._call("cuLaunchKernel", function, *grid, *block, 0, self._stream, params, 0)

    def synchronize(self) -> None:
        self._activate()
        self._call("cuStreamSynchronize", self._stream)
        self._in_flight.clear()

    def close(self) -> None:
        """Wait for queued work, unload modules and release the stream and context."""
        if self._closed:
            return
        self.synchronize()
        if self._staging is not None:
            self._staging.close()
            self._staging = None
        for module in self._modules:
            self._call("cuModuleUnload", module)
        self._modules.clear()
        self._programs.clear()
        self._call("cuStreamDestroy", self._stream)
        self._call("cuDevicePrimaryCtxRelease", self._dev)
        self._closed = True


def _require_contiguous(host: np.ndarray) -> None:
    if not host.flags.c_contiguous:
        raise InternalError("device copies need a C-contiguous host array")


def _module_load_message(drv: Any, err: Any, info: GpuInfo) -> str:
    name = _error_name(drv, err)
    message = f"cuModuleLoadData failed: {name}"
    if int(err) == _ERROR_UNSUPPORTED_PTX_VERSION:
        major, minor = nvrtc.nvrtc_version()
        drv_ver = ".".join(map(str, info.driver_version))
        message += (
            f" (NVRTC {major}.{minor} is newer than the driver's CUDA {drv_ver}; update the "
            f"driver or install a matching NVRTC, e.g. pip install 'nvidia-cuda-nvrtc-cu12')"
        )
    return message
