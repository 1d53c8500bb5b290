"""Differential tests against NumPy: stores through boolean masks (issue 12,
item 4, the store half): ``a[m] = v``, ``a[a < 0] = 0``, ``a[m] = b[m]``,
``a[m] op= v``; NumPy's conversions, same-kind rule and IndexError; empty,
full and 0-size masks; views; the plan (one parallel nest, no temporary).
"""

from __future__ import annotations

import numpy as np
import pytest

from difftest import check, make_view, random_array
from hybridjit import jit

DTYPES = ["bool", "int8", "int32", "int64", "uint8", "float32", "float64"]


def clamp_negative(a):
    a[a < 0] = 0


def store_scalar(a, m, v):
    a[m] = v


def copy_where(a, b):
    a[b > 0.5] = b[b > 0.5]


def nan_to_value(a):
    a[np.isnan(a)] = -1.0
    a[a > 2] *= 2


def add_where(a, m, b):
    a[m] += b[m]


def masks_combined(a, lo, hi):
    a[(a > lo) & ~(a > hi)] = lo


def arr(shape, dtype, seed=0):
    a = random_array(shape, dtype, seed=seed)
    if np.dtype(dtype).kind == "u":
        a = (a.astype(np.int64) % 9).astype(dtype)
    return a


@pytest.mark.parametrize("dtype", [d for d in DTYPES if d not in ("bool", "uint8")])
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 4), (2, 0), (2, 3, 2)])
def test_clamp_negative(shape, dtype):
    check(clamp_negative, arr(shape, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask", ["random", "none", "all"])
def test_store_a_scalar(dtype, mask):
    a = arr((4, 5), dtype, 1)
    m = {"random": arr((4, 5), "bool", 2), "none": np.zeros((4, 5), bool),
         "all": np.ones((4, 5), bool)}[mask]
    check(store_scalar, a, m, 1)
    check(store_scalar, a, m, True)
    if dtype != "bool":
        check(store_scalar, a, m, 2.75)  # converted as a stored float is (truncated)


def test_python_int_that_does_not_fit_raises_as_numpy():
    check(store_scalar, np.zeros(3, np.uint8), np.ones(3, bool), -1, raises=OverflowError)
    check(store_scalar, np.zeros(3, np.int32), np.ones(3, bool), np.nan, raises=ValueError)


@pytest.mark.parametrize("kind", ["strided", "negative", "transposed"])
def test_views(kind):
    a = make_view(kind, (4, 6), "float64", seed=3)
    check(clamp_negative, a)
    check(copy_where, a, make_view(kind, (4, 6), "float64", seed=4))


def test_same_mask_copies_elements_from_an_array():
    check(copy_where, np.zeros(9), np.linspace(0, 1, 9))
    check(copy_where, np.zeros((3, 3), np.float32), np.linspace(0, 1, 9).reshape(3, 3))


def test_ufunc_masks_and_augmented_stores():
    check(nan_to_value, np.array([1.0, np.nan, 3.0, 4.0, np.nan]))
    check(add_where, np.arange(5.0), np.array([True, False, True, True, False]), np.ones(5))
    check(masks_combined, np.arange(-5, 6), -2, 3)


def add_float_into_int(a, m):
    a[m] += 1.5


def test_augmented_store_keeps_the_same_kind_rule():
    from hybridjit import TypingError

    with pytest.raises(TypeError):  # NumPy's UFuncTypeError
        add_float_into_int(np.arange(4), np.ones(4, bool))
    with pytest.raises(TypingError, match="same_kind"):
        jit(add_float_into_int)(np.arange(4), np.ones(4, bool))


@pytest.mark.parametrize(("shape", "mshape"), [((5,), (4,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)),
                                               ((1,), (3,))])
def test_mask_of_another_shape_is_an_index_error(shape, mshape):
    check(store_scalar, np.zeros(shape), np.ones(mshape, bool), 1.0, raises=IndexError)


def read_through_mask(a):
    return a[a > 0]


def read_given_mask(a, m):
    return a[m]


def reductions_of_masked_reads(a):
    finite = a[np.isfinite(a)]
    return finite.sum(), a[a > 0].shape[0], np.max(finite * 2.0)


def masked_read_in_an_expression(a, b):
    return a[b > 0.5] * 2 + b[b > 0.5]


def integer_index_array(a, idx):
    a[idx] = 0


@pytest.mark.parametrize("dtype", [d for d in DTYPES if d not in ("bool", "uint8")])
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 4), (2, 0), (2, 3, 2)])
def test_reads_through_a_mask(shape, dtype):
    check(read_through_mask, arr(shape, dtype))


