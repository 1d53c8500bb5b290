"""Coherent host/device memory: the "virtual shared address space".

Contract: a :class:`MemoryManager` owns, for one device, a *mirror* of every
host array in play, tracks which bytes are valid on the host and which on the
device, and moves only what a region needs.  The dispatcher drives it:

- ``track(a, resident=False) -> Mirror``: the mirror of ``a`` (made lazily);
- ``prepare_read(a, region=None)``: before a kernel that reads ``region``;
- ``prepare_write(a, region=None, fully_overwritten=False)``: before one that
  writes it;
- ``after_write(a, region=None)``: after it; the device now owns the bytes;
- ``kernel_view(a) -> KernelView``: the buffer and element offset/strides;
- ``prepare_host_access(a, write=True)``: before host code touches ``a``;
- ``sync_to_host(a, region=None)`` / ``sync_all()``: copy back stale bytes;
- ``sync_to_device(a, invalidate_host=False)``: copy host-newer bytes of
  every view of ``a``'s mirror to the device (and, when the device memory is
  handed to another library that may write it, mark the host copy stale);
- ``adopt(arrays, buffer) -> Mirror``: a resident mirror over an existing
  device buffer that already holds the arrays' data (zero-copy interop);
- ``release(a)`` / ``release_transient()`` / ``close()``: sync, then free;
  ``discard(a)``: free without syncing;
- ``stats`` / ``array_stats(a)``: :class:`TransferStats` counters.

Mirrors.  A mirror is one device buffer that images a byte range of host
memory: buffer byte ``k`` is host address ``mirror.host_lo + k``.  It covers
the span of addresses the tracked views touch (not their whole base array),
so views whose spans overlap - aliasing arguments, ``a`` and ``a[::2]`` -
share one mirror and stay coherent.  Tracking an array that overlaps several
mirrors merges them into one covering the union: the old mirrors are synced
to the host and freed first (rare: the dispatcher tracks a region's arrays
before moving data).  ``host_lo`` is rounded down to 128 bytes so that device
addresses have the host's alignment.

Every method taking an array also takes a
:class:`~hybridjit.runtime.device_array.DeviceArray` (meaning its host storage).

Regions.  A region is an :class:`IntervalSet` of byte offsets relative to the
address of the view's element ``(0, ..., 0)`` (negative for negative
strides), or a :class:`ByteRegion` made by :func:`box_region` from an index
box, or None for the whole view.  :func:`box_region` gives by default the
*row span*: the contiguous bytes from the lowest to the highest address in
the box (for a C-contiguous 2-D box, from its first row's first element to its
last row's last element), one copy per transfer but including the gaps
between rows.  ``exact=True`` gives the box's own bytes, one interval per
contiguous segment (one per row of a 2-D box; at most
:data:`MAX_EXACT_SEGMENTS`, beyond which it falls back to the span); runs of
equal segments at a constant pitch are moved with one rectangular copy
(``Device.copy_in_2d``).  Only an exact region can be "fully overwritten":
``prepare_write`` ignores that claim for a non-exact ``ByteRegion``.

Invariants (checked after every operation when ``debug``, which
``HYBRIDJIT_DEBUG=1`` or ``HYBRIDJIT_POISON`` turn on): every byte is valid on
the host or on the device; every byte copied back to the host was written by a
kernel or copied in first; a kernel-written region was copied in first or
declared fully overwritten.  Counters (:class:`TransferStats`) are kept per
manager and per mirror (aliasing views share their mirror's counters).

Resident mirrors (``track(a, resident=True)``, used by
:mod:`~hybridjit.runtime.device_array`) survive ``release_transient()``, so
data stays on the device across calls.

Adopted mirrors (``adopt``, used by :mod:`~hybridjit.runtime.interop`) are
resident mirrors over a buffer the manager did not allocate (``Buffer.owned``
False): memory of another library, already holding every byte.  They start
valid (and defined) on the device only; buffer byte ``k`` is host address
``lo + k`` exactly (no rounding: the host side is a private shadow laid out
like the device memory).  The manager never frees such a buffer, never
merges such a mirror with another (which would move the data to a new
buffer), and ``close()`` drops it without copying its bytes to the host.

Not thread-safe: one manager per device, used from the calling thread.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from hybridjit.errors import DeviceError, InternalError
from hybridjit.runtime.device import Buffer, Device, KernelArg
from hybridjit.runtime.intervals import EMPTY, IntervalSet, StridedRun, strided_runs

if TYPE_CHECKING:
    from hybridjit.runtime.device_array import DeviceArray

#: Mirrors start at host addresses rounded down to this (covers every dtype).
ALIGN = 128
#: An exact region with more segments than this falls back to the row span.
MAX_EXACT_SEGMENTS = 4096

Box = Sequence[tuple[int, int]]


# -- regions ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ByteRegion:
    """Byte intervals relative to element ``(0, ..., 0)`` of a view; ``exact``
    when they are exactly the bytes of the box's elements (no gaps)."""

    intervals: IntervalSet
    exact: bool


