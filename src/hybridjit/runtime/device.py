"""The interface every accelerator device implements (OpenCL, CUDA).

Contract: a device is three things behind one object -
an *allocator* of linear device buffers (``alloc``/``free``) with byte-range
copies to and from host memory (``copy_in``/``copy_out``), a *compiler* from
kernel source text to a loaded program (``build``, cached on disk by content
hash), and a *launcher* (``launch``).  Every foreign API call is checked and a
failure raises :class:`~hybridjit.errors.DeviceError` naming the call.
Optional toolkits are imported lazily inside the concrete device module: a
missing toolkit makes :func:`probe` report the device unavailable with a
reason; it never breaks ``import hybridjit``.

Zero-copy interop (CUDA): ``wrap_pointer`` makes a :class:`Buffer` over
memory another library allocated (``owned=False``: ``free`` leaves it alone),
and ``wait_for_stream`` orders the device's later work after a foreign
stream's.  Devices without raw device pointers (OpenCL) refuse both with a
DeviceError.

Kernel arguments are passed as a sequence of :class:`KernelArg`: either a
device buffer or a scalar with its NumPy dtype; the generated kernel source
declares its parameters in the same order.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InternalError


@dataclass(frozen=True, slots=True)
class Availability:
    available: bool
    reason: str  # why not, or a one-line description of the device


@dataclass(slots=True)
class Buffer:
    """A device allocation of ``nbytes`` bytes; ``handle`` is API-specific.

    ``owned`` is False for memory another library allocated (see
    ``Device.wrap_pointer``): nobody here may free it."""

    handle: Any
    nbytes: int
    device: Device
    owned: bool = True


@dataclass(frozen=True, slots=True)
class KernelArg:
    """One kernel argument: a Buffer, or a scalar ``value`` of ``dtype``."""

    value: Any
    dtype: np.dtype | None = None  # None for buffers


class Program(abc.ABC):  # noqa: B024 - a marker base: each device adds its own API
    """A built device program from which kernels are launched by name."""


class Device(abc.ABC):
    """An accelerator with separate memory (see module docstring)."""

    kind: str  # "opencl" | "cuda"
    name: str  # human-readable: vendor and device name
    supports_float64: bool
    #: False for devices that are really the host CPU (PoCL): "auto" skips them
    is_accelerator: bool = True
    #: Fill fresh allocations with this byte (tests set 0xFF: NaN for floats)
    poison_byte: int | None = None

    @abc.abstractmethod
    def alloc(self, nbytes: int) -> Buffer: ...

    @abc.abstractmethod
    def free(self, buf: Buffer) -> None:
        """Release ``buf``; a buffer with ``owned=False`` must be left alone."""

    def wrap_pointer(self, address: int, nbytes: int) -> Buffer:
        """A not-owned Buffer over ``nbytes`` of existing device memory at
        ``address`` (another library's array, used in place)."""
        from ..errors import DeviceError

        raise DeviceError(f"the {self.kind} device cannot use foreign device pointers")

    def wait_for_stream(self, stream: int) -> None:
        """Make work queued on this device from now on wait for the work
        queued so far on a foreign ``stream`` (a CUDA stream handle; 1 and 2
        are the legacy and per-thread default streams)."""
        from ..errors import DeviceError

        raise DeviceError(f"the {self.kind} device cannot wait for a foreign stream")

    @abc.abstractmethod
    def copy_in(self, buf: Buffer, offset: int, host: np.ndarray) -> None:
        """Copy the bytes of C-contiguous ``host`` to ``buf`` at byte ``offset``."""

    @abc.abstractmethod
    def copy_out(self, buf: Buffer, offset: int, host: np.ndarray) -> None:
        """Copy ``host.nbytes`` bytes from ``buf`` at ``offset`` into C-contiguous ``host``."""

    def copy_in_2d(self, buf: Buffer, offset: int, pitch: int, host: np.ndarray) -> None:
        """Copy the rows of the 2-D view ``host`` (unit-stride rows, any row
        stride) to ``buf`` at byte ``offset``, successive rows ``pitch`` bytes
        apart; the bytes between rows are not touched.

        This default does one :meth:`copy_in` per row; devices override it with
        one rectangular copy (clEnqueueWriteBufferRect, cuMemcpy2D)."""
        for r in range(host.shape[0]):
            self.copy_in(buf, offset + r * pitch, host[r])

    def copy_out_2d(self, buf: Buffer, offset: int, pitch: int, host: np.ndarray) -> None:
        """The reverse of :meth:`copy_in_2d`; complete when it returns."""
        for r in range(host.shape[0]):
            self.copy_out(buf, offset + r * pitch, host[r])

    def close(self) -> None:  # noqa: B027 - devices with resources to release override it
        """Wait for queued work and release what the device holds; idempotent."""

    @abc.abstractmethod
    def build(self, source: str, options: tuple[str, ...] = ()) -> Program:
        """Compile kernel source; raises DeviceError with the build log.  The
        same source and options give the same Program for the device's life
        (devices keep what they built, so callers need no cache of their own)."""

    @staticmethod
    def empty_index_space(global_size: tuple[int, ...]) -> bool:
        """Check a launch's index space (1-3 dimensions); True when it has no
        work-items: launches then do nothing (APIs reject empty ones)."""
        if not 1 <= len(global_size) <= 3:
            raise InternalError(f"global size {global_size} must have 1-3 dimensions")
        return any(g <= 0 for g in global_size)

    @abc.abstractmethod
    def launch(
        self,
        program: Program,
        kernel: str,
        global_size: tuple[int, ...],
        args: list[KernelArg],
        local_size: tuple[int, ...] | None = None,
    ) -> None:
        """Run ``kernel`` over a ``global_size`` index space (1-3 dims, dim 0
        fastest-varying)."""

    @abc.abstractmethod
    def synchronize(self) -> None: ...


def row_layout(host: np.ndarray) -> tuple[int, int]:
    """(rows, bytes per row) of a 2-D view with contiguous, increasing,
    non-overlapping rows: the shape of one rectangular (2-D) copy."""
    from ..errors import InternalError

    if host.ndim != 2:
        raise InternalError(f"2-D copy of a {host.ndim}-D view")
    rows, cols = host.shape
    if cols > 1 and host.strides[1] != host.itemsize:
        raise InternalError("2-D copy needs unit-stride rows")
    if rows > 1 and host.strides[0] < cols * host.itemsize:
        raise InternalError("2-D copy needs increasing, non-overlapping rows")
    return rows, cols * host.itemsize
