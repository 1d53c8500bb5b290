"""Combining the blocks' reduction partials, and the value the function returns.

Contract: ``combine(spec, parts) -> partials`` merges a list of per-block
partial tuples with each reduction's operator (``+ * min max``, the rule
the CPU and GPU paths use), in block order; ``finish(spec, parts) -> 0-d
ndarray`` merges the last ones into the value the variable had before the
nest, then evaluates the function's ``return`` expression with CPython over
those values and the scalars computed before the nest, converted to the
function's return type.  The graph calls ``combine`` in a tree (fan-in
:data:`FAN_IN`) and ``finish`` once.

Why the initial value is applied last: each block starts a ``+``/``*``
reduction from the identity (``s = 0.0`` must count once, not once per
block); ``min``/``max`` keep it, as repeating it changes nothing.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .shipping import rebuild_globals

#: partials merged per combining task
FAN_IN = 8

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "*": lambda a, b: a * b,
    "min": min,
    "max": max,
}


@dataclass(frozen=True)
class ReduceSpec:
    ops: tuple[str, ...]
    names: tuple[str, ...]  # the reduction variables
    initial: tuple[Any, ...]  # their values before the nest
    expression: str  # the returned expression's source
    filename: str
    line: int
    namespace: dict[str, Any]  # scalars from before the nest that it uses
    globals: dict[str, Any]  # the function's, as shipping.ship_globals sends them
    dtype: str


def combine(spec: ReduceSpec, parts: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(functools.reduce(_OPS[op], (p[k] for p in parts))
                 for k, op in enumerate(spec.ops))


def finish(spec: ReduceSpec, parts: list[tuple[Any, ...]]) -> np.ndarray:
    values = dict(spec.namespace)
    merged = combine(spec, parts) if parts and spec.ops else ()
    for k, name in enumerate(spec.names):
        values[name] = _OPS[spec.ops[k]](spec.initial[k], merged[k])
    tree = ast.parse(spec.expression, mode="eval")
    ast.increment_lineno(tree, spec.line - 1)  # a failure points at the user's line
    code = compile(tree, spec.filename, "eval")
    value = eval(code, rebuild_globals(spec.globals), values)
    return np.asarray(value, dtype=np.dtype(spec.dtype))
