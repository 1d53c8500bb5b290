"""Differential tests against NumPy: matrix products (issue 12, item 1).

``@``, ``np.matmul``, ``np.dot``, ``np.inner``, ``np.vdot``, ``np.outer``
and the ``dot`` method over 1-D/2-D operands of every supported dtype,
0-size and size-1 extents, views (strided, negative strides, transposes),
row slices inside loops (a triangular solve) and inside ``prange``; NumPy's
ValueError when the contracted extents differ.  Float results are compared
with a tolerance: NumPy's BLAS sums in another order.
"""

from __future__ import annotations

import numpy as np
import pytest

from difftest import check, make_view, random_array
from hybridjit import jit, prange

DTYPES = ["bool", "int8", "int32", "int64", "uint8", "float32", "float64"]
TOL = {"float32": {"rtol": 2e-5, "atol": 1e-5}, "float64": {"rtol": 1e-12, "atol": 1e-12}}

SHAPES = [((3, 4), (4, 5)), ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((0, 4), (4, 2)),
          ((3, 0), (0, 2)), ((1, 1), (1, 1)), ((5,), (5, 1)), ((1, 7), (7,)), ((0,), (0,)),
          ((2, 3), (3, 0))]


def arr(shape, dtype, seed=0):
    a = random_array(shape, dtype, seed=seed)
    if np.dtype(dtype).kind in "iu":  # small values: int8 products wrap as NumPy's do
        a = (a.astype(np.int64) % 11).astype(dtype)
    return a


def tol(*arrays):
    kinds = {a.dtype.name for a in arrays}
    return TOL["float32"] if "float32" in kinds else TOL.get("float64", {}) \
        if "float64" in kinds else {}


def matmul_operator(a, b):
    return a @ b


def matmul_function(a, b):
    return np.matmul(a, b)


def dot_function(a, b):
    return np.dot(a, b)


def dot_method(a, b):
    return a.dot(b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("sa", "sb"), SHAPES)
@pytest.mark.parametrize("fn", [matmul_operator, matmul_function, dot_function, dot_method])
def test_products_of_1d_and_2d_operands(fn, sa, sb, dtype):
    a, b = arr(sa, dtype, 1), arr(sb, dtype, 2)
    check(fn, a, b, **tol(a, b))


@pytest.mark.parametrize(("da", "db"), [("int32", "float32"), ("uint8", "int8"),
                                        ("bool", "int64"), ("float32", "float64"),
                                        ("int64", "uint8")])
def test_mixed_dtypes_promote_as_numpy(da, db):
    a, b = arr((3, 4), da, 3), arr((4, 2), db, 4)
    check(matmul_operator, a, b, **tol(a, b))
    check(matmul_operator, a[0], b, **tol(a, b))


def test_int8_products_wrap_as_numpy():
    a = np.full((2, 40), 100, np.int8)
    b = np.full((40, 3), 7, np.int8)
    check(matmul_operator, a, b)


@pytest.mark.parametrize("kind", ["strided", "negative", "transposed"])
def test_views_as_operands(kind):
    a = make_view(kind, (6, 6), "float64", seed=5)
    b = make_view(kind, (6, 6), "float64", seed=6)
    check(matmul_operator, a, b, **TOL["float64"])
    check(matmul_operator, a, b[:, 0], **TOL["float64"])


def transposed_product(a, b):
    return a.T @ b, a @ b.T, np.dot(a.T, a)


def test_transposes():
    check(transposed_product, arr((5, 3), "float64"), arr((5, 3), "float64", 1),
          **TOL["float64"])


def inner(a, b):
    return np.inner(a, b)


def vdot(a, b):
    return np.vdot(a, b)


def outer(a, b):
    return np.outer(a, b)


@pytest.mark.parametrize("dtype", ["int32", "float32", "float64", "bool"])
def test_inner_vdot_outer(dtype):
    x, y = arr((5,), dtype, 1), arr((5,), dtype, 2)
    a, b = arr((3, 5), dtype, 3), arr((4, 5), dtype, 4)
    t = tol(x)
    check(inner, x, y, **t)
    check(inner, a, b, **t)
    check(inner, a, y, **t)
    check(vdot, x, y, **t)
    check(vdot, a, a, **t)
    check(outer, x, y, **t)
    check(outer, a, y, **t)
    check(outer, x[:0], y, **t)


def scalar_dot(a, s):
    return np.dot(a, s), np.dot(2, a)


def test_dot_with_a_scalar_multiplies():
    check(scalar_dot, arr((3, 2), "float32"), np.float32(1.5))


def forward_substitution(L, b):
    n = b.shape[0]
    x = np.zeros_like(b)
    for i in range(n):
        x[i] = (b[i] - L[i, :i] @ x[:i]) / L[i, i]
    return x


