"""Differential-testing helpers: run a function in CPython and compiled, compare.

The oracle is CPython running the undecorated function (``prange`` is ``range``
there).  :func:`check` clones the arguments twice, preserving every array's
memory layout (strides, offset inside its base, negative strides, aliasing
between arguments that share a base), runs the plain function on one clone
and the compiled function on the other, and compares

* the return values, type-aware: the *kind and width* of every scalar must
  match (``np.float32`` vs ``float`` is a failure, ``np.float64`` vs ``float``
  is not, ``np.int64`` vs ``int`` is not), ints and bools exactly, floats with
  a dtype-appropriate tolerance, arrays by dtype, shape and values, tuples
  elementwise;
* every array argument afterwards (mutations), and that the compiled code did
  not write into bytes of a base buffer outside the views it was given;
* exceptions: if CPython raises, the compiled function must raise the same
  type (a test must say so with ``raises=``, so a buggy oracle never passes).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hybridjit import jit

VIEW_KINDS = ("C", "strided", "sliced", "transposed", "negative")
NUM_DTYPES = ("int32", "int64", "float32", "float64")
ALL_DTYPES = (
    "bool", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "float32", "float64",
)

# default (rtol, atol) per float dtype; serial code should be (nearly) bit-exact
DEFAULT_TOL = {"float16": (1e-3, 1e-3), "float32": (1e-5, 1e-6), "float64": (1e-11, 1e-13),
               "complex64": (1e-5, 1e-6), "complex128": (1e-11, 1e-13)}

_SENTINEL = 0x5A  # fills base-buffer bytes outside every view
_ALIGN = 64


# --------------------------------------------------------------------------
# compiled-function memo (each distinct function + options compiles once per
# signature in this process; the disk cache is per session, see conftest)
# --------------------------------------------------------------------------

_JITTED: dict[tuple[Any, ...], Any] = {}


def _options_key(options: dict[str, Any] | None) -> tuple[Any, ...] | None:
    return None if options is None else tuple(sorted(options.items()))


def get_jit(pyfunc: Callable[..., Any], jit_options: dict[str, Any] | None = None) -> Any:
    """``jit(pyfunc)`` or ``jit(**jit_options)(pyfunc)``, memoised per process."""
    key = (pyfunc, _options_key(jit_options))
    fn = _JITTED.get(key)
    if fn is None:
        fn = jit(pyfunc) if jit_options is None else jit(**jit_options)(pyfunc)
        _JITTED[key] = fn
    return fn


def compiled_count() -> int:
    """Number of specialisations compiled through :func:`get_jit` so far."""
    total = 0
    for fn in _JITTED.values():
        with contextlib.suppress(Exception):
            total += len(fn.signatures)
    return total


# --------------------------------------------------------------------------
# layout-preserving cloning
# --------------------------------------------------------------------------


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _data_ptr(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


def _byte_span(a: np.ndarray) -> tuple[int, int]:
    """Half-open interval of byte addresses an array's elements occupy."""
    start = _data_ptr(a)
    if a.size == 0:
        return start, start
    lo = hi = start
    for n, s in zip(a.shape, a.strides, strict=True):
        ext = (n - 1) * s
        if ext < 0:
            lo += ext
        else:
            hi += ext
    return lo, hi + a.itemsize


def _iter_arrays(obj: Any) -> Iterator[np.ndarray]:
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            yield from _iter_arrays(x)


