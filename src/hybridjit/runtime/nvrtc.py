"""NVRTC: CUDA C source -> PTX (or cubin), cached on disk.

Contract: :func:`compile_to_ptx` takes the text of a CUDA C translation unit
whose kernels are ``extern "C" __global__`` and returns PTX for a virtual
architecture (``compute_XY``); :func:`compile_to_cubin` returns a cubin for a
real one (``sm_XY``).  Both are pure functions of (source, name, options,
arch, NVRTC version), so their results are kept in the ``nvrtc`` namespace
of the shared on-disk :class:`~hybridjit.runtime.registry.BinaryCache`
(atomic writes, each image verified against its recorded size and sha256
when read - a damaged one is recompiled with a warning; an unwritable
directory degrades to no cache with a
:class:`~hybridjit.errors.HybridJitWarning`).  A compile failure raises
:class:`~hybridjit.errors.DeviceError` naming the NVRTC call and quoting the
head of the program log.

No GPU and no CUDA toolkit are needed: only the ``cuda-bindings`` and
``nvidia-cuda-nvrtc`` wheels (``pip install hybridjit[cuda]``).  Both are
imported lazily, on the first call, never at ``import hybridjit`` time.

Locating libnvrtc (see :func:`locate_nvrtc_library`): cuda-bindings >= 12.9
finds the pip wheel itself through ``cuda.pathfinder``; we ask pathfinder
first.  Older cuda-bindings only ``dlopen("libnvrtc.so.12")`` through the
system search path, which does not include site-packages, so without
pathfinder we find the wheel's library by path and preload it with
``RTLD_GLOBAL``; the bindings' later ``dlopen`` of the same soname then
returns the already-loaded library.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import hashlib
import json
import os
import site
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import DeviceError
from .device import Availability

#: How many lines of the NVRTC program log a DeviceError quotes.
LOG_LINES = 20

INSTALL_HINT = "pip install 'hybridjit[cuda]'"


# --------------------------------------------------------------------------- cache dir


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Loaded:
    module: Any  # cuda.bindings.nvrtc (or the legacy cuda.nvrtc)
    library: str  # where libnvrtc came from, for messages


def _site_dirs() -> list[str]:
    dirs: list[str] = []
    with contextlib.suppress(AttributeError):  # some virtualenv flavours lack it
        dirs.extend(site.getsitepackages())
    dirs.append(site.getusersitepackages())
    dirs.extend(p for p in sys.path if p)
    return list(dict.fromkeys(dirs))


def _wheel_nvrtc_candidates() -> list[str]:
    """libnvrtc files in NVIDIA wheels (cu12: nvidia/cuda_nvrtc/lib, cu13: nvidia/cu13/lib)."""
    if sys.platform == "win32":
        patterns = ["nvidia/*/bin/nvrtc64_*.dll", "nvidia/*/bin/*/nvrtc64_*.dll"]
    else:
        patterns = ["nvidia/*/lib/libnvrtc.so.*"]
    found: list[str] = []
    for base in _site_dirs():
        for pattern in patterns:
            found.extend(glob.glob(os.path.join(base, pattern)))
    # the builtins library is loaded by libnvrtc itself (RPATH $ORIGIN)
    found = [f for f in found if "builtins" not in os.path.basename(f)]
    return sorted(set(found), key=_soname_version, reverse=True)


def _soname_version(path: str) -> tuple[int, ...]:
    tail = os.path.basename(path).split(".so.")[-1]
    return tuple(int(p) for p in tail.split(".") if p.isdigit())


def _pathfinder_nvrtc() -> str | None:
    try:
        from cuda import pathfinder
    except ImportError:
        return None
    try:
        return str(pathfinder.load_nvidia_dynamic_lib("nvrtc").abs_path)
    except Exception:  # any pathfinder failure just means "not found this way"
        return None


def locate_nvrtc_library() -> str | None:
    """Find (and load) libnvrtc; returns its path, or None to leave it to the system search.

    Order: ``cuda.pathfinder`` (pip wheels, conda, ``CUDA_HOME``), then a scan
    of site-packages for NVIDIA's wheels, preloaded by absolute path.
    """
    path = _pathfinder_nvrtc()
    if path:
        return path
    for candidate in _wheel_nvrtc_candidates():
        try:
            ctypes.CDLL(candidate, mode=getattr(ctypes, "RTLD_GLOBAL", 0))
            return candidate
        except OSError:
            continue
    return None


def _import_bindings() -> Any:
    try:
        from cuda.bindings import nvrtc
    except ImportError:
        from cuda import nvrtc  # cuda-python < 12.6 layout
    return nvrtc


@functools.cache
def _load() -> _Loaded | str:
    """The bindings with libnvrtc loaded, or the reason they are unusable."""
    library = locate_nvrtc_library()
    try:
        module = _import_bindings()
    except ImportError:
        return f"cuda-bindings is not installed; {INSTALL_HINT}"
    try:
        err, _major, _minor = module.nvrtcVersion()
    except Exception as exc:  # the bindings raise when libnvrtc cannot be opened
        return f"libnvrtc could not be loaded ({exc}); {INSTALL_HINT}"
    if int(err) != 0:
        return f"nvrtcVersion failed: {_result_name(err)}"
    return _Loaded(module, library or "system library search path")


def _bindings() -> Any:
    loaded = _load()
    if isinstance(loaded, str):
        raise DeviceError(f"NVRTC is not available: {loaded}")
    return loaded.module


def nvrtc_available() -> Availability:
    """Whether NVRTC is usable; the reason names version and library, or what is missing."""
    loaded = _load()
    if isinstance(loaded, str):
        return Availability(False, loaded)
    major, minor = nvrtc_version()
    return Availability(True, f"NVRTC {major}.{minor} ({loaded.library})")


@functools.cache
def nvrtc_version() -> tuple[int, int]:
    """(major, minor) of the loaded libnvrtc; raises DeviceError when unavailable."""
    _major, _minor = _check(_bindings().nvrtcVersion(), "nvrtcVersion")
    return int(_major), int(_minor)


@functools.cache
def supported_archs() -> tuple[int, ...]:
    """Compute capabilities (e.g. 75, 80, 90) this NVRTC can target, ascending."""
    mod = _bindings()
    if not hasattr(mod, "nvrtcGetSupportedArchs"):  # NVRTC < 11.2: assume what it had
        return (35, 50, 52, 60, 61, 70, 75, 80)
    archs = _check(mod.nvrtcGetSupportedArchs(), "nvrtcGetSupportedArchs")
    return tuple(sorted(int(a) for a in archs))


# --------------------------------------------------------------------------- checking


def _result_name(err: Any) -> str:
    return str(getattr(err, "name", err))


def _check(result: Any, call: str) -> Any:
    """Unpack a cuda-bindings ``(nvrtcResult, *outputs)`` tuple, raising on failure."""
    err, *outputs = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise DeviceError(f"{call} failed: {_result_name(err)}")
    if not outputs:
        return None
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


# --------------------------------------------------------------------------- compiling


def compile_to_ptx(
    source: str, name: str, arch: str = "compute_80", options: Sequence[str] = ()
) -> str:
    """Compile CUDA C ``source`` to PTX for virtual architecture ``arch``.

    ``name`` is the program's file name in NVRTC's log; ``options`` are passed
    to NVRTC verbatim after ``--gpu-architecture=arch``.
    """
    image = _compile_cached(source, name, arch, tuple(options), "ptx")
    return image.rstrip(b"\0").decode("ascii")


def compile_to_cubin(
    source: str, name: str, arch: str = "sm_80", options: Sequence[str] = ()
) -> bytes:
    """Compile CUDA C ``source`` to a cubin for real architecture ``arch`` (``sm_XY``)."""
    return _compile_cached(source, name, arch, tuple(options), "cubin")


def _compile_cached(
    source: str, name: str, arch: str, options: tuple[str, ...], kind: str
) -> bytes:
    from .registry import BinaryCache

    key = cache_key(source, name, arch, options, kind)
    cache = BinaryCache("nvrtc")
    cached = cache.get(key)
    if cached:  # an empty file is never a valid image: treat it as a miss
        return cached
    image = _nvrtc_compile(source, name, arch, options, kind)
    cache.put(key, image)
    return image


def cache_key(source: str, name: str, arch: str, options: Sequence[str], kind: str) -> str:
    """sha256 over everything the compiled image depends on, NVRTC's version included."""
    payload = json.dumps(
        [source, name, arch, list(options), kind, list(nvrtc_version())], ensure_ascii=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _nvrtc_compile(
    source: str, name: str, arch: str, options: tuple[str, ...], kind: str
) -> bytes:
    """One real NVRTC compilation (the function tests count calls of)."""
    mod = _bindings()
    prog = _check(
        mod.nvrtcCreateProgram(source.encode(), name.encode(), 0, [], []), "nvrtcCreateProgram"
    )
    try:
        opts = [f"--gpu-architecture={arch}".encode(), *(o.encode() for o in options)]
        result = mod.nvrtcCompileProgram(prog, len(opts), opts)
        err = result[0] if isinstance(result, tuple) else result
        if int(err) != 0:
            log = _program_log(mod, prog)
            raise DeviceError(
                f"nvrtcCompileProgram failed ({_result_name(err)}) for {name} [{arch}]:\n{log}"
            )
        return _program_image(mod, prog, kind)
    finally:
        mod.nvrtcDestroyProgram(prog)


def _program_log(mod: Any, prog: Any) -> str:
    size = _check(mod.nvrtcGetProgramLogSize(prog), "nvrtcGetProgramLogSize")
    buf = b" " * int(size)  # the bindings write into this buffer
    _check(mod.nvrtcGetProgramLog(prog, buf), "nvrtcGetProgramLog")
    lines = buf.rstrip(b"\0 ").decode(errors="replace").splitlines()
    head = "\n".join(lines[:LOG_LINES])
    if len(lines) > LOG_LINES:
        head += f"\n... ({len(lines) - LOG_LINES} more lines)"
    return head


def _program_image(mod: Any, prog: Any, kind: str) -> bytes:
    if kind == "ptx":
        size_call, get_call = "nvrtcGetPTXSize", "nvrtcGetPTX"
    else:
        size_call, get_call = "nvrtcGetCUBINSize", "nvrtcGetCUBIN"
    size = _check(getattr(mod, size_call)(prog), size_call)
    buf = b" " * int(size)
    _check(getattr(mod, get_call)(prog, buf), get_call)
    return buf


