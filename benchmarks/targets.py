"""Targets: the implementations a kernel is timed with, one column each.

A target turns a :class:`kernels.Kernel` into a callable with the kernel's
calling convention.  ``setup()`` runs once before any kernel (imports, a
warm-up compile of :func:`loops.init_probe` so one-time costs such as thread
pools are not charged to the first kernel) and may raise: the runner then
reports that target as an error for every kernel instead of stopping.

To add a column (OpenCL, CUDA, with/without transfers...), subclass
:class:`Target` and add an instance to :func:`default_targets`.
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


def default_targets(auto: bool = False) -> list[Target]:
    """NumPy first (the reference), then Numba, hybridjit and optionally hybridjit-auto."""
    targets: list[Target] = [NumpyTarget(), NumbaTarget(), HybridJitTarget()]
    if auto:
        targets.append(HybridJitTarget("hybridjit-auto", variant="range", parallel="auto"))
    return targets