class _Buffer:
    """A fresh base buffer standing in for one original base, and its views."""

    def __init__(self, group: list[np.ndarray]):
        spans = [_byte_span(a) for a in group]
        nonempty = [s for s in spans if s[1] > s[0]]
        lo = min(s[0] for s in nonempty) if nonempty else 0
        hi = max(s[1] for s in nonempty) if nonempty else 0
        size = hi - lo
        raw = np.full(size + _ALIGN, _SENTINEL, dtype=np.uint8)
        start = (-_data_ptr(raw)) % _ALIGN
        self.bytes = raw[start:start + size]
        self.raw = raw
        self.views: dict[int, np.ndarray] = {}
        self._offsets: dict[int, int] = {}
        for a in group:
            if a.size == 0:
                clone = np.empty(a.shape, a.dtype)
                if a.ndim:  # keep the strides (harmless for 0 elements)
                    clone = np.lib.stride_tricks.as_strided(
                        np.empty(1, a.dtype), a.shape, a.strides, writeable=True
                    )
            else:
                off = _data_ptr(a) - lo
                clone = np.ndarray(a.shape, a.dtype, buffer=self.bytes, offset=off,
                                   strides=a.strides)
                clone[...] = a
                self._offsets[id(clone)] = off
            if not a.flags.writeable:
                clone.flags.writeable = False
            self.views[id(a)] = clone

    def outside_bytes_intact(self) -> bool:
        """True when no byte outside every view changed from the sentinel."""
        if self.bytes.size == 0:
            return True
        mask = np.zeros(self.bytes.size, dtype=np.uint8)
        for clone in self.views.values():
            off = self._offsets.get(id(clone))
            if off is None:
                continue
            cover = np.ndarray((*clone.shape, clone.itemsize), np.uint8, buffer=mask,
                               offset=off, strides=(*clone.strides, 1))
            cover[...] = 1
        outside = self.bytes[mask == 0]
        return bool(np.all(outside == _SENTINEL))


