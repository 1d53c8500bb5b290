"""Zero-copy interop with foreign GPU arrays (CuPy, PyTorch, Numba, ...).

Contract:

- :func:`parse_cuda_array_interface(obj) <parse_cuda_array_interface>` reads
  ``obj.__cuda_array_interface__`` (versions 0-3) into a :class:`ForeignArray`,
  or returns None when ``obj`` has none.  Masks, non-native byte order,
  dtypes hybridjit does not compile, strides that are not a multiple of the
  item size, misaligned pointers and stream ``0`` (forbidden by the spec)
  raise :class:`~hybridjit.errors.UnsupportedError`.
- :func:`foreign_array(obj) <foreign_array>`: the same, plus DLPack: an object
  with only ``__dlpack__``/``__dlpack_device__`` on a CUDA device raises
  UnsupportedError (hybridjit reads CUDA memory through
  ``__cuda_array_interface__``, which CuPy, PyTorch and Numba expose; it
  does not consume DLPack capsules); a DLPack object on the CPU,
  like any other object, gives None and is typed the normal way.
- :func:`adopt_arguments(args, label) <adopt_arguments>` turns every foreign
  array among a call's arguments into a
  :class:`~hybridjit.runtime.device_array.DeviceArray` whose device buffer
  *is* the foreign memory; :func:`release` ends the adoption after the call.

Adoption.  Foreign arrays whose device memory overlaps (``x`` and ``x[1:]``
passed together) form one group; a group becomes one resident mirror (see
:meth:`MemoryManager.adopt <hybridjit.runtime.memory.MemoryManager.adopt>`)
over a :class:`~hybridjit.runtime.device.Buffer` wrapping the group's lowest
device address, flagged not owned (never freed by hybridjit).  Its host side
is a private *shadow*: one 128-byte aligned block as long as the group's
device span, with each array a view at the same byte offset and the same
strides as on the device, so shadow byte ``k`` is buffer byte ``k`` and
aliasing arguments alias on the host too (the overlap checks see it).  The
shadow starts stale: kernels use the foreign memory in place and nothing
moves; host code touching an array first copies the group back.
:func:`release` copies host-newer bytes of every writable view back to the
device (each view's own bytes; a read-only array is never written), waits for
the device, then drops the mirror, so the foreign memory is correct (and
complete) when the call returns, even if it raised.  An empty foreign array
needs no device: an empty host array stands in for it.

Streams (version 3 ``stream``).  None: nothing to wait for.  Otherwise the
device orders its work after the producer's
(:meth:`~hybridjit.runtime.device.Device.wait_for_stream`).  Adoption does
not make the producer wait for us; instead :func:`release` synchronises the
device before the call returns.

The host shadow is private and per call: a foreign array's data is never
copied to the host unless host code in the function touches it, and the
shadow is discarded afterwards.  Using the same foreign memory from another
stream or thread while a call runs is a race, as it is in CUDA itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DeviceError, HybridJitError, UnsupportedError
from ..types import SUPPORTED_DTYPES, Array, scalar_of_dtype

if TYPE_CHECKING:
    from .device_array import DeviceArray
    from .memory import MemoryManager, TransferStats

#: DLPack device types whose memory is CUDA's (kDLCUDA, kDLCUDAHost, kDLCUDAManaged).
DLPACK_CUDA_TYPES = frozenset({2, 3, 13})
#: Shadow blocks start at this alignment (the memory manager's, see memory.ALIGN).
SHADOW_ALIGN = 128
_VERSIONS = range(0, 4)
#: argument types that never expose a device array: no protocol look-ups
_NEVER_FOREIGN = (np.ndarray, np.generic, int, float, complex, tuple, type(None))


@dataclass(frozen=True, eq=False)
class ForeignArray:
    """A foreign device array: element ``(0, ..., 0)`` at ``pointer``,
    ``strides`` in bytes (always explicit), ``owner`` kept alive while used."""

    pointer: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    dtype: np.dtype
    readonly: bool
    owner: Any
    #: the producer's stream (None: nothing to wait for; 1 legacy, 2 per-thread)
    stream: int | None = None
    device_kind: str = "cuda"

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def c_contiguous(self) -> bool:
        """NumPy's rule: strides of length-1 dims do not matter; empty is contiguous."""
        if self.size == 0:
            return True
        expected = self.dtype.itemsize
        for n, s in zip(reversed(self.shape), reversed(self.strides), strict=True):
            if n != 1 and s != expected:
                return False
            expected *= n
        return True

    def span(self) -> tuple[int, int]:
        """``[lo, hi)`` device addresses the array touches (``size`` > 0)."""
        lo = hi = self.pointer
        for n, s in zip(self.shape, self.strides, strict=True):
            lo += min(0, (n - 1) * s)
            hi += max(0, (n - 1) * s)
        return lo, hi + self.dtype.itemsize

    def hybrid_type(self) -> Array:
        """The type a jitted function sees: an array of this dtype, ndim and layout."""
        return Array(scalar_of_dtype(self.dtype), self.ndim, "C" if self.c_contiguous else "A")


