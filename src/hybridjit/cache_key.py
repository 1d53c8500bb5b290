"""Stable fingerprints of Python code for the compile cache.

Contract: :func:`code_fingerprint` hashes what determines a function's
meaning - its bytecode, constants (recursively) and the names it uses - so a
changed source gives a new key while importing the same file in a new
process gives the same one.  Cheap enough to run on every cold call; no
``inspect`` or ``ast`` import.
"""

from __future__ import annotations

import hashlib
import types
import types as pytypes
from typing import Any

import numpy as np


def _feed(h: Any, code: types.CodeType) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    h.update(repr(code.co_varnames).encode())
    h.update(repr(code.co_freevars).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed(h, const)
        else:
            h.update(repr(const).encode())


def code_fingerprint(func: Any) -> str:
    """Also the module: the same source in two modules resolves its globals
    (module constants, helpers) in two namespaces."""
    code = func.__code__
    h = hashlib.sha256()
    h.update(f"{func.__module__}:{func.__qualname__}".encode())
    _feed(h, code)
    return h.hexdigest()[:32]


_compiler_fp: str | None = None


def compiler_fingerprint() -> str:
    """Identity of this hybridjit installation: size and mtime of its modules,
    so code compiled by an older or edited compiler is never reused."""
    global _compiler_fp
    if _compiler_fp is None:
        import os

        root = os.path.dirname(os.path.abspath(__file__))
        h = hashlib.sha256()
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith((".py", ".h")):
                    st = os.stat(os.path.join(dirpath, name))
                    h.update(f"{dirpath[len(root):]}/{name}:{st.st_size}:{st.st_mtime_ns}".encode())
        _compiler_fp = h.hexdigest()[:16]
    return _compiler_fp


def fingerprint(value: Any) -> str:
    """A stable string identifying a global's value, for cache validation."""
    value = getattr(value, "py_func", value)
    if isinstance(value, pytypes.ModuleType):
        return "module:" + value.__name__
    if isinstance(value, pytypes.FunctionType):
        return "func:" + code_fingerprint(value)
    if isinstance(value, (bool, int, float, np.generic)):
        return f"value:{type(value).__name__}:{value!r}"
    if isinstance(value, type):
        return f"type:{value.__module__}.{value.__qualname__}"
    name = getattr(value, "__name__", None)
    mod = getattr(value, "__module__", None)
    if name is not None:
        return f"object:{mod}.{name}"
    return f"object:{type(value).__name__}"
