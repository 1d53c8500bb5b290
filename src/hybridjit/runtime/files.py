"""Atomic files: the one way every cache in hybridjit writes to disk.

Contract: :func:`atomic_write` stores bytes at a path so that a concurrent
reader (another process compiling the same function) sees either no file,
the old one, or the whole new one - never a partial file.  It raises
OSError when the directory cannot be written; callers decide how to degrade.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
