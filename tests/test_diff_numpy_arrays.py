"""Differential tests against NumPy itself: slices and views, element-wise
array expressions with broadcasting, section and in-place assignment,
reductions, creation, reshaping (issue 11).

NumPy running the same function is the oracle (difftest.check): values,
dtypes, shapes, arguments after the call, exceptions, and whether each
returned array shares memory with each argument (view or copy).
"""

from __future__ import annotations

import numpy as np
import pytest

from difftest import check, make_view, random_array

DTYPES = ["bool", "int32", "int64", "uint8", "float32", "float64"]
NUMERIC = ["int32", "int64", "uint8", "float32", "float64"]
FLOAT_TOL = {"rtol": 1e-5, "atol": 1e-6}


def arr(shape, dtype="float64", seed=0):
    a = random_array(shape, dtype, seed=seed)
    if np.dtype(dtype).kind == "u":
        a = (np.abs(a.astype(np.int64)) % 7).astype(dtype)
    return a


# --------------------------------------------------------------------------
# slicing: views of every kind, read back and returned
# --------------------------------------------------------------------------


def slice_1d(a, lo, hi, step):
    return a[lo:hi:step]


def slice_sum_1d(a, lo, hi, step):
    v = a[lo:hi:step]
    s = 0.0
    for i in range(v.shape[0]):
        s += v[i]
    return s, v.shape[0]


@pytest.mark.parametrize(("lo", "hi", "step"), [
    (0, 5, 1), (1, -1, 1), (-3, 10, 1), (2, 2, 1), (8, 2, -1), (-1, -8, -2), (0, 100, 3),
    (-100, 100, 2), (5, 0, 1), (0, 10, -1), (9, -11, -3),
])
def test_basic_slices_are_views(lo, hi, step):
    a = np.arange(10.0)
    check(slice_1d, a, lo, hi, step)
    check(slice_sum_1d, a, lo, hi, step, check_type="kind")


def omitted(a):
    return a[:], a[::], a[2:], a[:3], a[::-1], a[::2], a[-2:], a[:-2]


@pytest.mark.parametrize("kind", ["C", "strided", "negative"])
def test_omitted_bounds(kind):
    check(omitted, make_view(kind, 9, "int64"))


def zero_step(a, s):
    return a[::s]


def test_zero_step_is_numpys_value_error():
    check(zero_step, np.arange(4.0), 0, raises=ValueError)


def mixed_2d(a, i, k):
    return a[i, :], a[:, k], a[i], a[1:, ::2], a[i][k], a[-1, 1:-1], a[::-1, k]


@pytest.mark.parametrize("kind", ["C", "strided", "transposed", "negative"])
@pytest.mark.parametrize("dtype", ["int32", "float64"])
def test_mixed_integer_and_slice_indexing(kind, dtype):
    check(mixed_2d, make_view(kind, (5, 6), dtype), 2, 3)
    check(mixed_2d, make_view(kind, (5, 6), dtype), -1, -2)


def newaxis_ellipsis(a):
    return a[None, :], a[:, np.newaxis], a[..., 0], a[0, ...], a[..., None]


def test_newaxis_and_ellipsis():
    check(newaxis_ellipsis, np.arange(12.0).reshape(3, 4))


def transposes(a):
    return a.T, np.transpose(a), a.transpose(1, 0), a.T[1:, 0]


@pytest.mark.parametrize("kind", ["C", "transposed", "negative"])
def test_transposes(kind):
    check(transposes, make_view(kind, (3, 4), "float64"))


def flips(a):
    return np.flip(a), np.flip(a, 0), np.flip(a, axis=1), a[::-1, ::-1]


def test_flips():
    check(flips, np.arange(12).reshape(3, 4))


def reshapes(a):
    return a.reshape(3, 4), a.reshape((2, -1)), np.reshape(a, (4, 3)), a.ravel()


def reshapes_of_views(a):
    return a.T.reshape(-1), a[:, 1:].ravel(), a.flatten(), a[1:].reshape(-1)


def test_reshape_views_and_copies():
    check(reshapes, np.arange(12.0))
    check(reshapes_of_views, np.arange(12.0).reshape(3, 4))


def bad_reshape(a):
    return a.reshape(5, -1)


def test_reshape_to_an_impossible_shape_raises():
    check(bad_reshape, np.arange(12.0), raises=ValueError)


