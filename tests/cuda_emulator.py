"""A CUDA driver emulator, so the CUDA device runs generated kernels without a GPU.

Contract: :class:`EmulatedDriver` is the slice of ``cuda.bindings.driver``
that :mod:`hybridjit.runtime.cuda` uses, and :func:`install` puts it in
place of the real bindings (and records the CUDA C behind each PTX image
NVRTC produces).  With it, ``CUDADevice`` is a working device on any
machine with g++: the whole host side of the CUDA path (allocation, poison,
1-D and strided-box copies, argument packing, launch geometry, streams,
foreign pointers) runs for real, and so does the CUDA C we generate.

How kernels run: the CUDA C source that NVRTC compiled (NVRTC still
compiles it, so the real compiler's verdict stands) is compiled again with
g++ against a small shim: ``threadIdx``/``blockIdx``/``blockDim``/
``gridDim`` are variables, ``__shared__`` is ``static``, and
``__syncthreads()`` is an OpenMP barrier.  A launch runs the grid's blocks
one after the other; a block's threads run as one OpenMP team when the
kernel has barriers (so shared-memory reductions are exercised with real
concurrency) and as a plain loop otherwise.

What it checks beyond running the code:

- every kernel argument's size and kind (pointer, signed, unsigned, float)
  against the kernel's parameter list, as ``pack_args`` packed them;
- every device range a copy or memset touches lies inside one allocation;
- kernels write nothing outside their buffers: each allocation has guard
  bytes on both sides, checked after every launch and at ``cuMemFree``;
- work is queued on the stream and runs only when the stream is
  synchronised, so host data is read by a copy when the copy executes, as
  with pinned memory (code that changes or frees host memory an
  asynchronous copy still reads gets the wrong answer here too).

What it cannot check: anything about real GPU hardware (the memory model,
warps, timing, NVRTC's code generation); blocks never run concurrently.
"""

from __future__ import annotations

import ctypes
import enum
import hashlib
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: guard bytes on each side of every allocation, and their value
REDZONE = 256
REDZONE_BYTE = 0xA5
#: alignment of emulated device pointers (cuMemAlloc gives at least 256)
ALIGN = 256
#: threads per block the emulated occupancy calculator suggests: not a power
#: of two, so launches have idle threads in the last block, as they may on a GPU
SUGGESTED_BLOCK = 96


class CUresult(enum.IntEnum):
    CUDA_SUCCESS = 0
    CUDA_ERROR_INVALID_VALUE = 1
    CUDA_ERROR_OUT_OF_MEMORY = 2
    CUDA_ERROR_NO_DEVICE = 100
    CUDA_ERROR_INVALID_IMAGE = 200
    CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222
    CUDA_ERROR_NOT_FOUND = 500
    CUDA_ERROR_LAUNCH_FAILED = 719


class CUmemorytype(enum.IntEnum):
    CU_MEMORYTYPE_HOST = 1
    CU_MEMORYTYPE_DEVICE = 2


class CUdevice_attribute(enum.IntEnum):
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76


class CUpointer_attribute(enum.IntEnum):
    CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL = 9


class CUDA_MEMCPY2D:
    """The descriptor of cuMemcpy2D; every field starts at zero, as in the bindings."""

    _FIELDS = ("srcXInBytes", "srcY", "srcMemoryType", "srcHost", "srcDevice", "srcPitch",
               "dstXInBytes", "dstY", "dstMemoryType", "dstHost", "dstDevice", "dstPitch",
               "WidthInBytes", "Height")

    def __init__(self) -> None:
        for name in self._FIELDS:
            setattr(self, name, 0)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._FIELDS:
            raise AttributeError(f"CUDA_MEMCPY2D has no field {name!r}")
        object.__setattr__(self, name, value)


class EmulationError(AssertionError):
    """Our use of the driver broke a rule a real GPU would punish (silently, often)."""


# --------------------------------------------------------------------------- kernels

