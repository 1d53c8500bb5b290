"""OpenCL device through pyopencl (GPU if present, else e.g. PoCL on the CPU).

Contract: implements :class:`~hybridjit.runtime.device.Device`.  pyopencl is
imported only inside functions, so ``import hybridjit`` works without it and
:func:`probe` reports the device unavailable with the reason.

- Device choice: a GPU device if any platform has one, else the first device
  of any type; ``HYBRIDJIT_OPENCL_DEVICE=<substring>`` selects the first device
  whose "platform: device" name contains it (case-insensitive).
- One in-order command queue: host-to-device copies are non-blocking (pyopencl
  keeps the host array alive until the copy is done, and the queue orders them
  before later kernels); device-to-host copies block, so data is on the host
  when :meth:`copy_out` returns.  Kernel faults surface at the next blocking
  call (:meth:`copy_out`, :meth:`synchronize`) as DeviceError.
- :meth:`build` caches program binaries on disk (see
  :class:`~hybridjit.runtime.registry.BinaryCache`) keyed by the hash of the
  source, the options, the platform and device names and the driver version
  (a file that does not match its recorded size and sha256 is never handed to
  the driver: it is rebuilt from source, with a warning), and in memory for
  the process.  pyopencl's own source cache is bypassed so
  that this is the only cache and failed sources are not dumped to /tmp.
- Every pyopencl call is wrapped: a failure raises DeviceError whose message
  starts with the OpenCL API call, e.g. ``clBuildProgram failed: <log>``.
- Fault injection (``HYBRIDJIT_FAULT``, see registry) covers build, alloc,
  launch and copy.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from hybridjit.errors import DeviceError
from hybridjit.runtime.device import (
    Availability,
    Buffer,
    Device,
    KernelArg,
    Program,
    row_layout,
)
from hybridjit.runtime.registry import BinaryCache, check_fault

SELECT_ENV = "HYBRIDJIT_OPENCL_DEVICE"
_LOG_LINES = 20  # build log lines kept in a DeviceError message


def _pyopencl() -> Any:
    import pyopencl

    return pyopencl


@contextlib.contextmanager
def _api(call: str) -> Iterator[None]:
    """Turn a pyopencl failure inside the block into DeviceError naming ``call``."""
    cl = _pyopencl()
    try:
        yield
    except cl.Error as e:
        raise DeviceError(f"{call} failed: {_first_line(str(e))}") from e


def _first_line(text: str) -> str:
    """The first line of a pyopencl message, without its own "clXxx failed: "."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return "(no message)"
    return lines[0].rsplit(" failed: ", 1)[-1]


class _ByteSpan:
    """``nbytes`` bytes from ``owner``'s first element as a uint8 array that
    keeps ``owner`` alive (pyopencl holds it until a non-blocking copy ends)."""

    def __init__(self, owner: np.ndarray, nbytes: int) -> None:
        address, read_only = owner.__array_interface__["data"]
        self.__array_interface__ = {
            "shape": (nbytes,),
            "typestr": "|u1",
            "data": (address, read_only),
            "version": 3,
        }
        self.owner = owner


def _describe(device: Any) -> str:
    return f"{device.platform.name.strip()}: {device.name.strip()}"


def _select_device(cl: Any, selector: str | None) -> Any:
    """The device to use: the ``selector`` match, else a GPU, else any."""
    devices: list[Any] = []
    with _api("clGetPlatformIDs"):
        platforms = cl.get_platforms()
    for platform in platforms:
        # a platform with no devices raises DEVICE_NOT_FOUND: just skip it
        with contextlib.suppress(cl.Error):
            devices.extend(platform.get_devices())
    if selector:
        matches = [d for d in devices if selector.lower() in _describe(d).lower()]
        if not matches:
            names = ", ".join(_describe(d) for d in devices) or "none"
            raise DeviceError(
                f"clGetDeviceIDs failed: no OpenCL device matches {SELECT_ENV}={selector!r} "
                f"(devices: {names})"
            )
        return matches[0]
    if not devices:
        raise DeviceError("clGetDeviceIDs failed: no OpenCL devices found")
    gpus = [d for d in devices if d.type & cl.device_type.GPU]
    return (gpus or devices)[0]


def probe() -> Availability:
    """Whether an OpenCL device is usable, with its name or the reason why not."""
    try:
        cl = _pyopencl()
    except ImportError as e:
        return Availability(False, f"pyopencl is not installed ({e}); pip install pyopencl")
    try:
        device = _select_device(cl, os.environ.get(SELECT_ENV))
    except DeviceError as e:
        return Availability(False, str(e))
    return Availability(True, _describe(device))


def _device_supports_float64(device: Any) -> bool:
    if "cl_khr_fp64" in device.extensions.split():
        return True
    # OpenCL 1.2+ may report double support only through the fp config
    with contextlib.suppress(Exception):
        return bool(device.double_fp_config)
    return False