def views_in_loops(a):
    s = 0.0
    for i in range(a.shape[0]):
        row = a[i]
        for j in range(row.shape[0]):
            s += row[j] * (i + 1)
    return s


def test_views_assigned_in_loops():
    check(views_in_loops, np.arange(20.0).reshape(4, 5))


def helper_takes_view(v):
    t = 0.0
    for i in range(v.shape[0]):
        t += v[i]
    return t


def views_to_helpers(a):
    return (helper_takes_view(a[1:-1, 0]), helper_takes_view(a[::-2, 1]),
            helper_takes_view(a[2, :]))


def test_views_passed_to_helpers():
    check(views_to_helpers, np.arange(16.0).reshape(4, 4))


# --------------------------------------------------------------------------
# element-wise expressions and broadcasting
# --------------------------------------------------------------------------


def arith(a, b):
    return a + b, a - b, a * b, a / b, -a, abs(a), a * 2, 3 - b, a ** 2, a // 3, a % 5


@pytest.mark.parametrize("dtype", NUMERIC)
def test_arithmetic_on_arrays(dtype):
    a, b = arr(7, dtype, 1), arr(7, dtype, 2)
    if np.dtype(dtype).kind in "iu":
        b = np.where(b == 0, 1, b).astype(dtype)
    check(arith, a, b, **FLOAT_TOL)


def comparisons(a, b):
    return a < b, a == b, a >= 0.5, (a > 0) & (b > 0), ~(a > b), a != 3


@pytest.mark.parametrize("dtype", DTYPES)
def test_comparisons_and_logic(dtype):
    check(comparisons, arr(6, dtype, 3), arr(6, dtype, 4))


def bitwise(a, b):
    return a & b, a | b, a ^ b, ~a, a << 1, a >> 1


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_bitwise(dtype):
    check(bitwise, arr(6, dtype, 5), arr(6, dtype, 6))


def mixed_types(a, b, x, y):
    return a + b, a * x, b + y, a / 2, a + 1.5, x * b


@pytest.mark.parametrize(("ta", "tb"), [("int32", "float32"), ("uint8", "int64"),
                                        ("float32", "float64"), ("bool", "int32"),
                                        ("int32", "int64")])
def test_promotion_follows_numpy(ta, tb):
    check(mixed_types, arr(5, ta, 1), arr(5, tb, 2), np.float32(2.5), 3, **FLOAT_TOL)


def broadcast_forms(a, b, c):
    return a + b, a * c, b[None, :] * c, a + 1, b[None, :] + b[:, None]


def test_broadcasting():
    check(broadcast_forms, arr((4, 3)), arr(3), arr((4, 1)))
    check(broadcast_forms, arr((1, 3)), arr(3), arr((1, 1)))


def broadcast_add(a, b):
    return a + b


@pytest.mark.parametrize(("sa", "sb"), [((3,), (4,)), ((2, 3), (3, 2)), ((3, 1), (2, 4))])
def test_incompatible_shapes_raise_numpys_value_error(sa, sb):
    check(broadcast_add, arr(sa), arr(sb), raises=ValueError)


@pytest.mark.parametrize(("sa", "sb"), [((0,), (0,)), ((0, 3), (3,)), ((1,), (5,)),
                                        ((1, 1), (1,)), ((5, 0), (1, 0))])
def test_empty_and_unit_extents(sa, sb):
    check(broadcast_add, arr(sa), arr(sb))


def ufuncs(a):
    b = a * 2
    return (np.sqrt(np.abs(a)), np.exp(a / 10), np.log(np.abs(a) + 1), np.sin(a), np.floor(a),
            np.isnan(a), np.maximum(a, 0.5), np.minimum(a, b), b,
            np.where(a > 0.5, a, -a), np.clip(a, 0.25, 0.75))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ufuncs_on_arrays(dtype):
    check(ufuncs, arr((3, 4), dtype), **FLOAT_TOL)


def where_mixed(c, a):
    return np.where(c, a, 0), np.where(c, 1, 2), np.where(c > 0, a, 1.5)


def test_where_dtypes():
    check(where_mixed, arr(6, "bool"), arr(6, "int32"))


def fused(a, x, b, y, z):
    return a * x + b * y * z


def test_fused_expression():
    check(fused, 2.0, arr(50, seed=1), 3.0, arr(50, seed=2), arr(50, seed=3))


