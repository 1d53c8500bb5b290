"""The blocks of one call: iteration ranges, and the exact data each needs.

Contract: ``partition(plan, layout, footprint) -> Partition``.  ``layout``
holds what the call knows (the cut loops' ranges, the evaluated offsets of
their subscripts, the chunks and shapes of the arrays, the scalar values
the footprint mentions); ``footprint`` is the block version's region
footprint (:mod:`.variant`), whose cut loops run from ``_hj_lo`` to
``_hj_hi``.  Output: one :class:`Block` per chunk of the anchor along the cut
dimensions, with its iteration range per cut loop, the block version's extra
arguments, and per chunked array the pieces of chunks it needs (read box,
plus for a written array the part it owns and returns) and the part it owns.

Cuts: along a cut loop, block ``k`` takes the iterations whose subscript of
the anchor falls in its ``k``-th chunk (``var + offset`` in
``[bounds[k], bounds[k+1])``); the first and last blocks are open-ended, so
every iteration belongs to exactly one block.  A written array owns the
iterations' image under its own offset, clamped to its extent (the first
and last blocks up to its edges), so the owned parts tile it and unwritten
elements come back as they were.  The boxes come from evaluating the
footprint for the block's ranges, which gives halos per dimension and per
side, asymmetric ones and none past the rows the loop skips, without
padding; a write outside the owned part (which the plan cannot rule out
for every subscript) is refused here, before anything runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..analysis.affine import Sym
from ..analysis.footprint import ConcreteFootprint, RegionFootprint
from ..errors import PartitionError
from .plan import Plan

#: per dimension a half-open [lo, hi) interval
Box = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Piece:
    """Part of one chunk: ``src`` within the chunk, ``dst`` within the array."""

    chunk: tuple[int, ...]
    src: tuple[slice, ...]
    dst: tuple[slice, ...]
    whole: bool  # the whole chunk (no slicing task needed)
    nbytes: int


@dataclass(frozen=True)
class LocalArray:
    """What one block gets of a chunked array, and (written) what it returns."""

    name: str
    pieces: tuple[Piece, ...]
    owned: Box | None


@dataclass(frozen=True)
class Block:
    index: tuple[int, ...]
    ranges: tuple[range, ...]  # the iterations of each cut loop in this block
    args: tuple[int, ...]  # _hj_lo0, _hj_hi0, _hj_lo1, ...
    arrays: tuple[LocalArray, ...]  # the chunked arrays the nest touches, in order


@dataclass(frozen=True)
class Layout:
    """The call's values: ranges and (dim, offset) maps of the cut loops,
    array shapes and chunks, scalar symbol values."""

    ranges: tuple[range, ...]
    offsets: tuple[dict[str, tuple[int, int]], ...]  # per cut loop: array -> (dim, offset)
    shapes: Mapping[str, tuple[int, ...]]
    chunks: Mapping[str, tuple[tuple[int, ...], ...]]
    itemsizes: Mapping[str, int]
    values: Mapping[str, int]


@dataclass(frozen=True)
class Partition:
    grid: tuple[int, ...]  # blocks along each cut loop
    blocks: tuple[Block, ...]  # in C order of their index
    out_chunks: dict[str, tuple[tuple[int, ...], ...]]  # written array -> result chunks

    @property
    def halo_bytes(self) -> int:
        """Bytes the tasks need beyond the largest piece of each array (the
        chunk a task is scheduled next to): what neighbours exchange."""
        return sum(sum(p.nbytes for p in a.pieces) - max(p.nbytes for p in a.pieces)
                   for b in self.blocks for a in b.arrays if a.pieces)

    @property
    def input_bytes(self) -> int:
        return sum(p.nbytes for b in self.blocks for a in b.arrays for p in a.pieces)


def partition(plan: Plan, layout: Layout, footprint: RegionFootprint) -> Partition:
    """The blocks of this call (module doc)."""
    cuts = [_cuts(plan, layout, s) for s in range(len(plan.splits))]
    grid = tuple(len(c) for c in cuts)
    chunked = [n for n in plan.touched if n in plan.chunked]
    out_chunks = {name: _out_chunks(name, layout, cuts) for name in plan.written}
    shapes = {a.array: layout.shapes[a.array] for a in footprint.arrays}
    blocks = []
    for index in itertools.product(*(range(n) for n in grid)):
        ranges = tuple(_clip(r, *cuts[s][k]) for s, (r, k) in
                       enumerate(zip(layout.ranges, index, strict=True)))
        args = _block_args(layout.ranges, ranges)
        values = _symbols(footprint, layout, args)
        concrete = footprint.evaluate(values, shapes)
        reads = footprint.evaluate_reads(values, shapes)
        arrays = tuple(_local(plan, layout, name, concrete.get(name), reads.get(name, []),
                              cuts, index) for name in chunked)
        blocks.append(Block(index, ranges, args, arrays))
    return Partition(grid, tuple(blocks), out_chunks)


# ------------------------------------------------------------ iterations


def _cuts(plan: Plan, layout: Layout, s: int) -> list[tuple[int | None, int | None]]:
    """Iteration intervals [lo, hi) of cut loop ``s`` (None: unbounded)."""
    assert plan.anchor is not None
    dim, offset = layout.offsets[s][plan.anchor]
    sizes = layout.chunks[plan.anchor][dim]
    bounds = np.cumsum((0, *sizes)).tolist()
    k_last = len(sizes) - 1
    return [(None if k == 0 else bounds[k] - offset,
             None if k == k_last else bounds[k + 1] - offset) for k in range(len(sizes))]


def _clip(r: range, lo: int | None, hi: int | None) -> range:
    """The values of ``r`` in [lo, hi), as a range (empty ranges too)."""
    n = len(r)
    if r.step > 0:
        k0 = 0 if lo is None else -((r.start - lo) // r.step)
        k1 = n if hi is None else -((r.start - hi) // r.step)
    else:
        s = -r.step
        k0 = 0 if hi is None else (r.start - hi) // s + 1
        k1 = n if lo is None else (r.start - lo) // s + 1
    k0, k1 = min(max(k0, 0), n), min(max(k1, 0), n)
    return r[k0:max(k0, k1)]


def _block_args(full: tuple[range, ...], ranges: tuple[range, ...]) -> tuple[int, ...]:
    """_hj_lo, _hj_hi per cut loop: the first value and one step past the
    last by one (the footprint bounds the loop by ``stop - 1``, exact only
    for that stop); an empty block runs from the loop's own start (stop,
    descending) to the same value, which the block version's ``max`` keeps
    empty."""
    out: list[int] = []
    for r, sub in zip(full, ranges, strict=True):
        if len(sub):
            out += [sub[0], sub[-1] + (1 if r.step > 0 else -1)]
        else:
            edge = r.start if r.step > 0 else r.stop
            out += [edge, edge]
    return tuple(out)


def _symbols(footprint: RegionFootprint, layout: Layout,
             args: tuple[int, ...]) -> dict[Sym | str, int]:
    values = dict(layout.values)
    for s, r in enumerate(layout.ranges):
        lo, hi = args[2 * s], args[2 * s + 1]
        values[f"_hj_lo{s}"], values[f"_hj_hi{s}"] = lo, hi
        values[f"_hj_b{s}"] = max(lo, r.start)
        values[f"_hj_e{s}"] = max(hi, r.stop)
    needed: dict[Sym | str, int] = {}
    for sym in footprint.symbols:
        if sym.is_shape:
            continue
        if sym.name not in values:
            raise PartitionError(f"fn.dask cannot evaluate '{sym.name}', which the loop nest's "
                                 "subscripts or bounds use, on the client")
        needed[sym.name] = values[sym.name]
    return needed


# ------------------------------------------------------------ arrays


def _owned(name: str, layout: Layout, cuts: list[list[tuple[int | None, int | None]]],
           index: tuple[int, ...]) -> Box:
    shape = layout.shapes[name]
    box = [(0, n) for n in shape]
    for s, k in enumerate(index):
        if name not in layout.offsets[s]:
            continue
        dim, offset = layout.offsets[s][name]
        lo, hi = cuts[s][k]
        n = shape[dim]
        box[dim] = (0 if lo is None else min(max(lo + offset, 0), n),
                    n if hi is None else min(max(hi + offset, 0), n))
        box[dim] = (box[dim][0], max(box[dim]))
    return tuple(box)


def _out_chunks(name: str, layout: Layout,
                cuts: list[list[tuple[int | None, int | None]]]) -> tuple[tuple[int, ...], ...]:
    """The result's chunks: the owned parts along the cut dimensions."""
    shape = layout.shapes[name]
    out: list[tuple[int, ...]] = [(n,) for n in shape]
    for s in range(len(cuts)):
        if name not in layout.offsets[s]:
            continue
        dim = layout.offsets[s][name][0]
        sizes = []
        for k in range(len(cuts[s])):
            index = tuple(k if t == s else 0 for t in range(len(cuts)))
            lo, hi = _owned(name, layout, cuts, index)[dim]
            sizes.append(hi - lo)
        out[dim] = tuple(sizes)
    return tuple(out)