class OpenCLProgram(Program):
    """A built cl.Program and the kernels created from it, by name."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self._kernels: dict[str, Any] = {}

    def kernel(self, name: str) -> Any:
        # kernel objects are reused: OpenCL captures the arguments at enqueue time
        if name not in self._kernels:
            cl = _pyopencl()
            with _api(f"clCreateKernel({name})"):
                self._kernels[name] = cl.Kernel(self.handle, name)
        return self._kernels[name]


class OpenCLDevice(Device):
    """An OpenCL device with one context and one in-order queue."""

    kind = "opencl"

    def __init__(
        self,
        selector: str | None = None,
        *,
        poison_byte: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        cl = _pyopencl()
        self._cl = cl
        self._device = _select_device(cl, selector or os.environ.get(SELECT_ENV))
        with _api("clCreateContext"):
            self._context = cl.Context([self._device])
        with _api("clCreateCommandQueue"):
            self._queue = cl.CommandQueue(self._context, self._device)
        self.name = _describe(self._device)
        self.is_accelerator = not bool(self._device.type & cl.device_type.CPU)
        self.supports_float64 = _device_supports_float64(self._device)
        self.poison_byte = poison_byte
        self.max_alloc = int(self._device.max_mem_alloc_size)
        self.driver_version = str(self._device.driver_version)
        root = Path(cache_dir) if cache_dir is not None else None
        self._cache = BinaryCache("opencl", root)
        # built programs by (source, options): offload asks on every region
        # call, so the lookup must not hash the source (the disk key does)
        self._programs: dict[tuple[str, tuple[str, ...]], OpenCLProgram] = {}
        #: how many builds came from source, from the disk cache (for tests)
        self.builds_from_source = 0
        self.builds_from_cache = 0

    # -- allocator ------------------------------------------------------------

    def alloc(self, nbytes: int) -> Buffer:
        check_fault("alloc", "clCreateBuffer")
        if nbytes > self.max_alloc:
            raise DeviceError(
                f"clCreateBuffer failed: {nbytes} bytes exceed CL_DEVICE_MAX_MEM_ALLOC_SIZE "
                f"({self.max_alloc}) of {self.name}"
            )
        size = max(nbytes, 1)  # OpenCL rejects zero-size buffers
        with _api("clCreateBuffer"):
            handle = self._cl.Buffer(self._context, self._cl.mem_flags.READ_WRITE, size=size)
        if self.poison_byte is not None:
            with _api("clEnqueueFillBuffer"):
                self._cl.enqueue_fill_buffer(
                    self._queue, handle, np.uint8(self.poison_byte), 0, size
                )
        return Buffer(handle, nbytes, self)

    def free(self, buf: Buffer) -> None:
        if buf.handle is None or not buf.owned:  # memory someone else owns
            return
        # OpenCL defers the release until queued commands using it are done
        with _api("clReleaseMemObject"):
            buf.handle.release()
        buf.handle = None

    def _check_range(self, buf: Buffer, offset: int, nbytes: int) -> None:
        if buf.device is not self or buf.handle is None:
            raise ValueError("buffer is freed or belongs to another device")
        if offset < 0 or offset + nbytes > buf.nbytes:
            raise ValueError(
                f"bytes [{offset}, {offset + nbytes}) outside a {buf.nbytes}-byte buffer"
            )

    def copy_in(self, buf: Buffer, offset: int, host: np.ndarray) -> None:
        self._check_range(buf, offset, host.nbytes)
        check_fault("copy", "clEnqueueWriteBuffer")
        if host.nbytes == 0:
            return
        with _api("clEnqueueWriteBuffer"):
            self._cl.enqueue_copy(
                self._queue, buf.handle, host, dst_offset=offset, is_blocking=False
            )

    def copy_out(self, buf: Buffer, offset: int, host: np.ndarray) -> None:
        self._check_range(buf, offset, host.nbytes)
        check_fault("copy", "clEnqueueReadBuffer")
        if host.nbytes == 0:
            return
        with _api("clEnqueueReadBuffer"):
            self._cl.enqueue_copy(
                self._queue, host, buf.handle, src_offset=offset, is_blocking=True
            )

    def _rect_copy(
        self, buf: Buffer, offset: int, pitch: int, host: np.ndarray, *, to_device: bool
    ) -> None:
        """One clEnqueue{Write,Read}BufferRect for the rows of 2-D ``host``."""
        rows, width = row_layout(host)
        call = "clEnqueueWriteBufferRect" if to_device else "clEnqueueReadBufferRect"
        if rows == 0 or width == 0:
            return
        if pitch < width:
            raise ValueError(f"device pitch {pitch} is narrower than a {width}-byte row")
        self._check_range(buf, offset, (rows - 1) * pitch + width)
        check_fault("copy", call)
        host_pitch = host.strides[0] if rows > 1 else width
        # pyopencl wants a contiguous host buffer: the bytes from the first to
        # the last row (only the rows themselves are read or written)
        span = np.asarray(_ByteSpan(host, (rows - 1) * host_pitch + width))
        geometry = {
            "buffer_origin": (offset, 0, 0),
            "host_origin": (0, 0, 0),
            "region": (width, rows, 1),
            "buffer_pitches": (pitch, 0),
            "host_pitches": (host_pitch, 0),
        }
        with _api(call):
            if to_device:
                self._cl.enqueue_copy(self._queue, buf.handle, span, is_blocking=False, **geometry)
            else:
                self._cl.enqueue_copy(self._queue, span, buf.handle, is_blocking=True, **geometry)

    def copy_in_2d(self, buf: Buffer, offset: int, pitch: int, host: np.ndarray) -> None:
        self._rect_copy(buf, offset, pitch, host, to_device=True)

    def copy_out_2d(self, buf: Buffer, offset: int, pitch: int, host: np.ndarray) -> None:
        self._rect_copy(buf, offset, pitch, host, to_device=False)

    # -- compiler -------------------------------------------------------------

    def cache_key(self, source: str, options: tuple[str, ...]) -> str:
        platform = self._device.platform
        return BinaryCache.key(
            "hybridjit-opencl-1",
            source,
            "\0".join(options),
            platform.name,
            platform.version,
            self._device.name,
            self.driver_version,
        )

    def build(self, source: str, options: tuple[str, ...] = ()) -> Program:
        check_fault("build", "clBuildProgram")
        built = self._programs.get((source, tuple(options)))
        if built is not None:
            return built
        key = self.cache_key(source, options)
        program = self._build_from_binary(key, options)
        if program is None:
            program = self._build_from_source(source, options)
            self.builds_from_source += 1
            self._store_binary(key, program)
        else:
            self.builds_from_cache += 1
        self._programs[(source, tuple(options))] = program
        return program

    def _build_from_binary(self, key: str, options: tuple[str, ...]) -> OpenCLProgram | None:
        binary = self._cache.get(key)
        if binary is None:
            return None
        try:
            handle = self._cl.Program(self._context, [self._device], [binary])
            handle.build(options=list(options))
        except self._cl.Error:
            return None  # stale or corrupt entry: rebuild from source and overwrite
        return OpenCLProgram(handle)

    def _build_from_source(self, source: str, options: tuple[str, ...]) -> OpenCLProgram:
        cl = self._cl
        with _api("clCreateProgramWithSource"):
            # the raw program object bypasses pyopencl's own cache (see docstring)
            raw = cl._cl._Program(self._context, source)
            handle = cl.Program(raw)
        try:
            handle.build(options=list(options))
        except cl.Error as e:
            raise DeviceError(f"clBuildProgram failed: {self._build_log(raw, e)}") from e
        return OpenCLProgram(handle)

    def _build_log(self, raw: Any, error: Exception) -> str:
        log = ""
        with contextlib.suppress(Exception):
            log = str(raw.get_build_info(self._device, self._cl.program_build_info.LOG))
        lines = [ln for ln in log.strip().splitlines() if ln.strip()]
        if not lines:
            return _first_line(str(error))
        return "\n".join(lines[:_LOG_LINES])

    def _store_binary(self, key: str, program: OpenCLProgram) -> None:
        try:
            binaries = program.handle.get_info(self._cl.program_info.BINARIES)
        except self._cl.Error:
            return  # some drivers cannot export binaries: just do not cache
        if binaries and binaries[0]:
            self._cache.put(key, bytes(binaries[0]))

    # -- launcher -------------------------------------------------------------

    def _arg_value(self, arg: KernelArg) -> Any:
        if isinstance(arg.value, Buffer):
            if arg.value.device is not self or arg.value.handle is None:
                raise ValueError("kernel buffer argument is freed or from another device")
            return arg.value.handle
        if arg.dtype is None:
            raise ValueError(f"scalar kernel argument {arg.value!r} needs a dtype")
        return np.dtype(arg.dtype).type(arg.value)

    def launch(
        self,
        program: Program,
        kernel: str,
        global_size: tuple[int, ...],
        args: list[KernelArg],
        local_size: tuple[int, ...] | None = None,
    ) -> None:
        check_fault("launch", "clEnqueueNDRangeKernel")
        if not isinstance(program, OpenCLProgram):
            raise TypeError("program was not built by an OpenCLDevice")
        if self.empty_index_space(global_size):
            return
        knl = program.kernel(kernel)
        values = [self._arg_value(a) for a in args]
        with _api(f"clSetKernelArg({kernel})"):
            knl.set_args(*values)
        with _api(f"clEnqueueNDRangeKernel({kernel})"):
            self._cl.enqueue_nd_range_kernel(self._queue, knl, global_size, local_size)

    def synchronize(self) -> None:
        with _api("clFinish"):
            self._queue.finish()

    def __repr__(self) -> str:
        return f"OpenCLDevice({self.name!r}, float64={self.supports_float64})"
