"""The dispatch hook: runs parallel regions on a device, or declines.

Contract: an :class:`OffloadSession` lives for one call of a compiled
function.  The generated host code calls it

- ``session(rid, scalars, arrays)`` before region ``rid``: ``scalars`` is
  ``(lo, hi, step, *outside scalars, *reduction start values)``, ``arrays``
  the region's arrays in interface order.  It returns None ("run it here")
  or a tuple with one combined partial per reduction ("done on device").
- ``session.sync(array)`` before host code touches an array a region used;
- ``session.finish()`` when the function returns or raises.

A region runs on the device when a device of the requested kind exists and
(for ``target="auto"``) is an accelerator and the region is big enough.
Any :class:`DeviceError` falls back to the host for that region with a
warning, after copying back whatever the device held newer: host data is
never left half-updated.  ``stats`` records, per region, where it ran and
why, bytes moved and launches.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..codegen.kernel import LEVEL_SUFFIXES, REDUCTION_LOCAL, TILED_LOCAL
from ..errors import DeviceError, HybridJitWarning
from ..transform.regions import Region
from . import registry
from .device import Device, KernelArg, Program
from .memory import MemoryManager, box_region

#: "auto" offloads a region only when it runs at least this many iterations
AUTO_MIN_TRIP = 1 << 16
#: work-items launched for regions with reductions (at most; a partial per
#: work-group of REDUCTION_GROUP comes back to the host)
REDUCTION_THREADS = 1 << 20
#: upper bound on work-items for other regions (grid-stride loop beyond it)
MAX_THREADS = 1 << 22
#: work-items along dimensions 1 and 2 of a launch (CUDA's grid y and z limit)
MAX_GRID_Y = 65535

#: one line per region that fell back to the host after a device error
#: (tests assert it stays empty; useful when diagnosing a slow run)
FALLBACKS: list[str] = []
#: kernels a device failed to build (not injected faults): always a bug
BUILD_FAILURES: list[str] = []


@dataclass
class RegionStats:
    region: int
    line: int
    target: str
    reason: str
    bytes_to_device: int = 0
    bytes_to_host: int = 0
    launches: int = 0


@dataclass
class OffloadSession:
    regions: list[Region]
    target: str  # opencl | cuda | auto
    stats: dict[str, Any] = field(default_factory=dict)
    _manager: MemoryManager | None = None
    _device: Device | None = None
    _decline: str | None = None
    _per_region: dict[int, RegionStats] = field(default_factory=dict)
    _order: list[RegionStats] = field(default_factory=list)
    _start: Any = None

    def __post_init__(self) -> None:
        kind = session_kind(self.target)
        if kind is None:
            self._decline = "no accelerator available"
            return
        self._manager = registry.get_memory_manager(kind)
        if self._manager is None:
            self._decline = f"no {kind} device: {registry.availability(kind).reason}"
            return
        self._device = self._manager.device
        if self.target == "auto" and not self._device.is_accelerator:
            self._decline = f"the {kind} device ({self._device.name}) is the host CPU"
        self._start = self._manager.stats.copy()

    # ------------------------------------------------------------ hook calls

    def __call__(self, rid: int, scalars: tuple[Any, ...], arrays: tuple[Any, ...]) -> Any:
        region = self.regions[rid]
        ranges = [_trip(*scalars[3 * d:3 * d + 3]) for d in range(region.grid.dims)]
        scalars = scalars[3 * region.grid.dims:]
        reason = self._why_not([t for _, _, t in ranges], arrays) or _overlap(region, arrays)
        if reason is not None:
            # The host runs this region: it needs what earlier regions left
            # on the device.
            if self._manager is not None:
                self._recover(arrays)
            self._record(region, "cpu", reason)
            return None
        assert self._manager is not None and self._device is not None
        before = self._manager.stats.copy()
        try:
            result = self._run(region, scalars, arrays, ranges)
        except DeviceError as exc:
            warnings.warn(f"region at line {region.loc.line} fell back to the CPU: {exc}",
                          HybridJitWarning, stacklevel=2)
            self._recover(arrays)
            FALLBACKS.append(f"line {region.loc.line}: {exc.message}")
            self._record(region, "cpu", f"device error: {exc.message}")
            return None
        st = self._record(region, self._device.kind, "offloaded")
        delta = self._manager.stats - before
        st.bytes_to_device += delta.bytes_to_device
        st.bytes_to_host += delta.bytes_to_host
        st.launches += 1
        return result

    def takes(self, rid: int, work: int) -> bool:
        """Whether region ``rid`` of ``work`` iterations would run on the
        device (its arrays aside): a matrix product then runs there as its
        tiled kernel rather than as NumPy's product on the host."""
        return 0 <= rid < len(self.regions) and self._why_not([work], ()) is None

    def _why_not(self, trips: list[int], arrays: tuple[Any, ...]) -> str | None:
        if self._decline is not None:
            return self._decline
        work = math.prod(trips)
        if work == 0:
            return "the loop runs no iterations"
        if self.target == "auto" and work < AUTO_MIN_TRIP and not self._resident(arrays):
            return f"{work} iterations are too few to pay for a launch (auto)"
        return None

    def _resident(self, arrays: tuple[Any, ...]) -> bool:
        """Every array lives on the device across calls (DeviceArray, foreign
        device memory): running on the host would copy all of them home."""
        assert self._manager is not None
        mirrors = [self._manager.mirror_of(a) for a in arrays]
        return bool(mirrors) and all(m is not None and m.resident for m in mirrors)

    def sync(self, array: np.ndarray, write: int = 1) -> None:
        """Host code reads (write=0) or writes (write=1) ``array`` next."""
        if self._manager is not None:
            # by address: another argument sharing this memory may have put
            # newer bytes on the device
            self._manager.prepare_host_access(array, write=bool(write))

    def finish(self) -> None:
        if self._manager is not None and self._device is not None:
            try:
                self._manager.release_transient()
            except DeviceError as exc:
                warnings.warn(f"copying results back failed: {exc}", HybridJitWarning,
                              stacklevel=2)
        self._summarise()

    # ------------------------------------------------------------ running

    def _run(self, region: Region, scalars: tuple[Any, ...], arrays: tuple[Any, ...],
             ranges: list[tuple[int, int, int]]) -> Any:
        mgr, dev = self._manager, self._device
        assert mgr is not None and dev is not None and region.footprint is not None
        program = self._program(region)  # a build failure moves no data
        names = [n for n, _ in region.iface.arrays]
        hosts = dict(zip(names, arrays))
        nscal = len(region.iface.scalars)
        outside = zip(region.iface.scalars, scalars[:nscal])
        values: dict[Any, int] = {n: int(v) for (n, t), v in outside
                  if t.is_int or t.is_bool}
        shapes = {n: a.shape for n, a in hosts.items()}
        concrete = region.footprint.evaluate(values, shapes)
        for a in hosts.values():
            mgr.track(a)
        for name, a in hosts.items():
            fp = concrete.get(name)
            if fp is None:
                mgr.prepare_read(a)
                continue
            if fp.read is not None:
                mgr.prepare_read(a, box_region(a, fp.read))
            if fp.write is not None:
                exact = fp.fully_overwritten
                mgr.prepare_write(a, box_region(a, fp.write, exact=exact), fp.fully_overwritten)
        args: list[KernelArg] = []
        for name in names:
            view = mgr.kernel_view(hosts[name])
            args += view.args()
            args += [KernelArg(int(n), np.dtype(np.int64)) for n in view.shape]
            args += [KernelArg(int(s), np.dtype(np.int64)) for s in view.strides]
        for (_n, t), v in zip(region.iface.scalars, scalars[:nscal]):
            args.append(KernelArg(v, t.dtype))
        order = region.grid.dim_order()
        counts = launch_counts([t for _, _, t in ranges], bool(region.reductions), order)
        unused = [(0, 1, 1)] * (len(LEVEL_SUFFIXES) - len(ranges))
        for (lo, step, trip), n in zip([*ranges, *unused], [*counts, *[1] * len(unused)]):
            args += [KernelArg(v, np.dtype(np.int64)) for v in (lo, step, trip, n)]
        # launch dimension d runs loop level order[d] (transform.grid)
        shape = tuple(counts[level] for level in order)
        local: tuple[int, ...] | None = None
        if region.tiles:  # whole work-groups of the tiles' size (codegen/tiled.py)
            local = TILED_LOCAL
        elif region.reductions:  # whole work-groups of the kernel's fixed size
            local = REDUCTION_LOCAL[len(shape)]
        if local is not None:
            shape = tuple(-(-n // g) * g for n, g in zip(shape, local))
        nparts = math.prod(n // g for n, g in zip(shape, local)) if local else 0
        partials = []
        for r in region.reductions:
            dt = np.dtype(region.reduction_types[r.var])
            buf = dev.alloc(nparts * dt.itemsize)
            partials.append((buf, dt))
            args.append(KernelArg(buf))
        try:
            dev.launch(program, region.kernel_name, shape, args, local)
            for name, a in hosts.items():
                fp = concrete.get(name)
                if name not in region.iface.written:
                    continue
                if fp is None:  # no footprint: the kernel may have written all of it
                    mgr.after_write(a, None)
                elif fp.write is not None:  # (None: its stores did not run)
                    mgr.after_write(a, box_region(a, fp.write, exact=True))
            results = []
            for buf, dt in partials:
                host = np.empty(nparts, dt)
                dev.copy_out(buf, 0, host)
                results.append(host)
        finally:
            for buf, _t in partials:
                dev.free(buf)
        return tuple(_combine(r.op, part) for r, part in zip(region.reductions, results))

    def _program(self, region: Region) -> Program:
        dev = self._device
        assert dev is not None
        # devices keep what they built: a rebuild of the same source is a lookup
        try:
            return dev.build(region.kernels[dev.kind])
        except DeviceError as exc:
            if not registry.fault_requested("build"):
                # generated code a device rejects is a hybridjit bug: the CPU
                # still gives the answer, and the test suite fails on it
                BUILD_FAILURES.append(f"line {region.loc.line}: {exc.message}")
            raise

    def _recover(self, arrays: tuple[Any, ...]) -> None:
        """After a device fault: bring every array of the region home."""
        assert self._manager is not None
        for a in arrays:
            try:
                if self._manager.mirror_of(a) is not None:
                    self._manager.prepare_host_access(a, write=True)
            except DeviceError as exc:  # pragma: no cover - double fault
                warnings.warn(f"could not recover device data: {exc}", HybridJitWarning,
                              stacklevel=3)

    # ------------------------------------------------------------ stats

    def _record(self, region: Region, target: str, reason: str) -> RegionStats:
        st = self._per_region.get(region.rid)
        if st is None or st.target != target:
            st = RegionStats(region.rid, region.loc.line, target, reason)
            self._per_region[region.rid] = st
            self._order.append(st)
        return st

    def _summarise(self) -> None:
        for r in self.regions:
            if r.rid < 0:
                blocked = RegionStats(r.rid, r.loc.line, "cpu",
                                      "cannot run on a device: " + "; ".join(r.blockers))
                self._order.append(blocked)
        self._order.sort(key=lambda st: st.line)
        total = (self._manager.stats - self._start) if self._manager and self._start else None
        self.stats = {
            "regions": [vars(s) for s in self._order],
            "bytes_to_device": total.bytes_to_device if total else 0,
            "bytes_to_host": total.bytes_to_host if total else 0,
            "launches": sum(s.launches for s in self._order),
        }


def session_kind(target: str) -> str | None:
    """The device kind a call with ``target`` offloads to, if any: the
    requested one, or for "auto" the preferred accelerator."""
    return target if target != "auto" else registry.preferred_kind()


def _trip(lo: int, hi: int, step: int) -> tuple[int, int, int]:
    """``(lo, step, iterations)`` of ``range(lo, hi, step)``."""
    return lo, step, max(0, (hi - lo + step - (1 if step > 0 else -1)) // step)


def launch_counts(trips: list[int], reduces: bool,
                  order: tuple[int, ...] | None = None) -> list[int]:
    """Work-items per loop of the nest, outer first: one per iteration up to
    a total of MAX_THREADS (REDUCTION_THREADS with reductions, one partial
    each), the innermost loop served first; grid-stride loops do the rest.
    ``order`` gives the loop level on each launch dimension (default: the
    innermost on dimension 0); loops on dimensions 1 and 2 get at most
    MAX_GRID_Y."""
    budget = REDUCTION_THREADS if reduces else MAX_THREADS
    counts = []
    for t in reversed(trips):
        n = max(1, min(t, budget))
        counts.append(n)
        budget = max(1, budget // n)
    counts.reverse()
    order = order or tuple(reversed(range(len(counts))))
    for level in order[1:]:
        counts[level] = min(counts[level], MAX_GRID_Y)
    return counts


def _overlap(region: Region, arrays: tuple[Any, ...]) -> str | None:
    """Arrays the proof assumed distinct that share memory in this call
    (exactly: interleaved or side-by-side views of one buffer do not; the
    very same view does not count where the loop allows it)."""
    by_name = dict(zip((n for n, _ in region.iface.arrays), arrays))
    for a, b in region.distinct:
        x, y = _host_view(by_name[a]), _host_view(by_name[b])
        if (a, b) in region.identical_ok and _same_view(x, y):
            continue
        if np.shares_memory(x, y):
            return f"'{a}' and '{b}' share memory in this call: runs serially on the host"
    return None


def _host_view(a: Any) -> np.ndarray:
    return a.host_storage if hasattr(a, "host_storage") else a


def _same_view(x: np.ndarray, y: np.ndarray) -> bool:
    return (x.__array_interface__["data"][0] == y.__array_interface__["data"][0]
            and x.shape == y.shape and x.strides == y.strides and x.dtype == y.dtype)


def _combine(op: str, parts: np.ndarray) -> Any:
    """Combine the per-work-group partials."""
    if op in ("+", "-"):
        return parts.sum().item()
    if op == "*":
        return np.prod(parts).item()
    if op == "min":
        return parts.min().item()
    return parts.max().item()
