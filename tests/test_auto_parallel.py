"""Automatic parallelism: which plain ``range`` loops run in parallel, and why.

Each kernel is checked twice: its plan (from ``fn.explain``, at the loop's
source line, found by a ``# LOOP`` marker) and its result against CPython.
Loops with a carried dependence must stay serial and give CPython's exact
result; loops without one must be parallel.  A ``prange`` loop with a proven
race must be a compile-time error naming the loop's line and the accesses.
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest

from difftest import check
from hybridjit import ParallelRaceError, jit, prange


def marker_line(fn, marker="# LOOP"):
    lines, start = inspect.getsourcelines(fn)
    hits = [start + k for k, text in enumerate(lines) if marker in text]
    assert hits, f"no {marker} in {fn.__name__}"
    return hits


def plan(fn, *args, **options):
    return jit(fn, **options).explain(*args)


def assert_parallel(fn, args, marker="# LOOP", **options):
    exp = plan(fn, *args, **options)
    for line in marker_line(fn, marker):
        d = exp.loop_at(line)
        assert d.parallel, f"line {line} not parallel: {d.why}\n{exp}"
    return exp


def assert_serial(fn, args, marker="# LOOP", **options):
    exp = plan(fn, *args, **options)
    for line in marker_line(fn, marker):
        d = exp.loop_at(line)
        assert not d.parallel, f"line {line} parallel but must not be\n{exp}"
        assert d.why, "a serial loop needs a reason"
    return exp


RNG = np.random.default_rng(5)

# ------------------------------------------------------------ carried: serial


def prefix_sum(a, out):
    s = 0.0
    for i in range(a.shape[0]):  # LOOP
        s += a[i]
        out[i] = s


def gauss_seidel(u, sweeps):
    n = u.shape[0]
    for _ in range(sweeps):
        for i in range(1, n - 1):  # LOOP
            for j in range(1, n - 1):  # LOOP
                u[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1])


def shift_from_left(a):
    for i in range(1, a.shape[0]):  # LOOP
        a[i] = a[i - 1]


def shift_from_right(a):
    for i in range(a.shape[0] - 1):  # LOOP
        a[i] = a[i + 1]


def histogram(x, bins):
    for i in range(x.shape[0]):  # LOOP
        b = int(x[i] * bins.shape[0])
        bins[b] += 1


def scalar_recurrence(a, out):
    y = 1.0
    for i in range(a.shape[0]):  # LOOP
        y = 0.5 * y + a[i]
        out[i] = y


def add_shifted(dst, src):
    for i in range(dst.shape[0]):  # LOOP
        dst[i] = src[i] + 1.0


@pytest.mark.parametrize(("fn", "make"), [
    (prefix_sum, lambda: (RNG.random(20001), np.zeros(20001))),
    (gauss_seidel, lambda: (RNG.random((90, 90)), 3)),
    (shift_from_left, lambda: (RNG.random(30001),)),
    (shift_from_right, lambda: (RNG.random(30001),)),
    (histogram, lambda: (RNG.random(50001), np.zeros(16, np.int64))),
    (scalar_recurrence, lambda: (RNG.random(20001), np.zeros(20001))),
])
def test_carried_dependences_stay_serial_and_exact(fn, make):
    args = make()
    assert_serial(fn, args)
    check(fn, *args, jit_options={"parallel": "auto"}, rtol=0, atol=0)


def test_overlapping_views_as_two_arguments_run_serially_and_exactly():
    base = RNG.random(40001)
    # dst[i] = src[i] + 1 with dst = base[1:], src = base[:-1]: a recurrence
    assert_parallel(add_shifted, (base[1:].copy(), base[:-1].copy()))
    check(add_shifted, base[1:], base[:-1], jit_options={"parallel": "auto"}, rtol=0, atol=0)


# ------------------------------------------------------------ independent: parallel


def matmul(A, B, C):
    n, m = A.shape
    p = B.shape[1]
    for i in range(n):  # LOOP
        for j in range(p):
            s = 0.0
            for k in range(m):
                s += A[i, k] * B[k, j]
            C[i, j] = s


def jacobi(A, B, steps):
    n = A.shape[0]
    for _ in range(steps):
        for i in range(1, n - 1):  # LOOP
            for j in range(1, n - 1):
                B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, j + 1] + A[i + 1, j] + A[i - 1, j])
        for i in range(1, n - 1):  # LOOP
            for j in range(1, n - 1):
                A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, j + 1] + B[i + 1, j] + B[i - 1, j])


def nbody(pos, mass, acc, eps2):
    n = pos.shape[0]
    for i in range(n):  # LOOP
        ax = ay = az = 0.0
        for j in range(n):
            dx = pos[j, 0] - pos[i, 0]
            dy = pos[j, 1] - pos[i, 1]
            dz = pos[j, 2] - pos[i, 2]
            r2 = dx * dx + dy * dy + dz * dz + eps2
            s = mass[j] / (r2 * math.sqrt(r2))
            ax += s * dx
            ay += s * dy
            az += s * dz
        acc[i, 0] = ax
        acc[i, 1] = ay
        acc[i, 2] = az


def black_scholes(S, K, T, r, v, call):
    for i in range(S.shape[0]):  # LOOP
        sq = v * math.sqrt(T[i])
        d1 = (math.log(S[i] / K[i]) + (r + 0.5 * v * v) * T[i]) / sq
        d2 = d1 - sq
        n1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
        n2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
        call[i] = S[i] * n1 - K[i] * math.exp(-r * T[i]) * n2


def mandelbrot(out, maxiter):
    h, w = out.shape
    for i in range(h):  # LOOP
        for j in range(w):
            cr = -2.0 + 3.0 * j / w
            ci = -1.0 + 2.0 * i / h
            zr = zi = 0.0
            k = 0
            while k < maxiter and zr * zr + zi * zi <= 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                k += 1
            out[i, j] = k


def convolve(img, ker, out):
    h, w = out.shape
    kh, kw = ker.shape
    for i in range(h):  # LOOP
        for j in range(w):
            s = 0.0
            for a in range(kh):
                for b in range(kw):
                    s += img[i + a, j + b] * ker[a, b]
            out[i, j] = s


def kmeans_assign(x, centers, labels):
    n, d = x.shape
    k = centers.shape[0]
    for i in range(n):  # LOOP
        best = 1e300
        arg = -1
        for c in range(k):
            dist = 0.0
            for t in range(d):
                diff = x[i, t] - centers[c, t]
                dist += diff * diff
            if dist < best:
                best = dist
                arg = c
        labels[i] = arg


def int_sum_and_minmax(a):
    s = 0
    lo = a[0]
    hi = a[0]
    for i in range(a.shape[0]):  # LOOP
        s += a[i]
        lo = min(lo, a[i])
        hi = max(hi, a[i])
    return s, lo, hi


def argmin(a):
    best = a[0]
    where = 0
    for i in range(a.shape[0]):  # LOOP
        if a[i] < best:
            best = a[i]
            where = i
    return best, where


def float_sum(a):
    s = 0.0
    for i in range(a.shape[0]):  # LOOP
        s += a[i]
    return s


def floyd_warshall_inner(d):
    n = d.shape[0]
    for k in range(n):
        for i in range(n):  # FW
            for j in range(n):
                d[i, j] = min(d[i, j], d[i, k] + d[k, j])


PARALLEL_CASES = [
    (matmul, lambda: (RNG.random((40, 30)), RNG.random((30, 20)), np.zeros((40, 20)))),
    (jacobi, lambda: (RNG.random((60, 60)), np.zeros((60, 60)), 3)),
    (nbody, lambda: (RNG.random((300, 3)), RNG.random(300), np.zeros((300, 3)), 0.01)),
    (black_scholes, lambda: (RNG.random(5001) + 1, RNG.random(5001) + 1,
                             RNG.random(5001) + 0.1, 0.02, 0.3, np.zeros(5001))),
    (mandelbrot, lambda: (np.zeros((40, 60), np.int64), 50)),
    (convolve, lambda: (RNG.random((50, 60)), RNG.random((3, 5)), np.zeros((48, 56)))),
    (kmeans_assign, lambda: (RNG.random((500, 4)), RNG.random((7, 4)), np.zeros(500, np.int64))),
    (int_sum_and_minmax, lambda: (RNG.integers(-1000, 1000, 50001),)),
    (argmin, lambda: (RNG.random(50001),)),
]


@pytest.mark.parametrize(("fn", "make"), PARALLEL_CASES,
                         ids=[c[0].__name__ for c in PARALLEL_CASES])
def test_independent_loops_are_parallel_and_correct(fn, make):
    args = make()
    assert_parallel(fn, args)
    check(fn, *args, jit_options={"parallel": "auto"})


def test_argmin_ties_keep_the_first_index_like_cpython():
    a = np.zeros(100003)
    a[[17, 5000, 90000]] = -1.0
    assert_parallel(argmin, (a,))
    check(argmin, a, jit_options={"parallel": "auto"}, rtol=0, atol=0)


def test_float_sum_stays_serial_unless_fastmath():
    a = RNG.random(100001)
    exp = assert_serial(float_sum, (a,))
    assert "round differently" in exp.loop_at(marker_line(float_sum)[0]).why
    assert_parallel(float_sum, (a,), fastmath=True)
    check(float_sum, a, jit_options={"parallel": "auto"}, rtol=0, atol=0)


def floyd_warshall_if(d):
    n = d.shape[0]
    for k in range(n):
        for i in range(n):  # FW
            for j in range(n):
                if d[i, k] + d[k, j] < d[i, j]:
                    d[i, j] = d[i, k] + d[k, j]


def widest_path(w):
    # max-plus relaxation: parallel when w[k, k] <= 0
    n = w.shape[0]
    for k in range(n):
        for i in range(n):  # FW
            for j in range(n):
                w[i, j] = max(w[i, j], w[i, k] + w[k, j])


def floyd_warshall_prange_j(d):
    n = d.shape[0]
    for k in range(n):
        for i in range(n):
            for j in prange(n):  # FW
                d[i, j] = min(d[i, j], d[k, j] + d[i, k])


def fw_distances(n, dtype, diagonal):
    d = RNG.integers(1, 50, (n, n)).astype(dtype)
    d[RNG.random((n, n)) < 0.6] = 10**6  # mostly unconnected
    np.fill_diagonal(d, diagonal)
    return d


@pytest.mark.parametrize(("fn", "mode"), [
    (floyd_warshall_inner, "auto"), (floyd_warshall_if, "auto"),
    (floyd_warshall_prange_j, True),  # only the prange loop, no race error
])
def test_floyd_warshall_inner_loops_are_parallel_when_the_diagonal_allows(fn, mode):
    d = fw_distances(37, np.float64, 0.0)
    decision = plan(fn, d, parallel=mode).loop_at(marker_line(fn, "# FW")[0])
    assert decision.parallel and "d[k, k] >= 0" in decision.why, decision.why
    check(fn, d, jit_options={"parallel": mode}, rtol=0, atol=0)


@pytest.mark.parametrize(("dtype", "diagonal"), [
    (np.float64, 0.0), (np.float32, 0.0), (np.float64, np.nan), (np.float64, 2.5),
    (np.int64, 0), (np.int32, 0), (np.int64, 3), (np.float64, -1.0), (np.int64, -2),
], ids=lambda v: str(v))
def test_floyd_warshall_matches_cpython_whatever_the_diagonal(dtype, diagonal):
    # A failed guard (negative diagonal; a nonzero one for integers, where
    # d + g could wrap) runs the loop serially: still CPython's answer.
    d = fw_distances(29, dtype, diagonal)
    d[3, 3] = -1 if diagonal == 0 and np.dtype(dtype).kind == "i" else d[3, 3]
    for fn in (floyd_warshall_inner, floyd_warshall_if):
        check(fn, d, jit_options={"parallel": "auto"}, rtol=0, atol=0)


def test_floyd_warshall_with_infinities():
    d = fw_distances(23, np.float64, 0.0)
    d[d == 10**6] = np.inf
    d[4, 7] = -np.inf
    check(floyd_warshall_inner, d, jit_options={"parallel": "auto"}, rtol=0, atol=0)


def test_widest_path_uses_the_mirror_guard():
    w = -fw_distances(31, np.float64, 0.0)
    decision = plan(widest_path, w).loop_at(marker_line(widest_path, "# FW")[0])
    assert decision.parallel and "w[k, k] <= 0" in decision.why, decision.why
    check(widest_path, w, jit_options={"parallel": "auto"}, rtol=0, atol=0)
    w[5, 5] = 1.0  # fails the guard: serial, same answer
    check(widest_path, w, jit_options={"parallel": "auto"}, rtol=0, atol=0)


def test_floyd_warshall_guard_is_compiled_into_the_loop():
    src = jit(floyd_warshall_inner).inspect_source(fw_distances(5, np.float64, 0.0))
    assert "hj_vok" in src and "if(" in src


def floyd_lookalike(d, m):
    # iteration i == k rewrites row k from d[k, m], which is no no-op
    n = d.shape[0]
    for k in range(n):
        for i in range(n):  # FW
            for j in range(n):
                d[i, j] = min(d[i, j], d[i, k] + d[k, m])


def floyd_private_copy(d):
    # kk is assigned inside the i loop: a guard computed before that loop
    # could not read it, so the i loop stays serial (the j loop may not)
    n = d.shape[0]
    for k in range(n):
        for i in range(n):  # FW
            kk = k
            for j in range(n):
                d[i, j] = min(d[i, j], d[i, kk] + d[kk, j])


def test_guard_never_reads_a_variable_the_loop_assigns():
    d = fw_distances(27, np.float64, 0.0)
    assert not plan(floyd_private_copy, d).loop_at(
        marker_line(floyd_private_copy, "# FW")[0]).parallel
    check(floyd_private_copy, d, jit_options={"parallel": "auto"}, rtol=0, atol=0)


def test_relaxation_lookalike_stays_serial():
    d = RNG.standard_normal((21, 21))
    assert not plan(floyd_lookalike, d, 2).loop_at(marker_line(floyd_lookalike, "# FW")[0]).parallel
    check(floyd_lookalike, d, 2, jit_options={"parallel": "auto"}, rtol=0, atol=0)


def test_parallel_false_keeps_everything_serial():
    args = PARALLEL_CASES[0][1]()
    assert_serial(matmul, args, parallel=False)


def test_explain_text_names_lines_and_reasons():
    text = str(plan(shift_from_left, RNG.random(10)))
    line = marker_line(shift_from_left)[0]
    assert f"line {line}" in text and "serial" in text
    assert "a[i - 1]" in text and "a[i]" in text


# ------------------------------------------------------------ races in prange


def prange_shift(a):
    for i in prange(1, a.shape[0]):  # RACE
        a[i] = a[i - 1] + 1.0


def prange_prefix(a, out):
    s = 0.0
    for i in prange(a.shape[0]):  # RACE
        s += a[i]
        out[i] = s


def test_prange_with_a_proven_race_is_a_compile_error():
    with pytest.raises(ParallelRaceError) as info:
        jit(prange_shift)(np.zeros(10))
    msg = str(info.value)
    line = marker_line(prange_shift, "# RACE")[0]
    assert msg.splitlines()[0].startswith(f"{__file__}:{line}:"), msg
    assert "race" in msg and "a[i - 1]" in msg and "a[i]" in msg, msg
    assert "hint:" in msg and "parallel='unsafe'" in msg, msg


def test_prange_carrying_a_scalar_is_a_compile_error():
    with pytest.raises(ParallelRaceError) as info:
        jit(prange_prefix)(np.zeros(10), np.zeros(10))
    msg = str(info.value)
    assert f":{marker_line(prange_prefix, '# RACE')[0]}:" in msg.splitlines()[0], msg
    assert "'s'" in msg or " s " in msg, msg


def test_unsafe_overrides_the_race_check():
    a = np.zeros(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jit(prange_shift, parallel="unsafe")(a)  # compiles; the result is racy
