"""The on-disk compile cache for CPU extension modules.

Contract: entries live under ``files.cache_root()/cpu/<key[:2]>/`` as
``<key>.c`` (the source, for inspection), the module ``<key>-<h>.so`` and,
for offloading code, its payload ``<key>-<h>.pkl`` (``h`` hashes their
content, so two processes building one key at once never mix their files),
and ``<key>.json`` (metadata, written last: an entry exists only once its
JSON does).  Every file is written to a temporary name and renamed.

The JSON records the size and sha256 of the module and the payload, and
the globals the compilation resolved (``assumptions``).  :func:`lookup`
returns only a verified entry: files that match the record and belong to
the user (see :func:`~hybridjit.runtime.files.read_checked`), assumptions
that still hold.  A damaged entry (a file that does not match, unreadable
or unparsable metadata, a module that does not load: see :func:`load`) is
a miss: one :class:`~hybridjit.errors.HybridJitWarning` says so, the entry
is deleted, and the caller rebuilds it.  :func:`read_payload` verifies and
unpickles the payload.  An unusable cache directory (unwritable, or not
trusted) degrades to a per-process private directory with one warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from .. import config
from ..errors import HybridJitWarning
from . import files

#: files of a replaced entry are deleted once they are this old (seconds):
#: a process that has just verified the old entry may still be loading it
_STALE_AGE = 60.0

_warned: set[str] = set()


class DamagedEntry(Exception):
    """A cache entry that failed verification or loading; it has been
    deleted (with a warning) and must be rebuilt."""


@dataclass(frozen=True)
class Entry:
    so_path: Path
    module_name: str
    source_path: Path
    #: size and sha256 of the payload, None when the entry has none
    payload_record: dict[str, Any] | None = None
    meta_path: Path | None = None

    @property
    def payload_path(self) -> Path:
        """Extra data stored with the module (the region table of offloading
        code); no such file exists when ``payload_record`` is None."""
        return self.so_path.with_suffix(".pkl")


def module_name(key: str) -> str:
    return "hj_" + key[:40]


# --------------------------------------------------------------- lookup


def lookup(key: str, check: Callable[[list[list[str]]], bool]) -> Entry | None:
    """The verified entry of ``key`` whose assumptions pass ``check``, or None."""
    roots = [files.cache_root()]
    private = files.existing_private_dir()
    if private is not None and private not in roots:
        roots.append(private)
    for root in roots:
        try:
            d = files.cache_subdir(root, "cpu", key[:2], create=False)
        except files.UntrustedPath as exc:
            _warn_once(str(exc), f"hybridjit ignores {root / 'cpu'}: {exc}")
            continue
        entry = _verified(d, key)
        if entry is not None and check(entry[1]):
            return entry[0]
    return None


def _verified(d: Path, key: str) -> tuple[Entry, list[list[str]]] | None:
    """The entry in ``d`` if it matches its metadata (re-read once: a
    concurrent writer may have replaced it meanwhile), else None; a damaged
    one is discarded with a warning."""
    meta = d / f"{key}.json"
    problem = ""
    for _ in range(2):
        try:
            data = json.loads(files.read_checked(meta))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except files.UntrustedPath as exc:
            problem = str(exc)
            break
        except (OSError, ValueError) as exc:
            problem = f"unreadable metadata ({exc})"
            continue
        if not isinstance(data, dict):
            problem = "unreadable metadata"
            continue
        if "files" not in data:
            return None  # written before entries were verified: rebuilt silently
        try:
            entry, problem = _check_files(d, key, data)
        except (KeyError, TypeError, AttributeError):
            entry, problem = None, "unreadable metadata"
        assumptions = data.get("assumptions")
        if entry is not None and _well_formed(assumptions):
            return entry, assumptions
        if entry is not None:
            problem = "unreadable metadata"
    _discard_files(d, key, problem)
    return None


def _well_formed(assumptions: Any) -> TypeGuard[list[list[str]]]:
    """A list of ``[module, name, fingerprint]`` string triples."""
    return isinstance(assumptions, list) and all(
        isinstance(a, list) and len(a) == 3 and all(isinstance(x, str) for x in a)
        for a in assumptions)


def _check_files(d: Path, key: str, data: dict[str, Any]) -> tuple[Entry | None, str]:
    recorded = data["files"]
    so = d / str(recorded["so"]["name"])
    payload = recorded.get("pkl")
    for name, record in (("so", recorded["so"]), ("pkl", payload)):
        if record is None:
            continue
        path = d / str(record["name"])
        if path.parent != d:
            return None, "unreadable metadata"
        try:
            content = files.read_checked(path)
        except FileNotFoundError:
            return None, f"{path.name} is missing"
        except OSError as exc:
            return None, str(exc)
        if not files.matches(content, record):
            return None, f"{path.name} does not match its recorded size and sha256"
        if name == "pkl" and path != so.with_suffix(".pkl"):
            return None, "unreadable metadata"
    entry = Entry(so, str(data["module"]), d / f"{key}.c", payload, d / f"{key}.json")
    return entry, ""


# --------------------------------------------------------------- loading


def read_payload(entry: Entry) -> Any:
    """The entry's payload, unpickled, or None when it has none.  Raises
    :class:`DamagedEntry` (after discarding the entry, with the warning)
    when the file does not match its record or does not unpickle."""
    if entry.payload_record is None:
        return None
    try:
        data = files.read_checked(entry.payload_path)
    except OSError as exc:
        raise _damaged(entry, str(exc)) from None
    if not files.matches(data, entry.payload_record):
        raise _damaged(entry, f"{entry.payload_path.name} does not match its record")
    try:
        return pickle.loads(data)
    except Exception as exc:  # any unpickling failure means a bad file
        raise _damaged(entry, f"{entry.payload_path.name} does not unpickle ({exc})") from None


def load(entry: Entry, loader: Callable[[Path, str], Any]) -> tuple[Any, Any] | None:
    """``(loader(so_path, module_name), payload)`` of a looked-up entry, or
    None when its module does not load (ImportError: a library it needs has
    gone, say) or its payload is damaged: the entry is then discarded, with
    the warning, and the caller rebuilds it."""
    try:
        module_entry = loader(entry.so_path, entry.module_name)
    except (ImportError, OSError) as exc:
        _damaged(entry, f"its module does not load ({exc})")
        return None
    try:
        return module_entry, read_payload(entry)
    except DamagedEntry:
        return None


def _damaged(entry: Entry, problem: str) -> DamagedEntry:
    _discard_files(entry.so_path.parent, entry.so_path.name.split("-")[0], problem)
    return DamagedEntry(problem)


def _discard_files(d: Path, key: str, problem: str) -> None:
    """Warn (once per entry) and delete the entry: its metadata first, so
    that it stops existing before its files go."""
    _warn_once(key, f"hybridjit: the compile cache entry {d / key}.* was damaged "
               f"({problem}); it is deleted and rebuilt")
    meta = d / f"{key}.json"
    recorded = _recorded_names(meta)
    for path in [meta, *(d / n for n in recorded)]:
        with contextlib.suppress(OSError):
            path.unlink()


def _recorded_names(meta: Path) -> list[str]:
    try:
        data = json.loads(meta.read_bytes())
        return [str(r["name"]) for r in data["files"].values() if r is not None]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def _warn_once(tag: str, message: str) -> None:
    if tag not in _warned:
        _warned.add(tag)
        warnings.warn(message, HybridJitWarning, stacklevel=4)


# --------------------------------------------------------------- storing


def store(key: str, source: str, assumptions: list[list[str]],
          build: Callable[[Path], None], payload: bytes | None = None) -> Entry:
    """Build into the cache (or the private directory) and return the new entry."""
    root = files.cache_root()
    try:
        return _store_in(root, key, source, assumptions, build, payload)
    except OSError as exc:  # not writable, not a directory, disk full, untrusted
        reason = exc
    fallback = files.private_dir(
        f"hybridjit cannot use the cache directory {root} ({reason}); compiled code "
        "is kept in {private} for this process only (set HYBRIDJIT_CACHE_DIR)")
    return _store_in(fallback, key, source, assumptions, build, payload)


def _store_in(root: Path, key: str, source: str, assumptions: list[list[str]],
              build: Callable[[Path], None], payload: bytes | None) -> Entry:
    d = files.cache_subdir(root, "cpu", key[:2])
    files.atomic_write(d / f"{key}.c", source.encode())
    so_data = _build_bytes(d, key, build)
    stem = f"{key}-{hashlib.sha256(so_data + (payload or b'')).hexdigest()[:16]}"
    so = d / f"{stem}.so"
    files.atomic_write(so, so_data)
    record: dict[str, Any] = {"so": {"name": so.name, **files.digest(so_data)}, "pkl": None}
    if payload is not None:
        files.atomic_write(so.with_suffix(".pkl"), payload)
        record["pkl"] = {"name": f"{stem}.pkl", **files.digest(payload)}
    meta = d / f"{key}.json"
    replaced = _recorded_names(meta)
    files.atomic_write(meta, json.dumps({
        "module": module_name(key),
        "assumptions": assumptions,
        "version": config.VERSION,
        "python": sys.version.split()[0],
        "files": record,
    }).encode())
    _remove_stale(d, key, replaced, {so.name, f"{stem}.pkl"})
    return Entry(so, module_name(key), d / f"{key}.c", record["pkl"], meta)


def _build_bytes(d: Path, key: str, build: Callable[[Path], None]) -> bytes:
    """Run ``build`` into a private temporary directory in ``d`` (the module
    file keeps its usual name there) and return what it wrote."""
    tmp = Path(tempfile.mkdtemp(dir=d, prefix=".build-"))
    try:
        build(tmp / f"{key}.so")
        return files.read_checked(tmp / f"{key}.so")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _remove_stale(d: Path, key: str, replaced: list[str], keep: set[str]) -> None:
    """Delete the files of the entry this store replaced (once old enough for
    no process to be loading them) and those of the unverified layout."""
    now = time.time()
    for name in [*replaced, f"{key}.so", f"{key}.pkl"]:
        path = d / name
        if name in keep:
            continue
        with contextlib.suppress(OSError):
            if name in (f"{key}.so", f"{key}.pkl") or now - path.stat().st_mtime > _STALE_AGE:
                path.unlink()