def _local(plan: Plan, layout: Layout, name: str, fp: ConcreteFootprint | None,
           read_boxes: list[tuple[tuple[int, int], ...]],
           cuts: list[list[tuple[int | None, int | None]]],
           index: tuple[int, ...]) -> LocalArray:
    """``fp``: the array's footprint for this block; ``read_boxes``: its read
    boxes one by one (a chunk sends the hull of the parts they cover of it,
    not of the hull of all: no stencil corners)."""
    reads = [_half_open(b) for b in read_boxes]
    if name not in plan.written:
        return LocalArray(name, _pieces(reads, layout, name), None)
    owned = _owned(name, layout, cuts, index)
    write = _half_open(fp.write) if fp is not None and fp.write is not None else None
    if write is not None and not _inside(write, owned):
        site = next(s for s in plan.sites if s.access.array == name and s.access.is_write)
        raise PartitionError(
            f"the iterations of block {index} write '{name}' in {_text(write)}, outside the "
            f"part {_text(owned)} that block owns, so blocks would overwrite each other's "
            "results", site.access.loc,
            hint="each iteration may write only elements tied to its own loop variables")
    fresh = fp is not None and fp.read is None and fp.fully_overwritten and write == owned
    if fresh:  # every owned element is overwritten and none is read: nothing to send
        return LocalArray(name, (), owned)
    return LocalArray(name, _pieces([owned, *reads], layout, name), owned)