# -- reading the protocols ------------------------------------------------------


def _describe(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _protocol_attribute(obj: Any, name: str) -> Any:
    """``obj.<name>`` or None; a property that fails otherwise (PyTorch raises
    RuntimeError for tensors requiring grad) becomes an UnsupportedError."""
    try:
        return getattr(obj, name, None)
    except Exception as exc:
        raise UnsupportedError(f"reading {name} of a {_describe(obj)} failed: {exc}") from exc


def parse_cuda_array_interface(obj: Any) -> ForeignArray | None:
    """``obj.__cuda_array_interface__`` as a ForeignArray (None without one)."""
    iface = _protocol_attribute(obj, "__cuda_array_interface__")
    if iface is None:
        return None
    what = f"__cuda_array_interface__ of a {_describe(obj)}"
    if not isinstance(iface, Mapping):
        raise UnsupportedError(f"{what} is a {type(iface).__name__}, not a dict")
    try:
        return _parse(obj, iface, what)
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedError(f"{what} is malformed: {exc!r}") from exc


def _parse(obj: Any, iface: Mapping[str, Any], what: str) -> ForeignArray:
    version = int(iface.get("version", 0))
    if version not in _VERSIONS:
        raise UnsupportedError(f"{what} has version {version}; hybridjit reads versions 0-3")
    if iface.get("mask") is not None:
        raise UnsupportedError(f"{what} has a mask: masked arrays are not supported",
                               hint="pass the data without its mask")
    shape = tuple(int(n) for n in iface["shape"])
    if any(n < 0 for n in shape):
        raise UnsupportedError(f"{what} has a negative extent in shape {shape}")
    dtype = _dtype(iface["typestr"], what)
    pointer, readonly = iface["data"]
    strides = _strides(iface.get("strides"), shape, dtype, what)
    stream = _stream(iface.get("stream"), what)
    foreign = ForeignArray(int(pointer or 0), shape, strides, dtype, bool(readonly), obj, stream)
    if foreign.size and foreign.pointer % dtype.itemsize:
        raise UnsupportedError(
            f"{what} points at {foreign.pointer:#x}, not aligned to its "
            f"{dtype.itemsize}-byte elements")
    if foreign.size and not foreign.pointer:
        raise UnsupportedError(f"{what} has a null data pointer but {foreign.size} elements")
    return foreign


def _dtype(typestr: Any, what: str) -> np.dtype:
    try:
        dtype = np.dtype(typestr)
    except TypeError as exc:
        raise UnsupportedError(f"{what} has typestr {typestr!r}, not a NumPy type") from exc
    if not dtype.isnative:
        raise UnsupportedError(
            f"{what} has non-native byte order {typestr!r}",
            hint="convert it on the device to native byte order first")
    if dtype.name not in SUPPORTED_DTYPES:
        raise UnsupportedError(
            f"{what} has dtype {dtype} ({typestr!r}), which hybridjit does not support",
            hint=f"supported: {', '.join(sorted(SUPPORTED_DTYPES))}")
    return dtype


def _strides(raw: Any, shape: tuple[int, ...], dtype: np.dtype, what: str) -> tuple[int, ...]:
    if raw is None:  # the spec: None means C-contiguous
        steps, step = [], dtype.itemsize
        for n in reversed(shape):
            steps.append(step)
            step *= max(n, 1)
        return tuple(reversed(steps))
    strides = tuple(int(s) for s in raw)
    if len(strides) != len(shape):
        raise UnsupportedError(f"{what} has {len(strides)} strides for {len(shape)} dimensions")
    if any(s % dtype.itemsize for s in strides):
        raise UnsupportedError(
            f"{what} has strides {strides} (bytes), not multiples of its "
            f"{dtype.itemsize}-byte elements", hint="make a contiguous copy on the device")
    return strides


def _stream(raw: Any, what: str) -> int | None:
    if raw is None:
        return None
    stream = int(raw)
    if stream == 0:  # the spec forbids it: ambiguous between legacy and per-thread
        raise UnsupportedError(f"{what} gives stream 0, which the interface forbids")
    return stream


def foreign_array(obj: Any) -> ForeignArray | None:
    """The foreign CUDA array ``obj`` exposes, or None if it is not one (see
    the module docstring for DLPack)."""
    foreign = parse_cuda_array_interface(obj)
    if foreign is not None:
        return foreign
    if _dlpack_device_type(obj) in DLPACK_CUDA_TYPES:
        raise UnsupportedError(
            f"a {_describe(obj)} on a CUDA device exposes DLPack but not "
            "__cuda_array_interface__, which hybridjit needs to use it in place",
            hint="wrap it without a copy, e.g. cupy.from_dlpack(x) or torch.from_dlpack(x)")
    return None


def _dlpack_device_type(obj: Any) -> int | None:
    method = _protocol_attribute(obj, "__dlpack_device__")
    if method is None or not callable(method):
        return None
    try:
        device_type, _ordinal = method()
        return int(device_type)
    except Exception as exc:
        raise UnsupportedError(f"__dlpack_device__() of a {_describe(obj)} failed: {exc}") \
            from exc


# -- adoption -----------------------------------------------------------------------


def manager_for(foreign: ForeignArray) -> MemoryManager:
    """The memory manager of the device holding ``foreign``; DeviceError
    (with the registry's reason) when that device is unavailable."""
    from . import registry

    manager = registry.get_memory_manager(foreign.device_kind)
    if manager is None:
        reason = registry.availability(foreign.device_kind).reason
        raise DeviceError(
            f"it is a CUDA array ({_describe(foreign.owner)}) but the CUDA device is "
            f"unavailable: {reason}",
            hint="hybridjit uses CUDA arrays in place on their GPU; to run without one, "
            "copy it to the host first (cupy.asnumpy(x), x.cpu().numpy())")
    return manager


def shadow_views(group: Sequence[ForeignArray]) -> tuple[int, int, list[np.ndarray]]:
    """``(lo, nbytes, views)`` for foreign arrays with overlapping spans: one
    private aligned host block imaging device bytes ``[lo, lo + nbytes)``,
    and each array as a view of it at its device offset and strides."""
    spans = [f.span() for f in group]
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    raw = np.empty(hi - lo + SHADOW_ALIGN, np.uint8)
    start = -raw.ctypes.data % SHADOW_ALIGN
    block = raw[start:start + hi - lo]
    views = []
    for f in group:
        view: np.ndarray = np.ndarray(f.shape, f.dtype, buffer=block, offset=f.pointer - lo,
                                      strides=f.strides)
        view.flags.writeable = not f.readonly
        views.append(view)
    return lo, hi - lo, views


def overlapping_groups(arrays: Sequence[ForeignArray]) -> list[list[int]]:
    """Indices of ``arrays`` grouped by overlapping device spans (each group
    sorted by address)."""
    order = sorted(range(len(arrays)), key=lambda k: arrays[k].span()[0])
    groups: list[list[int]] = []
    end = None
    for k in order:
        lo, hi = arrays[k].span()
        if groups and end is not None and lo < end:
            groups[-1].append(k)
            end = max(end, hi)
        else:
            groups.append([k])
            end = hi
    return groups


def adopt(arrays: Sequence[ForeignArray], manager: MemoryManager,
          labels: Sequence[str] | None = None) -> list[DeviceArray]:
    """DeviceArrays over the foreign memory of ``arrays`` (all non-empty, on
    ``manager``'s device), in order; nothing is copied.  When a pointer is
    refused, what was adopted is dropped and the error names the argument
    (``labels[k]`` for ``arrays[k]``, as :func:`relabel` does)."""
    from .device_array import DeviceArray

    device = manager.device
    for stream in {f.stream for f in arrays if f.stream is not None}:
        device.wait_for_stream(stream)
    out: list[DeviceArray | None] = [None] * len(arrays)
    try:
        for group in overlapping_groups(arrays):
            members = [arrays[k] for k in group]
            lo, nbytes, views = shadow_views(members)
            try:
                buffer = device.wrap_pointer(lo, nbytes)
            except HybridJitError as exc:
                raise (relabel(exc, labels[group[0]]) if labels else exc) from None
            for k, adopted in zip(group, DeviceArray.adopt(views, buffer, manager), strict=True):
                out[k] = adopted
    except BaseException:
        for done in out:  # a half-done adoption must not stay registered
            if done is not None:
                done.free()
        raise
    return [d for d in out if d is not None]


def _empty_host(foreign: ForeignArray) -> np.ndarray:
    """An empty foreign array needs no device: an empty host array stands in."""
    host = np.empty(foreign.shape, foreign.dtype)
    host.flags.writeable = not foreign.readonly
    return host


def relabel(exc: HybridJitError, label: str) -> HybridJitError:
    """``exc`` with ``label`` (e.g. "f(): argument 'x'") before its message."""
    return type(exc)(f"{label}: {exc.message}", exc.loc, exc.hint)


def may_be_foreign(a: Any) -> bool:
    """Cheap pre-check: False for host arrays, DeviceArrays and scalars."""
    return not (isinstance(a, _NEVER_FOREIGN) or hasattr(a, "host_storage"))


def _foreign_arguments(
    args: Sequence[Any], label: Callable[[int], str]
) -> dict[int, tuple[ForeignArray, MemoryManager | None]]:
    """The foreign arrays among ``args`` with their managers (None when
    empty: no device needed); errors name the argument."""
    found: dict[int, tuple[ForeignArray, MemoryManager | None]] = {}
    for k, a in enumerate(args):
        if not may_be_foreign(a):
            continue
        try:
            foreign = foreign_array(a)
            if foreign is not None:
                found[k] = (foreign, manager_for(foreign) if foreign.size else None)
        except HybridJitError as exc:
            raise relabel(exc, label(k)) from None
    return found


def require_devices(args: Sequence[Any], label: Callable[[int], str]) -> None:
    """Raise, naming the argument, if a foreign array among ``args`` is
    unusable or its device unavailable (checked before compiling)."""
    _foreign_arguments(args, label)


def adopt_arguments(args: Sequence[Any], label: Callable[[int], str]) -> dict[int, Any]:
    """``{index: DeviceArray}`` for the foreign arrays among ``args`` (an
    empty host array for an empty one); errors name the argument via
    ``label(k)``.  End the adoption with :func:`release`."""
    found = _foreign_arguments(args, label)
    result: dict[int, Any] = {}
    by_manager: dict[int, tuple[MemoryManager, list[int]]] = {}
    for k, (foreign, manager) in found.items():
        if manager is None:
            result[k] = _empty_host(foreign)
        else:
            by_manager.setdefault(id(manager), (manager, []))[1].append(k)
    try:
        for manager, ks in by_manager.values():
            adopted = adopt([found[k][0] for k in ks], manager, [label(k) for k in ks])
            result.update(zip(ks, adopted, strict=True))
    except BaseException:
        release(d for d in result.values() if not isinstance(d, np.ndarray))
        raise
    return result


def release(adopted: Iterable[DeviceArray]) -> TransferStats:
    """End an adoption: copy host-newer bytes back to the foreign memory,
    wait for the device, drop the mirrors (the memory itself stays).
    Returns what the copies moved."""
    from .memory import TransferStats

    arrays = list(adopted)
    moved = TransferStats()
    if not arrays:
        return moved
    managers = {id(d.manager): d.manager for d in arrays}.values()
    before = [m.stats.copy() for m in managers]
    try:
        for d in arrays:
            d.manager.sync_to_device(d.host_storage)
        for manager, start in zip(managers, before, strict=True):
            manager.device.synchronize()
            moved.add(manager.stats - start)
    finally:
        for d in arrays:
            d.free()
    return moved
