"""The values the statements before the nest compute, found on the client.

Contract: ``run_prelude(parsed, index, arguments) -> namespace`` runs the
statements before the nest (``parsed.tree.body[:index]``: shapes and scalar
arithmetic only, which :mod:`.plan` checked on the IR) with CPython, chunked
arrays standing in as :class:`ShapeOnly` objects, and returns every local
they leave (parameters included).  ``loop_range(parsed, node, namespace)``
evaluates a cut loop's ``range(...)`` there.  These values decide the
blocks' iteration ranges and evaluate the footprints of each block.

Why CPython: the compiled function means what the Python function means, and
those statements only compute sizes and bounds, so running them is both the
simplest and the exact way to know ``n`` in ``prange(1, n - 1)``.
"""

from __future__ import annotations

import ast
import copy
from typing import Any

import numpy as np

from ..errors import PartitionError
from ..frontend.source import ParsedFunction


class ShapeOnly:
    """A chunked array as the statements before the nest see it: its shape
    and dtype; touching its elements is refused (plan.py refuses that too)."""

    __slots__ = ("dtype", "shape")

    def __init__(self, shape: tuple[int, ...], dtype: Any):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        raise TypeError("the elements of a Dask array are not available before the loop nest")

    def __reduce__(self) -> Any:
        return (ShapeOnly, (self.shape, self.dtype.str))

    def __repr__(self) -> str:
        return f"ShapeOnly({self.shape}, {self.dtype})"


def run_prelude(parsed: ParsedFunction, index: int, arguments: dict[str, Any]) -> dict[str, Any]:
    """The locals after the first ``index`` statements (module doc)."""
    stmts = parsed.tree.body[:index]
    namespace = dict(arguments)
    if not stmts:
        return namespace
    module = ast.Module(body=copy.deepcopy(stmts), type_ignores=[])
    ast.increment_lineno(module, parsed.line_offset)  # tracebacks at the user's lines
    try:
        exec(compile(module, parsed.file, "exec"), parsed.pyfunc.__globals__, namespace)
    except Exception as exc:
        raise PartitionError(
            "evaluating the statements before the parallel loop nest on the client failed: "
            f"{type(exc).__name__}: {exc}", parsed.loc(stmts[0])) from exc
    return namespace


def loop_range(parsed: ParsedFunction, node: ast.For, namespace: dict[str, Any]) -> range:
    """The ``range`` a cut loop iterates over, with the prelude's values."""
    expr = ast.Expression(body=copy.deepcopy(node.iter))
    ast.increment_lineno(expr, parsed.line_offset)
    try:
        value = eval(compile(expr, parsed.file, "eval"), parsed.pyfunc.__globals__, namespace)
    except Exception as exc:
        raise PartitionError(
            f"evaluating this loop's range on the client failed: {type(exc).__name__}: {exc}",
            parsed.loc(node)) from exc
    if not isinstance(value, range):
        raise PartitionError("this loop does not iterate over a range", parsed.loc(node))
    return value
