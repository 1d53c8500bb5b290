"""Differential tests against NumPy: the functions the compiled code calls
NumPy for (issue 12, items 2 and 4): sorting, unique, searchsorted,
histogram, bincount, np.linalg, cov/corrcoef/trace/diag/triu/tril; their
results, dtypes, tuple results and errors (LinAlgError, ValueError), views
as operands, 0- and 1-size operands, calls in loops (which stay serial),
and the refusals (prange, conditional evaluation, 0-d results).
"""

from __future__ import annotations

import numpy as np
import pytest

from difftest import check, get_jit, make_view, random_array
from hybridjit import TypingError, UnsupportedError, jit, prange

FLOATS = ["float32", "float64"]
TOL = {"float32": {"rtol": 2e-5, "atol": 1e-5}, "float64": {"rtol": 1e-12, "atol": 1e-12}}


def spd(n: int, dtype: str = "float64", seed: int = 0) -> np.ndarray:
    """A symmetric positive definite matrix, well conditioned."""
    a = random_array((n, n), "float64", seed)
    return (a @ a.T + n * np.eye(n)).astype(dtype)


# --------------------------------------------------------------------------
# sorting and searching
# --------------------------------------------------------------------------


def sort(a):
    return np.sort(a)


def sort_axis0(a):
    return np.sort(a, axis=0)


def argsort_stable(a):
    return np.argsort(a, kind="stable"), a.argsort(kind="stable")


def sorted_then_used(a):
    s = np.sort(a * 2)
    return s[0] + s[-1]


@pytest.mark.parametrize("dtype", ["bool", "int8", "int32", "int64", "uint16", *FLOATS])
@pytest.mark.parametrize("n", [0, 1, 2, 17])
def test_sort_and_argsort_1d(dtype, n):
    a = random_array(n, dtype, seed=n)
    if dtype != "bool":
        a[::3] = a[0] if n else a[::3]  # ties: a stable argsort keeps their order
    check(sort, a)
    check(argsort_stable, a)


@pytest.mark.parametrize("kind", ["C", "strided", "negative", "transposed"])
def test_sort_views_and_axes(kind):
    a = make_view(kind, (5, 4), "float64", seed=3)
    check(sort, a)
    check(sort_axis0, a)
    check(argsort_stable, a)


def sort_in_place(a):
    a.sort()


def sort_rows_in_place(a):
    a[1:].sort(axis=0, kind="stable")
    return a.sort()  # (None)


@pytest.mark.parametrize("kind", ["C", "strided", "negative", "transposed"])
@pytest.mark.parametrize("dtype", ["int16", "float32", "complex128"])
def test_sort_method_sorts_in_place(kind, dtype):
    a = make_view(kind, (5, 4), dtype, seed=4)
    check(sort_in_place, a)
    check(sort_rows_in_place, a)
    check(sort_in_place, random_array(0, dtype))


def test_sort_with_nan_puts_it_last():
    check(sort, np.array([3.0, np.nan, -1.0, np.inf, 0.0]))


def test_sort_result_used_by_compiled_code():
    check(sorted_then_used, random_array(9, "float64", 1))
    check(sorted_then_used, np.zeros(0), raises=IndexError, jit_options={"boundscheck": True})


def search(a, v):
    return np.searchsorted(a, v), np.searchsorted(a, v, side="right")


def search_sorter(a, v):
    return np.searchsorted(a, v, sorter=np.argsort(a))


@pytest.mark.parametrize("dtype", ["int32", "int64", *FLOATS])
def test_searchsorted_scalars_and_arrays(dtype):
    a = np.sort(random_array(11, dtype, seed=4))
    a[3:6] = a[4]
    for v in (a[4], a[0] - 1, a[-1] + 1):
        check(search, a, v)
    check(search, a, random_array((2, 3), dtype, seed=5))
    check(search, a[::-2][::-1], a[:4])
    check(search, np.zeros(0, dtype), random_array(3, dtype))
    check(search_sorter, random_array(8, dtype, seed=6), random_array(4, dtype, seed=7))


def unique_all(a):
    return np.unique(a, return_index=True, return_inverse=True, return_counts=True)


def unique_counts(a):
    u, c = np.unique(a, return_counts=True)
    return u[c > 1]


@pytest.mark.parametrize("dtype", ["bool", "int8", "int64", *FLOATS])
@pytest.mark.parametrize("n", [0, 1, 12])
def test_unique(dtype, n):
    a = (random_array(n, "float64", seed=8) * 4).astype(dtype)
    check(np.unique, a, cfunc=get_jit(sort_unique))  # (sanity of the oracle below)
    check(unique_all, a)
    check(unique_counts, a)


def sort_unique(a):
    return np.unique(a)


def test_unique_of_2d_flattens():
    check(sort_unique, (random_array((3, 4), "float64", 9) * 3).astype(np.int16))


# --------------------------------------------------------------------------
# histograms and counts
# --------------------------------------------------------------------------


def hist_bins(a, n):
    return np.histogram(a, bins=n)