class Clone:
    """A deep copy of an argument tuple keeping array layouts and aliasing."""

    def __init__(self, args: Sequence[Any]):
        groups: dict[int, list[np.ndarray]] = {}
        seen: set[int] = set()
        for a in _iter_arrays(args):
            if id(a) not in seen:
                seen.add(id(a))
                groups.setdefault(id(_root(a)), []).append(a)
        self.buffers = [_Buffer(g) for g in groups.values()]
        self._map: dict[int, np.ndarray] = {}
        for b in self.buffers:
            self._map.update(b.views)
        self.args = tuple(self._rebuild(x) for x in args)

    def _rebuild(self, obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            return self._map[id(obj)]
        if isinstance(obj, tuple):
            return tuple(self._rebuild(x) for x in obj)
        if isinstance(obj, list):
            return [self._rebuild(x) for x in obj]
        if isinstance(obj, (bool, int, float, complex, np.generic, str)) or obj is None:
            return obj
        return copy.deepcopy(obj)

    def arrays(self) -> list[np.ndarray]:
        return list(_iter_arrays(self.args))

    def outside_bytes_intact(self) -> bool:
        return all(b.outside_bytes_intact() for b in self.buffers)


def clone_args(*args: Any) -> tuple[Any, ...]:
    """Layout-preserving deep copy of ``args`` (see :class:`Clone`)."""
    return Clone(args).args


# --------------------------------------------------------------------------
# deterministic data and views
# --------------------------------------------------------------------------


def random_array(shape: int | tuple[int, ...], dtype: Any = "float64", seed: int = 0,
                 low: float | None = None, high: float | None = None,
                 nonzero: bool = False) -> np.ndarray:
    """C-contiguous array with deterministic pseudo-random values.

    Defaults: signed ints in [-20, 20], unsigned in [0, 40], floats in [-2, 2).
    ``nonzero`` replaces zeros (for divisors).
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    if dt.kind == "b":
        out = rng.random(shape) < 0.5
    elif dt.kind in "iu":
        lo = int(low) if low is not None else (0 if dt.kind == "u" else -20)
        hi = int(high) if high is not None else (40 if dt.kind == "u" else 20)
        out = rng.integers(lo, hi + 1, size=shape).astype(dt)
        if nonzero:
            out[out == 0] = 1
    else:
        lo = -2.0 if low is None else float(low)
        hi = 2.0 if high is None else float(high)
        out = (lo + (hi - lo) * rng.random(shape)).astype(dt)
        if dt.kind == "c":  # (an imaginary part from the same range)
            out = out + 1j * (lo + (hi - lo) * rng.random(shape)).astype(dt)
        if nonzero:
            out[out == 0] = 1
    return np.ascontiguousarray(out)


def make_view(kind: str, shape: int | tuple[int, ...], dtype: Any = "float64",
              seed: int = 0, **data_kw: Any) -> np.ndarray:
    """An array of ``shape`` with the layout ``kind`` (one of :data:`VIEW_KINDS`).

    C: contiguous; strided: ``base[1::2, 1::2, ...]`` (every axis strided);
    sliced: ``base[..., 1:]`` (rows not contiguous, for 1-D an offset view);
    transposed: ``base.T`` of a base with reversed shape; negative:
    ``base[::-1, ::-1, ...]``.
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if kind == "C":
        return random_array(shape, dtype, seed, **data_kw)
    if kind == "strided":
        base = random_array(tuple(2 * s + 1 for s in shape), dtype, seed, **data_kw)
        v = base[tuple(slice(1, 1 + 2 * s, 2) for s in shape)]
    elif kind == "sliced":
        base = random_array((*shape[:-1], shape[-1] + 1), dtype, seed, **data_kw)
        v = base[..., 1:]
    elif kind == "transposed":
        base = random_array(shape[::-1], dtype, seed, **data_kw)
        v = base.T
    elif kind == "negative":
        base = random_array(shape, dtype, seed, **data_kw)
        v = base[(slice(None, None, -1),) * len(shape)]
    else:
        raise ValueError(f"unknown view kind {kind!r}")
    assert v.shape == shape and v.base is not None
    return v


def views(shape: int | tuple[int, ...], dtype: Any = "float64", seed: int = 0,
          kinds: Sequence[str] = VIEW_KINDS, **data_kw: Any) -> dict[str, np.ndarray]:
    """``{kind: make_view(kind, shape, dtype, seed)}`` for every kind."""
    return {k: make_view(k, shape, dtype, seed, **data_kw) for k in kinds}


# --------------------------------------------------------------------------
# comparison
# --------------------------------------------------------------------------


def type_key(v: Any) -> str:
    """Kind and width of a scalar, and whether it is a Python number: 'int',
    'float', 'bool' for Python's; 'int64', 'float32', 'np.bool' ... for
    NumPy's.  The difference matters: the two follow different rules in the
    operations that come next (NEP 50), and hybridjit promises CPython's."""
    if isinstance(v, np.generic):
        return "np.bool" if v.dtype == np.bool_ else v.dtype.name
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, complex):
        return "complex"
    return type(v).__name__


#: the NumPy dtype of each type key (Python numbers as NumPy's defaults)
_KIND = {"int": "int64", "float": "float64", "bool": "bool", "np.bool": "bool",
         "complex": "complex128"}


def _weak_fits(value: Any, key: str) -> bool:
    """A Python number whose kind and value a NumPy scalar type holds."""
    if type(value) is int and key.startswith(("int", "uint")):
        info = np.iinfo(key)
        return info.min <= value <= info.max
    if type(value) is int and key.startswith("float"):
        return float(np.dtype(key).type(value)) == value
    return type(value) is float and key.startswith("float")


def _dtype_of(key: str) -> np.dtype:
    return np.dtype(_KIND.get(key, key))


def _tol(dtype_name: str, rtol: float | None, atol: float | None) -> tuple[float, float]:
    name = {"float": "float64", "complex": "complex128"}.get(dtype_name, dtype_name)
    r, a = DEFAULT_TOL.get(name, (0.0, 0.0))
    return (r if rtol is None else rtol), (a if atol is None else atol)


