"""NumPy-style statements inside parallel loops, and the plans of array
statements (issue 11): row-wise ufuncs in prange, arrays allocated per
iteration (private scratch memory), view variables inside parallel loops,
and what explain reports.  NumPy/CPython running the same code is the
oracle; the plans are asserted through explain, never through time."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import hybridjit as hj
from difftest import check, make_view, random_array
from hybridjit import prange
from hybridjit.errors import ParallelRaceError

TOL = {"rtol": 1e-12, "atol": 1e-12}


def rows_sqrt_prange(a, out):
    for i in prange(a.shape[0]):
        out[i, :] = np.sqrt(a[i, :]) + 1


def rows_normalised(a, out):
    for i in prange(a.shape[0]):
        row = a[i]
        out[i] = (row - row.min()) / (row.max() - row.min() + 1.0)


def scratch_per_iteration(a, out):
    for i in prange(a.shape[0]):
        t = np.empty(a.shape[1])
        t[:] = a[i] * 2
        out[i] = np.sum(t) + t[0]


def scratch_in_auto_parallel_loop(a):
    out = np.zeros(a.shape[0])
    for i in range(a.shape[0]):
        t = np.zeros(4)
        for j in range(4):
            t[j] = a[i] * j
        s = 0.0
        for j in range(4):
            s += t[j]
        out[i] = s
    return out


def view_variable_rows(a, out):
    for i in prange(a.shape[0]):
        row = out[i]
        src = a[i, ::-1]
        for j in range(a.shape[1]):
            row[j] = src[j] + 1
        row[-1] = -src[0]


def cumsum_rows(a):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        out[i] = np.cumsum(a[i])
    return out


@pytest.mark.parametrize("shape", [(0, 3), (1, 1), (5, 7), (64, 33)])
def test_row_ufuncs_in_prange(shape):
    a = np.abs(random_array(shape, "float64", seed=1))
    check(rows_sqrt_prange, a, np.zeros(shape), **TOL)
    check(rows_normalised, a, np.zeros(shape), **TOL)


@pytest.mark.parametrize("shape", [(0, 3), (3, 1), (40, 9)])
def test_arrays_allocated_in_each_iteration(shape):
    a = random_array(shape, "float64", seed=2)
    check(scratch_per_iteration, a, np.zeros(shape[0]), **TOL)
    check(scratch_in_auto_parallel_loop, random_array(shape[0] * 50, "float64", seed=3),
          **TOL)


@pytest.mark.parametrize("kind", ["C", "strided", "negative"])
def test_view_variables_in_prange(kind):
    a = make_view(kind, (6, 5), "float64", seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no race warning: the views are seen through
        check(view_variable_rows, a, np.zeros((6, 5)))


@pytest.mark.parametrize("dtype", ["int32", "float64"])
def test_row_cumsum_in_a_loop(dtype):
    check(cumsum_rows, random_array((7, 6), dtype, seed=5))


def escaping_array(a):
    t = np.zeros(3)
    for i in prange(a.shape[0]):
        t = np.full(3, a[i])
    return t


def escaping_array_auto(a):
    t = np.zeros(3)
    for i in range(a.shape[0]):
        t = np.full(3, a[i])
    return t


def test_array_assigned_in_prange_and_used_after_is_refused():
    with pytest.raises(ParallelRaceError, match="'t' is assigned in every iteration"):
        hj.jit(escaping_array)(np.arange(4.0))


def test_array_assigned_in_range_loop_and_used_after_stays_serial():
    check(escaping_array_auto, np.arange(4000.0))
    ex = hj.jit(escaping_array_auto).explain(np.arange(4000.0))
    loop = next(d for d in ex.loops if "range(a.shape[0])" in d.loc.source_line())
    assert not loop.parallel and "used after the loop" in loop.why


# --------------------------------------------------------------------------
# plans: what each array statement became
# --------------------------------------------------------------------------


def explained_loops(fn, *args):
    return hj.jit(fn).explain(*args).loops


def test_prange_rows_are_parallel_without_race_warnings():
    a = np.ones((100, 50))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loops = explained_loops(rows_sqrt_prange, a, np.zeros_like(a))
    outer = [d for d in loops if d.loc.source_line().strip().startswith("for i in prange")]
    assert outer and outer[0].parallel


def view_rows_auto(a, out):
    for i in range(a.shape[0]):
        row = out[i]
        for j in range(a.shape[1]):
            row[j] = a[i, j] * 2


def test_view_variable_rows_proved_parallel_by_dependence_analysis():
    a = np.ones((500, 400))
    loops = explained_loops(view_rows_auto, a, np.zeros_like(a))
    outer = next(d for d in loops if "range(a.shape[0])" in d.loc.source_line())
    assert outer.parallel, outer.why


def triad_store(out, a, x, b, y, z):
    out[:] = a * x + b * y * z


def triad_alloc(a, x, b, y, z):
    return a * x + b * y * z


def line_of(fn, text):
    import inspect

    src, first = inspect.getsourcelines(fn)
    return first + next(k for k, s in enumerate(src) if text in s)


def test_triad_store_is_one_fused_parallel_nest_without_temporary():
    n = 1000
    args = [np.zeros(n)] + [np.ones(n) for _ in range(5)]
    ex = hj.jit(triad_store).explain(*args)
    st = ex.array_at(line_of(triad_store, "out[:] ="))
    main = [d for role, d in st.nests if role == "nest"]
    assert len(main) == 1 and main[0].parallel, st.lines()
    # the only temporary is the copy NumPy's semantics need when the
    # destination shares memory with an operand: never otherwise
    assert all("only when the destination shares memory" in t for t in st.temporaries)
    assert "the whole expression computed element by element" in st.lines()[0]


def test_triad_store_allocates_nothing_at_run_time():
    import tracemalloc

    n = 1 << 20
    args = [np.zeros(n)] + [np.full(n, 1.5) for _ in range(5)]
    f = hj.jit(triad_store)
    f(*args)  # compiled and warm
    tracemalloc.start()
    try:
        f(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, f"triad allocated {peak} bytes"  # an array would be 8 MiB
    np.testing.assert_array_equal(args[0], 1.5 * 1.5 + 1.5 * 1.5 * 1.5)


def test_triad_store_overlapping_destination_goes_through_a_copy():
    a = np.arange(10.0)
    check(triad_store, a[1:], a[:-1], a[:-1], a[1:], a[:-1], a[1:])


def test_triad_alloc_plan_has_no_temporary():
    n = 1000
    ex = hj.jit(triad_alloc).explain(*[np.ones(n) for _ in range(5)])
    st = ex.array_at(line_of(triad_alloc, "return a * x"))
    assert not st.temporaries and st.parallel
    assert "no temporary array" in st.lines()[0]


# --------------------------------------------------------------------------
# fusion of consecutive statements (transform/fusion.py)
# --------------------------------------------------------------------------


def fused_temporaries(a, b):
    t = a * 2 + b
    u = np.sqrt(np.abs(t)) - a
    w = u * t
    return w


def fused_kept(a, b):
    t = a * 2 + b
    u = t - 1
    return u, t  # t is read after the run: still stored


def fused_stores(out1, out2, a, b):
    t = a - b
    out1[:] = t * t
    out2[:] = t + out1  # reads what the run stored: a new run starts here


def fused_store_overlap(a):
    t = a[::-1] * 2
    a[:] = t + 1  # a is read (reversed) and stored: the unfused order is NumPy's


def fused_different_shapes(a, b):
    x = a * 2
    y = b + 1
    return x, y


def fused_ranks(m, v):
    x = m * 2
    y = v + 1
    z = x + y
    return z


def fused_rebinding(a):
    x = a * 1
    y = x * 2
    x = a + 1  # rebinds a name the run read: not fused across
    z = x + y
    return z


def fused_in_time_loop(u, steps):
    for _ in range(steps):
        t = u * 0.5
        s = t + 1.0
        u = s * s - t
    return u


def fused_with_reduction(a):
    x = a * 2
    y = x - x.max()  # reads x as a whole: not element-wise
    z = y * 3
    return z


@pytest.mark.parametrize("dtype", ["int32", "float32", "float64", "uint8"])
@pytest.mark.parametrize("n", [0, 1, 7])
def test_fused_runs_against_numpy(dtype, n):
    a = random_array(n, dtype, seed=n)
    b = random_array(n, dtype, seed=n + 1)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else {}
    check(fused_temporaries, a.astype(np.float64), b.astype(np.float64))
    check(fused_kept, a, b)
    check(fused_stores, np.zeros(n, dtype), np.zeros(n, dtype), a, b, **tol)
    check(fused_rebinding, a)
    check(fused_with_reduction, a) if n else None


@pytest.mark.parametrize("kind", ["C", "strided", "negative"])
def test_fused_store_overlapping_its_operand(kind):
    check(fused_store_overlap, make_view(kind, 9, "float64", seed=1))


def test_fused_run_with_different_shapes_at_run_time():
    check(fused_different_shapes, np.arange(4.0), np.arange(3.0))
    check(fused_ranks, np.ones((3, 4)), np.arange(4.0))


def test_fused_run_in_time_loop():
    check(fused_in_time_loop, np.linspace(0, 1, 11), 3)


def line_in(fn, text):
    return line_of(fn, text)


def test_explain_reports_fusion_and_scalar_temporaries():
    a = np.ones(1000)
    ex = hj.jit(fused_temporaries).explain(a, a)
    st = ex.array_at(line_in(fused_temporaries, "t = a * 2 + b"))
    assert st.fused_lines == [line_in(fused_temporaries, s) for s in
                              ("t = a * 2", "u = np.sqrt", "w = u * t")]
    assert set(st.scalars) == {"t", "u"}  # w is returned: stored
    assert st.parallel and "fused into 1 loop nest" in st.lines()[0]


def test_fused_temporaries_are_never_allocated():
    import tracemalloc

    n = 1 << 20
    a, b = np.ones(n), np.full(n, 2.0)
    f = hj.jit(fused_temporaries)
    f(a, b)
    tracemalloc.start()
    try:
        w = f(a, b)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the result alone (8 MiB); t and u would add 16 MiB more
    assert peak < 9 * 1024 * 1024, peak
    np.testing.assert_allclose(w, (np.sqrt(4.0) - 1.0) * 4.0)


def fused_rows_in_prange(a, out):
    for i in prange(a.shape[0]):
        t = a[i] * 2
        u = t + 1
        out[i] = u * t


def rows_then_element_in_prange(a, out):
    for i in prange(a.shape[0]):
        t = a[i] * 2
        out[i] = t + 1
        out[i, 0] = t.sum()


@pytest.mark.parametrize("shape", [(0, 4), (1, 1), (33, 7)])
def test_fused_runs_inside_prange_without_race_warnings(shape):
    a = random_array(shape, "float64", seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check(fused_rows_in_prange, a, np.zeros(shape), **TOL)
        check(rows_then_element_in_prange, a, np.zeros(shape), **TOL)