def hist_range(a, lo, hi):
    return np.histogram(a, 5, range=(lo, hi))


def hist_edges(a, edges):
    return np.histogram(a, bins=edges)


def hist_weighted(a, w):
    return np.histogram(a, bins=4, weights=w, density=True)


@pytest.mark.parametrize("dtype", ["int32", "uint8", *FLOATS])
def test_histogram(dtype):
    a = (random_array(40, "float64", seed=10) * 20).astype(dtype)
    check(hist_bins, a, 7)
    check(hist_bins, a, 1)
    check(hist_range, a, 2.0, 12.5)
    check(hist_edges, a, np.array([0.0, 1.0, 5.0, 19.0]))
    check(hist_weighted, a, random_array(40, "float64", seed=11))
    check(hist_bins, a[::-3], 3)


def test_histogram_errors_are_numpys():
    a = random_array(10, "float64")
    check(hist_bins, a, 0, raises=ValueError)
    check(hist_range, a, 3.0, 1.0, raises=ValueError)
    check(hist_edges, a, np.array([1.0, 0.0, 2.0]), raises=ValueError)


def counts(x):
    return np.bincount(x)


def counts_weighted(x, w, n):
    return np.bincount(x, weights=w, minlength=n)


def test_bincount():
    x = (np.abs(random_array(30, "float64", 12)) * 9).astype(np.int64)
    check(counts, x)
    check(counts, x.astype(np.uint8)[::2])
    check(counts, np.zeros(0, np.int64))
    check(counts_weighted, x, random_array(30, "float64", 13), 12)
    check(counts_weighted, x, random_array(30, "float32", 13), 0)
    check(counts, np.array([1, -1, 2]), raises=ValueError)


# --------------------------------------------------------------------------
# np.linalg
# --------------------------------------------------------------------------


def solve(a, b):
    return np.linalg.solve(a, b)


def inverse_and_det(a):
    return np.linalg.inv(a), np.linalg.det(a), np.linalg.slogdet(a)


def factorisations(a):
    c = np.linalg.cholesky(a)
    q, r = np.linalg.qr(a)
    w, v = np.linalg.eigh(a)
    return c, q, r, w, v, np.linalg.eigvalsh(a)


def svds(a):
    u, s, vt = np.linalg.svd(a)
    return u, s, vt, np.linalg.svd(a, compute_uv=False), np.linalg.svd(a, full_matrices=False)


def norms(a, x):
    return (np.linalg.norm(a), np.linalg.norm(x), np.linalg.norm(a, ord=1),
            np.linalg.norm(a, ord=np.inf), np.linalg.norm(x, ord=3), np.linalg.norm(a, "fro"),
            np.linalg.norm(a, axis=1))


def least_squares(a, b):
    x, res, rank, sv = np.linalg.lstsq(a, b)
    return x, res, rank, sv


def ranks_and_powers(a, k):
    return np.linalg.matrix_rank(a), np.linalg.pinv(a), np.linalg.matrix_power(a, k)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kind", ["C", "transposed", "negative"])
def test_solve_inverse_det(dtype, kind):
    a = make_view(kind, (6, 6), dtype, seed=14) + 6 * np.eye(6, dtype=dtype)
    b = random_array(6, dtype, seed=15)
    check(solve, a, b, **TOL[dtype])
    check(solve, a, random_array((6, 2), dtype, seed=16), **TOL[dtype])
    check(inverse_and_det, a, **TOL[dtype])


def test_integer_operands_promote_to_float64():
    a = np.array([[2, 1], [1, 3]], dtype=np.int32)
    check(solve, a, np.array([1, 2], dtype=np.int64))
    check(inverse_and_det, a)


def test_singular_matrix_raises_linalgerror():
    a = np.ones((3, 3))
    check(solve, a, np.ones(3), raises=np.linalg.LinAlgError)
    check(inverse_and_det, a, raises=np.linalg.LinAlgError)
    check(factorisations, -spd(3), raises=np.linalg.LinAlgError)  # not positive definite


def test_shape_errors_are_numpys():
    check(solve, np.eye(3), np.ones(4), raises=ValueError)
    check(inverse_and_det, np.ones((2, 3)), raises=np.linalg.LinAlgError)


@pytest.mark.parametrize("n", [0, 1, 5])
@pytest.mark.parametrize("dtype", FLOATS)
def test_factorisations(n, dtype):
    check(factorisations, spd(n, dtype, seed=n), **TOL[dtype])
    check(svds, random_array((n, n + 2), dtype, seed=n), **TOL[dtype])
    if n:
        check(norms, random_array((n, 3), dtype, seed=n), random_array(n, dtype), **TOL[dtype])


def test_lstsq_rank_and_powers():
    a = random_array((7, 3), "float64", 17)
    check(least_squares, a, random_array(7, "float64", 18), **TOL["float64"])
    check(least_squares, a, random_array((7, 2), "float64", 19), **TOL["float64"])
    sq = random_array((4, 4), "float64", 20)
    check(ranks_and_powers, sq, 3, **TOL["float64"])
    check(ranks_and_powers, sq, 0, **TOL["float64"])
    check(ranks_and_powers, np.array([[1, 2], [3, 4]]), 2)


