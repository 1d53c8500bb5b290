"""Differential tests: plain ``range`` loops at sizes large enough that any
automatic parallelisation or vectorisation would kick in.  Their meaning is
CPython's sequential meaning: loop-carried dependences, recurrences, first-
index ties, early exits, exceptions, aliasing and the exact order of
floating-point sums (reassociation is only allowed with ``fastmath=True``)."""

from __future__ import annotations

import numpy as np
import pytest

from difftest import check, random_array

N = 100_003


def prefix_in_place(a):
    for i in range(1, a.shape[0]):
        a[i] += a[i - 1]


def test_prefix_sum_in_place():
    check(prefix_in_place, random_array(N, "int64", seed=1))


def shift_left(a):
    for i in range(a.shape[0] - 1):
        a[i] = a[i + 1]


def shift_right(a):
    for i in range(a.shape[0] - 1, 0, -1):
        a[i] = a[i - 1]


def shift_right_forward(a):
    for i in range(1, a.shape[0]):
        a[i] = a[i - 1] * 0.5 + a[i]


@pytest.mark.parametrize("f", [shift_left, shift_right, shift_right_forward])
def test_shifts_with_dependences(f):
    check(f, random_array(N, "float64", seed=2))


def histogram(idx, h):
    for i in range(idx.shape[0]):
        h[idx[i]] += 1


def test_histogram_indirect_updates():
    idx = random_array(N, "int64", seed=3, low=0, high=15)
    check(histogram, idx, np.zeros(16, np.int64))


def recurrence(a):
    s = 0.0
    for i in range(a.shape[0]):
        s = s * 0.999 + a[i]
    return s


def test_non_associative_recurrence():
    check(recurrence, random_array(N, "float64", seed=4), rtol=0, atol=0)


def plain_sum(a):
    s = 0
    for i in range(a.shape[0]):
        s += a[i]
    return s


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_sum_in_sequential_order_exactly(dtype):
    # without fastmath the sum is CPython's left-to-right sum, bit for bit
    a = random_array(N, dtype, seed=5) * np.array(1000, dtype)
    a[::7] *= np.array(1e-6, dtype)
    check(plain_sum, a, rtol=0, atol=0)


def first_argmax(a):
    best = a[0]
    k = 0
    for i in range(a.shape[0]):
        if a[i] > best:
            best = a[i]
            k = i
    return best, k


def test_argmax_first_index_on_ties():
    check(first_argmax, random_array(N, "int32", seed=6, low=0, high=50))


def first_above(a, t):
    for i in range(a.shape[0]):
        if a[i] > t:
            return i
    return -1


def count_until(a, t):
    c = 0
    i = 0
    for i in range(a.shape[0]):
        if a[i] > t:
            break
        c += 1
    return c, i


@pytest.mark.parametrize("t", [1.999, 5.0])
def test_early_exit(t):
    a = random_array(N, "float64", seed=7)
    check(first_above, a, t)
    check(count_until, a, t)


def last_loop_value(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * a[i]
    return i


def test_loop_variable_after_large_loop():
    check(last_loop_value, random_array(N, "float64", seed=8))


def carry_last_positive(a, out):
    last = 0.0
    for i in range(a.shape[0]):
        if a[i] > 0:
            last = a[i]
        out[i] = last


def test_conditionally_carried_scalar():
    a = random_array(N, "float64", seed=9)
    check(carry_last_positive, a, np.zeros(N))


def div_in_loop(n, k):
    s = 0.0
    for i in range(n):
        s += 1 / (i - k)
    return s


def test_zero_division_in_large_loop_raises():
    check(div_in_loop, N, N - 10, raises=ZeroDivisionError)


def add_into(x, y):
    for i in range(x.shape[0]):
        x[i] = x[i] + y[i]


def test_aliased_views_large():
    base = random_array(N, "float64", seed=10)
    check(add_into, base, base[::-1])
    base2 = random_array(N + 1, "float64", seed=11)
    check(add_into, base2[1:], base2[:-1])


def gauss_seidel(u, sweeps):
    n, m = u.shape
    for _ in range(sweeps):
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                u[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1])


def test_in_place_stencil_gauss_seidel():
    check(gauss_seidel, random_array((301, 257), "float64", seed=12), 3, rtol=0, atol=0)


def elementwise(a, out):
    for i in range(a.shape[0]):
        out[i] = a[i] * 2.0 + 1.0


def test_independent_elementwise_large():
    check(elementwise, random_array(N, "float32", seed=13), np.zeros(N, np.float32),
          rtol=0, atol=0)
