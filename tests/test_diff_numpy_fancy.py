"""Differential tests against NumPy: integer index arrays (issue 12, item 4):
reads ``a[idx]`` (rows along the first axis, any index shape), stores
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

    with pytest.raises(UnsupportedError, match="index array together with other indices"):
        jit(two_arrays)(np.ones((3, 3)), np.array([0]), np.array([1]))
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
