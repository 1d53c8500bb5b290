"""Differential tests against NumPy: integer index arrays (issue 12, item 4):
reads ``a[idx]`` (rows along the first axis, any index shape) and one index
array among other indices (``a[idx, j]``, ``a[:, idx]``, ``b[1, :, idx]``
with NumPy's placement of the result's dimensions), stores
``a[idx] = v`` (the last of repeated indices wins), ``a[idx] op= v`` (a
repeated index updated once), negative indices, NumPy's IndexError with
nothing stored, views as arrays and as indices, empty index arrays,
overlapping index and target; the plan (a gather nest parallel, the
stores serial and said so).
"""

from __future__ import annotations

import numpy as np
import pytest

from difftest import check, make_view, random_array
from hybridjit import UnsupportedError, jit

DTYPES = ["bool", "int8", "int32", "int64", "uint16", "float32", "float64"]
INDEX_DTYPES = ["int8", "int16", "int32", "int64", "uint8"]


def take(a, idx):
    return a[idx]


def take_scaled(a, idx):
    return a[idx] * 2 + a[idx][::-1]


def put(a, idx, v):
    a[idx] = v


def add_at(a, idx, v):
    a[idx] += v


def permute_in_place(a, p):
    a[p] = a.copy()


def self_indexed(a):
    a[a % a.shape[0]] = a[::-1]


def indices(n, size, dtype="int64", seed=0):
    """Indices into ``n`` rows, negative ones and repeats included."""
    rng = np.random.default_rng(seed)
    out = rng.integers(-n, n, size=size) if n else np.zeros(size, np.int64)
    return out.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,size", [(1, 1), (7, 12), (5, (2, 3)), (4, 0), (0, 0)])
def test_gather_1d(dtype, n, size):
    a = random_array(n, dtype, seed=n)
    check(take, a, indices(n, size, seed=1))


@pytest.mark.parametrize("idt", INDEX_DTYPES)
def test_index_dtypes(idt):
    a = random_array(9, "float64", seed=2)
    idx = indices(9, 11, "int64", seed=3)
    if idt == "uint8":
        idx = idx % 9
    check(take, a, idx.astype(idt))
    check(put, a, idx.astype(idt), 1.5)


@pytest.mark.parametrize("kind", ["C", "strided", "negative", "transposed"])
def test_gather_rows_of_views(kind):
    a = make_view(kind, (6, 4), "float32", seed=4)
    check(take, a, indices(6, 5, seed=5))
    check(take, a, indices(6, (2, 2), seed=6))
    check(take_scaled, a, indices(6, 7, seed=7))


def test_index_arrays_that_are_views():
    a = random_array(10, "int32", seed=8)
    base = indices(10, 20, seed=9)
    check(take, a, base[::3])
    check(take, a, base[::-2])
    check(put, a.copy(), base[1::4], np.int32(-5))


@pytest.mark.parametrize("dtype", DTYPES)
def test_store_scalar_repeated_last_wins(dtype):
    a = random_array(8, dtype, seed=10)
    check(put, a, np.array([1, 3, 1, -1, 3]), a[0])
    check(put, a, np.array([2, 2, 2]), np.array([1, 2, 3]).astype(dtype))  # the last: 3


def test_store_arrays_and_broadcasting():
    a = random_array((5, 3), "float64", seed=11)
    check(put, a, np.array([4, 0, 4]), random_array((3, 3), "float64", seed=12))
    check(put, a, np.array([1, 2]), random_array(3, "float64", seed=13))  # broadcast rows
    check(put, a, np.array([1, 2]), 7.0)
    check(put, a, np.array([1, 2]), random_array((3, 3), "float64"), raises=ValueError)
    check(put, np.zeros(4, np.int16), np.array([0, 1]), np.array([2.9, -3.9]))  # truncates


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "float64"])
def test_augmented_store_updates_a_repeated_index_once(dtype):
    a = random_array(6, dtype, seed=14)
    check(add_at, a, np.array([0, 0, 0, 5]), a[:4])
    check(add_at, a, np.array([1, -1, 1]), a[2])


def test_out_of_range_raises_before_storing_anything():
    a = np.arange(6.0)
    check(take, a, np.array([0, 6]), raises=IndexError)
    check(take, a, np.array([-7]), raises=IndexError)
    b = np.arange(6.0)
    with pytest.raises(IndexError, match="index 6 is out of bounds for axis 0 with size 6"):
        jit(put)(b, np.array([0, 1, 6]), -1.0)
    assert np.array_equal(b, np.arange(6.0))  # NumPy checks every index first
    check(take, np.zeros(0), np.array([0]), raises=IndexError)


def test_index_and_target_sharing_memory():
    a = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    check(permute_in_place, a.copy(), np.array([7, 6, 5, 4, 3, 2, 1, 0]))
    check(self_indexed, a)


def test_same_kind_rule_and_refusals():
    from hybridjit import TypingError

    with pytest.raises(TypingError, match="same_kind"):
        jit(add_at)(np.zeros(3, np.int32), np.array([0]), 1.5)

    def two_arrays(a, i, j):
        return a[i, j]

    def float_index(a, x):
        return a[x]

    with pytest.raises(UnsupportedError, match="more than one index array"):
        jit(two_arrays)(np.ones((3, 3)), np.array([0]), np.array([1]))
    with pytest.raises(UnsupportedError, match="boolean mask among other indices"):
        jit(two_arrays)(np.ones((3, 3)), np.array([True, False, True]), 1)
    from hybridjit.errors import IndexingError

    with pytest.raises(IndexingError, match="integer"):
        jit(float_index)(np.ones(3), np.ones(2))