def _clamp_box(shape: tuple[int, ...], box: Box) -> list[tuple[int, int]] | None:
    """The box clipped to the array (footprints may over-approximate), or
    None when it is empty."""
    if len(box) != len(shape):
        raise ValueError(f"box has {len(box)} dimensions, array has {len(shape)}")
    out = []
    for (lo, hi), n in zip(box, shape, strict=True):
        lo, hi = max(int(lo), 0), min(int(hi), n - 1)
        if hi < lo:
            return None
        out.append((lo, hi))
    return out


def _contiguous_block(
    box: list[tuple[int, int]], strides: tuple[int, ...], itemsize: int
) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Split a box into its innermost contiguous block and the outer dims.

    Returns ``(base, block_bytes, outer)``: every segment of the box is
    ``block_bytes`` long and starts at ``base + sum(i_d * s_d)`` over the
    ``outer`` dims ``(lo, hi, stride)``.  Dims are taken in order of
    increasing |stride|; a dim extends the block while its |stride| equals
    the block's length (so a box covering whole rows merges with the next
    dim, one covering part of a row stops there)."""
    base, block, outer = 0, itemsize, []
    extending = True
    for (lo, hi), s in sorted(zip(box, strides, strict=True), key=lambda d: abs(d[1])):
        if hi == lo or s == 0:
            base += lo * s  # a single index (or a broadcast dim): a constant offset
        elif extending and abs(s) == block:
            base += min(lo * s, hi * s)
            block *= hi - lo + 1
        else:
            extending = False
            outer.append((lo, hi, s))
    return base, block, outer


def _segments(base: int, block: int, outer: list[tuple[int, int, int]]) -> IntervalSet | None:
    count = 1
    for lo, hi, _ in outer:
        count *= hi - lo + 1
    if count > MAX_EXACT_SEGMENTS:
        return None
    starts = np.array([base], dtype=np.int64)
    for lo, hi, s in outer:
        starts = (starts[:, None] + np.arange(lo, hi + 1, dtype=np.int64) * s).ravel()
    return IntervalSet((int(st), int(st) + block) for st in starts)


def box_region(array: np.ndarray, box: Box, exact: bool = False) -> ByteRegion:
    """Bytes of the index box ``box`` (per dim inclusive ``(lo, hi)``) of ``array``.

    Default: the row span (lowest to highest address in the box); ``exact``:
    one interval per contiguous segment (see module docstring)."""
    clamped = _clamp_box(array.shape, box)
    if clamped is None:
        return ByteRegion(EMPTY, True)
    base, block, outer = _contiguous_block(clamped, array.strides, array.itemsize)
    if not outer:
        return ByteRegion(IntervalSet.span(base, base + block), True)
    if exact:
        segments = _segments(base, block, outer)
        if segments is not None:
            return ByteRegion(segments, True)
    lo = base + sum(min(first * s, last * s) for first, last, s in outer)
    hi = base + sum(max(first * s, last * s) for first, last, s in outer) + block
    return ByteRegion(IntervalSet.span(lo, hi), False)


def whole_region(array: np.ndarray, exact: bool = True) -> ByteRegion:
    """All bytes of the view (exact segments by default)."""
    return box_region(array, [(0, n - 1) for n in array.shape], exact=exact)


def data_address(array: np.ndarray) -> int:
    """Host address of element ``(0, ..., 0)``."""
    address: int = array.__array_interface__["data"][0]
    return address


def _address_span(array: np.ndarray) -> tuple[int, int]:
    """``[lo, hi)`` host addresses the view touches (``lo == hi`` if empty)."""
    lo, hi = whole_region(array, exact=False).intervals.bounds()
    address = data_address(array)
    return address + lo, address + hi


# -- statistics -----------------------------------------------------------------


@dataclass(slots=True)
class TransferStats:
    """Bytes and copy operations between host and device."""

    bytes_to_device: int = 0
    bytes_to_host: int = 0
    copies_to_device: int = 0
    copies_to_host: int = 0

    def copy(self) -> TransferStats:
        return TransferStats(*(getattr(self, f.name) for f in fields(self)))

    def __sub__(self, other: TransferStats) -> TransferStats:
        names = [f.name for f in fields(self)]
        return TransferStats(*(getattr(self, n) - getattr(other, n) for n in names))

    def add(self, other: TransferStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


# -- mirrors --------------------------------------------------------------------


class _HostBytes:
    """Exposes host memory as uint8 and keeps the arrays owning it alive (the
    resulting ndarray's ``base``), also while a non-blocking copy runs."""

    def __init__(self, address: int, nbytes: int, owners: tuple[np.ndarray, ...]) -> None:
        self.__array_interface__ = {
            "shape": (nbytes,),
            "typestr": "|u1",
            "data": (address, False),
            "version": 3,
        }
        self.owners = owners


@dataclass(eq=False)
class Mirror:
    """One device buffer imaging host bytes ``[host_lo, host_lo + nbytes)``."""

    host_lo: int
    nbytes: int
    buffer: Buffer
    #: lowest address a tracked view touches (``host_lo`` is rounded down
    #: from it; the bytes in between belong to no tracked view)
    data_lo: int
    arrays: dict[int, np.ndarray]  # id -> tracked view; holds the memory alive
    resident: bool = False
    host_valid: IntervalSet = EMPTY
    device_valid: IntervalSet = EMPTY
    #: bytes ever copied in or written by a kernel: the only ones fit to copy back
    device_defined: IntervalSet = EMPTY
    #: declared fully overwritten by the next kernel (debug bookkeeping)
    write_ready: IntervalSet = EMPTY
    stats: TransferStats = field(default_factory=TransferStats)
    host_bytes: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.host_valid = self.full()
        owners = tuple(self.arrays.values())
        self.host_bytes = np.asarray(_HostBytes(self.host_lo, self.nbytes, owners))

    def full(self) -> IntervalSet:
        return IntervalSet.span(0, self.nbytes)

    def offset_of(self, array: np.ndarray) -> int:
        """Byte offset in the buffer of ``array``'s element ``(0, ..., 0)``."""
        return data_address(array) - self.host_lo


@dataclass(frozen=True, slots=True)
class KernelView:
    """How a kernel addresses a view: ``buffer[offset + i*strides[0] + ...]``
    (offset and strides in elements)."""

    buffer: Buffer
    offset: int
    strides: tuple[int, ...]
    shape: tuple[int, ...]

    def args(self) -> list[KernelArg]:
        """The buffer and the element offset (as int64), in that order."""
        return [KernelArg(self.buffer), KernelArg(self.offset, np.dtype(np.int64))]


Region: TypeAlias = ByteRegion | IntervalSet | None
#: What the manager's methods accept: a host array, or a DeviceArray (its storage).
Array: TypeAlias = "np.ndarray | DeviceArray"


def _host(array: Array) -> np.ndarray:
    # duck-typed: device_array imports this module, not the other way round
    return array if isinstance(array, np.ndarray) else array.host_storage


def _debug_from_env() -> bool:
    return bool(os.environ.get("HYBRIDJIT_DEBUG") or os.environ.get("HYBRIDJIT_POISON"))


class MemoryManager:
    """Host/device coherence for one device (see module docstring)."""

    def __init__(self, device: Device, *, debug: bool | None = None) -> None:
        self.device = device
        self.debug = _debug_from_env() if debug is None else debug
        self.stats = TransferStats()
        self._mirrors: list[Mirror] = []
        self._by_id: dict[int, Mirror] = {}

    # -- tracking -------------------------------------------------------------

    @property
    def mirrors(self) -> tuple[Mirror, ...]:
        return tuple(self._mirrors)

    def mirror_of(self, array: Array) -> Mirror | None:
        """The mirror already tracking this very array object, if any."""
        return self._by_id.get(id(_host(array)))

    def track(self, array: Array, *, resident: bool = False) -> Mirror:
        """The mirror of ``array``, creating or merging mirrors as needed."""
        array = _host(array)
        known = self._by_id.get(id(array))
        if known is not None:
            known.resident |= resident
            return known
        lo, hi = _address_span(array)
        overlapping = self._overlapping(lo, hi)
        # a data range inside one mirror: just share it
        if len(overlapping) == 1 and self._inside(overlapping[0], lo, hi):
            mirror = overlapping[0]
            mirror.arrays[id(array)] = array
            mirror.resident |= resident
            self._by_id[id(array)] = mirror
            return mirror
        return self._new_mirror(array, lo, hi, overlapping, resident)

    def _overlapping(self, lo: int, hi: int) -> list[Mirror]:
        """Mirrors sharing a byte with host addresses ``[lo, hi)``."""
        return [m for m in self._mirrors if lo < m.host_lo + m.nbytes and m.data_lo < hi]

    @staticmethod
    def _inside(mirror: Mirror, lo: int, hi: int) -> bool:
        return mirror.data_lo <= lo and hi <= mirror.host_lo + mirror.nbytes

    def _new_mirror(
        self, array: np.ndarray, lo: int, hi: int, merged: list[Mirror], resident: bool
    ) -> Mirror:
        arrays = {id(array): array}
        stats = TransferStats()
        if any(not old.buffer.owned for old in merged):
            # the foreign memory must stay the array's storage: never move it
            raise InternalError("a host array overlaps the shadow of an adopted device buffer")
        for old in merged:
            # the new buffer starts with nothing valid: the host must hold it all
            self._sync_mirror(old, old.full())
            lo = min(lo, old.data_lo)
            hi = max(hi, old.host_lo + old.nbytes)
            arrays.update(old.arrays)
            resident |= old.resident
            stats.add(old.stats)
        host_lo = lo - lo % ALIGN
        buffer = self.device.alloc(hi - host_lo)
        for old in merged:
            self._forget(old)
        return self._register(Mirror(host_lo, hi - host_lo, buffer, lo, arrays, resident,
                                     stats=stats))

    def _register(self, mirror: Mirror) -> Mirror:
        self._mirrors.append(mirror)
        for key in mirror.arrays:
            self._by_id[key] = mirror
        return mirror

    def adopt(self, arrays: Sequence[np.ndarray], buffer: Buffer) -> Mirror:
        """A resident mirror of ``arrays`` whose device side is ``buffer``,
        memory that already holds their data: buffer byte ``k`` images host
        address ``lo + k``, ``lo`` the lowest address the arrays touch.  The
        host side starts stale; nothing moves.  The arrays' memory must not
        overlap any tracked array (it is a fresh private shadow)."""
        if buffer.device is not self.device:
            raise InternalError("adopted buffer belongs to another device")
        spans = [_address_span(a) for a in arrays]
        lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
        if hi - lo > buffer.nbytes:
            raise InternalError(f"{hi - lo} bytes adopted from a {buffer.nbytes}-byte buffer")
        if self._overlapping(lo, hi):
            raise InternalError("adopted host storage overlaps a tracked array")
        mirror = Mirror(lo, hi - lo, buffer, lo, {id(a): a for a in arrays}, resident=True)
        mirror.host_valid = EMPTY
        mirror.device_valid = mirror.device_defined = mirror.full()
        self._check(mirror)
        return self._register(mirror)

    def _forget(self, mirror: Mirror) -> None:
        self._mirrors.remove(mirror)
        for key in mirror.arrays:
            self._by_id.pop(key, None)
        if mirror.buffer.owned:  # adopted memory belongs to another library
            self.device.free(mirror.buffer)

    def _region(self, mirror: Mirror, array: np.ndarray, region: Region) -> IntervalSet:
        """``region`` of ``array`` in mirror byte coordinates."""
        if region is None:
            region = whole_region(array)
        intervals = region.intervals if isinstance(region, ByteRegion) else region
        shifted = intervals.shift(mirror.offset_of(array))
        if self.debug and not mirror.full().contains(shifted):
            raise InternalError(f"region {intervals} lies outside the array's memory")
        return shifted.clip(0, mirror.nbytes)

    # -- before and after kernels ---------------------------------------------

    def prepare_read(self, array: Array, region: Region = None) -> Mirror:
        """Make ``region`` of ``array`` valid on the device (copying only what
        is not valid there yet)."""
        array = _host(array)
        mirror = self.track(array)
        wanted = self._region(mirror, array, region)
        self._copy_in(mirror, wanted - mirror.device_valid)
        self._check(mirror)
        return mirror

    def prepare_write(
        self, array: Array, region: Region = None, fully_overwritten: bool = False
    ) -> Mirror:
        """Before a kernel writes ``region``: unless the kernel provably writes
        every byte of it, copy in what the device lacks, so that copying the
        region back later never returns bytes the kernel left untouched."""
        if isinstance(region, ByteRegion) and not region.exact:
            fully_overwritten = False  # the span has gaps the kernel does not write
        if not fully_overwritten:
            return self.prepare_read(array, region)
        array = _host(array)
        mirror = self.track(array)
        mirror.write_ready |= self._region(mirror, array, region)
        return mirror

    def after_write(self, array: Array, region: Region = None) -> None:
        """A kernel wrote ``region``: the device now owns it, the host is stale."""
        array = _host(array)
        mirror = self.track(array)
        written = self._region(mirror, array, region)
        if self.debug and not (mirror.device_valid | mirror.write_ready).contains(written):
            raise InternalError(
                f"kernel wrote {written - mirror.device_valid} neither copied in nor "
                "declared fully overwritten"
            )
        mirror.device_valid |= written
        mirror.device_defined |= written
        mirror.host_valid -= written
        mirror.write_ready -= written
        self._check(mirror)

    def kernel_view(self, array: Array) -> KernelView:
        """Buffer and element offset/strides through which a kernel reads
        ``array``; DeviceError if the view is not element-aligned."""
        array = _host(array)
        mirror = self.track(array)
        item = array.itemsize
        offset = mirror.offset_of(array)
        if offset % item or any(s % item for s in array.strides):
            raise DeviceError(
                f"array view not aligned to its {item}-byte elements "
                f"(offset {offset}, strides {array.strides}): cannot index it on the device"
            )
        strides = tuple(s // item for s in array.strides)
        return KernelView(mirror.buffer, offset // item, strides, array.shape)

    # -- host side ------------------------------------------------------------

    def prepare_host_access(self, array: Array, write: bool = True) -> None:
        """Before host code touches ``array``: bring stale bytes back, and if
        it may write, drop the device's copy of the view's bytes."""
        lo, hi = _address_span(_host(array))
        # by address, not identity: the host may use any view of the memory
        for mirror in self._overlapping(lo, hi):
            self._sync_mirror(mirror, mirror.full())
            if write:
                # an in-flight copy-in of these bytes becomes moot: they are invalid now
                span = IntervalSet.span(lo - mirror.host_lo, hi - mirror.host_lo)
                mirror.device_valid -= span.clip(0, mirror.nbytes)
            self._check(mirror)

    def sync_to_host(self, array: Array, region: Region = None) -> None:
        """Copy back the bytes stale on the host of ``array``'s mirror, or of
        ``region`` of ``array``; an untracked view is found by address."""
        array = _host(array)
        mirror = self._by_id.get(id(array))
        if mirror is not None and region is not None:
            self._sync_mirror(mirror, self._region(mirror, array, region))
            return
        mirrors = [mirror] if mirror is not None else self._overlapping(*_address_span(array))
        for m in mirrors:
            self._sync_mirror(m, m.full())

    def sync_to_device(self, array: Array, *, invalidate_host: bool = False) -> None:
        """Copy to the device the host-newer bytes of every view tracked by
        ``array``'s mirror (each view's own bytes, see ``prepare_read``), so the
        device memory is complete; an untracked array moves nothing.  Read-only
        views are skipped: the host cannot have changed bytes through them (and
        an aliasing writable view brings its own), and adopted read-only memory
        must never be written.

        ``invalidate_host``: the views' host bytes become stale, as if a kernel
        had written them - for device memory handed to another library, which
        may write it behind our back (the next host access copies it back)."""
        mirror = self._by_id.get(id(_host(array)))
        if mirror is None:
            return
        for view in list(mirror.arrays.values()):
            if not view.flags.writeable:
                continue
            self.prepare_read(view)
            if invalidate_host:
                mirror.host_valid -= self._region(mirror, view, None)
        self._check(mirror)

    def sync_all(self) -> None:
        for mirror in self._mirrors:
            self._sync_mirror(mirror, mirror.full())

    def release(self, array: Array) -> None:
        """Sync ``array``'s mirror (all its aliasing views) to the host and free it."""
        mirror = self._by_id.get(id(_host(array)))
        if mirror is not None:
            self._sync_mirror(mirror, mirror.full())
            self._forget(mirror)

    def discard(self, array: Array) -> None:
        """Free ``array``'s mirror without copying anything back."""
        mirror = self._by_id.get(id(_host(array)))
        if mirror is not None:
            self._forget(mirror)

    def release_transient(self) -> None:
        """End of a call: sync and free every mirror that is not resident."""
        for mirror in [m for m in self._mirrors if not m.resident]:
            self._sync_mirror(mirror, mirror.full())
            self._forget(mirror)

    def close(self) -> None:
        """Sync and free everything (resident mirrors too; adopted ones are
        dropped as they are: their device memory is the data's home)."""
        for mirror in list(self._mirrors):
            if mirror.buffer.owned:
                self._sync_mirror(mirror, mirror.full())
            self._forget(mirror)
        self.device.synchronize()

    def array_stats(self, array: Array) -> TransferStats:
        """Transfers of the mirror holding ``array`` (zero if untracked)."""
        mirror = self._by_id.get(id(_host(array)))
        return mirror.stats.copy() if mirror is not None else TransferStats()

    # -- copies ---------------------------------------------------------------

    def _sync_mirror(self, mirror: Mirror, wanted: IntervalSet) -> None:
        stale = wanted - mirror.host_valid
        if not stale:
            return
        if self.debug and not (mirror.device_valid & mirror.device_defined).contains(stale):
            raise InternalError(f"would copy back undefined device bytes {stale}")
        self._copy_out(mirror, stale)
        mirror.host_valid |= stale
        self._check(mirror)

    def _copy_in(self, mirror: Mirror, intervals: IntervalSet) -> None:
        if not intervals:
            return
        self._transfer(mirror, intervals, "device")
        # only after every copy succeeded: a failure leaves the state unchanged
        mirror.device_valid |= intervals
        mirror.device_defined |= intervals

    def _copy_out(self, mirror: Mirror, intervals: IntervalSet) -> None:
        self._transfer(mirror, intervals, "host")

    def _transfer(self, mirror: Mirror, intervals: IntervalSet, to: str) -> None:
        """Copy ``intervals`` to the "device" or the "host": one copy per
        contiguous run, one rectangular copy per run of equal rows."""
        dev = self.device
        flat, rect = (dev.copy_in, dev.copy_in_2d) if to == "device" \
            else (dev.copy_out, dev.copy_out_2d)
        for run in strided_runs(intervals):
            if run.count == 1:
                flat(mirror.buffer, run.start, mirror.host_bytes[run.start:run.start + run.length])
            else:
                rect(mirror.buffer, run.start, run.pitch, _rows(mirror, run))
            self._count(mirror, to, run.total())

    def _count(self, mirror: Mirror, direction: str, nbytes: int) -> None:
        for stats in (self.stats, mirror.stats):
            if direction == "device":
                stats.bytes_to_device += nbytes
                stats.copies_to_device += 1
            else:
                stats.bytes_to_host += nbytes
                stats.copies_to_host += 1

    def _check(self, mirror: Mirror) -> None:
        if not self.debug:
            return
        if (mirror.host_valid | mirror.device_valid) != mirror.full():
            lost = mirror.full() - mirror.host_valid - mirror.device_valid
            raise InternalError(f"bytes {lost} valid neither on host nor on device")
        if not mirror.device_defined.contains(mirror.device_valid):
            raise InternalError("device-valid bytes that were never defined on the device")


def _rows(mirror: Mirror, run: StridedRun) -> np.ndarray:
    """The host bytes of ``run`` as a 2-D uint8 view: one row per interval."""
    return np.lib.stride_tricks.as_strided(
        mirror.host_bytes[run.start :], shape=(run.count, run.length), strides=(run.pitch, 1)
    )