@pytest.mark.parametrize("kind", ["strided", "negative", "transposed"])
@pytest.mark.parametrize("mask", ["random", "none", "all"])
def test_reads_of_views_with_given_masks(kind, mask):
    a = make_view(kind, (4, 6), "float64", seed=7)
    m = {"random": arr((4, 6), "bool", 8), "none": np.zeros((4, 6), bool),
         "all": np.ones((4, 6), bool)}[mask]
    check(read_given_mask, a, m)
    check(read_given_mask, a, make_view(kind, (4, 6), "bool", seed=9))


def test_masked_reads_in_expressions_and_reductions():
    a = np.array([1.0, np.nan, -3.0, np.inf, 2.0])
    check(reductions_of_masked_reads, a)
    check(masked_read_in_an_expression, arr((3, 4), "float64"), np.linspace(0, 1, 12).reshape(3, 4))


@pytest.mark.parametrize(("shape", "mshape"), [((5,), (4,)), ((2, 3), (1, 3)), ((1,), (3,))])
def test_read_with_a_mask_of_another_shape_is_an_index_error(shape, mshape):
    check(read_given_mask, np.zeros(shape), np.ones(mshape, bool), raises=IndexError)


def test_integer_index_arrays_are_not_masks():
    # (an integer array index is fancy indexing: test_diff_numpy_fancy.py)
    check(integer_index_array, np.ones(3), np.array([0, 2]))


def test_plan_of_a_read_counts_in_parallel_and_stores_in_order():
    plan = jit(read_through_mask).explain(np.ones(10))
    stmt = plan.array_at(read_through_mask.__code__.co_firstlineno + 1)
    assert stmt.temporaries == [] and len([r for r, _ in stmt.nests if r == "nest"]) == 2
    count, store = [d for r, d in stmt.nests if r == "nest"]
    assert count.parallel and not store.parallel


def test_plan_one_parallel_nest_without_temporaries():
    fn = jit(clamp_negative)
    plan = fn.explain(np.ones(10))
    stmt = plan.array_at(clamp_negative.__code__.co_firstlineno + 1)
    assert stmt.temporaries == [] and len(stmt.nests) == 1 and stmt.parallel


def nonzero_of(a):
    return np.nonzero(a)


def where_one_argument(a):
    return np.where(a > 2)


def counts(a):
    return np.count_nonzero(a), np.count_nonzero(a > 1)


def flat_nonzero(a):
    return np.flatnonzero(a), a.nonzero()


@pytest.mark.parametrize("dtype", ["bool", "int32", "float64", "uint8"])
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 4), (2, 0), (2, 3, 2)])
def test_nonzero_where_and_counts(shape, dtype):
    a = arr(shape, dtype, 4)
    if a.dtype.kind != "b":
        a = (a.astype(np.int64) % 3).astype(dtype)  # zeros among them
    check(nonzero_of, a)
    check(where_one_argument, a)
    check(counts, a)
    check(flat_nonzero, a)
    check(nonzero_of, make_view("negative", shape, dtype, seed=5) if len(shape) > 1
          else a[::-1])


def bump(b):
    b[:] += 1
    return 0


def store_index_calls_an_array_helper(a, b):
    a[bump(b) + 1] = 5


def read_index_calls_an_array_helper(a, b):
    return a[bump(b) + 1]


def test_an_index_that_calls_a_helper_runs_it_once():
    # the index was lowered once to see whether it is a mask, then again:
    # the inlined helper's body ran two or three times
    check(store_index_calls_an_array_helper, np.zeros(3), np.zeros(2))
    check(read_index_calls_an_array_helper, np.zeros(3), np.zeros(2))