_SHIM = r"""
#include <math.h>
#include <string.h>
#include <omp.h>
#include <type_traits>
#define int64_t hj_emu_int64_t
#define uint64_t hj_emu_uint64_t
#define int32_t hj_emu_int32_t
#define uint32_t hj_emu_uint32_t
#define int16_t hj_emu_int16_t
#define uint16_t hj_emu_uint16_t
#define int8_t hj_emu_int8_t
#define uint8_t hj_emu_uint8_t
#undef NAN
#undef INFINITY
#undef INT64_MIN
struct hj_emu_dim3 { unsigned int x, y, z; };
/* blocks run one at a time: the block's coordinates are shared by its team */
static hj_emu_dim3 gridDim, blockDim, blockIdx;
static thread_local hj_emu_dim3 threadIdx;
#define __global__
#define __device__
#define __forceinline__ inline
/* one copy per launch of the block's team, as shared memory is per block */
#define __shared__ static
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, sizeof f); return f; }
static inline void __syncthreads(void) {
#pragma omp barrier
}
/* CUDA's vector types (complex numbers are float2/double2 on a device) */
struct float2 { float x, y; };
struct alignas(16) double2 { double x, y; };
static inline float2 make_float2(float x, float y) { return float2{x, y}; }
static inline double2 make_double2(double x, double y) { return double2{x, y}; }
template <class T> static int hj_emu_kind(void) {
    return std::is_pointer<T>::value ? 'p' : std::is_floating_point<T>::value ? 'f'
         : (std::is_same<T, float2>::value || std::is_same<T, double2>::value) ? 'c'
         : std::is_signed<T>::value ? 'i' : 'u';
}
"""

_LAUNCHER = r"""
extern "C" int hj_emu_launch_{name}(const unsigned int *g, const unsigned int *b, void **p) {{
    gridDim = {{g[0], g[1], g[2]}};
    blockDim = {{b[0], b[1], b[2]}};
    const int team = (int)(b[0] * b[1] * b[2]);
    int bad = 0;
    omp_set_dynamic(0);
    for (unsigned int z = 0; z < g[2]; ++z)
    for (unsigned int y = 0; y < g[1]; ++y)
    for (unsigned int x = 0; x < g[0]; ++x) {{
        blockIdx = {{x, y, z}};
        if ({barriers}) {{
            #pragma omp parallel num_threads(team)
            {{
                const int t = omp_get_thread_num();
                if (omp_get_num_threads() != team) {{
                    #pragma omp atomic write
                    bad = 1;
                }} else {{
                    threadIdx = {{t % b[0], t / b[0] % b[1], t / (b[0] * b[1])}};
                    {name}({args});
                }}
            }}
        }} else {{
            for (int t = 0; t < team; ++t) {{
                threadIdx = {{t % b[0], t / b[0] % b[1], t / (b[0] * b[1])}};
                {name}({args});
            }}
        }}
        if (bad) return 1;
    }}
    return 0;
}}
extern "C" int hj_emu_params_{name}(long long *sizes, int *kinds) {{
{describe}
    return {count};
}}
"""

_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')


@dataclass(frozen=True)
class Param:
    ctype: str  # as written, without the name
    size: int
    kind: str  # "p" pointer, "f" float, "i" signed, "u" unsigned


def _split_param(text: str) -> str:
    """The type part of a parameter declaration such as ``double *a_base``."""
    match = re.fullmatch(r"\s*(.*?)\s*\b(\w+)\s*", text)
    if match is None:
        raise EmulationError(f"cannot parse kernel parameter {text!r}")
    return match.group(1)


def kernel_signatures(source: str) -> dict[str, list[str]]:
    """Each ``extern "C" __global__`` kernel's parameter types, in order."""
    out = {}
    for match in _KERNEL.finditer(source):
        params = [p for p in match.group(2).split(",") if p.strip()]
        out[match.group(1)] = [_split_param(p) for p in params]
    return out


def emulation_source(source: str) -> str:
    """The kernel source with the shim before it and a launcher per kernel after it."""
    parts = [_SHIM, source]
    barriers = "1" if "__syncthreads" in source else "0"
    for name, types in kernel_signatures(source).items():
        args = ", ".join(f"*({t} *)p[{k}]" for k, t in enumerate(types))
        describe = "\n".join(
            f"    sizes[{k}] = sizeof({t}); kinds[{k}] = hj_emu_kind<{t}>();"
            for k, t in enumerate(types))
        parts.append(_LAUNCHER.format(name=name, args=args, barriers=barriers,
                                      describe=describe, count=len(types)))
    return "\n".join(parts)


