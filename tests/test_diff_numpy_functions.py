"""Differential tests against NumPy: helper functions that allocate and
return arrays (inlined into their callers), tuples of arrays, dtype
parameters, keyword arguments and defaults, @jit calling @jit (issue 11,
scope 5).  NumPy running the same functions is the oracle."""

from __future__ import annotations

import numpy as np
import pytest

import hybridjit as hj
from difftest import check, make_view, random_array
from hybridjit.errors import HybridJitError

FLOAT_TOL = {"rtol": 1e-12, "atol": 1e-12}


# --------------------------------------------------------------------------
# helpers that allocate and return arrays
# --------------------------------------------------------------------------


def new_filled(n, value, dtype=np.float64):
    out = np.empty(n, dtype=dtype)
    out[:] = value
    return out


def uses_new_filled(n):
    a = new_filled(n, 1.5)
    b = new_filled(n, 3, np.int32)
    c = new_filled(n, 2, dtype="float32")
    return a, b, c


@pytest.mark.parametrize("n", [0, 1, 5])
def test_helper_allocates_with_dtype_parameter(n):
    check(uses_new_filled, n)


def cnd(d):
    """The cumulative normal by polynomial (a helper returning an array)."""
    k = 1.0 / (1.0 + 0.2316419 * np.abs(d))
    poly = k * (0.31938153 + k * (-0.356563782 + k * (1.781477937 + k * (
        -1.821255978 + k * 1.330274429))))
    w = 1.0 - 0.3989422804014327 * np.exp(-0.5 * d * d) * poly
    return np.where(d < 0, 1.0 - w, w)


def black_scholes(S, K, T, r, v, call, put):
    sqt = np.sqrt(T)
    d1 = (np.log(S / K) + (r + 0.5 * v * v) * T) / (v * sqt)
    d2 = d1 - v * sqt
    disc = K * np.exp(-r * T)
    call[:] = S * cnd(d1) - disc * cnd(d2)
    put[:] = disc * (1.0 - cnd(d2)) - S * (1.0 - cnd(d1))


@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_black_scholes_with_array_helper(n):
    rng = np.random.default_rng(n)
    S, K, T = rng.uniform(5, 30, n), rng.uniform(1, 100, n), rng.uniform(0.25, 10, n)
    check(black_scholes, S, K, T, 0.02, 0.3, np.zeros(n), np.zeros(n), **FLOAT_TOL)


def two_results(a):
    b = a * 2
    return b, a + 1


def unpack_two(a):
    p, q = two_results(a)
    r = two_results(q)
    return p - q, r[0], r[1]


@pytest.mark.parametrize("dtype", ["int32", "float32", "float64", "uint8"])
def test_helper_returns_a_tuple_of_arrays(dtype):
    check(unpack_two, random_array(6, dtype, seed=3))


def view_or_copy(a, flag):
    if flag:
        return a[::-1]
    c = a.copy()
    c[0] = 5
    return c


def calls_view_or_copy(a, flag):
    return view_or_copy(a, flag)


@pytest.mark.parametrize("flag", [True, False])
@pytest.mark.parametrize("kind", ["C", "strided", "negative"])
def test_helper_early_return_view_or_copy(flag, kind):
    check(calls_view_or_copy, make_view(kind, 6, "float64"), flag)


def guarded(a, lo):
    if a.shape[0] == 0:
        return np.zeros(1)
    elif lo > 0:
        b = a[lo:]
    else:
        return a * 0.5
    b = b + 1.0
    return b


def calls_guarded(a, lo):
    return guarded(a, lo), guarded(a[:0], lo)


@pytest.mark.parametrize("lo", [-1, 0, 2])
def test_helper_returns_on_several_paths(lo):
    check(calls_guarded, np.arange(5.0), lo)


def normalised(x, scale=2.0):
    return x / (scale * np.sqrt(np.sum(x * x)))


def keywords_and_defaults(a):
    return normalised(a) + normalised(a, scale=3.0) + normalised(scale=0.5, x=a)


def test_helper_keywords_and_defaults():
    check(keywords_and_defaults, np.arange(1.0, 9.0), **FLOAT_TOL)


