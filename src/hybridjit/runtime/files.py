"""Cache files and directories: atomic writes into private, checked directories.

Contract:

- :func:`atomic_write` stores bytes at a path so that a concurrent reader
  (another process compiling the same function) sees either no file, the old
  one, or the whole new one - never a partial file.  The file is created new
  (mode 0600) and renamed over the path, so a symlink planted at the path is
  replaced, never written through.  It raises OSError when the directory
  cannot be written; callers decide how to degrade.
- :func:`cache_root` is the cache directory this process uses:
  ``config.cache_dir()`` when it can be trusted, else (one
  :class:`~hybridjit.errors.HybridJitWarning`) a private per-process
  directory.  A directory is trusted when it is ours and no other user can
  write it (owned by this user, not group- or world-writable, no ancestor
  world-writable without the sticky bit): a directory others can write could
  hold a planted shared library that hybridjit would load and run.  Each
  directory is checked once per process.
- :func:`cache_subdir` is a directory under a root, created with mode 0700
  (each missing component) and checked like the root; a symlink is refused.
  A root hybridjit creates (or finds empty) gets a ``CACHEDIR.TAG`` marker
  (:func:`is_hybridjit_root`), which ``hybridjit cache clear`` requires.
- :func:`read_checked` reads a cache file (never through a symlink) only if
  it is ours and no one else can write it; :func:`digest` is the record
  (size, sha256) a cache keeps of each file it verifies on lookup.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
import warnings
from pathlib import Path

from .. import config
from ..errors import HybridJitWarning

#: name of the marker hybridjit writes in a cache root it created
MARKER = "CACHEDIR.TAG"
#: the marker's content: the CACHEDIR.TAG signature (backup tools skip the
#: directory), then the line ``hybridjit cache clear`` looks for
MARKER_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by hybridjit.\n"
    "# `hybridjit cache clear` deletes only hybridjit's own entries here.\n"
)
#: what hybridjit keeps in a cache root (all ``cache clear`` deletes)
OWN_ENTRIES = ("cpu", "opencl", "nvrtc", "probes", "logs", MARKER)

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

#: why a directory is not trusted ("" when it is), per path, once per process
_verdicts: dict[str, str] = {}
_private: Path | None = None
_ensured: set[str] = set()
_warned: set[str] = set()


class UntrustedPath(OSError):
    """A cache file or directory another user could have written."""


# --------------------------------------------------------------- writing


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (see the module docstring)."""
    if not path.parent.is_dir():
        make_private_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def make_private_dirs(path: Path) -> None:
    """``mkdir -p`` creating each missing directory with mode 0700."""
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):  # a concurrent process made it
            os.mkdir(d, 0o700)


# --------------------------------------------------------------- trust


def _untrusted_reason(st: os.stat_result, what: str) -> str:
    if stat.S_ISLNK(st.st_mode):
        return f"{what} is a symbolic link"
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"{what} is owned by another user (uid {st.st_uid})"
    if st.st_mode & 0o022:
        return f"{what} is writable by other users (mode {stat.S_IMODE(st.st_mode):04o})"
    return ""


def directory_problem(path: Path, follow: bool = True) -> str:
    """Why ``path`` is not a trustworthy cache directory, or "".  A directory
    that does not exist yet is judged by its ancestors; the verdict on an
    existing one is remembered for the process."""
    key = f"{os.path.abspath(path)}|{follow}"
    if key in _verdicts:
        return _verdicts[key]
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except OSError:
        # Missing, or unreachable: nothing in it can be loaded, and writing
        # there fails where the cache degrades.  Not remembered: it may appear.
        return _ancestor_problem(path)
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        return ""  # a file in the way: writes fail and the cache degrades
    reason = _untrusted_reason(st, str(path)) or _ancestor_problem(path)
    _verdicts[key] = reason
    return reason


