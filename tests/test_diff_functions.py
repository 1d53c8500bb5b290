"""Differential tests: plain (undecorated) helper functions compiled along with
the caller, tuple returns and unpacking, module-level numeric constants, and
recursion rejected as a compile-time error."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

from difftest import check, make_view, random_array
from hybridjit import HybridJitError, jit

SCALE = 2.5
N_TERMS = 4
OFFSET = -3
USE_SQUARE = True
F32_STEP = np.float32(0.1)

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def sq(x):
    return x * x


def poly(x):
    return sq(x) * 3 + x - 1  # helper calling a helper


def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def fill_row(out, i, v):
    for j in range(out.shape[1]):
        out[i, j] = v * j


def divmod_helper(a, b):
    return a // b, a % b


def call_helpers(a, out):
    s = 0.0
    for i in range(a.shape[0]):
        s += poly(a[i]) + clamp(a[i], -1.0, 1.0)
        fill_row(out, i, sq(i))
    return s, sq(3), sq(1.5)  # one helper, three specialisations (float, int, float)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_helper_functions_compiled_along(dtype):
    check(call_helpers, random_array(6, dtype, seed=1), np.zeros((6, 4)))


def use_divmod(x, y):
    q, r = divmod_helper(x, y)
    return q * y + r == x, q, r


@pytest.mark.parametrize(("x", "y"), [(17, 5), (-17, 5), (17.5, -4.0)])
def test_helper_returning_tuple(x, y):
    check(use_divmod, x, y)


def helper_mutates(a):
    for i in range(a.shape[0]):
        bump_elem(a, i)
    return a[0]


def bump_elem(a, i):
    a[i] += i + 1  # a helper writing into the caller's array (view)


@pytest.mark.parametrize("kind", ["C", "negative"])
def test_helper_mutates_array_argument(kind):
    check(helper_mutates, make_view(kind, 7, "int64"))


def make_ramp(n, step):
    r = np.zeros(n)
    for i in range(n):
        r[i] = i * step
    return r


def use_allocating_helper(n):
    a = make_ramp(n, 0.5)
    b = make_ramp(n + 1, 2)
    return a, b[n], sq(a.shape[0])


@pytest.mark.parametrize("n", [0, 1, 3])
def test_helper_allocating_an_array_is_inlined(n):
    """A helper that allocates and returns an array is lowered into its
    caller (frontend/inline.py); the result is NumPy's."""
    check(use_allocating_helper, n)


# --------------------------------------------------------------------------
# tuples: returns, packing, unpacking, swaps
# --------------------------------------------------------------------------


def swap_loop(a, b, n):
    for _ in range(n):
        a, b = b, a + b
    return a, b


@pytest.mark.parametrize(("a", "b", "n"), [(0, 1, 10), (1.5, 2.0, 5), (3, 4, 0)])
def test_tuple_swap(a, b, n):
    check(swap_loop, a, b, n)


def rotate3(x, y, z):
    x, y, z = y, z, x
    t = (x, y)
    p, q = t
    return (p, q), z, (x + y + z,)


def test_nested_tuple_return_and_unpack():
    check(rotate3, 1, 2, 3)
    check(rotate3, 1.5, 2.5, 3.5)


def shape_unpack(x):
    n, m = x.shape
    rows, cols = n, m
    return rows * cols, (rows, cols), x.shape


@pytest.mark.parametrize("kind", ["C", "transposed"])
def test_unpack_shape(kind):
    check(shape_unpack, make_view(kind, (3, 7), "float32"))


def return_arrays_and_scalar(n):
    a = np.zeros(n)
    b = np.ones(n, dtype=np.int32)
    s = 0.0
    for i in range(n):
        a[i] = i * 1.5
        b[i] = i * i
        s += a[i]
    return a, b, s


@pytest.mark.parametrize("n", [0, 1, 5])
def test_return_tuple_of_arrays_and_scalar(n):
    check(return_arrays_and_scalar, n, check_type="kind" if n == 0 else True)


def mixed_tuple(x):
    return x, x * 2, x > 1, float(x) / 3


def test_return_mixed_type_tuple():
    check(mixed_tuple, 3)
    check(mixed_tuple, np.float32(1.5))


def unpack_helper(a):
    lo, hi = minmax_helper(a)
    return hi - lo


def minmax_helper(a):
    lo = a[0]
    hi = a[0]
    for i in range(a.shape[0]):
        lo = min(lo, a[i])
        hi = max(hi, a[i])
    return lo, hi


def test_unpack_helper_result():
    check(unpack_helper, random_array(11, "float64", seed=3))


# --------------------------------------------------------------------------
# module-level constants (resolved at compile time)
# --------------------------------------------------------------------------


def use_constants(a):
    s = 0.0
    for i in range(min(N_TERMS, a.shape[0])):
        v = a[i] * SCALE + OFFSET
        if USE_SQUARE:
            v = v * v
        s += v
    return s, N_TERMS, SCALE


def test_module_constants():
    check(use_constants, random_array(9, "float64", seed=4))


def use_f32_constant(x):
    return x * F32_STEP, x + F32_STEP


def test_numpy_scalar_module_constant_keeps_its_dtype():
    check(use_f32_constant, 3.0)      # float * float32 constant -> float32
    check(use_f32_constant, np.float64(3.0))


# --------------------------------------------------------------------------
# recursion is a compile-time error
# --------------------------------------------------------------------------


def fact(n):
    if n <= 1:
        return 1
    return n * fact(n - 1)  # RECURSIVE CALL


def ping(n):
    return 0 if n <= 0 else pong(n - 1)


def pong(n):
    return 1 if n <= 0 else ping(n - 1)  # MUTUAL RECURSIVE CALL


def _marker_line(func, marker):
    lines, start = inspect.getsourcelines(func)
    for k, text in enumerate(lines):
        if marker in text:
            return start + k
    raise AssertionError(f"marker {marker!r} not in {func.__name__}")


@pytest.mark.parametrize(("entry", "where", "marker"), [
    (fact, fact, "# RECURSIVE CALL"),
    (ping, None, None),
])
def test_recursion_is_a_compile_error(entry, where, marker):
    with pytest.raises(HybridJitError) as info:
        jit(entry)(5)
    msg = str(info.value)
    first = msg.splitlines()[0]
    m = re.match(r"^(.+?):(\d+):(\d+): ", first)
    assert m, msg
    assert m.group(1).endswith("test_diff_functions.py"), msg
    if where is not None:
        assert int(m.group(2)) == _marker_line(where, marker), msg
    else:
        lines = {_marker_line(pong, "# MUTUAL RECURSIVE CALL"),
                 inspect.getsourcelines(ping)[1] + 1}
        assert int(m.group(2)) in lines, msg
    assert "hint:" in msg
