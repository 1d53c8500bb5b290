"""hybridjit.distributed without Dask: the blocks, their exact boxes, the
block version run on each block's pieces, the explain report.

``Chunked`` stands for a Dask array (shape, dtype, chunks); ``run_blocks``
does what the Dask graph does (slice each piece out of the whole array, run
:func:`run_block`, put the owned parts back) in this process, so these
tests need no Dask and check the partition itself.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from distributed_kernels import asymmetric, axpy, plain_helper, smooth, transpose, with_helpers
from hybridjit import PartitionError, jit, prange
from hybridjit.distributed.blocks import _clip
from hybridjit.distributed.call import plan_call
from hybridjit.distributed.reduction import combine, finish
from hybridjit.distributed.runner import run_block


class Chunked:
    """A Dask array's shape, dtype and chunks; ``chunks`` as Dask takes them:
    a size for every dimension, a size per dimension, or explicit sizes."""

    def __init__(self, value, chunks):
        self.value = value
        self.shape, self.dtype, self.ndim = value.shape, value.dtype, value.ndim
        if isinstance(chunks, int):
            chunks = (chunks,) * value.ndim
        self.chunks = tuple(c if isinstance(c, tuple) else
                            tuple(min(c, n - k) for k in range(0, n, c))
                            for c, n in zip(chunks, value.shape, strict=True))


def plan(fn, *args):
    return plan_call(fn, args, lambda a: isinstance(a, Chunked))


def run_blocks(fn, *args):
    """The results fn.dask would give, computed here block by block."""
    call = plan(fn, *args)
    chunked = {n: a for n, a in zip(fn._param_names(), args, strict=True)
               if isinstance(a, Chunked)}
    outs = {n: np.full(chunked[n].shape, np.nan) for n in call.kernel.written}
    partials = []
    for block in call.partition.blocks:
        inputs = []
        for local in block.arrays:
            value = chunked[local.name].value
            for p in local.pieces:
                inputs.append(value[p.dst].copy())
        inputs += list(call.whole.values())
        result = run_block(call.kernel, block, inputs)
        for j, name in enumerate(call.kernel.written):
            box = next(a.owned for a in block.arrays if a.name == name)
            outs[name][tuple(slice(lo, hi) for lo, hi in box)] = result[j]
        partials.append(result[-1])
    value = None
    if call.reduce is not None:
        value = finish(call.reduce, [combine(call.reduce, partials)] if call.reduce.ops else [])
    return [outs[n] for n in call.kernel.written], value, call


# ------------------------------------------------------------ kernels


@jit
def backwards(a, b):
    for i in prange(a.shape[0] - 2, 0, -1):
        b[i] = a[i - 1] - a[i + 1]


@jit
def every_other(a, b):
    for i in prange(1, a.shape[0] - 1, 2):
        b[i] = a[i - 1] + a[i + 1]


@jit
def in_place(a, c):
    for i in prange(a.shape[0]):
        a[i] = a[i] * c


# ------------------------------------------------------------ ranges


def test_clip_gives_exactly_the_values_in_the_interval():
    for start, stop, step in itertools.product(range(-3, 5), range(-3, 9), (-3, -2, -1, 1, 2, 3)):
        r = range(start, stop, step)
        for lo, hi in itertools.product((None, -2, 0, 1, 3, 6), (None, -1, 0, 2, 5, 8)):
            want = [v for v in r if (lo is None or v >= lo) and (hi is None or v < hi)]
            assert list(_clip(r, lo, hi)) == want, (r, lo, hi)


# ------------------------------------------------------------ boxes


def _box(pieces):
    """The hull of the pieces' positions in the whole array."""
    return tuple((min(p.dst[d].start for p in pieces), max(p.dst[d].stop for p in pieces))
                 for d in range(len(pieces[0].dst)))


