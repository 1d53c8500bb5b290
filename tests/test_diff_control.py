"""Differential tests: control flow.  ``range`` with any start/stop/step
(negative and runtime steps), the loop variable after the loop, ``while``,
``break``/``continue``, ``if``/``elif``/``else``, conditional expressions,
short-circuit ``and``/``or``/``not`` (also value-returning), chained
comparisons, early ``return`` from nested loops."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from difftest import check, random_array, run_python

# --------------------------------------------------------------------------
# range
# --------------------------------------------------------------------------


def range3(start, stop, step):
    s = 0
    c = 0
    for i in range(start, stop, step):
        c += 1
        s += i * c
    return s, c


RANGES = [
    (0, 10, 1), (0, 10, 3), (0, 10, 7), (0, 10, 11), (3, 4, 1), (5, 5, 1), (7, 2, 1),
    (-5, 5, 2), (-5, -20, -3), (10, 0, -1), (10, 0, -3), (10, -1, -4), (0, 10, -1),
    (0, 0, -1), (-3, -1, 1), (2**40, 2**40 + 10, 4), (9, 0, -100),
]


@pytest.mark.parametrize(("start", "stop", "step"), RANGES)
def test_range_start_stop_step_runtime(start, stop, step):
    check(range3, start, stop, step)


def range_variants(n, m):
    s = 0
    for i in range(n):
        s += i
    for i in range(m, n):
        s += 3 * i
    for i in range(n, m, -2):
        s -= i
    for i in range(n - 1, -1, -1):
        s = s * 3 % 1000003 + i
    for i in range(2, n, 3):
        s += i
    return s


@pytest.mark.parametrize(("n", "m"), [(0, 0), (1, 0), (10, 3), (3, 10), (17, -5), (-4, 2)])
def test_range_literal_step_variants(n, m):
    check(range_variants, n, m)


def range_typed(a, n):
    s = 0
    for i in range(n):
        s += a[i]
    return s


def test_range_with_numpy_int_bound():
    a = random_array(9, "int64", seed=1)
    check(range_typed, a, np.int32(9))
    check(range_typed, a, np.int64(0), check_type=False)


def range_reeval(n):
    c = 0
    for i in range(n):
        n = n - 1  # the range was evaluated once: iteration count unchanged
        c += 1 + i
    return c, n


def test_range_bound_evaluated_once():
    check(range_reeval, 6)


def loopvar_assign(n):
    s = 0
    for i in range(n):
        s += i
        i = 100  # does not affect the iteration
        s += i
    return s, i


def test_assigning_loop_variable_does_not_change_iteration():
    check(loopvar_assign, 5)


def test_range_zero_step_raises_value_error(tmp_path):
    # run in a subprocess: a wrong implementation would loop forever
    (tmp_path / "zerostep.py").write_text(textwrap.dedent("""
        def f(n, step):
            c = 0
            for i in range(0, n, step):
                c += 1
                if c > 1000:
                    return -1
            return c
    """))
    proc = run_python("""
        import sys
        sys.path.insert(0, ".")
        from hybridjit import jit
        import zerostep
        assert jit(zerostep.f)(10, 3) == 4
        try:
            jit(zerostep.f)(10, 0)
        except ValueError:
            print("VALUEERROR")
        else:
            print("NOERROR")
    """, cwd=tmp_path, timeout=120)
    assert "VALUEERROR" in proc.stdout, proc.stdout + proc.stderr


# --------------------------------------------------------------------------
# the loop variable after the loop
# --------------------------------------------------------------------------


def last_value(start, stop, step):
    i = -999
    for i in range(start, stop, step):
        pass
    return i


@pytest.mark.parametrize(("start", "stop", "step"), [
    (0, 5, 1), (0, 0, 1), (0, 10, 3), (10, 0, -3), (10, 10, -1), (-2, 7, 4),
])
def test_loop_variable_keeps_last_value(start, stop, step):
    check(last_value, start, stop, step)


def last_after_break(n, k):
    i = -1
    for i in range(n):
        if i == k:
            break
    j = -1
    for j in range(n):
        if j > k:
            continue
    return i, j


@pytest.mark.parametrize(("n", "k"), [(10, 4), (10, 20), (0, 3), (1, 0)])
def test_loop_variable_after_break_and_continue(n, k):
    check(last_after_break, n, k)


def nested_last(n, m):
    t = 0
    for i in range(n):
        for j in range(m):
            t += i * j
    return t, i, j


def test_nested_loop_variables_after_loops():
    check(nested_last, 4, 3)


# --------------------------------------------------------------------------
# while, break, continue
# --------------------------------------------------------------------------


def collatz(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n //= 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


@pytest.mark.parametrize("n", [1, 2, 7, 27, 97])
def test_while_collatz(n):
    check(collatz, n)


def while_break_continue(a, limit):
    i = 0
    s = 0.0
    skipped = 0
    while True:
        if i >= a.shape[0]:
            break
        x = a[i]
        i += 1
        if x < 0:
            skipped += 1
            continue
        s += x
        if s > limit:
            break
    return s, i, skipped


@pytest.mark.parametrize("limit", [-1.0, 3.0, 1e9])
@pytest.mark.parametrize("n", [0, 1, 15])
def test_while_true_break_continue(n, limit):
    # s = 0.0 stays a Python float when no element is added (documented departure)
    check(while_break_continue, random_array(n, "float64", seed=n), limit, check_type="kind")


def nested_break(a, target):
    found_i = -1
    found_j = -1
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] == target:
                found_i = i
                found_j = j
                break
        if found_i >= 0:
            break
    return found_i, found_j


@pytest.mark.parametrize("target", [5, 100, -3])
def test_nested_break(target):
    check(nested_break, random_array((6, 7), "int64", seed=4), target)


def count_continue(n):
    c = 0
    for i in range(n):
        if i % 3 == 0:
            continue
        for j in range(i):
            if j % 2:
                continue
            if j > 5:
                break
            c += j
    return c


def test_nested_continue_break():
    check(count_continue, 20)


def early_return(a, target):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] == target:
                return i * 1000 + j
    return -1


@pytest.mark.parametrize("target", [3, 999])
def test_return_from_nested_loop(target):
    check(early_return, random_array((5, 4), "int32", seed=2), target)


# --------------------------------------------------------------------------
# if / elif / else, conditional expressions
# --------------------------------------------------------------------------


def classify(x):
    if x < -10:
        r = 0
    elif x < 0:
        r = 1
    elif x == 0:
        r = 2
    elif x <= 10:
        r = 3
    else:
        r = 4
    return r


@pytest.mark.parametrize("x", [-20, -10, -1, 0, 5, 10, 11, -0.5, 0.0, 10.5,
                               np.float32(-3.5), np.int32(7)])
def test_if_elif_else(x):
    check(classify, x)


def ternary(x, y):
    a = x if x > y else y
    b = 1.5 if x == y else -2.5
    c = (x - y) if x > 0 else (y - x) if y > 0 else 0
    return a, b, c


@pytest.mark.parametrize(("x", "y"), [(3, 5), (5, 3), (4, 4), (-1, -2), (-2, 3)])
def test_conditional_expression(x, y):
    check(ternary, x, y)


def ternary_float32(x, y):
    return x if x > y else y * 2


def test_conditional_expression_float32():
    check(ternary_float32, np.float32(1.5), np.float32(2.5))
    check(ternary_float32, np.float32(3.5), np.float32(2.5))


def truthiness(x):
    c = 0
    if x:
        c += 1
    if not x:
        c += 10
    while x:
        x = x // 2 if x > 0 else 0
        c += 100
    return c


@pytest.mark.parametrize("x", [0, 1, 7, -3])
def test_truthiness_of_numbers(x):
    check(truthiness, x)


# --------------------------------------------------------------------------
# short-circuit and / or / not
# --------------------------------------------------------------------------


def bump(counter, value):
    counter[0] += 1
    return value


def short_circuit(x, counter):
    r = 0
    if x > 0 and bump(counter, x) > 3:
        r += 1
    if x > 0 or bump(counter, x) > 3:
        r += 10
    if not (x < 0 and bump(counter, -x) > 0):
        r += 100
    return r


@pytest.mark.parametrize("x", [-5, 0, 2, 7])
def test_short_circuit_skips_right_operand(x):
    check(short_circuit, x, np.zeros(1, np.int64))


def guarded_division(n, d):
    ok = d != 0 and n // d > 2
    other = d == 0 or n % d == 1
    return ok, other


@pytest.mark.parametrize(("n", "d"), [(10, 0), (10, 3), (10, 2), (1, 0)])
def test_short_circuit_guards_zero_division(n, d):
    check(guarded_division, n, d)


def value_and_or(a, b):
    return a or b, a and b, (a or b) + 1, not a, (a and b) or (b + 1)


@pytest.mark.parametrize(("a", "b"), [(0, 5), (3, 5), (3, 0), (0, 0), (-2, 9)])
def test_value_returning_and_or_ints(a, b):
    check(value_and_or, a, b)


@pytest.mark.parametrize(("a", "b"), [(0.0, 2.5), (1.5, 2.5), (1.5, 0.0), (float("nan"), 1.0)])
def test_value_returning_and_or_floats(a, b):
    check(value_and_or, a, b)


def or_default(x):
    y = x or 10
    z = x and 3
    return y, z


@pytest.mark.parametrize("x", [0, 4])
def test_or_default_idiom(x):
    check(or_default, x)


def bool_combos(a, b, c):
    return (a and b) or c, a and (b or c), not (a or b) and c, a or b and c  # noqa: RUF021


@pytest.mark.parametrize("a", [True, False])
@pytest.mark.parametrize("b", [True, False])
@pytest.mark.parametrize("c", [True, False])
def test_bool_combinations(a, b, c):
    check(bool_combos, a, b, c)


# --------------------------------------------------------------------------
# chained comparisons
# --------------------------------------------------------------------------


def chained(a, b, c):
    return a < b < c, a <= b > c, a == b == c, a < b != c, 0 <= a < 10, a > b >= c > -100


@pytest.mark.parametrize(("a", "b", "c"), [(1, 2, 3), (1, 2, 2), (3, 3, 3), (5, 1, 0),
                                           (-1, 0, 11), (12, 11, -101)])
def test_chained_comparisons(a, b, c):
    check(chained, a, b, c)


def test_chained_comparisons_mixed_types():
    # a chain that stops at a comparison of Python numbers gives a Python bool
    # in CPython, a NumPy bool compiled (documented: one type per expression)
    check(chained, 1, 2.5, np.float32(3.0), check_type="kind")
    check(chained, 0.5, np.int32(2), 3, check_type="kind")


def chained_once(lo, hi, counter):
    return lo < bump(counter, 5) <= hi


@pytest.mark.parametrize(("lo", "hi"), [(0, 10), (6, 10), (0, 4)])
def test_chained_comparison_evaluates_middle_once(lo, hi):
    check(chained_once, lo, hi, np.zeros(1, np.int64))


def in_range_count(a, lo, hi):
    c = 0
    for i in range(a.shape[0]):
        if lo <= a[i] < hi:
            c += 1
    return c


@pytest.mark.parametrize("dtype", ["int32", "float64"])
def test_chained_comparison_in_loop(dtype):
    check(in_range_count, random_array(50, dtype, seed=6), -1, 1)