def _half_open(box: tuple[tuple[int, int], ...]) -> Box:
    return tuple((lo, hi + 1) for lo, hi in box)


def _inside(box: Box, outer: Box) -> bool:
    return all(c <= a and b <= d for (a, b), (c, d) in zip(box, outer, strict=True))


def _text(box: Box) -> str:
    return "[" + ", ".join(f"{lo}:{hi}" for lo, hi in box) + "]"


def _pieces(boxes: list[Box], layout: Layout, name: str) -> tuple[Piece, ...]:
    """The chunks of ``name`` that the boxes overlap and, of each, the hull
    of the parts they cover."""
    parts: dict[tuple[int, ...], Box] = {}
    for box in boxes:
        for chunk, part in _overlaps(box, layout.chunks[name]):
            seen = parts.get(chunk)
            parts[chunk] = part if seen is None else tuple(
                (min(a, c), max(b, d)) for (a, b), (c, d) in zip(seen, part, strict=True))
    itemsize = layout.itemsizes[name]
    pieces = []
    for chunk in sorted(parts):
        part = parts[chunk]
        starts = [int(np.sum(sizes[:k])) for k, sizes in zip(chunk, layout.chunks[name],
                                                                strict=True)]
        src = tuple(slice(lo - s0, hi - s0) for (lo, hi), s0 in zip(part, starts, strict=True))
        dst = tuple(slice(lo, hi) for lo, hi in part)
        whole = all(hi - lo == sizes[k] for (lo, hi), k, sizes in
                    zip(part, chunk, layout.chunks[name], strict=True))
        count = int(np.prod([hi - lo for lo, hi in part], dtype=np.int64))
        pieces.append(Piece(chunk, src, dst, whole, count * itemsize))
    return tuple(pieces)


def _overlaps(box: Box, chunks: tuple[tuple[int, ...], ...]) -> list[tuple[tuple[int, ...], Box]]:
    """(chunk index, the part of ``box`` inside it) for every chunk it overlaps."""
    if any(hi <= lo for lo, hi in box):
        return []
    per_dim = []
    for (lo, hi), sizes in zip(box, chunks, strict=True):
        bounds = np.cumsum((0, *sizes)).tolist()
        per_dim.append([(k, max(lo, bounds[k]), min(hi, bounds[k + 1]))
                        for k in range(len(sizes)) if max(lo, bounds[k]) < min(hi, bounds[k + 1])])
    return [(tuple(k for k, _, _ in combo), tuple((a, b) for _, a, b in combo))
            for combo in itertools.product(*per_dim)]