def gather_then_reduce(a, idx):
    s = 0.0
    b = a[idx]
    for i in range(b.shape[0]):
        s += b[i]
    return s


def test_gather_feeds_loops_and_plan_says_stores_are_serial():
    a, idx = random_array(50, "float64", seed=15), indices(50, 30, seed=16)
    check(gather_then_reduce, a, idx)
    plan = jit(add_at).explain(a, idx, 1.0)
    stmt = plan.array_at(add_at.__code__.co_firstlineno + 1)
    assert any("indices may repeat" in n for n in stmt.notes)
    assert not all(d.parallel for _, d in stmt.nests)
    text = str(jit(take).explain(a, idx))
    assert "PARALLEL" in text


# ------------------------------------------------- one index array among others



def read_idx_1(a, idx):
    return a[idx, 1]


def read_cols(a, idx):
    return a[:, idx]


def read_rows_from_1(a, idx):
    return a[1:, idx]


def read_idx_step(a, idx):
    return a[idx, ::2]


def read_last_row(a, idx):
    return a[-1, idx]


def read_new_axis_first(a, idx):
    return a[None, idx, :]


def read_new_axis_between(a, idx):
    return a[1, None, idx]


def read_3d_mid(b, idx):
    return b[:, idx, 1:]


def read_3d_ellipsis(b, idx):
    return b[..., idx]


def read_3d_apart(b, idx):
    return b[1, :, idx]


def read_3d_together(b, idx):
    return b[:, 1, idx]


def read_3d_ellipsis_between(b, idx):
    return b[:, 1, ..., idx]


def read_3d_rows(b, idx):
    return b[idx, ...]


def read_3d_new_axis_after(b, idx):
    return b[1, idx, None]


READS_2D = [read_idx_1, read_cols, read_rows_from_1, read_idx_step, read_last_row,
            read_new_axis_first, read_new_axis_between]
READS_3D = [read_3d_mid, read_3d_ellipsis, read_3d_apart, read_3d_together,
            read_3d_ellipsis_between, read_3d_rows, read_3d_new_axis_after]
INDEX_SHAPES = [(3,), (2, 2), (0,), (1,)]


@pytest.mark.parametrize("fn", READS_2D)
@pytest.mark.parametrize("shape", INDEX_SHAPES)
@pytest.mark.parametrize("dtype", ["int32", "float64", "complex128"])
def test_mixed_reads_2d(fn, shape, dtype):
    a = random_array((5, 6), dtype, seed=21)
    check(fn, a, indices(5, shape, seed=22))


@pytest.mark.parametrize("fn", READS_3D)
@pytest.mark.parametrize("shape", INDEX_SHAPES)
def test_mixed_reads_3d(fn, shape):
    b = random_array((4, 5, 6), "float32", seed=23)
    check(fn, b, indices(4, shape, seed=24))


@pytest.mark.parametrize("kind", ["transposed", "strided", "negative"])
def test_mixed_reads_of_views(kind):
    a = make_view(kind, (6, 7), "float64", seed=25)
    for fn in READS_2D:
        check(fn, a, indices(6, (4,), seed=26))


def test_mixed_reads_out_of_range():
    a = random_array((5, 6), seed=27)
    check(read_cols, a, np.array([0, 6]), raises=IndexError)
    check(read_idx_1, a, np.array([-6]), raises=IndexError)


def store_idx_1(a, idx, v):
    a[idx, 1] = v


def store_cols(a, idx, v):
    a[:, idx] = v


def add_cols(a, idx, v):
    a[:, idx] += v


def store_row_1(a, idx, v):
    a[1, idx] = v


def store_3d_ellipsis(b, idx, v):
    b[..., idx] = v


def sub_3d_mid(b, idx, v):
    b[1:, idx, ::2] -= v


def store_3d_apart(b, idx, v):
    b[1, :, idx] = v


STORES = [(store_idx_1, "a[idx, 1]"), (store_cols, "a[:, idx]"), (add_cols, "a[:, idx]"),
          (store_row_1, "a[1, idx]"), (store_3d_ellipsis, "b[..., idx]"),
          (sub_3d_mid, "b[1:, idx, ::2]"), (store_3d_apart, "b[1, :, idx]")]


@pytest.mark.parametrize(("fn", "selection"), STORES)
@pytest.mark.parametrize("shape", [(3,), (2, 2), (0,)])
@pytest.mark.parametrize("value", ["scalar", "full", "last axis", "first axis"])
def test_mixed_stores(fn, selection, shape, value):
    # repeated indices included: the last store wins, an update happens once
    base = random_array((5, 6), seed=28) if selection[0] == "a" else \
        random_array((4, 5, 6), seed=29)
    idx = indices(4, shape, seed=30)
    sel = eval(selection, {"a": base, "b": base, "idx": idx}).shape
    rng = np.random.default_rng(31)
    v = {"scalar": 2.5, "full": rng.random(sel),
         "last axis": rng.random(sel[-1:]),
         "first axis": rng.random(sel[:1] + (1,) * (len(sel) - 1))}[value]
    check(fn, base, idx, v)


def test_mixed_store_out_of_range_stores_nothing():
    a = random_array((5, 6), seed=32)
    check(store_cols, a, np.array([1, 2, 9]), 1.0, raises=IndexError)
    got = a.copy()
    with pytest.raises(IndexError):
        jit(store_cols)(got, np.array([1, 2, 9]), 1.0)
    np.testing.assert_array_equal(got, a)  # (NumPy checks every index first)