def assert_same(expected: Any, got: Any, *, rtol: float | None = None,
                atol: float | None = None, check_type: bool | str = True,
                path: str = "result") -> None:
    """Assert ``got`` (compiled) equals ``expected`` (CPython), type-aware."""
    if expected is None:
        assert got is None, f"{path}: expected None, got {got!r}"
        return
    if isinstance(expected, tuple):
        assert isinstance(got, tuple), f"{path}: expected a tuple, got {type(got).__name__}"
        assert len(got) == len(expected), (
            f"{path}: expected a {len(expected)}-tuple, got {len(got)} items")
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            assert_same(e, g, rtol=rtol, atol=atol, check_type=check_type,
                        path=f"{path}[{i}]")
        return
    if isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray), (
            f"{path}: expected ndarray, got {type(got).__name__}")
        assert got.dtype == expected.dtype, (
            f"{path}: dtype {got.dtype}, expected {expected.dtype}")
        assert got.shape == expected.shape, (
            f"{path}: shape {got.shape}, expected {expected.shape}")
        if expected.dtype.kind in "fc":
            r, a = _tol(expected.dtype.name, rtol, atol)
            np.testing.assert_allclose(got, expected, rtol=r, atol=a, equal_nan=True,
                                       err_msg=path)
        else:
            np.testing.assert_array_equal(got, expected, err_msg=path)
        return
    if isinstance(expected, complex) or (isinstance(expected, np.generic)
                                         and expected.dtype.kind == "c"):
        _assert_same_complex(expected, got, rtol, atol, check_type, path)
        return
    if isinstance(expected, (bool, int, float, np.generic)):
        assert isinstance(got, (bool, int, float, np.generic)), (
            f"{path}: expected scalar {expected!r}, got {type(got).__name__} {got!r}")
        ek, gk = type_key(expected), type_key(got)
        if check_type == "kind":
            # where CPython's type depends on the values (a variable still
            # holding its Python 0.0, min/max or and/or of mixed types), the
            # compiled value has the promoted type (the README's documented
            # departure): the expected type must convert to it safely, or
            # be a Python number whose value the NumPy type holds (NEP 50's
            # weak Python scalars)
            assert np.can_cast(_dtype_of(ek), _dtype_of(gk), "safe") or _weak_fits(
                expected, gk), (
                f"{path}: result type {gk} ({got!r}), CPython gives {ek} ({expected!r})")
        elif check_type:
            assert ek == gk, (
                f"{path}: result type {gk} ({got!r}), CPython gives {ek} ({expected!r})")
        if ek.startswith("float") or gk.startswith("float"):
            e, g = float(expected), float(got)
            if math.isnan(e):
                assert math.isnan(g), f"{path}: expected nan, got {got!r}"
                return
            r, a = _tol(ek if ek.startswith("float") else gk, rtol, atol)
            if math.isinf(e):
                assert e == g, f"{path}: expected {expected!r}, got {got!r}"
                return
            assert abs(g - e) <= a + r * abs(e), (
                f"{path}: {got!r} != {expected!r} (rtol={r}, atol={a})")
        else:
            assert int(expected) == int(got), f"{path}: {got!r} != {expected!r}"
        return
    assert got == expected, f"{path}: {got!r} != {expected!r}"


def _assert_same_complex(expected: Any, got: Any, rtol: float | None, atol: float | None,
                         check_type: bool | str, path: str) -> None:
    """A complex scalar: its type, then each part within the tolerance."""
    assert isinstance(got, (complex, np.generic)), (
        f"{path}: expected complex {expected!r}, got {type(got).__name__} {got!r}")
    ek, gk = type_key(expected), type_key(got)
    if check_type:
        assert ek == gk, f"{path}: result type {gk} ({got!r}), CPython gives {ek} ({expected!r})"
    r, a = _tol(ek, rtol, atol)
    for part in ("real", "imag"):
        e, g = float(getattr(expected, part)), float(getattr(got, part))
        if math.isnan(e) or math.isinf(e):
            assert (math.isnan(e) and math.isnan(g)) or e == g, (
                f"{path}.{part}: {got!r} != {expected!r}")
            continue
        scale = abs(complex(expected))
        assert abs(g - e) <= a + r * (scale if math.isfinite(scale) else abs(e)), (
            f"{path}.{part}: {got!r} != {expected!r} (rtol={r}, atol={a})")


