"""hybridjit: compile numerical Python loops to native code for CPUs and GPUs.

Public API: :func:`jit`, :func:`prange`, :func:`to_device`/`DeviceArray`
(device residency), and the error classes.  Importing this package is cheap:
the compiler is imported on the first call that needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import (
    AxisError,
    BuildError,
    DeviceError,
    HybridJitError,
    HybridJitWarning,
    IndexingError,
    InternalError,
    NameResolutionError,
    ParallelRaceError,
    PartitionError,
    ShapeError,
    TypingError,
    UnsupportedError,
)

__version__ = "0.1.0"

__all__ = [
    "AxisError",
    "BuildError",
    "DeviceArray",
    "DeviceError",
    "HybridJitError",
    "HybridJitWarning",
    "IndexingError",
    "InternalError",
    "NameResolutionError",
    "ParallelRaceError",
    "PartitionError",
    "ShapeError",
    "TypingError",
    "UnsupportedError",
    "jit",
    "prange",
    "to_device",
]

_TARGETS = ("auto", "cpu", "opencl", "cuda")


def prange(*args: int) -> range:
    """A ``range`` whose iterations the programmer declares independent.

    Run by CPython it is exactly ``range``; compiled with ``parallel`` enabled
    its iterations run in parallel on all cores (or on a GPU)."""
    return range(*args)


def to_device(array: Any, kind: str | None = None) -> Any:
    """Copy ``array`` to an accelerator (``kind``: "cuda" or "opencl"; default:
    the first available) and return a :class:`DeviceArray` that jitted
    functions use in place; ``np.asarray(d)`` or ``d.to_host()`` brings it back.
    Raises DeviceError when no device is available."""
    from .runtime.registry import to_device as _to_device

    return _to_device(array, kind)


def __getattr__(name: str) -> Any:
    # DeviceArray is imported lazily so that `import hybridjit` stays cheap.
    if name == "DeviceArray":
        from .runtime.device_array import DeviceArray

        return DeviceArray
    raise AttributeError(f"module 'hybridjit' has no attribute {name!r}")


def jit(fn: Callable[..., Any] | None = None, *, parallel: bool | str = "auto",
        fastmath: bool = False, boundscheck: bool = False, cache: bool = True,
        target: str | None = None) -> Any:
    """Compile ``fn`` to native code, specialised to its argument types.

    ``parallel``: "auto" (default) runs ``prange`` loops in parallel and also
    plain ``range`` loops it proves parallel; True only ``prange`` loops; False
    runs every loop serially; "unsafe" is True without the race checks.
    ``fastmath``: allow reassociation and FMA contraction.  ``boundscheck``:
    raise IndexError on out-of-bounds indices.  ``cache``: keep compiled code
    on disk (always on; the flag is accepted for compatibility).  ``target``:
    "cpu", "opencl", "cuda" or "auto" (default: ``HYBRIDJIT_TARGET`` or auto).
    """
    from . import config

    tgt = target if target is not None else config.default_target()
    if tgt not in _TARGETS:
        raise ValueError(f"target must be one of {', '.join(_TARGETS)}, not {tgt!r}")
    if parallel not in ("auto", True, False, "unsafe"):
        raise ValueError("parallel must be 'auto', True, False or 'unsafe'")

    def wrap(f: Callable[..., Any]) -> Any:
        from .config import CompileOptions
        from .dispatcher import Dispatcher

        return Dispatcher(f, CompileOptions(parallel, fastmath, boundscheck, tgt))

    return wrap(fn) if fn is not None else wrap
