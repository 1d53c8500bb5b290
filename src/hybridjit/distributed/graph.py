"""The Dask graph of one call, and the lazy arrays it returns.

Contract: ``build(kernel, partition, chunked, whole, reduce, token) ->
tuple of dask arrays``: one per written array (in argument order), then a
0-d array when the function returns a value.  Tasks:

- the :class:`~.runner.Kernel` and each NumPy array argument are one key
  each: a worker fetches them once and every task there shares them;
- ``hj-halo``: a slice of a chunk that a block needs only part of (its
  halo), computed where the chunk lives, so only the slice travels (see
  :func:`_halo`);
- ``hj-block``: :func:`~.runner.run_block` for one block, on its pieces
  (whole chunks are passed as they are);
- the written arrays' chunks: the owned part each block returns;
- ``hj-combine`` and the result: a tree reduction of the partials (fan-in
  :data:`~.reduction.FAN_IN`) and :func:`~.reduction.finish`.

Dask moves the pieces between workers, and retries a block whose worker
died: a task depends on nothing but its inputs, so running it again gives
the same result.
"""

from __future__ import annotations

import operator
import re
from typing import Any

import numpy as np

from . import reduction
from .blocks import Block, Partition
from .reduction import ReduceSpec
from .runner import Kernel, run_block


def build(kernel: Kernel, part: Partition, cut_dims: dict[str, dict[int, int]],
          chunked: dict[str, Any], whole: dict[str, np.ndarray], reduce: ReduceSpec | None,
          token: str) -> tuple[Any, ...]:
    """The lazy results (module doc); ``cut_dims[array][s]`` is the
    dimension of a written array that cut loop ``s`` indexes."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

    fname = re.sub(r"[^A-Za-z0-9_]", "_", kernel.qualname)
    core_name = f"hj-{fname}-{token}"
    block_name = f"hj-block-{fname}-{token}"
    kernel_key = f"hj-kernel-{token}"
    core: dict[Any, Any] = {kernel_key: kernel}
    whole_keys = []
    for name, value in whole.items():
        key = f"hj-whole-{name}-{token}"
        core[key] = value
        whole_keys.append(key)
    halos = _Halos(f"hj-halo-{token}", core, chunked, kernel_key)
    for block in part.blocks:
        inputs = [halos.ref(a.name, p) for a in block.arrays for p in a.pieces] + whole_keys
        block_key = (block_name, *block.index)
        core[block_key] = (run_block, kernel_key, block, inputs)
    result_parts = [] if reduce is None or not reduce.ops else _reduction_layer(
        core, reduce, part.blocks, block_name, len(kernel.written), token)

    graph = HighLevelGraph.from_collections(core_name, core,
                                            dependencies=list(chunked.values()))
    layers, deps = dict(graph.layers), dict(graph.dependencies)
    outputs = []
    for j, name in enumerate(kernel.written):
        out_name = f"{name}-hj-{fname}-{token}"
        layer: dict[Any, Any] = {}
        for block in part.blocks:
            index = [0] * len(part.out_chunks[name])
            for s, dim in cut_dims[name].items():
                index[dim] = block.index[s]
            out_key = (out_name, *index)
            layer[out_key] = (operator.getitem, (block_name, *block.index), j)
        layers[out_name], deps[out_name] = MaterializedLayer(layer), {core_name}
        dtype = chunked[name].dtype
        outputs.append(da.Array(HighLevelGraph(dict(layers), dict(deps)), out_name,
                                chunks=part.out_chunks[name], dtype=dtype,
                                meta=np.empty((0,) * len(part.out_chunks[name]), dtype)))
    if reduce is not None:
        res_name = f"hj-result-{fname}-{token}"
        layers[res_name] = MaterializedLayer(
            {(res_name,): (reduction.finish, reduce, result_parts)})
        deps[res_name] = {core_name}
        dtype = np.dtype(reduce.dtype)
        outputs.append(da.Array(HighLevelGraph(dict(layers), dict(deps)), res_name, chunks=(),
                                dtype=dtype, meta=np.empty((), dtype)))
    return tuple(outputs)


class _Halos:
    """References to the pieces: a whole chunk's own key, or a slicing task
    (made once per distinct slice)."""

    def __init__(self, name: str, core: dict[Any, Any], chunked: dict[str, Any],
                 kernel_key: str):
        self.name, self.core, self.chunked, self.kernel_key = name, core, chunked, kernel_key
        self.made: dict[tuple[str, tuple[int, ...], str], Any] = {}

    def ref(self, array: str, piece: Any) -> Any:
        chunk_key = (self.chunked[array].name, *piece.chunk)
        if piece.whole:
            return chunk_key
        ident = (array, piece.chunk, repr(piece.src))
        key = self.made.get(ident)
        if key is None:
            key = (self.name, len(self.made))
            self.core[key] = (_halo, self.kernel_key, chunk_key, piece.src)
            self.made[ident] = key
        return key


def _halo(kernel: Kernel, chunk: np.ndarray, index: tuple[slice, ...]) -> np.ndarray:
    """The part of a chunk a neighbouring block needs.  The kernel is an
    argument only so that the scheduler never takes these tasks for root
    tasks: a task group of more tasks than twice the cluster's threads with
    fewer than 5 tasks upstream is placed without regard to where its input
    lives, which would move the whole chunk instead of the slice."""
    return chunk[index]


def _reduction_layer(core: dict[Any, Any], reduce: ReduceSpec, blocks: tuple[Block, ...],
                     block_name: str, n_written: int, token: str) -> list[Any]:
    """Partials of every block combined in a tree; the keys left at the top."""
    level: list[Any] = []
    for n, block in enumerate(blocks):
        partial_key = (f"hj-partial-{token}", n)
        core[partial_key] = (operator.getitem, (block_name, *block.index), n_written)
        level.append(partial_key)
    depth = 0
    while len(level) > reduction.FAN_IN:
        nxt: list[Any] = []
        for n in range(0, len(level), reduction.FAN_IN):
            key = (f"hj-combine-{token}", depth, n // reduction.FAN_IN)
            core[key] = (reduction.combine, reduce, level[n:n + reduction.FAN_IN])
            nxt.append(key)
        level, depth = nxt, depth + 1
    return level