# --------------------------------------------------------------------------
# statistics and matrix helpers
# --------------------------------------------------------------------------


def covariances(m):
    return np.cov(m), np.cov(m, rowvar=False, ddof=0), np.corrcoef(m)


def cov_of_two(x, y):
    return np.cov(x, y), np.corrcoef(x, y)


def helpers(a, k):
    return np.trace(a), a.trace(), np.trace(a, offset=k), np.triu(a), np.tril(a, k), \
        np.diag(np.diag(a)), np.diag(a[0], k)


@pytest.mark.parametrize("dtype", ["int32", *FLOATS])
def test_statistics(dtype):
    m = random_array((3, 8), dtype, seed=21)
    check(covariances, m, rtol=1e-5, atol=1e-6)
    check(cov_of_two, random_array(6, dtype, 22), random_array(6, dtype, 23),
          rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["bool", "int8", "int64", *FLOATS])
@pytest.mark.parametrize("k", [-1, 0, 2])
def test_matrix_helpers(dtype, k):
    from difftest import assert_same

    a = make_view("strided", (4, 5), dtype, seed=24)
    # (np.diag of a 2-D array is a read-only view in NumPy, a copy here:
    # compare values, not memory sharing)
    assert_same(helpers(a.copy(), k), get_jit(helpers)(a, k))


# --------------------------------------------------------------------------
# where the calls may be made
# --------------------------------------------------------------------------


def solve_each(a, bs):
    out = np.empty_like(bs)
    for k in range(bs.shape[0]):
        out[k] = np.linalg.solve(a, bs[k])
    return out


def test_calls_in_a_loop_keep_it_serial():
    a, bs = spd(4), random_array((5, 4), "float64", 25)
    check(solve_each, a, bs, **TOL["float64"])
    plan = jit(solve_each).explain(a, bs)
    loop = plan.loop_at(solve_each.__code__.co_firstlineno + 2)
    assert not loop.parallel and "np.linalg.solve" in loop.why
    call = plan.array_at(solve_each.__code__.co_firstlineno + 3)
    assert any("np.linalg.solve" in x for x in call.library)


def median_of(a):
    s = np.sort(a)
    return s[s.shape[0] // 2]


def uses_helper(a):
    return median_of(a) + median_of(a[1:])


def test_helpers_calling_numpy_are_inlined():
    check(uses_helper, random_array(9, "float64", 26))


def in_prange(a, out):
    for i in prange(a.shape[0]):
        out[i] = np.sort(a[i])[0]


def conditional(a):
    return a.shape[0] > 0 and np.linalg.det(a) > 0


def cov_1d(x):
    return np.cov(x)


def bad_keyword(a):
    return np.sort(a, order="x", axis=0)


def runtime_axis(a, k):
    return np.sort(a, axis=k)


def test_refusals_are_clear():
    a = np.ones((3, 3))
    with pytest.raises(UnsupportedError, match="inside a prange loop"):
        jit(in_prange)(a, np.zeros(3))
    with pytest.raises(UnsupportedError, match="assign its result to a variable"):
        jit(conditional)(a)
    with pytest.raises(UnsupportedError, match="0-d array"):
        jit(cov_1d)(np.ones(4))
    with pytest.raises(TypingError, match="unexpected keyword argument 'order'"):
        jit(bad_keyword)(np.ones(3))
    with pytest.raises(TypingError, match="axis must be a constant"):
        jit(runtime_axis)(a, 0)


def smooth_sort_scale(a, out):
    n = a.shape[0]
    for i in prange(1, n - 1):
        out[i] = (a[i - 1] + a[i] + a[i + 1]) / 3.0
    s = np.sort(out)
    for i in prange(n):
        out[i] = s[i] * 2.0
    return s


def test_device_results_reach_the_call_and_its_result_the_device(offload_kind):
    # the first region writes `out` on the device: np.sort must read the
    # device's values (copied back first), and the second region must read
    # the host array np.sort made (copied in); poisoned device buffers
    fn = jit(smooth_sort_scale, target=offload_kind)
    a = random_array(64, "float64", 27)
    out, out_py = np.full(64, 5.0), np.full(64, 5.0)
    got = fn(a, out)
    want = smooth_sort_scale(a, out_py)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(out, out_py, rtol=1e-14)
    regions = fn.last_stats["regions"]
    assert [r["reason"] for r in regions] == ["offloaded", "offloaded"], regions


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_linalg_and_sorting_of_complex_arrays(dtype):
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == "complex64" else TOL["float64"]
    a = random_array((5, 5), dtype, 30) + 5 * np.eye(5, dtype=dtype)
    check(solve, a, random_array(5, dtype, 31), **tol)
    check(inverse_and_det, a, **tol)
    h = a @ a.conj().T  # Hermitian positive definite
    check(factorisations, h, **tol)
    check(svds, a, **tol)
    check(sort, random_array(9, dtype, 32))  # (NumPy orders complex numbers lexicographically)
