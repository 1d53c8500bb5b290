"""Outcomes of one run and their strict comparison.

Contract: :class:`Outcome` is what one run of a function gave (a value, an
exception, a compile refusal ...) together with the array arguments after
the call; :func:`verdict` compares the oracle's outcome with a compiled
configuration's and returns a :class:`Verdict` (category, kind, detail).

Stricter than ``tests/difftest.assert_same`` (whose type-aware idea this
follows): result types must be identical (``int`` is not ``np.int64``,
``bool`` is not ``np.bool_``, dtypes equal), floats are compared bit for bit
(any NaN equals any NaN, ``-0.0`` differs from ``0.0``), complex numbers
likewise part by part (their distance in ulps is the larger of the
parts'), and so are array arguments after the call; exceptions must be of
the oracle's type.  The only tolerances are documented ones: device
kernels give nan/inf where CPython raises a math domain/range error
(configuration ``opencl``), and a few ulps (kind ``ulp``: at most 4) are
a departure where the program calls functions that hybridjit computes
with a library other than CPython's: NumPy's transcendental functions on
a device, ``cmath``'s on any configuration (the C library's complex
functions, hybridjit/frontend/complexes.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: categories, worst first (a program's category is its worst configuration's)
CATEGORIES = ("invalid", "crash", "internal", "mismatch", "timeout", "refused", "fallback",
              "departure", "ok-typeerror", "ok")
FAILURES = ("crash", "internal", "mismatch", "timeout", "refused", "fallback")
#: outcomes that are not failures: "ok-typeerror" is a compile-time
#: HybridJitError at the very line where CPython raises a TypeError (README:
#: NumPy's and Python's type errors are compile-time errors)
PASSING = ("ok", "ok-typeerror", "departure")

#: exceptions CPython may legitimately raise in a generated program; any other
#: one means the generator left the subset (category "invalid")
EXPECTED_RAISES = ("ZeroDivisionError", "ValueError", "OverflowError", "UnboundLocalError")


@dataclass
class Outcome:
    status: str  # "return", "raise", "departure", "refused", "internal"
    value: Any = None
    exc_type: str = ""
    exc_mro: tuple[str, ...] = ()
    message: str = ""
    arrays: list[np.ndarray] = field(default_factory=list)
    outside_intact: bool = True
    line: int = 0  # the program line an exception was raised (or refused) at

    @classmethod
    def from_exception(cls, status: str, exc: BaseException, line: int = 0) -> Outcome:
        return cls(status, exc_type=type(exc).__name__,
                   exc_mro=tuple(c.__name__ for c in type(exc).__mro__),
                   message=str(exc), line=line)

    @property
    def type_error(self) -> bool:
        return self.status == "raise" and "TypeError" in self.exc_mro

    def describe(self, limit: int = 400) -> str:
        if self.status == "return":
            text = f"returns {show(self.value)}"
        elif self.status == "departure":
            text = f"departure: {self.message}"
        else:
            first = self.message.strip().splitlines()[0] if self.message.strip() else ""
            text = f"{self.status}: {self.exc_type}: {first}"
        return text if len(text) <= limit else text[:limit] + " ..."


@dataclass
class Verdict:
    category: str
    kind: str = ""
    detail: str = ""

    def signature(self) -> str:
        """A run-independent key grouping failures that look alike."""
        return f"{self.category}:{self.kind}:{normalise(self.detail)}"


def normalise(text: str) -> str:
    text = text.strip().splitlines()[0] if text.strip() else ""
    text = re.sub(r"\S+\.py:\d+:\d+: ", "", text)
    text = re.sub(r"(/[\w.+-]+)+", "PATH", text)  # cache files, modules
    text = re.sub(r"np\.\w+\(([^()]*)\)", r"np.T(\1)", text)
    text = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "N", text)
    text = re.sub(r"'[^']*'", "'X'", text)
    return text[:120]


def show(v: Any) -> str:
    """A repr that names types: ``np.float32(1.5)``, ``1.5 (float)``, arrays."""
    if isinstance(v, tuple):
        return "(" + ", ".join(show(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, np.ndarray):
        body = np.array2string(v, threshold=40, max_line_width=200)
        return f"array({body}, dtype={v.dtype.name})"
    if isinstance(v, np.generic):
        return repr(v)
    if isinstance(v, (bool, int, float, complex)):
        return f"{v!r} ({type(v).__name__})"
    return repr(v)


# ------------------------------------------------------------------ values


def _bits(x: Any, dtype: np.dtype) -> int:
    return int(np.array(x, dtype=dtype).view(f"u{dtype.itemsize}"))


def ulps(e: Any, g: Any, dtype: np.dtype) -> int:
    be, bg = _bits(e, dtype), _bits(g, dtype)
    sign = 1 << (dtype.itemsize * 8 - 1)
    if (be & sign) != (bg & sign):
        return abs(be & ~sign) + abs(bg & ~sign)
    return abs(be - bg)


def _float_same(e: Any, g: Any, dtype: np.dtype) -> bool:
    if math.isnan(float(e)) and math.isnan(float(g)):
        return True
    return _bits(e, dtype) == _bits(g, dtype)


def _parts(x: Any, dtype: np.dtype) -> tuple[tuple[Any, Any], np.dtype]:
    """(real part, imaginary part) of a complex scalar and their float dtype."""
    part = np.dtype(f"f{dtype.itemsize // 2}")
    c = np.asarray(x, dtype=dtype)
    return (c.real[()], c.imag[()]), part


def _scalar_ulps(e: Any, g: Any, dtype: np.dtype) -> int:
    """Distance of two floats (or complex numbers: the larger part's) in
    ulps; -1 where a NaN meets a number."""
    if dtype.kind == "c":
        (er, ei), part = _parts(e, dtype)
        (gr, gi), _ = _parts(g, dtype)
        ds = [0 if _float_same(x, y, part) else _scalar_ulps(x, y, part)
              for x, y in ((er, gr), (ei, gi))]
        return -1 if -1 in ds else max(ds)
    if math.isnan(float(e)) or math.isnan(float(g)):
        return -1
    return ulps(e, g, dtype)


def _scalar_same(e: Any, g: Any, dtype: np.dtype) -> bool:
    """Bit for bit (any NaN equals any NaN), complex numbers part by part."""
    if dtype.kind == "c":
        (er, ei), part = _parts(e, dtype)
        (gr, gi), _ = _parts(g, dtype)
        return _float_same(er, gr, part) and _float_same(ei, gi, part)
    return _float_same(e, g, dtype)


def _array_same(e: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Element-wise :func:`_scalar_same` of two contiguous arrays (any
    dtype: other than floats and complex numbers, ``==``)."""
    if e.dtype.kind == "c":
        return _array_same(np.ascontiguousarray(e.real), np.ascontiguousarray(g.real)) \
            & _array_same(np.ascontiguousarray(e.imag), np.ascontiguousarray(g.imag))
    if e.dtype.kind == "f":
        u = f"u{e.dtype.itemsize}"
        return (e.view(u) == g.view(u)) | (np.isnan(e) & np.isnan(g))
    return e == g


def diff(e: Any, g: Any, path: str = "result") -> tuple[str, str] | None:
    """None when ``g`` (compiled) is ``e`` (CPython) exactly; else (kind, text)."""
    if isinstance(e, tuple) or isinstance(g, tuple):
        if not (isinstance(e, tuple) and isinstance(g, tuple)) or len(e) != len(g):
            return "type", f"{path}: CPython gives {show(e)}, compiled {show(g)}"
        for k, (x, y) in enumerate(zip(e, g)):
            d = diff(x, y, f"{path}[{k}]")
            if d is not None:
                return d
        return None
    if isinstance(e, np.ndarray) or isinstance(g, np.ndarray):
        if not (isinstance(e, np.ndarray) and isinstance(g, np.ndarray)):
            return "type", f"{path}: CPython gives {show(e)}, compiled {show(g)}"
        if e.dtype != g.dtype or e.shape != g.shape:
            return "type", (f"{path}: CPython gives {e.dtype}{e.shape}, compiled "
                            f"{g.dtype}{g.shape}")
        return _array_diff(e, g, path)
    if type(e) is not type(g):
        return "type", f"{path}: CPython gives {show(e)}, compiled {show(g)}"
    if e is None:
        return None
    dt = np.asarray(e).dtype
    if dt.kind in "fc":
        if _scalar_same(e, g, dt):
            return None
        n = _scalar_ulps(e, g, dt)
        kind = "ulp" if 0 < n <= 4 else "value"
        return kind, f"{path}: CPython gives {show(e)}, compiled {show(g)}" + (
            f" ({n} ulp)" if n > 0 else "")
    if e != g:
        return "value", f"{path}: CPython gives {show(e)}, compiled {show(g)}"
    return None


def _array_diff(e: np.ndarray, g: np.ndarray, path: str) -> tuple[str, str] | None:
    e = np.ascontiguousarray(e)
    g = np.ascontiguousarray(g)
    same = _array_same(e, g)
    if bool(np.all(same)):
        return None
    where = tuple(int(i) for i in np.argwhere(~same)[0])
    ev, gv = e[where], g[where]
    kind = "value"
    if e.dtype.kind in "fc":
        n = _scalar_ulps(ev, gv, e.dtype)
        kind = "ulp" if 0 <= n <= 4 else "value"
    count = int(np.sum(~same))
    return kind, (f"{path}: {count} element(s) differ, first at {list(where)}: CPython "
                  f"{ev!r}, compiled {gv!r}")


# ----------------------------------------------------------------- verdict

_MATH_ERRORS = ("math domain error", "math range error")


def _raised(o: Outcome) -> str:
    return f"{o.exc_type}({o.message.strip().splitlines()[0] if o.message.strip() else ''})"


def verdict(expected: Outcome, got: Outcome, config: str,
            device_ulps: bool = False, host_ulps: bool = False) -> Verdict:
    """Compare a compiled configuration's outcome with the oracle's.
    ``device_ulps``: the program calls NumPy transcendental functions, which
    kernels compute with the device's library (README): a few ulps on a
    device configuration are a departure.  ``host_ulps``: the program calls
    ``cmath``'s transcendental functions, which hybridjit computes with the
    C library's complex functions, not CPython's algorithms: a few ulps on
    any configuration are a departure."""
    if got.status == "refused" and expected.type_error:
        if got.line and got.line == expected.line:
            return Verdict("ok-typeerror", got.exc_type,
                           f"CPython raises {_raised(expected)} at line {expected.line}")
        return Verdict("refused", got.exc_type,
                       f"{got.message.strip()}\n(CPython raises {_raised(expected)} at line "
                       f"{expected.line}, the refusal is at line {got.line})")
    if got.status in ("refused", "internal"):
        return Verdict(got.status, got.exc_type, got.message)
    if expected.status == "raise":
        if got.status == "raise":
            if expected.exc_type in got.exc_mro or (expected.type_error and got.type_error):
                return Verdict("ok")
            return Verdict("mismatch", "exception type",
                           f"CPython raises {_raised(expected)}, compiled raises {_raised(got)}")
        if config == "opencl" and expected.exc_type in ("ValueError", "OverflowError") \
                and expected.message in _MATH_ERRORS:
            return Verdict("departure", "kernel math error",
                           "device kernels give nan/inf for math domain errors")
        return Verdict("mismatch", "raises/returns",
                       f"CPython raises {_raised(expected)}, compiled {got.describe(200)}")
    if got.status == "raise":
        return Verdict("mismatch", "returns/raises",
                       f"CPython {expected.describe(200)}, compiled raises {_raised(got)}")
    device = config == "opencl" and device_ulps
    library = "device math library" if device else "cmath: the C library" if host_ulps \
        else ""
    d = diff(expected.value, got.value)
    if d is not None:
        if library and d[0] == "ulp":
            return Verdict("departure", library, d[1])
        return Verdict("mismatch", d[0], d[1])
    for k, (e, g) in enumerate(zip(expected.arrays, got.arrays)):
        d = diff(e, g, f"array argument #{k} after the call")
        if d is not None:
            if library and d[0] == "ulp":
                return Verdict("departure", library, d[1])
            return Verdict("mismatch", "argument " + d[0], d[1])
    if not got.outside_intact:
        return Verdict("mismatch", "wrote outside", "compiled code wrote outside its views")
    return Verdict("ok")


def worst(categories: list[str]) -> str:
    return min(categories, key=CATEGORIES.index) if categories else "ok"
