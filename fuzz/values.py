"""Argument specifications: JSON-able descriptions of a program's arguments.

Contract: a spec is a list with one dict per parameter; :func:`build_args`
turns it into fresh argument values, always the same ones for the same spec
(arrays come from :func:`difftest.make_view`, seeded); :func:`args_code`
writes Python source that builds the same values from literals, for repro
files.  Kinds:

* ``{"kind": "scalar", "type": "py_int" | "int8" | ..., "value": repr}``
  (a complex value is written ``complex(re, im)``, its parts ``float('nan')``
  or ``float('inf')`` where not finite, so that signed zeros survive);
* ``{"kind": "array", "dtype", "shape", "view", "seed", "range"}``: ``view``
  is one of difftest's VIEW_KINDS, or ``"head"`` (``base[:-1]`` of a 1-D
  base one longer, for an overlapping pair); ``range`` is ``"small"``
  (difftest's defaults) or ``"wide"``; optional ``"edges": true`` (complex
  arrays) sets some parts to edge values (signed zeros, +-1, rarely
  inf/nan: :func:`_edges`);
* ``{"kind": "same", "of": k}``: the very array passed as argument ``k``;
* ``{"kind": "tail", "of": k}``: ``base[1:]`` of argument ``k``'s base (a
  ``"head"`` view): two arrays overlapping in memory, shifted by one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from difftest import make_view, random_array

from .typesys import ScalarT, float_code

_WIDE = {"int64": (-(2 ** 40), 2 ** 40), "uint64": (0, 2 ** 40),
         "float32": (-1e3, 1e3), "float64": (-1e3, 1e3),
         "complex64": (-1e3, 1e3), "complex128": (-1e3, 1e3)}
#: the parts :func:`_edges` sets (inf and nan last: rarer)
EDGE_PARTS = (0.0, -0.0, 0.0, -0.0, 1.0, -1.0, 0.5, -2.0, float("inf"), float("nan"))


def _data_kw(spec: dict[str, Any]) -> dict[str, Any]:
    if spec.get("range", "small") != "wide":
        return {}
    dt = np.dtype(spec["dtype"])
    if dt.name in _WIDE:
        lo, hi = _WIDE[dt.name]
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = int(info.min), int(info.max)
    else:
        return {}
    return {"low": lo, "high": hi}


def scalar_value(type_name: str, value: str) -> Any:
    t = ScalarT(type_name)
    v: Any = eval(value, {"nan": float("nan"), "inf": float("inf")})
    if t.py:
        return {"py_bool": bool, "py_int": int, "py_float": float,
                "py_complex": complex}[type_name](v)
    return t.dtype.type(v)


def _edges(a: np.ndarray, seed: int) -> None:
    """Set about a third of the real and of the imaginary parts of the
    complex array ``a`` (in place, through views) to edge values: signed
    zeros mostly, +-1, 0.5, -2, now and then inf or nan."""
    rng = np.random.default_rng(seed + 7)
    for part in (a.real, a.imag):
        mask = rng.random(a.shape) < 0.3
        weights = np.array([1.0] * 8 + [0.08, 0.08])
        picks = rng.choice(len(EDGE_PARTS), size=a.shape, p=weights / weights.sum())
        vals = np.array(EDGE_PARTS)[picks]
        part[mask] = vals[mask]


def _array(spec: dict[str, Any]) -> np.ndarray:
    shape = tuple(spec["shape"])
    kw = _data_kw(spec)
    if spec["view"] == "head":
        base = random_array((shape[0] + 1,), spec["dtype"], spec["seed"], **kw)
        a = base[:-1]
    else:
        a = make_view(spec["view"], shape, spec["dtype"], spec["seed"], **kw)
    if spec.get("edges"):
        _edges(a, spec["seed"])
    return a


def build_args(specs: list[dict[str, Any]]) -> tuple[Any, ...]:
    out: list[Any] = []
    for s in specs:
        kind = s["kind"]
        if kind == "scalar":
            out.append(scalar_value(s["type"], s["value"]))
        elif kind == "array":
            out.append(_array(s))
        elif kind == "same":
            out.append(out[s["of"]])
        elif kind == "tail":
            out.append(out[s["of"]].base[1:])
        else:
            raise ValueError(f"unknown argument kind {kind!r}")
    return tuple(out)


def _nested(a: np.ndarray) -> str:
    """Source of a nested list of the floats of ``a`` (see :func:`float_code`)."""
    if a.ndim == 0:
        return float_code(float(a))
    return "[" + ", ".join(_nested(x) for x in a) + "]"


def _literal(a: np.ndarray) -> str:
    dt = a.dtype.name
    spelled = "np.bool_" if dt == "bool" else f"np.{dt}"
    if a.dtype.kind == "c":
        # (repr of a complex loses a negative zero real part: (-0-1j))
        part = "np.float32" if dt == "complex64" else "np.float64"
        pairs = np.stack([a.real, a.imag], axis=-1)
        return (f"np.array({_nested(pairs)}, dtype={part}).view({spelled})"
                f".reshape({a.shape!r}).copy()")
    return f"np.array({a.tolist()!r}, dtype={spelled})"


_VIEW_CODE = {
    "C": "{b}", "sliced": "{b}[..., 1:]", "transposed": "{b}.T", "head": "{b}[:-1]",
}


def _view_code(view: str, ndim: int, base: str) -> str:
    if view in _VIEW_CODE:
        return _VIEW_CODE[view].format(b=base)
    if view == "strided":
        return f"{base}[{', '.join(['1::2'] * ndim)}]"
    if view == "negative":
        return f"{base}[{', '.join(['::-1'] * ndim)}]"
    raise ValueError(view)


def args_code(specs: list[dict[str, Any]], names: list[str]) -> list[str]:
    """Source lines assigning each argument to its name (from literals)."""
    values = build_args(specs)
    lines: list[str] = []
    for k, (s, name) in enumerate(zip(specs, names)):
        kind = s["kind"]
        if kind == "scalar":
            t = ScalarT(s["type"])
            v = s["value"]
            if v in ("nan", "inf", "-inf"):
                v = f"float({v!r})"
            lines.append(f"{name} = {t.spelling()}({v})")
        elif kind == "array":
            a = values[k]
            base = a if s["view"] == "C" else a.base
            while s["view"] != "C" and isinstance(base.base, np.ndarray):
                base = base.base
            lines.append(f"{name}_base = {_literal(np.asarray(base))}")
            lines.append(f"{name} = {_view_code(s['view'], a.ndim, name + '_base')}")
        elif kind == "same":
            lines.append(f"{name} = {names[s['of']]}")
        elif kind == "tail":
            lines.append(f"{name} = {names[s['of']]}_base[1:]")
    return lines


def describe(specs: list[dict[str, Any]]) -> str:
    parts = []
    for k, s in enumerate(specs):
        if s["kind"] == "scalar":
            parts.append(f"{ScalarT(s['type'])}({s['value']})")
        elif s["kind"] == "array":
            parts.append(f"{s['dtype']}{tuple(s['shape'])}/{s['view']}")
        else:
            parts.append(f"{s['kind']} of #{s['of']}")
        del k
    return ", ".join(parts)