def _build_library(source: str, cache: Path) -> ctypes.CDLL:
    full = emulation_source(source)
    key = hashlib.sha256(full.encode()).hexdigest()[:24]
    lib = cache / f"emu-{key}.so"
    if not lib.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            src = Path(tmp) / "kernels.cpp"
            src.write_text(full)
            out = Path(tmp) / "kernels.so"
            cmd = ["g++", "-std=c++17", "-O1", "-fopenmp", "-fPIC", "-shared", "-w",
                   "-fno-fast-math", "-ffp-contract=off", str(src), "-o", str(out)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise EmulationError(f"g++ rejected the emulated kernels:\n{done.stderr[-4000:]}")
            os.replace(out, lib)
    return ctypes.CDLL(str(lib))


class EmulatedKernel:
    """One kernel of a loaded module: its launcher and its parameter list."""

    def __init__(self, lib: ctypes.CDLL, name: str, types: list[str]):
        self.name = name
        self.launcher = getattr(lib, f"hj_emu_launch_{name}")
        self.launcher.restype = ctypes.c_int
        describe = getattr(lib, f"hj_emu_params_{name}")
        sizes = (ctypes.c_longlong * max(len(types), 1))()
        kinds = (ctypes.c_int * max(len(types), 1))()
        count = describe(sizes, kinds)
        self.params = [Param(types[k], int(sizes[k]), chr(kinds[k])) for k in range(count)]


# --------------------------------------------------------------------------- the driver


@dataclass
class Allocation:
    storage: np.ndarray  # redzone + payload + redzone, with alignment slack
    address: int  # the device pointer handed out
    nbytes: int


class EmulatedDriver:
    """cuda.bindings.driver as far as hybridjit uses it (see module docstring)."""

    CUresult = CUresult
    CUmemorytype = CUmemorytype
    CUdevice_attribute = CUdevice_attribute
    CUpointer_attribute = CUpointer_attribute
    CUDA_MEMCPY2D = CUDA_MEMCPY2D
    CUdeviceptr = int
    CUstream = int

    def __init__(self, cache: Path, name: str = "hybridjit CUDA emulator"):
        self.cache = cache
        self.name = name
        self.allocations: dict[int, Allocation] = {}
        self.pinned: dict[int, np.ndarray] = {}  # cuMemHostAlloc: address -> storage
        self.sources: dict[bytes, str] = {}  # PTX image -> the CUDA C it came from
        self.modules: dict[int, dict[str, EmulatedKernel]] = {}
        self.queue: list[Callable[[], None]] = []
        self.packed: dict[int, list[tuple[str, int]]] = {}  # params address -> (kind, size)
        self.launches: list[dict[str, Any]] = []
        self.fail: dict[str, CUresult] = {}
        self._next_handle = 1

    # ----------------------------------------------------------------- plumbing

    def _ok(self, call: str, *outputs: Any) -> tuple[Any, ...]:
        return (self.fail.get(call, CUresult.CUDA_SUCCESS), *outputs)

    def _handle(self) -> int:
        self._next_handle += 1
        return self._next_handle

    def _run_queue(self) -> None:
        work, self.queue = self.queue, []
        for op in work:
            op()

    def allocation_of(self, address: int, nbytes: int, what: str) -> Allocation:
        """The allocation holding ``[address, address + nbytes)``, or EmulationError."""
        for alloc in self.allocations.values():
            if alloc.address <= address and address + nbytes <= alloc.address + alloc.nbytes:
                return alloc
        raise EmulationError(
            f"{what}: {nbytes} bytes at {address:#x} are not inside one device allocation")

    def check_redzones(self, when: str) -> None:
        for alloc in self.allocations.values():
            self._check_redzone(alloc, when)

    def _check_redzone(self, alloc: Allocation, when: str) -> None:
        start = alloc.address - alloc.storage.ctypes.data
        before = alloc.storage[start - REDZONE:start]
        after = alloc.storage[start + alloc.nbytes:start + alloc.nbytes + REDZONE]
        if (before != REDZONE_BYTE).any() or (after != REDZONE_BYTE).any():
            raise EmulationError(
                f"{when}: a kernel wrote outside the {alloc.nbytes}-byte allocation "
                f"at {alloc.address:#x}")

    # ----------------------------------------------------------------- device and context

    def cuInit(self, flags: int) -> Any: return self._ok("cuInit")
    def cuDeviceGetCount(self) -> Any: return self._ok("cuDeviceGetCount", 1)
    def cuDeviceGet(self, ordinal: int) -> Any: return self._ok("cuDeviceGet", ordinal)

    def cuDeviceGetName(self, n: int, dev: int) -> Any:
        return self._ok("cuDeviceGetName", self.name.encode().ljust(n, b"\0"))

    def cuDeviceGetAttribute(self, attr: CUdevice_attribute, dev: int) -> Any:
        values = {CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: 9,
                  CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: 0}
        return self._ok("cuDeviceGetAttribute", values[attr])

    def cuDriverGetVersion(self) -> Any: return self._ok("cuDriverGetVersion", 13000)
    def cuDeviceTotalMem(self, dev: int) -> Any: return self._ok("cuDeviceTotalMem", 2**34)
    def cuDevicePrimaryCtxRetain(self, dev: int) -> Any: return self._ok("ctx", "primary")
    def cuDevicePrimaryCtxRelease(self, dev: int) -> Any: return self._ok("release")
    def cuCtxSetCurrent(self, ctx: Any) -> Any: return self._ok("cuCtxSetCurrent")

    def cuGetErrorName(self, err: Any) -> Any:
        return (CUresult.CUDA_SUCCESS, CUresult(int(err)).name.encode())

    # ----------------------------------------------------------------- streams and events

    def cuStreamCreate(self, flags: int) -> Any: return self._ok("cuStreamCreate", self._handle())

    def cuStreamDestroy(self, stream: int) -> Any:
        self._run_queue()
        return self._ok("cuStreamDestroy")

    def cuStreamSynchronize(self, stream: int) -> Any:
        self._run_queue()
        return self._ok("cuStreamSynchronize")

    def cuEventCreate(self, flags: int) -> Any: return self._ok("cuEventCreate", self._handle())
    def cuEventRecord(self, event: int, stream: int) -> Any: return self._ok("cuEventRecord")
    def cuEventDestroy(self, event: int) -> Any: return self._ok("cuEventDestroy")

    def cuStreamWaitEvent(self, stream: int, event: int, flags: int) -> Any:
        return self._ok("cuStreamWaitEvent")

    def cuEventSynchronize(self, event: int) -> Any:
        # one stream: everything queued so far is before the event, or may as well be
        self._run_queue()
        return self._ok("cuEventSynchronize")

    # ----------------------------------------------------------------- memory

    def cuMemAlloc(self, nbytes: int) -> Any:
        if "cuMemAlloc" in self.fail:
            return (self.fail["cuMemAlloc"], None)
        if nbytes <= 0:
            return (CUresult.CUDA_ERROR_INVALID_VALUE, None)
        storage = np.full(nbytes + 2 * REDZONE + ALIGN, REDZONE_BYTE, dtype=np.uint8)
        base = storage.ctypes.data + REDZONE
        address = base + (-base % ALIGN)
        # garbage, as fresh device memory is (a zero would hide missing copies)
        storage[address - storage.ctypes.data:][:nbytes] = 0x5A
        self.allocations[address] = Allocation(storage, address, nbytes)
        return self._ok("cuMemAlloc", address)

    def cuMemFree(self, address: int) -> Any:
        alloc = self.allocations.get(int(address))
        if alloc is None:
            raise EmulationError(f"cuMemFree of {int(address):#x}, which cuMemAlloc never gave")
        if self.queue:
            raise EmulationError("cuMemFree while work that may use the memory is still queued")
        self._check_redzone(alloc, "cuMemFree")
        del self.allocations[int(address)]
        return self._ok("cuMemFree")

    def cuMemHostAlloc(self, nbytes: int, flags: int) -> Any:
        if "cuMemHostAlloc" in self.fail:
            return (self.fail["cuMemHostAlloc"], None)
        storage = np.full(nbytes, 0x3C, dtype=np.uint8)
        self.pinned[storage.ctypes.data] = storage
        return self._ok("cuMemHostAlloc", storage.ctypes.data)

    def cuMemFreeHost(self, address: int) -> Any:
        if self.queue:
            raise EmulationError("cuMemFreeHost while copies that may use it are queued")
        del self.pinned[int(address)]
        return self._ok("cuMemFreeHost")

    def cuPointerGetAttribute(self, attr: CUpointer_attribute, address: int) -> Any:
        assert attr == CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL
        try:
            self.allocation_of(int(address), 0, "cuPointerGetAttribute")
        except EmulationError:
            return (CUresult.CUDA_ERROR_INVALID_VALUE, None)
        return self._ok("cuPointerGetAttribute", 0)

    def cuMemsetD8Async(self, address: int, value: int, n: int, stream: int) -> Any:
        self.allocation_of(int(address), n, "cuMemsetD8Async")
        self.queue.append(lambda: ctypes.memset(int(address), value, n))
        return self._ok("cuMemsetD8Async")

    def cuMemcpyHtoDAsync(self, dst: int, src: int, n: int, stream: int) -> Any:
        self.allocation_of(int(dst), n, "cuMemcpyHtoDAsync")
        self.queue.append(lambda: ctypes.memmove(int(dst), int(src), n))
        return self._ok("cuMemcpyHtoDAsync")

    def cuMemcpyDtoHAsync(self, dst: int, src: int, n: int, stream: int) -> Any:
        self.allocation_of(int(src), n, "cuMemcpyDtoHAsync")
        self.queue.append(lambda: ctypes.memmove(int(dst), int(src), n))
        return self._ok("cuMemcpyDtoHAsync")

    def cuMemcpy2DAsync(self, desc: CUDA_MEMCPY2D, stream: int) -> Any:
        src, dst = self._endpoint(desc, "src"), self._endpoint(desc, "dst")
        width, height = int(desc.WidthInBytes), int(desc.Height)
        src_pitch, dst_pitch = int(desc.srcPitch), int(desc.dstPitch)
        if width > min(src_pitch, dst_pitch) and height > 1:
            raise EmulationError(f"cuMemcpy2DAsync: rows of {width} bytes overlap "
                                 f"(pitches {src_pitch}, {dst_pitch})")
        for side, base, pitch in (("src", src, src_pitch), ("dst", dst, dst_pitch)):
            if getattr(desc, f"{side}MemoryType") == CUmemorytype.CU_MEMORYTYPE_DEVICE:
                self.allocation_of(base, (height - 1) * pitch + width, "cuMemcpy2DAsync")

        def copy() -> None:
            for row in range(height):
                ctypes.memmove(dst + row * dst_pitch, src + row * src_pitch, width)

        self.queue.append(copy)
        return self._ok("cuMemcpy2DAsync")

    @staticmethod
    def _endpoint(desc: CUDA_MEMCPY2D, side: str) -> int:
        kind = getattr(desc, f"{side}MemoryType")
        if kind == CUmemorytype.CU_MEMORYTYPE_HOST:
            base = int(getattr(desc, f"{side}Host"))
        elif kind == CUmemorytype.CU_MEMORYTYPE_DEVICE:
            base = int(getattr(desc, f"{side}Device"))
        else:
            raise EmulationError(f"cuMemcpy2DAsync: {side}MemoryType not set")
        return base + int(getattr(desc, f"{side}XInBytes")) + \
            int(getattr(desc, f"{side}Y")) * int(getattr(desc, f"{side}Pitch"))

    # ----------------------------------------------------------------- modules and launches

    def cuModuleLoadData(self, image: bytes) -> Any:
        source = self.sources.get(bytes(image))
        if source is None:
            raise EmulationError("cuModuleLoadData of an image NVRTC did not produce here")
        lib = _build_library(source, self.cache)
        handle = self._handle()
        self.modules[handle] = {name: EmulatedKernel(lib, name, types)
                                for name, types in kernel_signatures(source).items()}
        return self._ok("cuModuleLoadData", handle)

    def cuModuleUnload(self, module: int) -> Any:
        del self.modules[module]
        return self._ok("cuModuleUnload")

    def cuModuleGetFunction(self, module: int, name: bytes) -> Any:
        kernel = self.modules[module].get(name.decode())
        if kernel is None:
            return (CUresult.CUDA_ERROR_NOT_FOUND, None)
        return self._ok("cuModuleGetFunction", kernel)

    def cuOccupancyMaxPotentialBlockSize(self, f: Any, cb: Any, smem: int, limit: int) -> Any:
        return self._ok("cuOccupancyMaxPotentialBlockSize", 264, SUGGESTED_BLOCK)

    def cuLaunchKernel(self, kernel: EmulatedKernel, gx: int, gy: int, gz: int,
                       bx: int, by: int, bz: int, smem: int, stream: int,
                       params: int, extra: int) -> Any:
        grid, block = (gx, gy, gz), (bx, by, bz)
        if min(grid) < 1 or min(block) < 1 or bx * by * bz > 1024:
            raise EmulationError(f"{kernel.name}: bad launch geometry {grid} x {block}")
        values = self._copy_params(kernel, params)
        self.launches.append({"kernel": kernel.name, "grid": grid, "block": block})

        def run() -> None:
            pointers = (ctypes.c_void_p * max(len(values), 1))(
                *[v.ctypes.data for v in values])
            g = (ctypes.c_uint * 3)(*grid)
            b = (ctypes.c_uint * 3)(*block)
            if kernel.launcher(g, b, pointers) != 0:
                raise EmulationError(f"{kernel.name}: OpenMP gave a team smaller than the block")
            self.check_redzones(f"after {kernel.name}")

        self.queue.append(run)
        return self._ok("cuLaunchKernel")

    def _copy_params(self, kernel: EmulatedKernel, params: int) -> list[np.ndarray]:
        """Check the packed arguments against the kernel's parameters and copy
        their values (the driver reads them during cuLaunchKernel only)."""
        packed = self.packed.pop(int(params), None) if params else []
        if packed is None:
            raise EmulationError(f"{kernel.name}: kernel parameters not packed by pack_args")
        if len(packed) != len(kernel.params):
            raise EmulationError(f"{kernel.name}: {len(packed)} arguments for "
                                 f"{len(kernel.params)} parameters")
        values = []
        array = (ctypes.c_void_p * max(len(packed), 1)).from_address(params) if params else []
        for k, ((kind, size), param) in enumerate(zip(packed, kernel.params, strict=True)):
            if (kind, size) != (param.kind, param.size):
                raise EmulationError(
                    f"{kernel.name}: argument {k} is {kind}{size * 8} but parameter "
                    f"'{param.ctype}' is {param.kind}{param.size * 8}")
            values.append(np.frombuffer(ctypes.string_at(array[k], size), np.uint8).copy())
        return values


# --------------------------------------------------------------------------- installation


def install(monkeypatch: Any, cache: Path) -> EmulatedDriver:
    """Make hybridjit's CUDA device use a new EmulatedDriver (undone with the monkeypatch)."""
    from hybridjit.runtime import cuda as cuda_rt
    from hybridjit.runtime import nvrtc
    from hybridjit.runtime.device import Buffer

    emulator = EmulatedDriver(cache)
    real_compile = nvrtc.compile_to_ptx
    real_pack = cuda_rt.pack_args

    def compile_to_ptx(source: str, *args: Any, **kwargs: Any) -> str:
        ptx = real_compile(source, *args, **kwargs)
        emulator.sources[ptx.encode() + b"\0"] = source
        return ptx

    def pack_args(args: Any) -> Any:
        pointers, storage = real_pack(args)
        if storage:
            emulator.packed[pointers.ctypes.data] = [
                ("p", 8) if isinstance(a.value, Buffer) else (_kind(np.dtype(a.dtype)), s.itemsize)
                for a, s in zip(args, storage, strict=True)]
        return pointers, storage

    monkeypatch.setattr(cuda_rt, "_driver", lambda: emulator)
    monkeypatch.setattr(cuda_rt, "_driver_library_present", lambda: True)
    monkeypatch.setattr(cuda_rt, "pack_args", pack_args)
    monkeypatch.setattr(nvrtc, "compile_to_ptx", compile_to_ptx)
    return emulator


def _kind(dtype: np.dtype) -> str:
    return {"b": "u", "i": "i", "u": "u", "f": "f", "c": "c"}[dtype.kind]