# --------------------------------------------------------------------------
# section assignment and in-place operations
# --------------------------------------------------------------------------


def sections(a, b):
    a[1:-1, 1:-1] = 0.25 * (b[:-2, 1:-1] + b[2:, 1:-1] + b[1:-1, :-2] + b[1:-1, 2:])
    a[0] = 7
    a[:, -1] = b[:, 0]
    a[...] += 1
    return a


@pytest.mark.parametrize("kind", ["C", "strided", "transposed"])
def test_section_assignment(kind):
    check(sections, make_view(kind, (6, 5), "float64"), arr((6, 5), seed=3))


def overlapping(a):
    a[1:] = a[:-1] + 1
    a[:-2] = a[2:] * 2
    a[::-1] = a
    return a


def test_overlapping_assignment_evaluates_the_value_first():
    check(overlapping, np.arange(9.0))
    check(overlapping, np.arange(9))


def inplace(a, b):
    a += b
    a *= 2
    a[1:] -= a[:-1]
    a[::2] /= 4
    return a


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inplace_operators(dtype):
    check(inplace, arr(8, dtype, 1), arr(8, dtype, 2), **FLOAT_TOL)


def inplace_int_from_float(a):
    a += 1.5
    return a


def test_inplace_same_kind_rule():
    from hybridjit import TypingError, jit

    with pytest.raises(TypingError, match="same_kind"):
        jit(inplace_int_from_float)(np.arange(3))


def aliased_args(a, b):
    a[:] = b + 1
    return a


def test_arguments_that_overlap():
    base = np.arange(10.0)
    check(aliased_args, base[1:], base[:-1])
    check(aliased_args, base[:5], base[5:])
    check(aliased_args, base, base)


def fill_and_scalar_store(a, v):
    a.fill(v)
    a[1:3] = 9
    return a


@pytest.mark.parametrize("dtype", ["int32", "float64", "bool"])
def test_fill_and_scalar_broadcast(dtype):
    check(fill_and_scalar_store, np.zeros(5, dtype), 2)


def store_broadcast(a, b):
    a[:] = b
    return a


def test_store_value_broadcast_and_mismatch():
    check(store_broadcast, np.zeros((3, 4)), np.arange(4.0))
    check(store_broadcast, np.zeros((3, 4)), np.arange(3.0), raises=ValueError)


# --------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------


def reductions(a):
    return (np.sum(a), np.prod(a), np.min(a), np.max(a), a.sum(), a.max(), np.argmin(a),
            np.argmax(a), np.any(a), np.all(a))


@pytest.mark.parametrize("dtype", DTYPES)
def test_whole_array_reductions(dtype):
    check(reductions, arr((3, 4), dtype), **FLOAT_TOL)


def moments(a):
    return np.mean(a), np.var(a), np.std(a), a.mean(), np.var(a, ddof=1)


@pytest.mark.parametrize("dtype", ["int32", "float32", "float64"])
def test_mean_var_std(dtype):
    check(moments, arr(11, dtype), **FLOAT_TOL)


def axis_reductions(a):
    return (np.sum(a, axis=0), a.sum(axis=1), np.max(a, axis=-1), np.mean(a, axis=0),
            np.sum(a, axis=1, keepdims=True), np.argmax(a, axis=0), a.min(0),
            np.sum(a, axis=(0, 1)), np.std(a, axis=1))


@pytest.mark.parametrize("dtype", ["int32", "float64"])
def test_reductions_along_axes(dtype):
    check(axis_reductions, arr((4, 5), dtype), **FLOAT_TOL)


def empty_min(a):
    return np.min(a)


def empty_argmax(a):
    return np.argmax(a)


def empty_sums(a):
    return np.sum(a), np.prod(a), np.any(a), np.all(a), np.sum(a, axis=0)


def test_empty_reductions():
    check(empty_min, np.zeros(0), raises=ValueError)
    check(empty_argmax, np.zeros(0), raises=ValueError)
    check(empty_sums, np.zeros(0))
    check(empty_sums, np.zeros((0, 3)))


def nan_reductions(a):
    return np.max(a), np.min(a), np.argmax(a), np.argmin(a), np.sum(a)


def test_nan_propagates():
    a = np.array([1.0, np.nan, 3.0, np.nan])
    check(nan_reductions, a)


def cumulative(a):
    return np.cumsum(a), np.cumprod(a[:4]), np.cumsum(a.reshape(2, -1), axis=1), a.cumsum()


