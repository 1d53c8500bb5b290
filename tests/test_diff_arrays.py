"""Differential tests: arrays.  Indexing in 1-3 dimensions over every view kind
(contiguous, strided, sliced, transposed, negative-stride) and the dtypes
int32/int64/float32/float64, sizes 0, 1 and odd; negative indices; writes and
augmented assignment to elements; every supported dtype; ``shape``/``ndim``/
``size``/``len``; ``np.empty/zeros/ones/full`` and their ``*_like`` forms with
returned arrays; conversions on store; aliasing between arguments."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from difftest import (
    ALL_DTYPES,
    NUM_DTYPES,
    VIEW_KINDS,
    check,
    get_jit,
    make_view,
    random_array,
)

SHAPES = {
    1: [(0,), (1,), (7,)],
    2: [(0, 3), (1, 1), (5, 3)],
    3: [(2, 0, 3), (1, 1, 1), (3, 4, 5)],
}

# --------------------------------------------------------------------------
# reading elements in 1-3 dimensions, every view kind
# --------------------------------------------------------------------------


def wsum1(a):
    s = 0
    for i in range(a.shape[0]):
        s += a[i] * (i % 7 - 3)
    return s


def wsum2(a):
    s = 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s += a[i, j] * ((3 * i + j) % 5 - 2)
    return s


def wsum3(a):
    s = 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                s += a[i, j, k] * ((i + 2 * j + 3 * k) % 5 - 2)
    return s


WSUM = {1: wsum1, 2: wsum2, 3: wsum3}
READ_CASES = [pytest.param(nd, shape, id=f"{nd}d-{'x'.join(map(str, shape))}")
              for nd, shapes in SHAPES.items() for shape in shapes]


@pytest.mark.parametrize("kind", VIEW_KINDS)
@pytest.mark.parametrize("dtype", NUM_DTYPES)
@pytest.mark.parametrize(("ndim", "shape"), READ_CASES)
def test_read_elements_views(ndim, shape, dtype, kind):
    a = make_view(kind, shape, dtype, seed=ndim)
    # an empty loop leaves CPython's ``s = 0`` an int; the compiled variable has
    # the unified type (documented), so only the value is compared then
    check(WSUM[ndim], a, check_type=a.size > 0)


# --------------------------------------------------------------------------
# writing elements, augmented assignment on elements
# --------------------------------------------------------------------------


def update2(a, out):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] * 2 + 1
            a[i, j] += 3
            a[i, j] *= 2
            a[i, j] -= out[i, j]


@pytest.mark.parametrize("kind", VIEW_KINDS)
@pytest.mark.parametrize("dtype", NUM_DTYPES)
@pytest.mark.parametrize("shape", [(0, 2), (1, 1), (5, 3)])
def test_write_and_augassign_elements_2d(shape, dtype, kind):
    a = make_view(kind, shape, dtype, seed=1)
    out = make_view(kind, shape, dtype, seed=2)
    check(update2, a, out)


def update1(a):
    for i in range(a.shape[0]):
        a[i] += i
        a[i] /= 2
        a[i] **= 2


def update3(a):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                a[i, j, k] = a[i, j, k] - (i * 100 + j * 10 + k)


@pytest.mark.parametrize("kind", VIEW_KINDS)
def test_write_elements_1d_3d(kind):
    check(update1, make_view(kind, 9, "float64", seed=3))
    check(update3, make_view(kind, (3, 2, 5), "float64", seed=4))


def transpose_copy(a, out):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j, i] = a[i, j]


@pytest.mark.parametrize("kind", ["C", "transposed", "negative"])
def test_transpose_copy(kind):
    check(transpose_copy, make_view(kind, (4, 6), "float32"), np.zeros((6, 4), np.float32))


def index_exprs(a, out):
    n = a.shape[0]
    for i in range(n - 1):
        out[i] = a[i + 1] - a[n - 1 - i] + a[i // 2] * a[i % 3]


@pytest.mark.parametrize("kind", ["C", "negative", "strided"])
def test_index_expressions(kind):
    check(index_exprs, make_view(kind, 11, "int64"), np.zeros(10, np.int64))


# --------------------------------------------------------------------------
# negative indices
# --------------------------------------------------------------------------


def neg_index1(a, k):
    return a[-1], a[-a.shape[0]], a[k], a[-k - 1], a[len(a) - 1]


@pytest.mark.parametrize("kind", VIEW_KINDS)
@pytest.mark.parametrize("k", [0, 3, -1, -7])
def test_negative_indices_1d(kind, k):
    check(neg_index1, make_view(kind, 7, "float64", seed=5), k)


def neg_index_loop(a, out):
    for i in range(1, a.shape[0] + 1):
        out[-i] = a[-i] * 2 + a[i - 1]


@pytest.mark.parametrize("kind", ["C", "negative"])
@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_negative_indices_in_loop(kind, dtype):
    check(neg_index_loop, make_view(kind, 9, dtype), np.zeros(9, dtype))


def neg_index2(a, out):
    n, m = a.shape
    for i in range(n):
        for j in range(1, m + 1):
            out[-1 - i, -j] = a[i, -j] + a[-1, -1] + a[-n, 0]
    return a[-1, -2], a[-2, 1]


@pytest.mark.parametrize("kind", VIEW_KINDS)
def test_negative_indices_2d(kind):
    check(neg_index2, make_view(kind, (4, 5), "int64", seed=6), np.zeros((4, 5), np.int64))


def neg_index3(a):
    return a[-1, -1, -1], a[0, -2, 1], a[-3, 0, -4]


def test_negative_indices_3d():
    check(neg_index3, make_view("negative", (3, 4, 5), "float64"))
    check(neg_index3, make_view("C", (3, 4, 5), "float64"))


def gather(a, idx, out):
    for i in range(idx.shape[0]):
        out[i] = a[idx[i]]


@pytest.mark.parametrize("idt", ["int32", "int64", "uint8", "int16"])
def test_index_with_array_values_of_int_dtypes(idt):
    a = random_array(20, "float64", seed=7)
    lo = 0 if np.dtype(idt).kind == "u" else -20
    idx = random_array(13, idt, seed=8, low=lo, high=19)
    check(gather, a, idx, np.zeros(13))


def index_by_param(a, k):
    return a[k] + a[k + 1]


def test_index_with_numpy_int_scalar():
    a = random_array(10, "int64", seed=9)
    check(index_by_param, a, np.int32(-3))
    check(index_by_param, a, np.int32(4))
    check(index_by_param, a, np.uint8(2))


# --------------------------------------------------------------------------
# every dtype: read, write, return an element
# --------------------------------------------------------------------------


def roundtrip(a, out):
    for i in range(a.shape[0]):
        out[i] = a[i]
        a[i] = a[i] + 1
    return a[0], out[a.shape[0] - 1]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_every_dtype_roundtrip(dtype):
    lo, hi = (0, 255) if dtype == "uint8" else (None, None)
    a = random_array(7, dtype, seed=10, low=lo, high=hi)
    if dtype == "uint8":
        a[0] = 255  # wraps to 0 on +1
    check(roundtrip, a, np.zeros(7, dtype))


def bool_logic(a, b, out):
    c = 0
    for i in range(a.shape[0]):
        if a[i]:
            c += 1
        out[i] = a[i] and not b[i]
        if a[i] != b[i]:
            c += 10
    return c


@pytest.mark.parametrize("kind", ["C", "strided"])
def test_bool_arrays(kind):
    a = make_view(kind, 13, "bool", seed=1)
    b = make_view(kind, 13, "bool", seed=2)
    check(bool_logic, a, b, np.zeros(13, bool))


def compare_store(a, out):
    for i in range(a.shape[0]):
        out[i] = a[i] > 0


def test_store_comparison_into_bool_array():
    check(compare_store, random_array(9, "float32"), np.zeros(9, bool))


def store_convert(x, ai, af, a32, au):
    ai[0] = x
    af[0] = x
    a32[0] = x * 3
    au[0] = x * 2


@pytest.mark.parametrize("x", [2.7, -2.7, 0.5, 7, -7, np.float32(3.9)])
def test_store_converts_like_numpy(x):
    # float -> int truncates toward zero, float64 -> float32 rounds
    check(store_convert, x, np.zeros(1, np.int32), np.zeros(1), np.zeros(1, np.float32),
          np.zeros(1, np.int64))


# --------------------------------------------------------------------------
# shape, ndim, size, len
# --------------------------------------------------------------------------


def props1(a):
    n = a.shape[0]
    return n, a.ndim, a.size, len(a), a.shape


def props2(a):
    n, m = a.shape
    return n, m, a.ndim, a.size, len(a), a.shape, a.shape[-1]


def props3(a):
    n, m, k = a.shape
    return n * 100 + m * 10 + k, a.ndim, a.size, len(a), a.shape


PROPS = {1: props1, 2: props2, 3: props3}


@pytest.mark.parametrize("kind", ["C", "transposed", "strided"])
@pytest.mark.parametrize(("ndim", "shape"), READ_CASES)
def test_shape_ndim_size_len(ndim, shape, kind):
    check(PROPS[ndim], make_view(kind, shape, "float64"))


def shape_loops(a):
    t = 0
    n, m = a.shape
    for i in range(len(a)):
        for j in range(a.shape[1]):
            t += (i + 1) * (j + 2)
    return t, a.size - n * m


def test_shape_in_loop_bounds():
    check(shape_loops, make_view("sliced", (4, 6), "int32"))


# --------------------------------------------------------------------------
# allocation and returned arrays
# --------------------------------------------------------------------------


def alloc_default(n):
    a = np.empty(n)
    for i in range(n):
        a[i] = i * 0.5
    return a, np.zeros(n), np.ones(n), np.full(n, 2.5), np.full(n, 3), np.full(n, True)


@pytest.mark.parametrize("n", [0, 1, 7])
def test_alloc_default_dtypes(n):
    check(alloc_default, n)


def alloc_dtypes(n, m):
    a = np.zeros(n, dtype=np.float32)
    b = np.ones((n, m), dtype=np.int32)
    c = np.full((2, n, m), 7, dtype=np.int64)
    d = np.zeros((n, m), dtype=np.uint8)
    e = np.empty((m, n), dtype=np.float64)
    f = np.full(n, 1.5, dtype=np.float32)
    g = np.ones(m, dtype=np.bool_)
    for i in range(m):
        for j in range(n):
            e[i, j] = i - j
            d[j, i] = i + j
    for j in range(n):
        a[j] = j / 3
    return a, b, c, d, e, f, g


@pytest.mark.parametrize(("n", "m"), [(0, 3), (1, 1), (5, 3)])
def test_alloc_with_dtype_and_tuple_shape(n, m):
    check(alloc_dtypes, n, m)


def alloc_from_shape(a):
    b = np.zeros(a.shape)
    c = np.empty((a.shape[0], 3), dtype=np.int64)
    n, m = a.shape
    for i in range(n):
        for k in range(3):
            c[i, k] = i * k
        for j in range(m):
            b[i, j] = a[i, j] * 2
    return b, c


@pytest.mark.parametrize("kind", ["C", "transposed"])
def test_alloc_with_shape_of_argument(kind):
    check(alloc_from_shape, make_view(kind, (4, 5), "float32"))


def alloc_like(a):
    e = np.empty_like(a)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            e[i, j] = a[i, j] + 1
    return (e, np.zeros_like(a), np.ones_like(a, dtype=np.int32), np.full_like(a, 3.5),
            np.full_like(a, 2, dtype=np.float64), np.zeros_like(a, dtype=np.uint8))


@pytest.mark.parametrize("kind", ["C", "transposed", "negative"])
@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_alloc_like(dtype, kind):
    check(alloc_like, make_view(kind, (3, 5), dtype))


def alloc_1d_like(a):
    r = np.zeros_like(a)
    for i in range(a.shape[0]):
        r[i] = a[i] * a[i]
    return r


def alloc_branch(n):
    if n > 3:
        r = np.zeros(n)
    else:
        r = np.ones(n + 1)
    r[0] = 5.0
    return r


def test_alloc_in_branches():
    check(alloc_branch, 5)
    check(alloc_branch, 2)


def test_returned_arrays_are_ordinary_owned_numpy_arrays():
    fn = get_jit(alloc_1d_like)
    results = [fn(np.arange(k + 1, dtype=np.float64)) for k in range(30)]
    gc.collect()
    for _ in range(30):  # churn the allocator
        fn(np.arange(50, dtype=np.float64))
    gc.collect()
    for k, r in enumerate(results):
        assert type(r) is np.ndarray
        assert r.flags.writeable
        np.testing.assert_array_equal(r, np.arange(k + 1, dtype=np.float64) ** 2)
        r[0] = -1.0  # writable, independent
    a = np.arange(4.0)
    r = fn(a)
    r[:] = 0
    np.testing.assert_array_equal(a, np.arange(4.0))  # not a view of the input


def ret_input(a):
    a[0] = 42
    return a


@pytest.mark.parametrize("kind", ["C", "negative"])
def test_return_argument_array(kind):
    check(ret_input, make_view(kind, 5, "int64"))


# --------------------------------------------------------------------------
# aliasing between arguments (sequential semantics must hold)
# --------------------------------------------------------------------------


def add_into(x, y):
    for i in range(x.shape[0]):
        x[i] = x[i] + y[i]


def prefix_in_place(x, y):
    for i in range(1, x.shape[0]):
        y[i] = y[i - 1] + x[i]


def test_aliased_arguments_reverse_view():
    base = random_array(9, "float64", seed=11)
    check(add_into, base, base[::-1])


def test_same_array_passed_twice():
    a = random_array(10, "int64", seed=12)
    check(prefix_in_place, a, a)


def test_overlapping_shifted_views():
    base = random_array(12, "float64", seed=13)
    check(add_into, base[1:], base[:-1])
    check(add_into, base[:-1], base[1:])
