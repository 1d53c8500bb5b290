"""Error classes and source locations.

Contract: every mistake a *user* makes (unsupported syntax, unknown names,
type conflicts, races in ``prange`` loops) is raised as a subclass of
:class:`HybridJitError` carrying a :class:`SourceLoc`; ``str(err)`` is
``file:line:col: message``, the source line, a caret under the offending
column and a hint.  Bugs in hybridjit itself are :class:`InternalError` and
say so, so a user never mistakes a compiler bug for their own.
"""

from __future__ import annotations

import linecache
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class SourceLoc:
    """A position in the user's source: file, 1-based line, 0-based column."""

    file: str
    line: int
    col: int = 0
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col + 1}"

    def source_line(self) -> str:
        return linecache.getline(self.file, self.line).rstrip("\n")


UNKNOWN_LOC = SourceLoc("<unknown>", 0, 0)


def format_caret(loc: SourceLoc) -> str:
    """The source line with a caret (or tildes) under the columns of ``loc``."""
    text = loc.source_line()
    if not text:
        return ""
    width = 1
    if loc.end_col is not None and loc.end_col > loc.col:
        width = loc.end_col - loc.col
    return f"    {text}\n    {' ' * loc.col}^{'~' * (width - 1)}"


class HybridJitError(Exception):
    """Base of every error hybridjit raises about the user's code."""

    def __init__(self, message: str, loc: SourceLoc | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.hint = hint

    def __str__(self) -> str:
        parts = []
        if self.loc is not None and self.loc.line > 0:
            parts.append(f"{self.loc}: {self.message}")
            caret = format_caret(self.loc)
            if caret:
                parts.append(caret)
        else:
            parts.append(self.message)
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class UnsupportedError(HybridJitError):
    """Python syntax or a library call outside the supported subset."""


class NameResolutionError(HybridJitError):
    """A name that is neither a local, a parameter nor a resolvable global."""


class TypingError(HybridJitError, TypeError):
    """Types that cannot be reconciled (e.g. an array and a float in one
    variable); a TypeError too, as CPython's for the same mistake."""


class ShapeError(HybridJitError, ValueError):
    """Shapes NumPy would reject when running the code, found when compiling
    it (a ValueError too, as NumPy's)."""


class AxisError(ShapeError, np.exceptions.AxisError):
    """An axis out of range or repeated, found when compiling (NumPy's
    AxisError, a ValueError and an IndexError, too)."""

    def __init__(self, message: str, loc: SourceLoc | None = None, hint: str | None = None):
        HybridJitError.__init__(self, message, loc, hint)


class IndexingError(HybridJitError, IndexError):
    """Too many indices for an array, found when compiling (an IndexError
    too, as NumPy's)."""


class ParallelRaceError(HybridJitError):
    """A ``prange`` loop whose iterations provably conflict."""


class BuildError(HybridJitError):
    """The native toolchain is missing or refused generated code."""


class DeviceError(HybridJitError):
    """A device API call failed; names the API call."""


class PartitionError(HybridJitError):
    """A function ``fn.dask`` cannot run block by block over chunked arrays
    (no parallel loop nest to split, a loop around it, a written array whose
    blocks the subscripts do not tell apart); names the line and why."""


class InternalError(HybridJitError):
    """A bug in hybridjit itself; please report it."""

    def __str__(self) -> str:
        return (
            "internal hybridjit error (a bug in hybridjit, not in your code): "
            + super().__str__()
        )


class HybridJitWarning(UserWarning):
    """Warnings about degraded behaviour (serial build, device fallback, cache)."""