@pytest.mark.parametrize("dtype", ["int32", "float64"])
def test_cumulative(dtype):
    check(cumulative, arr(8, dtype), **FLOAT_TOL)


def softmax(x):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def test_softmax_rows():
    check(softmax, arr((5, 7)), **FLOAT_TOL)


# --------------------------------------------------------------------------
# creation
# --------------------------------------------------------------------------


def creation(n, a):
    return (np.zeros(n), np.ones((n, 2), dtype=np.int32), np.full(n, 3), np.empty(n).shape,
            np.zeros(a.shape, dtype=a.dtype), np.zeros_like(a), np.ones_like(a, dtype=np.float32),
            np.full((2, n), 1.5, np.float32), np.zeros(n, "int64"), np.arange(n),
            np.arange(1, n, 2), np.arange(0.5, n, 0.25), np.linspace(0, 1, n),
            np.linspace(0, 1, n, endpoint=False), np.eye(n), np.identity(3, dtype=np.int64),
            np.eye(n, 4, 1), np.copy(a), a.copy(), a.astype(np.float32), a.astype(np.int8))


@pytest.mark.parametrize("n", [0, 1, 5])
def test_creation_functions(n):
    check(creation, n, arr((2, 3), "float64"))


def concatenation(a, b):
    return (np.concatenate((a, b)), np.concatenate((a, b), axis=1), np.stack((a, b)),
            np.stack((a, b), axis=2))


def test_concatenate_and_stack():
    check(concatenation, arr((2, 3), seed=1), arr((2, 3), seed=2))


def allocating_return(a, x, b, y, z):
    return a * x + b * y * z


def test_returned_new_arrays_are_owned_by_python():
    from hybridjit import jit

    x = arr(10)
    r = jit(allocating_return)(1.0, x, 2.0, x, x)
    assert r.base is None and r.flags.owndata and not np.shares_memory(r, x)


# --------------------------------------------------------------------------
# idioms found by probing: each was refused or wrong once
# --------------------------------------------------------------------------


def shape_of_new_array(a):
    return np.empty(a.shape, dtype=a.dtype).shape, np.zeros([2, 3]).shape


def lists_as_sequences(a, b):
    return np.stack([a, b]), np.concatenate([a, b], axis=1), np.zeros([2, 2], np.int32)


def dtype_tests(a):
    return (np.empty(3, dtype=a.dtype).dtype == a.dtype, a.dtype == np.float64,
            a.dtype != "float32", np.ones(2, a.dtype))


def iterate_method_result(a):
    t = 0.0
    for x in a.ravel():
        t += x
    for r in a.T:
        t -= r[0]
    return t


def rows_written_through_loop_views(a):
    for row in a:
        row[:] = row * 2
    return a


def triangle_by_row_slices(n):
    x = np.zeros((n, n))
    for i in range(n):
        x[i, :i] = 1
        x[i, i:] = -np.arange(n - i)
    return x


@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
def test_probed_idioms(dtype):
    a = arr((3, 4), dtype, seed=2)
    b = arr((3, 4), dtype, seed=3)
    check(shape_of_new_array, a)
    check(lists_as_sequences, a, b)
    check(dtype_tests, a)
    if dtype != "bool":
        check(iterate_method_result, a, check_type="kind")
        check(rows_written_through_loop_views, a.copy())
    check(triangle_by_row_slices, 4)
    check(triangle_by_row_slices, 0)


def literal_slices(a):
    """Constant bounds: the closed-form lengths of transform/windows.py."""
    return (a[1:], a[:-1], a[2:5], a[5:2], a[-3:], a[:100], a[3::2], a[:-2:3], a[1:-1:2],
            a[10:], a[0:0], a[2:], a[:2], a[1:-1] + a[:-2] - a[2:], a[::3], a[4:1:-1],
            a[::-2], a[-1:-4:-1], a[100:-100:-1])


def literal_slice_stores(a):
    b = a.copy()
    b[1:-1] = a[2:] - a[:-2]
    b[::2] = 7
    b[-3:] += 1
    return b


@pytest.mark.parametrize("n", range(0, 9))
def test_literal_slice_lengths_for_every_small_extent(n):
    a = np.arange(float(n)) * 1.5
    check(literal_slices, a)
    check(literal_slice_stores, a)