def back_substitution(U, b):
    n = b.shape[0]
    x = np.zeros_like(b)
    for i in range(n - 1, -1, -1):
        x[i] = (b[i] - np.dot(U[i, i + 1:], x[i + 1:])) / U[i, i]
    return x


@pytest.mark.parametrize("n", [0, 1, 2, 7])
def test_triangular_solves_with_row_slices(n):
    rng = np.random.default_rng(n)
    L = np.tril(rng.standard_normal((n, n))) + n * np.eye(n)
    b = rng.standard_normal(n)
    check(forward_substitution, L, b, **TOL["float64"])
    check(back_substitution, L.T.copy(), b, **TOL["float64"])


def rows_in_prange(A, x, y):
    for i in prange(A.shape[0]):
        y[i] = A[i, :] @ x


def test_row_products_in_a_parallel_loop():
    A, x = arr((9, 4), "float64"), arr((4,), "float64", 1)
    check(rows_in_prange, A, x, np.zeros(9), **TOL["float64"])


def expression_operands(A, x):
    return (A + 1.0) @ (2.0 * x) + A @ (A @ x)


def test_expression_operands_and_chains():
    check(expression_operands, arr((4, 4), "float64"), arr((4,), "float64", 1),
          **TOL["float64"])


@pytest.mark.parametrize(("sa", "sb"), [((3, 4), (5,)), ((3,), (4, 2)), ((2, 3), (2, 3)),
                                        ((1,), (3,)), ((3, 1), (3, 2))])
@pytest.mark.parametrize("fn", [matmul_operator, dot_function, inner])
def test_mismatched_extents_raise_value_error(fn, sa, sb):
    a, b = arr(sa, "float64"), arr(sb, "float64", 1)
    try:
        fn(a, b)
    except ValueError:
        check(fn, a, b, raises=ValueError)
    else:
        check(fn, a, b, **TOL["float64"])


def matmul_scalar(a):
    return a @ 2.0


def test_matmul_of_a_scalar_is_a_value_error():
    with pytest.raises(ValueError, match="does not have enough dimensions"):
        jit(matmul_scalar)(np.ones(3))


def three_d(a, b):
    return a @ b


def test_more_than_two_dimensions_is_refused_clearly():
    from hybridjit import UnsupportedError

    with pytest.raises(UnsupportedError, match="3-D operand"):
        jit(three_d)(np.ones((2, 2, 2)), np.ones((2, 2)))


def test_explain_shows_one_nest_and_no_temporary():
    fn = jit(rows_in_prange)
    plan = fn.explain(np.ones((3, 2)), np.ones(2), np.zeros(3))
    line = rows_in_prange.__code__.co_firstlineno + 2
    stmt = plan.array_at(line)
    assert stmt.temporaries == [] and "no temporary" in str(plan)


# --------------------------------------------------------------------------
# large float products call NumPy's own matrix product (its BLAS)
# --------------------------------------------------------------------------


def product_plus_one(a, b):
    c = a @ b
    return c + 1.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["C", "strided", "negative", "transposed"])
def test_large_products_through_the_library(dtype, kind):
    a = make_view(kind, (48, 40), dtype, seed=1)
    b = make_view(kind, (40, 36), dtype, seed=2)
    t = TOL[dtype] if dtype == "float32" else {"rtol": 1e-10, "atol": 1e-10}
    check(matmul_operator, a, b, **t)
    check(product_plus_one, a, b, **t)
    check(matmul_operator, a, a.T, **t)


def test_library_products_check_extents_first():
    check(matmul_operator, np.ones((50, 40)), np.ones((30, 50)), raises=ValueError)


def products_in_a_loop(a, b, steps):
    c = np.zeros((a.shape[0], b.shape[1]))
    for _ in range(steps):
        c = c + a @ b
    return c


def test_plan_says_when_the_library_is_called():
    a, b = np.ones((40, 40)), np.ones((40, 40))
    top = jit(matmul_operator).explain(a, b).array_at(
        matmul_operator.__code__.co_firstlineno + 1)
    assert top.library and "BLAS" in top.library[0]
    inner = jit(products_in_a_loop).explain(a, b, 2).array_at(
        products_in_a_loop.__code__.co_firstlineno + 3)
    assert inner.library == []  # inside a loop: the nest (no GIL in parallel threads)
    check(products_in_a_loop, a, b, 3, **TOL["float64"])
    ints = jit(matmul_operator).explain(np.ones((40, 40), np.int64), np.ones((40, 40), np.int64))
    assert ints.array_at(matmul_operator.__code__.co_firstlineno + 1).library == []