# --------------------------------------------------------------------------
# the differential check
# --------------------------------------------------------------------------


def _run(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, BaseException | None]:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return fn(*args), None
        except Exception as e:  # compared below
            return None, e


def check(pyfunc: Callable[..., Any], *args: Any, jit_options: dict[str, Any] | None = None,
          rtol: float | None = None, atol: float | None = None, check_type: bool | str = True,
          raises: type[BaseException] | None = None, cfunc: Any = None) -> Any:
    """Run ``pyfunc`` in CPython and compiled on layout-preserving clones of
    ``args``; compare results, mutated arrays and exceptions.  Returns the
    compiled result.  ``raises``: the exception type CPython is expected to
    raise (then the compiled function must raise the same type)."""
    py = Clone(args)
    cj = Clone(args)
    expected, py_exc = _run(pyfunc, py.args)
    if py_exc is not None and raises is None:
        raise AssertionError(f"oracle (CPython) raised unexpectedly: {py_exc!r}") from py_exc
    if raises is not None:
        assert isinstance(py_exc, raises), (
            f"test expects CPython to raise {raises.__name__}, it gave {py_exc or expected!r}")
    fn = cfunc if cfunc is not None else get_jit(pyfunc, jit_options)
    got, jit_exc = _run(fn, cj.args)
    if py_exc is not None:
        if jit_exc is None:
            raise AssertionError(
                f"CPython raises {type(py_exc).__name__}({py_exc}), compiled returned {got!r}")
        if not isinstance(jit_exc, type(py_exc)):
            raise AssertionError(
                f"CPython raises {type(py_exc).__name__}, compiled raised "
                f"{type(jit_exc).__name__}: {jit_exc}") from jit_exc
        return None
    if jit_exc is not None:
        raise jit_exc
    assert_same(expected, got, rtol=rtol, atol=atol, check_type=check_type)
    for i, (e, g) in enumerate(zip(py.arrays(), cj.arrays(), strict=True)):
        assert_same(e, g, rtol=rtol, atol=atol, path=f"array argument #{i} after the call")
    assert cj.outside_bytes_intact(), "compiled code wrote outside the views it was given"
    assert _sharing(expected, py.arrays()) == _sharing(got, cj.arrays()), (
        "view-or-copy differs: which returned arrays share memory with which arguments "
        f"(CPython {_sharing(expected, py.arrays())}, compiled {_sharing(got, cj.arrays())})")
    return got


def _sharing(result: Any, args: list[np.ndarray]) -> list[list[bool]]:
    """For each returned array, whether it shares memory with each argument."""
    return [[bool(np.shares_memory(r, a)) for a in args] for r in _iter_arrays(
        result if isinstance(result, tuple) else (result,))]


def run_jit(pyfunc: Callable[..., Any], *args: Any,
            jit_options: dict[str, Any] | None = None) -> Any:
    """Call the compiled function on a layout-preserving clone of ``args``."""
    fn = get_jit(pyfunc, jit_options)
    with np.errstate(all="ignore"):
        return fn(*clone_args(*args))


# --------------------------------------------------------------------------
# subprocesses (fresh interpreter: cache, environment knobs, hang protection)
# --------------------------------------------------------------------------


def package_path() -> str:
    """The directory to put on PYTHONPATH so a subprocess imports this hybridjit."""
    import hybridjit

    return str(Path(hybridjit.__file__).resolve().parents[1])


def run_python(code: str, *, env: dict[str, str] | None = None, cwd: str | os.PathLike[str]
               | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that imports this hybridjit."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [package_path(), str(Path(__file__).resolve().parent)]
        + ([full_env["PYTHONPATH"]] if full_env.get("PYTHONPATH") else []))
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)
