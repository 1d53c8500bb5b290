"""The on-disk compile cache for CPU extension modules.

Contract: entries live under ``config.cache_dir()/cpu/`` as
``<key>.so`` (the module), ``<key>.c`` (its source, for inspection) and
``<key>.json`` (metadata, written last: an entry exists only once its JSON
does).  Every file is written to a temporary name and renamed, so concurrent
processes never see half-written files.  Metadata records the globals the
compilation resolved (``assumptions``); :func:`lookup` returns an entry only
if they still hold.  An unwritable cache degrades to a per-process temporary
directory with one warning.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import config
from ..errors import HybridJitWarning
from .files import atomic_write

_fallback_dir: Path | None = None


@dataclass(frozen=True)
class Entry:
    so_path: Path
    module_name: str
    source_path: Path

    @property
    def payload_path(self) -> Path:
        """Extra data stored with the module (the region table of offloading code)."""
        return self.so_path.with_suffix(".pkl")


def _root() -> Path:
    return config.cache_dir() / "cpu"


def _paths(root: Path, key: str) -> tuple[Path, Path, Path]:
    d = root / key[:2]
    return d / f"{key}.so", d / f"{key}.c", d / f"{key}.json"


def module_name(key: str) -> str:
    return "hj_" + key[:40]


def lookup(key: str, check: Callable[[list[list[str]]], bool]) -> Entry | None:
    for root in (_root(), _fallback_dir):
        if root is None:
            continue
        so, src, meta = _paths(root, key)
        try:
            data = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue
        if so.exists() and check(data.get("assumptions", [])):
            return Entry(so, data["module"], src)
    return None


def store(key: str, source: str, assumptions: list[list[str]],
          build: Callable[[Path], None], payload: bytes | None = None) -> Entry:
    """Build into the cache (or the fallback dir) and return the new entry."""
    root = _root()
    try:
        return _store_in(root, key, source, assumptions, build, payload)
    except OSError:
        pass  # not writable, not a directory, disk full: use a private directory
    fallback = _fallback()
    return _store_in(fallback, key, source, assumptions, build, payload)


def _fallback() -> Path:
    global _fallback_dir
    if _fallback_dir is None:
        _fallback_dir = Path(tempfile.mkdtemp(prefix="hybridjit-cache-"))
        warnings.warn(
            f"hybridjit cache directory {config.cache_dir()} is not writable; compiled code "
            f"is kept in {_fallback_dir} for this process only (set HYBRIDJIT_CACHE_DIR)",
            HybridJitWarning, stacklevel=5,
        )
    return _fallback_dir


def _store_in(root: Path, key: str, source: str, assumptions: list[list[str]],
              build: Callable[[Path], None], payload: bytes | None) -> Entry:
    so, src, meta = _paths(root, key)
    so.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(src, source.encode())
    build(so)
    if payload is not None:
        atomic_write(so.with_suffix(".pkl"), payload)
    atomic_write(meta, json.dumps({
        "module": module_name(key),
        "assumptions": assumptions,
        "version": config.VERSION,
        "python": sys.version.split()[0],
    }).encode())
    return Entry(so, module_name(key), src)