def test_row_products_in_a_loop_enter_threads_only_when_long():
    # the reduction nest of L[i, :i] @ x[:i] ran as a prange loop: an OpenMP
    # region per row, most of the time of a triangular solve
    plan = jit(forward_substitution).explain(np.eye(4), np.ones(4))
    stmt = plan.array_at(forward_substitution.__code__.co_firstlineno + 4)
    assert "runs in parallel when it has at least" in " ".join(stmt.lines())


# --------------------------------------------------------------------------
# products on devices (poisoned buffers: a missing transfer is a wrong answer)
# --------------------------------------------------------------------------


def small_product(a, b):
    return a @ b


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_products_offloaded_as_nests(offload_kind, dtype):
    # a product below the library's size runs as its reduction nest, which
    # is a region: on the device, with exactly its operands moved
    a, b = arr((20, 12), dtype, 1), arr((12, 9), dtype, 2)
    fn = jit(small_product, target=offload_kind)
    got = fn(a, b)
    want = a @ b
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, **tol(a, b))
    regions = fn.last_stats["regions"]
    assert regions and all(r["reason"] == "offloaded" for r in regions), regions


def test_row_products_in_prange_offloaded(offload_kind):
    A, x = arr((40, 30), "float64", 3), arr(30, "float64", 4)
    y, want = np.zeros(40), np.zeros(40)
    fn = jit(rows_in_prange, target=offload_kind)
    fn(A, x, y)
    rows_in_prange(A, x, want)
    np.testing.assert_allclose(y, want, rtol=1e-12)
    regions = fn.last_stats["regions"]
    assert regions and regions[0]["reason"] == "offloaded", regions


def test_hoisted_shape_checks_keep_python_semantics():
    # the extents check of A[i, :] @ x runs once, before the loop, only when
    # the loop runs (transform/hoist.py): no rows, no error, as in Python
    check(rows_in_prange, np.ones((0, 3)), np.ones(4), np.zeros(0))
    check(rows_in_prange, np.ones((2, 3)), np.ones(4), np.zeros(2), raises=ValueError)
    fn = jit(rows_in_prange)
    from hybridjit.ir.nodes import For
    from hybridjit.ir.visit import walk
    from hybridjit.pipeline import analyse

    types = fn.arg_types((np.ones((2, 3)), np.ones(3), np.zeros(2)))
    program, _, _ = analyse(rows_in_prange, types, fn.options)
    loop = next(s for s in program.entry.body if isinstance(s, For))
    assert not any(getattr(n, "name", "").startswith("host.") for n in walk(loop))


# --------------------------------------------------------------------------
# out=
# --------------------------------------------------------------------------


def matmul_out(a, b, c):
    r = np.matmul(a, b, out=c)
    return r


def dot_out(a, b, c):
    return np.dot(a, b, out=c)


def dot_into_rows(a, b, c):
    np.dot(a, b, out=c[1:])


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128", "int64"])
def test_out_stores_the_product_and_returns_out(dtype):
    a, b = arr((4, 3), dtype, 1), arr((3, 5), dtype, 2)
    check(matmul_out, a, b, np.zeros((4, 5), dtype), **tol(a, b))
    check(dot_out, a, b, np.zeros((4, 5), dtype), **tol(a, b))
    check(dot_out, a, b[:, 0], np.zeros(4, dtype), **tol(a, b))
    check(dot_into_rows, a, b, np.zeros((5, 5), dtype), **tol(a, b))
    big_a, big_b = arr((40, 40), dtype, 3), arr((40, 40), dtype, 4)  # (BLAS for floats)
    check(matmul_out, big_a, big_b, np.zeros((40, 40), dtype), **tol(big_a, big_b))
    c = np.zeros((4, 5), dtype)
    assert jit(matmul_out)(a, b, c) is c and jit(dot_out)(a, b, c) is c  # out itself


def test_out_sharing_memory_with_an_operand():
    a = arr((5, 5), "float64", 5)
    check(matmul_out, a, a.copy(), a, **TOL["float64"])  # (out is a itself)


def test_out_errors_are_numpys():
    a, b = arr((4, 3), "float64", 1), arr((3, 5), "float64", 2)
    check(matmul_out, a, b, np.zeros((4, 6)), raises=ValueError)
    with pytest.raises(TypeError, match="same_kind"):  # (NumPy's UFuncTypeError)
        jit(matmul_out)(a, b, np.zeros((4, 5), np.int64))
    check(matmul_out, a, b, np.zeros((4, 5), np.float32))  # float64 -> float32: same kind
    check(dot_out, a, b, np.zeros((4, 5), np.float32), raises=ValueError)  # dot: exact dtype
    check(dot_out, a, b, np.zeros((5, 4)).T, raises=ValueError)  # dot: a C-array
