"""The coherent memory manager on a real OpenCL device (PoCL in CI).

Device buffers are poisoned (0xFF bytes: NaN as float32), so a transfer the
manager forgets shows up as NaN in the result, never as luck.  Byte counts are
asserted exactly.  Region helpers (``box_region``) are tested without a device.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hybridjit.errors import DeviceError, InternalError
from hybridjit.runtime.device import KernelArg, Program
from hybridjit.runtime.device_array import DeviceArray
from hybridjit.runtime.intervals import IntervalSet
from hybridjit.runtime.memory import (
    MemoryManager,
    TransferStats,
    box_region,
    whole_region,
)
from hybridjit.runtime.registry import inject_faults

KERNELS = r"""
__kernel void scale(__global float* out, long oo, long os,
                    __global const float* in, long io, long is, long lo) {
    long i = lo + get_global_id(0);
    out[oo + i * os] = 2.0f * in[io + i * is];
}
__kernel void scale_even(__global float* out, long oo, long os,
                         __global const float* in, long io, long is, long lo) {
    long i = lo + 2 * get_global_id(0);
    out[oo + i * os] = 2.0f * in[io + i * is];
}
__kernel void jacobi(__global float* dst, long d, long d0, long d1,
                     __global const float* src, long s, long s0, long s1) {
    long i = 1 + get_global_id(1), j = 1 + get_global_id(0);
#define S(a, b) src[s + (a) * s0 + (b) * s1]
    dst[d + i * d0 + j * d1] =
        0.2f * (S(i, j) + S(i, j - 1) + S(i, j + 1) + S(i + 1, j) + S(i - 1, j));
}
"""


# -- region helpers (no device needed) ----------------------------------------


def test_row_span_and_exact_box_of_2d_block():
    a = np.zeros((4000, 100))  # float64, rows of 800 bytes
    box = [(1000, 1999), (10, 19)]
    exact = box_region(a, box, exact=True)
    assert exact.exact and len(exact.intervals) == 1000
    assert exact.intervals.total() == 1000 * 10 * 8
    assert exact.intervals.intervals[0] == (1000 * 800 + 80, 1000 * 800 + 160)
    span = box_region(a, box)
    assert not span.exact
    assert span.intervals.intervals == ((1000 * 800 + 80, 1999 * 800 + 160),)


def test_full_rows_collapse_to_one_interval():
    a = np.zeros((50, 20), dtype=np.float32)
    region = box_region(a, [(5, 9), (0, 19)], exact=True)
    assert region.exact and region.intervals.intervals == ((5 * 80, 10 * 80),)
    assert whole_region(a).intervals.intervals == ((0, a.nbytes),)


def test_strided_views_negative_strides_and_clamping():
    base = np.zeros((10, 10), dtype=np.float32)
    col = base[:, 3]  # one element per row
    region = box_region(col, [(0, 9)], exact=True)
    assert region.intervals.total() == 40 and len(region.intervals) == 10
    rev = base[::-1]  # element (0, 0) is the last row: offsets are negative
    region = box_region(rev, [(0, 1), (0, 9)], exact=True)
    assert region.intervals.intervals == ((-40, 40),)
    fortran = np.asfortranarray(base)
    region = box_region(fortran, [(0, 9), (2, 3)], exact=True)
    assert region.intervals.intervals == ((80, 160),)
    # footprints may over-approximate: the box is clipped to the array
    assert box_region(base, [(-1, 10), (-5, 100)]).intervals == whole_region(base).intervals
    assert not box_region(base, [(5, 4), (0, 9)]).intervals
    bcast = np.broadcast_to(np.arange(4.0), (1000, 4))
    assert box_region(bcast, [(0, 999), (0, 3)], exact=True).intervals.total() == 32


def test_exact_region_falls_back_to_span_beyond_segment_limit():
    a = np.zeros((10_000, 4), dtype=np.float32)
    region = box_region(a, [(0, 9_999), (0, 1)], exact=True)
    assert not region.exact and len(region.intervals) == 1


# -- device fixtures ---------------------------------------------------------


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("pyopencl", reason="pyopencl is not installed (pip install pyopencl)")
    from hybridjit.runtime import opencl

    avail = opencl.probe()
    if not avail.available:
        pytest.skip(f"no OpenCL device: {avail.reason} (apt-get install pocl-opencl-icd)")
    cache = Path(tmp_path_factory.mktemp("oclcache"))
    return opencl.OpenCLDevice(poison_byte=0xFF, cache_dir=cache)


@pytest.fixture(scope="module")
def program(device) -> Program:
    return device.build(KERNELS)


@pytest.fixture
def mm(device) -> Iterator[MemoryManager]:
    manager = MemoryManager(device, debug=True)
    yield manager
    manager.close()


def view_args(mm: MemoryManager, a: np.ndarray) -> list[KernelArg]:
    view = mm.kernel_view(a)
    return view.args() + [KernelArg(s, np.dtype(np.int64)) for s in view.strides]


def run_scale(mm, program, out, inp, lo, hi, kernel="scale"):
    n = hi - lo if kernel == "scale" else (hi - lo + 1) // 2
    args = view_args(mm, out) + view_args(mm, inp) + [KernelArg(lo, np.dtype(np.int64))]
    mm.device.launch(program, kernel, (n,), args)


def elems(a: np.ndarray, lo: int, hi: int) -> IntervalSet:
    """Byte region of elements [lo, hi) of a 1-D array."""
    return box_region(a, [(lo, hi - 1)], exact=True).intervals


# -- transfers -----------------------------------------------------------------


def test_block_read_moves_exactly_its_bytes_in_one_rect_copy(mm, device):
    a = np.random.default_rng(0).random((3000, 100))
    mirror = mm.prepare_read(a, box_region(a, [(1000, 1999), (10, 19)], exact=True))
    assert mm.stats.bytes_to_device == 1000 * 10 * 8
    assert mm.stats.copies_to_device == 1  # one clEnqueueWriteBufferRect
    image = np.empty(mirror.nbytes, dtype=np.uint8)
    device.copy_out(mirror.buffer, 0, image)
    off = mirror.offset_of(a)
    block = image[off : off + a.nbytes].view(np.float64).reshape(a.shape)
    assert np.array_equal(block[1000:2000, 10:20], a[1000:2000, 10:20])
    assert np.isnan(block[999, 10]) and np.isnan(block[1000, 9])  # untouched: poison
    # already valid on the device: nothing moves again
    mm.prepare_read(a, box_region(a, [(1500, 1999), (10, 19)], exact=True))
    assert mm.stats.bytes_to_device == 80_000
    mm.release(a)
    assert mm.stats.bytes_to_host == 0  # read-only data never comes back


def test_row_span_read_moves_the_span(mm):
    a = np.zeros((3000, 100))
    mm.prepare_read(a, box_region(a, [(1000, 1999), (10, 19)]))
    assert mm.stats.bytes_to_device == (999 * 100 + 10) * 8
    assert mm.stats.copies_to_device == 1


def test_kernel_on_subrange_moves_only_the_subrange(mm, program):
    n, lo, hi = 1000, 100, 300
    inp = np.arange(n, dtype=np.float32)
    out = np.full(n, -1.0, dtype=np.float32)
    mm.prepare_read(inp, elems(inp, lo, hi))
    mm.prepare_write(out, elems(out, lo, hi), fully_overwritten=True)
    run_scale(mm, program, out, inp, lo, hi)
    mm.after_write(out, elems(out, lo, hi))
    assert np.all(out[lo:hi] == -1.0)  # nothing comes back before it is needed
    mm.release_transient()
    expected = np.full(n, -1.0, dtype=np.float32)
    expected[lo:hi] = 2 * inp[lo:hi]
    assert np.array_equal(out, expected)
    assert mm.stats == TransferStats(800, 800, 1, 1)
    assert not mm.mirrors


def test_poison_catches_a_missing_transfer(mm, program):
    inp = np.arange(64, dtype=np.float32)
    out = np.zeros(64, dtype=np.float32)
    mm.track(inp)  # allocated, but the input is (wrongly) never copied in
    mm.prepare_write(out, fully_overwritten=True)
    run_scale(mm, program, out, inp, 0, 64)
    mm.after_write(out)
    mm.sync_all()
    assert np.isnan(out).all()


def test_partial_write_copies_the_region_in_first(mm, program):
    inp = np.arange(40, dtype=np.float32)
    out = np.arange(40, dtype=np.float32) + 1000
    original = out.copy()
    region = elems(out, 10, 30)
    mm.prepare_read(inp, elems(inp, 10, 30))
    mm.prepare_write(out, region, fully_overwritten=False)  # only even i are written
    run_scale(mm, program, out, inp, 10, 30, kernel="scale_even")
    mm.after_write(out, region)
    mm.sync_all()
    expected = original.copy()
    expected[10:30:2] = 2 * inp[10:30:2]
    assert np.array_equal(out, expected)
    assert mm.array_stats(out) == TransferStats(80, 80, 1, 1)


def test_wrong_full_overwrite_claim_shows_up_as_poison(mm, program):
    inp = np.arange(40, dtype=np.float32)
    out = np.zeros(40, dtype=np.float32)
    mm.prepare_read(inp)
    mm.prepare_write(out, fully_overwritten=True)  # a lie: odd elements are skipped
    run_scale(mm, program, out, inp, 0, 40, kernel="scale_even")
    mm.after_write(out)
    mm.sync_all()
    assert np.isnan(out[1::2]).all() and np.array_equal(out[::2], 2 * inp[::2])


def test_span_region_is_never_treated_as_fully_overwritten(mm):
    a = np.zeros((20, 20), dtype=np.float32)
    span = box_region(a, [(1, 18), (1, 18)])
    mm.prepare_write(a, span, fully_overwritten=True)
    assert mm.stats.bytes_to_device == span.intervals.total()


def test_debug_mode_rejects_write_of_region_never_prepared(mm):
    a = np.zeros(16, dtype=np.float32)
    mm.track(a)
    with pytest.raises(InternalError, match="neither copied in"):
        mm.after_write(a, elems(a, 0, 4))


def test_jacobi_moves_each_byte_once_for_any_number_of_steps(mm, program):
    n, steps = 48, 6
    rng = np.random.default_rng(1)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    ref_a, ref_b = a.copy(), b.copy()
    full = [(0, n - 1), (0, n - 1)]
    interior = [(1, n - 2), (1, n - 2)]

    def region(dst, src):
        mm.prepare_read(src, box_region(src, full, exact=True))
        written = box_region(dst, interior, exact=True)
        mm.prepare_write(dst, written, fully_overwritten=True)
        mm.device.launch(program, "jacobi", (n - 2, n - 2), view_args(mm, dst) + view_args(mm, src))
        mm.after_write(dst, written)

    for _ in range(steps):
        region(b, a)
        region(a, b)
        for dst, src in ((ref_b, ref_a), (ref_a, ref_b)):
            dst[1:-1, 1:-1] = np.float32(0.2) * (
                src[1:-1, 1:-1] + src[1:-1, :-2] + src[1:-1, 2:] + src[2:, 1:-1] + src[:-2, 1:-1]
            )
    mm.release_transient()
    np.testing.assert_allclose(a, ref_a, rtol=1e-5)
    np.testing.assert_allclose(b, ref_b, rtol=1e-5)
    item, inner = 4, (n - 2) ** 2
    # all of A, and only B's boundary (its interior is written before it is read)
    assert mm.stats.bytes_to_device == (n * n + n * n - inner) * item
    assert mm.stats.bytes_to_host == 2 * inner * item
    # one rect copy back per array (n-2 rows of n-2 elements)
    assert mm.stats.copies_to_host == 2


# -- aliasing -----------------------------------------------------------------


def test_overlapping_views_share_one_mirror_and_stay_coherent(mm, program):
    base = np.arange(100, dtype=np.float32)
    v1, v2 = base[10:60], base[40:90]
    m1, m2 = mm.track(v1), mm.track(v2)  # the second merges with the first
    assert mm.mirror_of(v1) is mm.mirror_of(v2) and len(mm.mirrors) == 1
    assert m2.nbytes >= 80 * 4 and m1 is not m2
    # region 1: v1 *= 2 in place; region 2: v2[0:20] (= base[40:60]) read from the device
    mm.prepare_read(v1)
    mm.prepare_write(v1, fully_overwritten=True)
    run_scale(mm, program, v1, v1, 0, 50)
    mm.after_write(v1)
    out = np.zeros(20, dtype=np.float32)
    mm.prepare_read(v2, elems(v2, 0, 20))
    mm.prepare_write(out, fully_overwritten=True)
    run_scale(mm, program, out, v2, 0, 20)
    mm.after_write(out)
    moved_in = mm.stats.bytes_to_device
    assert moved_in == 50 * 4  # v2[0:20] was already valid there: written by region 1
    mm.release_transient()
    expected = np.arange(100, dtype=np.float32)
    expected[10:60] *= 2
    assert np.array_equal(base, expected)
    assert np.array_equal(out, 2 * expected[40:60])


def test_interleaved_views_alias(mm, program):
    base = np.arange(32, dtype=np.float32)
    even, odd = base[::2], base[1::2]
    mm.track(even)
    mm.track(odd)
    assert len(mm.mirrors) == 1
    mm.prepare_read(odd)
    mm.prepare_write(even, fully_overwritten=True)
    run_scale(mm, program, even, odd, 0, 16)  # even[i] = 2 * odd[i]
    mm.after_write(even)
    mm.release_transient()
    expected = np.arange(32, dtype=np.float32)
    expected[::2] = 2 * expected[1::2]
    assert np.array_equal(base, expected)
    assert mm.stats.bytes_to_device == 64 and mm.stats.bytes_to_host == 64


def test_merging_after_device_writes_keeps_results(mm, program):
    base = np.arange(64, dtype=np.float32)
    part = base[8:24]
    mm.prepare_read(part)
    mm.prepare_write(part, fully_overwritten=True)
    run_scale(mm, program, part, part, 0, 16)
    mm.after_write(part)
    mm.track(base)  # overlaps: the old mirror is synced to the host and merged
    assert len(mm.mirrors) == 1 and np.array_equal(part, 2 * np.arange(8, 24))
    mm.prepare_read(base)
    out = np.zeros(64, dtype=np.float32)
    mm.prepare_write(out, fully_overwritten=True)
    run_scale(mm, program, out, base, 0, 64)
    mm.after_write(out)
    mm.release_transient()
    expected = np.arange(64, dtype=np.float32)
    expected[8:24] *= 2
    assert np.array_equal(out, 2 * expected)


def test_negative_stride_view_kernel_offsets(mm, program):
    inp = np.arange(50, dtype=np.float32)
    rev = inp[::-1]
    out = np.zeros(50, dtype=np.float32)
    view = mm.kernel_view(rev)
    assert view.strides == (-1,) and view.offset == mm.kernel_view(inp).offset + 49
    mm.prepare_read(rev)
    mm.prepare_write(out, fully_overwritten=True)
    run_scale(mm, program, out, rev, 0, 50)
    mm.after_write(out)
    mm.release_transient()
    assert np.array_equal(out, 2 * inp[::-1])
    assert mm.stats.bytes_to_device == 200


def test_misaligned_view_is_refused(mm):
    raw = np.zeros(100, dtype=np.uint8)
    odd = raw[1:33].view(np.float32)
    with pytest.raises(DeviceError, match="not aligned"):
        mm.kernel_view(odd)


def test_host_access_syncs_then_invalidates(mm, program):
    inp = np.arange(16, dtype=np.float32)
    out = np.zeros(16, dtype=np.float32)
    mm.prepare_read(inp)
    mm.prepare_write(out, fully_overwritten=True)
    run_scale(mm, program, out, inp, 0, 16)
    mm.after_write(out)
    mm.prepare_host_access(out, write=True)  # host code between regions
    assert np.array_equal(out, 2 * inp)
    out += 1
    mm.prepare_host_access(inp[4:8], write=True)  # any view: found by address
    inp[4:8] = 100
    before = mm.stats.copy()
    mm.prepare_read(out)
    mm.prepare_read(inp)
    assert (mm.stats - before).bytes_to_device == 64 + 16
    mm.prepare_host_access(inp, write=False)
    assert (mm.stats - before).bytes_to_host == 0


# -- DeviceArray ----------------------------------------------------------------


def test_device_array_round_trip_with_zero_transfers_in_between(mm, program):
    host = np.arange(100, dtype=np.float32)
    d = DeviceArray.from_host(host, mm)
    assert (d.shape, d.dtype, d.ndim, d.size, len(d)) == ((100,), np.float32, 1, 100, 100)
    assert mm.stats.bytes_to_device == 400
    out = DeviceArray.empty((100,), np.float32, mm)
    before = mm.stats.copy()
    for _ in range(3):  # three "calls", each ending with release_transient
        mm.prepare_read(d)  # a DeviceArray stands for its host storage
        mm.prepare_write(out, fully_overwritten=True)
        run_scale(mm, program, out.host_storage, d.host_storage, 0, 100)
        mm.after_write(out)
        mm.prepare_read(out.host_storage)
        mm.prepare_write(d.host_storage, fully_overwritten=True)
        run_scale(mm, program, d.host_storage, out.host_storage, 0, 100)
        mm.after_write(d.host_storage)
        mm.release_transient()
    assert mm.stats - before == TransferStats()
    assert out.mirror.resident and "DeviceArray" in repr(d)
    result = np.asarray(d)
    assert np.array_equal(result, host * 64)
    assert np.array_equal(d.to_host(), result)
    assert (mm.stats - before).bytes_to_host == 400  # once: the host copy is valid now
    with pytest.raises(ValueError):
        d.__array__(copy=False)


def test_device_array_frees_its_buffer_when_collected(mm):
    d = DeviceArray.from_host(np.ones(10), mm)
    assert len(mm.mirrors) == 1
    del d
    gc.collect()
    assert not mm.mirrors
    d2 = DeviceArray.from_host(np.ones(10), mm)
    d2.free()
    assert not mm.mirrors


# -- faults ----------------------------------------------------------------------


def test_injected_alloc_fault_leaves_state_unchanged(mm):
    a = np.ones(8, dtype=np.float32)
    with inject_faults("alloc"), pytest.raises(DeviceError, match="clCreateBuffer failed"):
        mm.prepare_read(a)
    assert not mm.mirrors and mm.stats == TransferStats()


def test_injected_copy_fault_keeps_device_invalid(mm):
    a = np.ones(8, dtype=np.float32)
    mm.track(a)
    with inject_faults("copy"), pytest.raises(DeviceError, match="clEnqueueWriteBuffer failed"):
        mm.prepare_read(a)
    assert not mm.mirror_of(a).device_valid  # type: ignore[union-attr]


def test_column_view_moves_its_elements_in_one_rect_copy(mm, program):
    grid = np.arange(200, dtype=np.float32).reshape(20, 10)
    col = grid[:, 3]
    out = np.zeros(20, dtype=np.float32)
    mm.prepare_read(col)
    assert (mm.stats.bytes_to_device, mm.stats.copies_to_device) == (80, 1)
    mm.prepare_write(col, fully_overwritten=True)
    run_scale(mm, program, col, col, 0, 20)  # in place, strided
    mm.after_write(col)
    mm.prepare_read(col)
    mm.prepare_write(out, fully_overwritten=True)
    run_scale(mm, program, out, col, 0, 20)
    mm.after_write(out)
    mm.sync_to_host(grid[5:10])  # an untracked view: found by address, syncs the mirror
    assert np.array_equal(grid[:, 3], 2 * np.arange(3, 200, 10))
    mm.release_transient()
    assert np.array_equal(out, 4 * np.arange(3, 200, 10))
    assert mm.stats.bytes_to_host == 80 + 80
    expected = np.arange(200, dtype=np.float32).reshape(20, 10)
    expected[:, 3] *= 2
    assert np.array_equal(grid, expected)  # the other columns were never overwritten


@pytest.mark.parametrize("seed", range(12))
def test_random_region_sequences_match_a_host_model(mm, program, seed: int):
    """Kernels over random views and sub-ranges, host reads and writes in
    between: the arrays must equal a plain NumPy model at every host read."""
    rng = np.random.default_rng(seed)
    arrays = [np.arange(256, dtype=np.float32), np.arange(256, dtype=np.float32) + 300]
    model = [a.copy() for a in arrays]

    def pick_view(k: int, n: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        start = int(rng.integers(0, 256 - n * step + 1))
        sl = slice(start, start + n * step, step)
        return arrays[k][sl], model[k][sl]

    for _ in range(10):
        op = rng.integers(0, 3)
        x = int(rng.integers(0, 2))
        if op == 0:  # kernel: dst[i] = 2 * src[i] for i in [lo, hi)
            n, step = int(rng.integers(8, 64)), int(rng.integers(1, 3))
            dst, dst_m = pick_view(x, n, step)
            src, src_m = pick_view(1 - x, n, int(rng.integers(1, 3)))
            lo = int(rng.integers(0, n))
            hi = int(rng.integers(lo + 1, n + 1))
            exact = bool(rng.integers(0, 2))
            written = box_region(dst, [(lo, hi - 1)], exact=exact)
            mm.prepare_read(src, box_region(src, [(lo, hi - 1)], exact=bool(rng.integers(0, 2))))
            mm.prepare_write(dst, written, fully_overwritten=bool(rng.integers(0, 2)) or exact)
            run_scale(mm, program, dst, src, lo, hi)
            mm.after_write(dst, written)
            dst_m[lo:hi] = 2 * src_m[lo:hi]
        elif op == 1:  # host code writes a slice
            view, view_m = pick_view(x, int(rng.integers(1, 40)), 1)
            mm.prepare_host_access(view, write=True)
            values = rng.integers(0, 100, view.shape).astype(np.float32)
            view[:] = values
            view_m[:] = values
        else:  # host code reads a slice
            view, view_m = pick_view(x, int(rng.integers(1, 40)), 1)
            mm.prepare_host_access(view, write=False)
            assert np.array_equal(view, view_m)
    mm.release_transient()
    for a, m in zip(arrays, model, strict=True):
        assert np.array_equal(a, m)