def smooth(a):
    out = np.empty_like(a)
    out[1:-1] = (a[:-2] + a[1:-1] + a[2:]) / 3.0
    out[0] = a[0]
    out[-1] = a[-1]
    return out


def smooth_twice_in_a_loop(a, steps):
    for _ in range(steps):
        a = smooth(smooth(a))
    return a


@pytest.mark.parametrize("steps", [0, 1, 3])
def test_helper_called_in_a_loop_and_nested(steps):
    check(smooth_twice_in_a_loop, np.linspace(0.0, 1.0, 9) ** 2, steps, **FLOAT_TOL)


def row_sums(m):
    return m.sum(axis=1)


def total_of_rows(m):
    return np.sum(row_sums(m)), row_sums(m.T)


@pytest.mark.parametrize("dtype", ["int64", "float64", "bool"])
def test_helper_with_reduction_result(dtype):
    check(total_of_rows, random_array((3, 4), dtype, seed=1))


def fills(out, v):
    out[:] = v


def calls_procedure(a):
    fills(a[1:], 7)
    fills(a[:1], -1)


def test_helper_with_array_statement_and_no_result():
    check(calls_procedure, np.zeros(5, np.int32))


@hj.jit
def jitted_square_plus_one(a):
    return a * a + 1


def calls_jitted(a):
    return jitted_square_plus_one(a)[1:]


def test_jit_function_calling_jit_function_returning_array():
    check(calls_jitted, np.arange(6, dtype=np.int64))
    # the inner one also works on its own
    a = np.arange(4.0)
    np.testing.assert_array_equal(jitted_square_plus_one(a), a * a + 1)


# --------------------------------------------------------------------------
# errors at the user's line
# --------------------------------------------------------------------------


def returns_in_loop(a):
    for i in range(a.shape[0]):
        if a[i] > 0:
            return a[i:]
    return a


def calls_returns_in_loop(a):
    return returns_in_loop(a) * 2


def in_conditional(a, c):
    return two_results(a)[0] if c else a


def mixed_none(a, c):
    if c:
        return a * 2


def calls_mixed_none(a, c):
    return mixed_none(a, c)


@pytest.mark.parametrize(("fn", "args", "words", "line_of"), [
    (calls_returns_in_loop, (np.ones(3), ), "'return' inside a loop", "return a[i:]"),
    (in_conditional, (np.ones(3), True), "might not be evaluated", "two_results(a)[0]"),
    (calls_mixed_none, (np.ones(3), True), "returns a value on some paths", "def mixed_none"),
])
def test_helper_errors_at_the_users_line(fn, args, words, line_of):
    import inspect

    with pytest.raises(HybridJitError) as info:
        hj.jit(fn)(*args)
    err = info.value
    assert words in str(err)
    src, _ = inspect.getsourcelines(__import__(__name__))  # whole module
    line = next(k for k, text in enumerate(src, start=1) if line_of in text)
    assert err.loc is not None and err.loc.line == line


# --------------------------------------------------------------------------
# keyword arguments and defaults at the outer call
# --------------------------------------------------------------------------


def scaled_steps(a, steps=3, scale=2.0):
    for _ in range(steps):
        a = a * scale
    return a


@pytest.mark.parametrize(("args", "kwargs"), [
    ((), {}), ((), {"steps": 1}), ((2,), {"scale": 0.5}), ((), {"scale": 1.5, "steps": 0}),
])
def test_outer_call_keywords_bound_by_pythons_rules(args, kwargs):
    f = hj.jit(scaled_steps)
    a = np.arange(4.0)
    np.testing.assert_array_equal(f(a, *args, **kwargs), scaled_steps(a, *args, **kwargs))
    np.testing.assert_array_equal(f(a=a, **kwargs), scaled_steps(a=a, **kwargs))


@pytest.mark.parametrize("kwargs", [{"stepz": 1}, {"a": 1.0}])
def test_outer_call_bad_keywords_are_pythons_typeerror(kwargs):
    f = hj.jit(scaled_steps)
    with pytest.raises(TypeError, match="scaled_steps"):
        f(np.ones(2), **kwargs)


