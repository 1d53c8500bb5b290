"""Targets: the implementations a kernel is timed with, one column each.

A target turns a :class:`kernels.Kernel` into a callable with the kernel's
calling convention.  ``setup()`` runs once before any kernel (imports, a
warm-up compile of :func:`loops.init_probe` so one-time costs such as thread
pools are not charged to the first kernel) and may raise: the runner then
reports that target as an error for every kernel instead of stopping.

Device columns (:class:`DeviceTarget`, ``run.py --opencl`` / ``--cuda``) come
in pairs: "with transfers" gets the kernel's plain NumPy arguments, so every
call copies its inputs to the device and its results back; "resident" gets
them converted once with ``hybridjit.to_device`` before timing
(:meth:`Target.prepare_args`), so calls move no data.  Kernel launches are
asynchronous (OpenCL: enqueued on an in-order queue; CUDA: on a stream), so
every timed call of a device column ends with the device's
``synchronize()``: the time includes all device work of the call.

To add a column, subclass :class:`Target` and add an instance to
:func:`default_targets`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import loops
import numpy as np
from kernels import Kernel


class Target:
    """Base class: a named way of running a kernel."""

    name = "?"
    compiled = False  # True: the first call compiles, report its compile time
    resident = False  # True: arguments live on a device (prepare_args/host_outputs)

    def __init__(self) -> None:
        self.init_s: float | None = None

    def setup(self) -> None:
        """Prepare the target (imports, warm-up); raise if it is unavailable."""

    def build(self, kernel: Kernel) -> Callable[..., Any]:
        """The callable running ``kernel`` on this target."""
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """How the target compiles or runs, for the JSON report."""
        return {}

    def prepare_args(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """The arguments the timed calls get (not timed; default: ``args`` as they are)."""
        return args

    def host_outputs(self, outputs: tuple[Any, ...]) -> tuple[np.ndarray, ...]:
        """Output arguments as host arrays (default: they already are)."""
        return outputs

    def run_info(self, fn: Callable[..., Any]) -> dict[str, Any]:
        """Extra fields for the result row after a call of ``fn`` (e.g. transfer stats)."""
        return {}

    def release(self, args: tuple[Any, ...]) -> None:
        """Free what :meth:`prepare_args` allocated."""

    def _warm_up(self, fn: Callable[..., Any]) -> None:
        """Call ``fn`` on a small array once and record how long that took."""
        t0 = time.perf_counter()
        fn(np.zeros(1000))
        self.init_s = time.perf_counter() - t0


class NumpyTarget(Target):
    """The idiomatic NumPy version: the reference for correctness and speed."""

    name = "numpy"

    def build(self, kernel: Kernel) -> Callable[..., Any]:
        return kernel.numpy_impl


class NumbaTarget(Target):
    """``numba.njit(parallel=True)`` on the same loops, with ``numba.prange``."""

    name = "numba"
    compiled = True

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self._options = {"parallel": True, **options}
        self._numba: Any = None

    def setup(self) -> None:
        import numba

        self._numba = numba
        self._warm_up(self._jit(loops.init_probe))

    def _jit(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        numba = self._numba
        return numba.njit(**self._options)(loops.with_prange(fn, numba.prange))

    def build(self, kernel: Kernel) -> Callable[..., Any]:
        return self._jit(kernel.loop_impl)

    def options(self) -> dict[str, Any]:
        threads = self._numba.get_num_threads() if self._numba else None
        return {**self._options, "threads": threads}


class HybridJitTarget(Target):
    """``hybridjit.jit(...)`` on the loop functions.

    ``variant="prange"`` compiles ``kernel.loop_impl``; ``variant="range"``
    compiles ``kernel.range_impl`` (plain ``range`` loops), for automatic
    parallelism with ``parallel="auto"``.
    """

    compiled = True

    def __init__(self, name: str = "hybridjit", variant: str = "prange", **options: Any) -> None:
        super().__init__()
        self.name = name
        self.variant = variant
        self._options = {"parallel": True, "target": "cpu", **options}
        self._jit: Any = None

    def setup(self) -> None:
        if loops.HYBRIDJIT_IMPORT_ERROR is not None:
            raise ImportError(f"import hybridjit failed: {loops.HYBRIDJIT_IMPORT_ERROR}")
        from hybridjit import jit

        self._jit = jit
        self._warm_up(self._jit(**self._options)(loops.init_probe))

    def build(self, kernel: Kernel) -> Callable[..., Any]:
        fn = kernel.loop_impl if self.variant == "prange" else kernel.range_impl
        return self._jit(**self._options)(fn)

    def options(self) -> dict[str, Any]:
        return {"variant": self.variant, **self._options}


class DeviceTarget(HybridJitTarget):
    """``hybridjit.jit(parallel=True, target=kind)``: prange regions on an OpenCL/CUDA device.

    ``resident=False`` ("with transfers"): plain NumPy arguments, each call
    copies inputs in and results out.  ``resident=True``: every NumPy array
    argument is converted once with ``hybridjit.to_device`` before timing
    (scalars stay as they are), so calls move no data; outputs are brought
    back with ``to_host()`` outside the timed calls.  Every call is followed
    by the device's ``synchronize()`` (launches are asynchronous).
    """

    def __init__(self, kind: str, resident: bool) -> None:
        name = f"hybridjit-{kind}" + ("-resident" if resident else "")
        super().__init__(name, target=kind)
        self.kind = kind
        self.resident = resident
        # the resident column compiles what the column before it compiled (disk
        # cache hit): its "compile time" would be a cache load
        self.compiled = not resident
        self._device: Any = None
        self._to_device: Any = None
        self.warm_up_fell_back: str | None = None

    def setup(self) -> None:
        if loops.HYBRIDJIT_IMPORT_ERROR is not None:
            raise ImportError(f"import hybridjit failed: {loops.HYBRIDJIT_IMPORT_ERROR}")
        from hybridjit import jit, to_device
        from hybridjit.runtime import registry

        avail = registry.availability(self.kind)
        if not avail.available:
            raise RuntimeError(f"no {self.kind} device: {avail.reason}")
        device = registry.get_device(self.kind)
        if device is None:
            raise RuntimeError(f"no {self.kind} device: {registry.availability(self.kind).reason}")
        self._jit, self._to_device, self._device = jit, to_device, device
        probe = self.build_probe()
        t0 = time.perf_counter()
        args = self.prepare_args((np.zeros(1000),))
        probe(*args)
        self.init_s = time.perf_counter() - t0
        # a probe that fell back is not fatal: every kernel row says whether it did
        self.warm_up_fell_back = self.run_info(probe)["fell_back"]
        self.release(args)

    def build_probe(self) -> Callable[..., Any]:
        return self._synchronized(self._jit(**self._options)(loops.init_probe))

    def build(self, kernel: Kernel) -> Callable[..., Any]:
        return self._synchronized(self._jit(**self._options)(kernel.loop_impl))

    def _synchronized(self, jitted: Any) -> Callable[..., Any]:
        device = self._device

        def call(*args: Any) -> None:
            jitted(*args)
            device.synchronize()

        call.jitted = jitted  # type: ignore[attr-defined]
        return call

    def prepare_args(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.resident:
            return args
        return tuple(self._to_device(a, self.kind) if isinstance(a, np.ndarray) else a
                     for a in args)

    def host_outputs(self, outputs: tuple[Any, ...]) -> tuple[np.ndarray, ...]:
        return tuple(np.asarray(o) for o in outputs)

    def run_info(self, fn: Callable[..., Any]) -> dict[str, Any]:
        stats = dict(getattr(fn, "jitted", fn).last_stats or {})
        stats.pop("time", None)
        return {"device_stats": stats, "fell_back": fell_back(stats, self.kind)}

    def release(self, args: tuple[Any, ...]) -> None:
        for a in args:
            if hasattr(a, "free") and hasattr(a, "host_storage"):
                a.free()

    def options(self) -> dict[str, Any]:
        dev = self._device
        return {**super().options(), "resident": self.resident,
                "device": getattr(dev, "name", None),
                "float64": getattr(dev, "supports_float64", None),
                "is_accelerator": getattr(dev, "is_accelerator", None),
                "warm_up_fell_back": self.warm_up_fell_back}


def fell_back(stats: dict[str, Any], kind: str) -> str | None:
    """Why some region of a call did not run on the ``kind`` device (None: all did)."""
    regions = stats.get("regions") or []
    if not regions:
        return "no parallel region ran"
    off = [f"line {r.get('line')}: {r.get('reason')}" for r in regions
           if r.get("target") != kind]
    return "; ".join(off) or None


def default_targets(auto: bool = False, devices: tuple[str, ...] = ()) -> list[Target]:
    """NumPy first (the reference), then Numba, hybridjit, optionally hybridjit-auto,
    then two columns per device kind in ``devices`` (with transfers, resident)."""
    targets: list[Target] = [NumpyTarget(), NumbaTarget(), HybridJitTarget()]
    if auto:
        targets.append(HybridJitTarget("hybridjit-auto", variant="range", parallel="auto"))
    for kind in devices:
        targets += [DeviceTarget(kind, resident=False), DeviceTarget(kind, resident=True)]
    return targets