def _ancestor_problem(path: Path) -> str:
    """An ancestor anyone can write without the sticky bit lets others swap
    the directory itself."""
    for parent in Path(os.path.abspath(path)).parents:
        try:
            st = os.stat(parent)
        except OSError:
            continue
        if st.st_mode & 0o002 and not st.st_mode & stat.S_ISVTX:
            return f"its parent {parent} is writable by every user"
    return ""


def cache_root() -> Path:
    """The cache directory of this process (see the module docstring)."""
    root = config.cache_dir()
    ensure_root(root)
    reason = directory_problem(root)
    if not reason:
        return root
    return private_dir(
        f"hybridjit does not trust the cache directory {root}: {reason}; compiled code "
        "is kept in {private} for this process only (fix the permissions, e.g. "
        f"chmod 700 {root}, or set HYBRIDJIT_CACHE_DIR to a directory of your own)")


def ensure_root(root: Path) -> None:
    """Create ``root`` (mode 0700) if missing; tag it if hybridjit created it
    or found it empty.  Failures are left to the writes that follow."""
    if os.path.abspath(root) in _ensured:
        return
    try:
        created = not root.exists()
        if created:
            make_private_dirs(root)
        if created or _is_empty_dir(root):
            mark_root(root)
    except OSError:
        return
    _ensured.add(os.path.abspath(root))


def private_dir(message: str | None = None) -> Path:
    """This process's private cache directory (mode 0700, made on first
    use); ``message`` (with ``{private}`` for its path) is warned once."""
    global _private
    if _private is None:
        _private = Path(tempfile.mkdtemp(prefix="hybridjit-cache-"))
    if message is not None and message not in _warned:
        _warned.add(message)
        warnings.warn(message.format(private=_private), HybridJitWarning, stacklevel=4)
    return _private


def existing_private_dir() -> Path | None:
    """The private directory if this process has made one."""
    return _private


def cache_subdir(root: Path, *parts: str, create: bool = True) -> Path:
    """``root/parts...``: each missing directory created with mode 0700
    (unless ``create`` is false), each existing one checked (the root like
    :func:`cache_root`; below it no symlinks, ours, not writable by others).
    Raises :class:`UntrustedPath` for an untrusted one, OSError when one
    cannot be created."""
    if create:
        ensure_root(root)
    reason = directory_problem(root)
    d = root
    for part in parts:
        if reason:
            break
        d = d / part
        if create and not d.exists():
            make_private_dirs(d)
        reason = directory_problem(d, follow=False)
    if reason:
        raise UntrustedPath(f"untrusted cache directory: {reason}")
    return d


def _is_empty_dir(path: Path) -> bool:
    try:
        with os.scandir(path) as it:
            return next(it, None) is None
    except OSError:
        return False


def mark_root(root: Path) -> None:
    """Tag ``root`` as a hybridjit cache (``hybridjit cache clear`` checks it)."""
    with contextlib.suppress(OSError):
        atomic_write(root / MARKER, MARKER_TEXT.encode())


def is_hybridjit_root(root: Path) -> bool:
    """Whether ``root`` carries the marker hybridjit writes in roots it creates."""
    try:
        with open(root / MARKER, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith(MARKER_TEXT.encode())


# --------------------------------------------------------------- reading


def read_checked(path: Path) -> bytes:
    """The bytes of a cache file: a regular file (not a symlink) owned by
    this user that no one else can write; else OSError (UntrustedPath)."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UntrustedPath(f"{path} is not a regular file")
        reason = _untrusted_reason(st, str(path))
        if reason:
            raise UntrustedPath(reason)
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read()
    finally:
        os.close(fd)


def digest(data: bytes) -> dict[str, object]:
    """The record of a file's content checked on lookup."""
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def matches(data: bytes, record: object) -> bool:
    """Whether ``data`` is what ``record`` (from :func:`digest`) describes."""
    return (isinstance(record, dict) and record.get("size") == len(data)
            and record.get("sha256") == hashlib.sha256(data).hexdigest())
