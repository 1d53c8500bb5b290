"""Options and ``HYBRIDJIT_*`` environment knobs, in one place.

Contract: every environment variable hybridjit reads is read here, when
asked (not at import), so tests can change the environment between calls.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

VERSION = "0.1.0"


def cache_dir() -> Path:
    """Root of the on-disk compile cache (``HYBRIDJIT_CACHE_DIR`` overrides)."""
    env = os.environ.get("HYBRIDJIT_CACHE_DIR")
    if env:
        return Path(env)
    return default_cache_dir()


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/hybridjit`` (``~/.cache/hybridjit``): hybridjit's by name."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hybridjit"


def dump_dir() -> Path | None:
    """Where each stage's output is written (``HYBRIDJIT_DUMP``), or None."""
    env = os.environ.get("HYBRIDJIT_DUMP")
    return Path(env) if env else None


def default_target() -> str:
    return os.environ.get("HYBRIDJIT_TARGET", "auto")


def c_compiler() -> str | None:
    """The C compiler command: ``CC`` if set, else the first of cc/gcc/clang."""
    import shutil

    env = os.environ.get("CC")
    if env:
        return env
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return path
    return None


def extra_cflags() -> list[str]:
    return os.environ.get("HYBRIDJIT_CFLAGS", "").split()


#: default of HYBRIDJIT_CUDA_STAGING: copies of at least 8 MiB go through pinned buffers
CUDA_STAGING_DEFAULT = 8 << 20


def cuda_staging_min_bytes() -> int | None:
    """Smallest host<->device copy staged through pinned buffers on CUDA
    (``HYBRIDJIT_CUDA_STAGING``: a byte count, or ``0`` for never)."""
    env = os.environ.get("HYBRIDJIT_CUDA_STAGING", "").strip()
    try:
        value = int(env, 0) if env else CUDA_STAGING_DEFAULT
    except ValueError:
        value = CUDA_STAGING_DEFAULT
    return value if value > 0 else None


def dask_omp_threads() -> int | None:
    """OpenMP threads per Dask task (``HYBRIDJIT_DASK_THREADS``), or None for
    the policy of :mod:`hybridjit.distributed.threads`."""
    env = os.environ.get("HYBRIDJIT_DASK_THREADS", "").strip()
    try:
        value = int(env) if env else 0
    except ValueError:
        value = 0
    return value if value > 0 else None


def poison_enabled() -> bool:
    return os.environ.get("HYBRIDJIT_POISON", "") not in ("", "0")


@dataclass(frozen=True)
class CompileOptions:
    parallel: bool | str = "auto"
    fastmath: bool = False
    boundscheck: bool = False
    target: str = "auto"

    def key(self) -> str:
        return f"p={self.parallel};f={self.fastmath};b={self.boundscheck};t={self.target}"