# --------------------------------------------------------------------------
# iteration forms and Python's builtins over arrays
# --------------------------------------------------------------------------

ITER_DTYPES = ["bool", "int32", "int64", "uint8", "float32", "float64"]


def iterate_elements(a):
    s = 0
    n = 0
    for x in a:
        s = s + x
        n += 1
    return s, n


def iterate_rows(m):
    out = np.zeros(m.shape[1:], dtype=np.float64)
    for row in m:
        out += row * 2
    return out


def enumerate_and_zip(a, b):
    s = 0.0
    for i, x in enumerate(a):
        s += i * x
    for x, y in zip(a, b):
        s += x - y
    for j, (x, y) in enumerate(zip(a, b), 5):
        s += j * x * y
    for k, x in enumerate(b, start=-2):
        s -= k * x
    return s


def last_row_after_loop(m):
    r = 0.0
    for i, row in enumerate(m):
        r += np.sum(row) * i
    return r, row


def iterate_view_being_written(a):
    for x in a[::-1]:
        a[0] = a[0] + x  # the iterator reads live elements, as NumPy's does
    return a


@pytest.mark.parametrize("dtype", ITER_DTYPES)
@pytest.mark.parametrize("kind", ["C", "strided", "negative"])
@pytest.mark.parametrize("n", [0, 1, 6])
def test_iterate_elements(dtype, kind, n):
    # (s stays the Python int 0 when a is empty: the documented one-type departure)
    check(iterate_elements, make_view(kind, n, dtype, seed=n), check_type="kind")


@pytest.mark.parametrize("shape", [(0, 3), (1, 1), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("dtype", ["int32", "float64", "bool"])
def test_iterate_rows(shape, dtype):
    check(iterate_rows, random_array(shape, dtype, seed=2))


@pytest.mark.parametrize(("na", "nb"), [(0, 3), (4, 4), (5, 2), (3, 7)])
def test_enumerate_and_zip(na, nb):
    check(enumerate_and_zip, random_array(na, "float64", seed=1),
          random_array(nb, "int32", seed=2)[::-1])


def test_loop_variable_after_the_loop_and_overwritten_iterable():
    check(last_row_after_loop, np.arange(12.0).reshape(3, 4))
    check(iterate_view_being_written, np.arange(5, dtype=np.int64))


def test_loop_variable_unbound_after_an_empty_iteration():
    check(last_row_after_loop, np.zeros((0, 4)), raises=UnboundLocalError)


def builtin_sum_min_max(a):
    return sum(a), sum(a, 0.5), min(a), max(a)


def builtin_sum_start_keyword(a):
    return sum(a, start=10)


@pytest.mark.parametrize("dtype", ITER_DTYPES)
@pytest.mark.parametrize("kind", ["C", "strided", "negative"])
@pytest.mark.parametrize("n", [1, 2, 9])
def test_builtin_sum_min_max(dtype, kind, n):
    check(builtin_sum_min_max, make_view(kind, n, dtype, seed=n + 7))
    check(builtin_sum_start_keyword, make_view(kind, n, dtype, seed=n))


@pytest.mark.parametrize("values", [[1.0, np.nan, 0.5], [np.nan, 1.0], [2.0, -0.0, 0.0, -1.0]])
def test_builtin_min_max_follow_pythons_comparisons(values):
    check(builtin_sum_min_max, np.array(values))


def test_builtin_min_of_empty_array_raises_pythons_valueerror():
    check(builtin_sum_min_max, np.zeros(0), raises=ValueError)


def builtin_sum_2d(m):
    return sum(m)


def builtin_min_with_key(a):
    return min(a, key=abs)


@pytest.mark.parametrize(("fn", "words"), [
    (builtin_sum_2d, "np.sum(a, axis=0)"), (builtin_min_with_key, "key="),
])
def test_builtin_reductions_outside_the_subset_are_refused(fn, words):
    with pytest.raises(HybridJitError, match=words.replace("(", r"\(").replace(")", r"\)")):
        hj.jit(fn)(np.ones((2, 2)) if fn is builtin_sum_2d else np.ones(2))