def test_each_block_gets_the_footprint_box_and_owns_its_chunk():
    A, B = np.zeros((20, 22)), np.zeros((20, 22))
    chunks = ((7, 10, 3), (5, 15, 2))
    call = plan(smooth, Chunked(A, chunks), Chunked(B, chunks))
    assert call.partition.grid == (3, 3)
    assert call.partition.out_chunks["B"] == chunks
    by_index = {b.index: b for b in call.partition.blocks}
    a00, b00 = by_index[(0, 0)].arrays
    assert _box(a00.pieces) == ((0, 8), (0, 6))  # i in 1..6, j in 1..4, halo 1 each side
    assert b00.owned == ((0, 7), (0, 5))
    a22, _ = by_index[(2, 2)].arrays
    assert _box(a22.pieces) == ((16, 20), (19, 22))  # i in 17..18, j in 20
    assert by_index[(1, 1)].ranges == (range(7, 17), range(5, 20))
    # a middle block gets a row or column from each of its 4 neighbours: the
    # accesses' boxes, not their hull (which would add the diagonal corners)
    a11 = by_index[(1, 1)].arrays[0]
    halo = {p.chunk: p.nbytes // 8 for p in a11.pieces if not p.whole}
    assert halo == {(0, 1): 15, (2, 1): 15, (1, 0): 10, (1, 2): 10}


def test_chunks_on_the_skipped_rows_give_empty_blocks_that_return_their_part():
    A, B = np.zeros((20, 22)), np.zeros((20, 22))
    chunks = ((1, 18, 1), (22,))
    call = plan(smooth, Chunked(A, chunks), Chunked(B, chunks))
    first, middle, last = call.partition.blocks
    assert len(first.ranges[0]) == 0 and len(last.ranges[0]) == 0
    assert first.arrays[0].pieces == ()  # reads nothing of A
    assert first.arrays[1].owned == ((0, 1), (0, 22))  # still returns row 0 of B
    assert _box(middle.arrays[0].pieces) == ((0, 20), (0, 22))


def test_asymmetric_halo_from_chunks_smaller_than_it():
    a, b = np.zeros(31), np.zeros(31)
    call = plan(asymmetric, Chunked(a, 1), Chunked(b, 1))
    block = call.partition.blocks[10]
    assert block.ranges == (range(10, 11),)
    assert _box(block.arrays[0].pieces) == ((8, 12),)  # a[i - 2] .. a[i + 1]
    assert [p.chunk for p in block.arrays[0].pieces] == [(8,), (11,)]  # and nothing between


def test_the_footprint_keeps_one_read_box_per_access_when_asked():
    from hybridjit.analysis.footprint import region_footprint
    from hybridjit.ir.nodes import For
    from hybridjit.pipeline import analyse

    A = np.zeros((6, 6))
    program, _, _ = analyse(smooth.py_func, smooth.arg_types((A, A)), smooth.options)
    loop = next(s for s in program.entry.body if isinstance(s, For))
    merged, apart = region_footprint(loop), region_footprint(loop, merge_reads=False)
    assert len(merged.array("A").reads) == 1 and len(apart.array("A").reads) == 5
    shapes, values = {"A": (6, 6), "B": (6, 6)}, {"n": 6, "m": 6}
    assert merged.evaluate(values, shapes) == apart.evaluate(values, shapes)
    boxes = apart.evaluate_reads(values, shapes)["A"]
    assert ((0, 3), (1, 4)) in boxes and ((1, 4), (0, 3)) in boxes  # A[i-1, j], A[i, j-1]
    assert not any(b[0][0] == 0 and b[1][0] == 0 for b in boxes)  # no corner (0, 0)


def test_a_fully_overwritten_output_is_not_sent():
    x = np.zeros(30)
    call = plan(axpy, 2.0, Chunked(x, 7), Chunked(x, 10), Chunked(x, 4))
    assert all(b.arrays[2].pieces == () for b in call.partition.blocks)


def test_halo_bytes_count_what_neighbours_send():
    A = np.zeros((40, 40))
    call = plan(smooth, Chunked(A, 20), Chunked(A, 20))
    # each of 4 blocks: its own 20x20 chunk of A, and 19 elements of a row
    # and of a column from two neighbours (the loops skip the outer border)
    assert call.partition.halo_bytes == 4 * (19 + 19) * 8
    assert call.partition.input_bytes == 4 * (20 * 20 + 2 * 19 + 20 * 20) * 8  # B's own chunk


# ------------------------------------------------------------ results


# per case: the function, its arguments, and chunkings (one chunk spec per
# chunked argument, None for the others)
CASES = {
    "smooth": (smooth, lambda r: (r.random((12, 9)), r.random((12, 9))),
               [((5, 7), (4, 5))] * 2, [(1, 2)] * 2, [((1, 10, 1), (9,))] * 2),
    "asymmetric": (asymmetric, lambda r: (r.random(31), r.random(31)),
                   [1, 1], [((2, 28, 1),), 5], [31, 31]),
    "transpose": (transpose, lambda r: (r.random((7, 9)), r.random((9, 7))),
                  [(3, 4), (4, 3)], [(1, 1), (2, 5)]),
    "backwards": (backwards, lambda r: (r.random(20), r.random(20)),
                  [3, 3], [1, 1], [((2, 17, 1),)] * 2),
    "every_other": (every_other, lambda r: (r.random(20), r.random(20)),
                    [3, 3], [1, 1], [((2, 17, 1),), 4]),
    "in_place": (in_place, lambda r: (r.random(20), 1.5), [3, None], [20, None]),
}


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_blocks_give_the_one_process_result(case, monkeypatch):
    monkeypatch.setenv("HYBRIDJIT_POISON", "1")  # outside the boxes: NaN
    fn, make, *chunkings = CASES[case]
    args = make(np.random.default_rng(0))
    ref = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    fn(*ref)
    for specs in chunkings:
        wrapped = [a if spec is None else Chunked(a, spec)
                   for a, spec in zip(args, specs, strict=True)]
        outs, _, call = run_blocks(fn, *wrapped)
        for out, name in zip(outs, call.kernel.written, strict=True):
            k = fn._param_names().index(name)
            np.testing.assert_array_equal(out, ref[k], err_msg=f"{case} {specs} {name}")


def test_helpers_constants_and_the_returned_expression():
    a, b = np.arange(10.0), np.zeros(10)
    ref = b.copy()
    want = with_helpers(a, ref)
    (out,), value, call = run_blocks(with_helpers, Chunked(a, 3), Chunked(b, 3))
    np.testing.assert_array_equal(out, ref)
    assert value.shape == () and float(value) == want
    shipped = call.kernel.globals
    assert type(shipped["helper"]).__name__ == "ShippedFunction"  # a jit helper: its source
    assert shipped["plain_helper"] is plain_helper  # importable by name: a reference
    assert shipped["SCALE"] == 3.0


# ------------------------------------------------------------ explain and refusals


def test_explain_reports_the_cut_and_the_halos():
    text = str(asymmetric.explain(np.zeros(5), np.zeros(5)))
    assert "dask: one task per chunk of b: loop i" in text
    assert "block reads of a: dim 0: i-2..i+1" in text
    text = str(with_helpers.explain(np.zeros(5), np.zeros(5)))
    assert "a 0-d array of the returned value, from a tree reduction of s (+)" in text


@jit
def two_nests(a, b):
    for i in prange(a.shape[0]):
        b[i] = a[i]
    for i in prange(a.shape[0]):
        a[i] = b[i]


def test_refusals_name_the_line():
    x = np.zeros(10)
    with pytest.raises(PartitionError, match="2 parallel loop nests") as err:
        plan(two_nests, Chunked(x, 5), Chunked(x, 5))
    assert "chain the fn.dask calls" in str(err.value)
    with pytest.raises(PartitionError, match="passed as a NumPy array"):
        plan(in_place, x, 2.0)


def test_import_hybridjit_stays_numpy_only():
    code = ("import sys, hybridjit, hybridjit.dispatcher\n"
            "f = hybridjit.jit(lambda a: a)\n"
            "assert not any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
