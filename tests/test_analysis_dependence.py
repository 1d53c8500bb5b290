"""analyse_loop on hand-built loop nests: what is proven parallel, and why not."""

from __future__ import annotations

import pytest

from hybridjit.analysis.dependence import (
    analyse_function,
    analyse_loop,
    array_alias_roots,
)
from hybridjit.analysis.exprtext import expr_text
from hybridjit.analysis.scalars import classify_loop_scalars
from hybridjit.ir.nodes import Call, ExprStmt, For, Intrinsic, Load, Store
from hybridjit.types import FLOAT64, INT64, PY_INT, Array, Scalar
from irbuild import (
    E,
    add,
    arr,
    assign,
    at,
    aug,
    brk,
    cmp,
    ex,
    func,
    fv,
    if_,
    load,
    loop,
    mul,
    shape,
    store,
    sub,
    zeros,
)


def dep(f: For, *enclosing: For):  # type: ignore[no-untyped-def]
    """The verdict when nothing the loop assigns is used after it."""
    return analyse_loop(f, tuple(enclosing), classify_loop_scalars(f, set()))


def test_unknown_liveness_keeps_nested_loop_variable_conservative() -> None:
    inner = loop("j", "m", body=[store("a", ("i", "j"), 0.0)], line=3)
    r = analyse_loop(loop("i", "n", body=[inner]))
    assert not r.parallel
    assert r.reasons == ("'j', the variable of the loop at line 3, may be used after this loop: "
                         "it then holds the value from whichever iteration ran that inner loop "
                         "last",)


# ------------------------------------------------------------ 1-d loops


def test_elementwise_loop_is_parallel() -> None:
    f = loop("i", "n", body=[store("b", "i", add(load("a", "i"), load("a", add("i", 1))))])
    r = dep(f)
    assert r.parallel and r.reasons == () and r.conflicts == ()


def test_shift_right_is_flow_dependence_with_clear_text() -> None:
    f = loop("i", 1, "n", body=[store("a", "i", add(load("a", sub("i", 1), line=12), 1.0),
                                      line=12)])
    r = dep(f)
    assert not r.parallel and r.proven_race
    (c,) = r.conflicts
    assert (c.kind, c.distance, c.certain) == ("flow", 1, True)
    assert c.other.loc.line == 12
    assert r.reasons == (
        "a[i - 1] read at line 12 uses the value written to a[i] at line 12 "
        "by the previous iteration",
    )


def test_shift_left_is_anti_dependence() -> None:
    f = loop("i", sub("n", 1), body=[store("a", "i", load("a", add("i", 1)), line=3)])
    (c,) = dep(f).conflicts
    assert (c.kind, c.distance, c.certain) == ("anti", 1, True)
    assert "the next iteration overwrites as a[i]" in c.reason


def test_negative_step_reverses_iteration_order() -> None:
    # for i in range(n - 1, 0, -1): a[i] = a[i - 1]  -- reads what the NEXT iteration writes
    f = loop("i", sub("n", 1), 0, step=-1, body=[store("a", "i", load("a", sub("i", 1)))])
    (c,) = dep(f).conflicts
    assert (c.kind, c.distance) == ("anti", 1)


def test_distance_beyond_constant_trip_count_is_independent() -> None:
    f = loop("i", 10, body=[store("a", "i", load("a", add("i", 10)))])
    assert dep(f).parallel
    g = loop("i", 10, body=[store("a", "i", load("a", add("i", 9)))])
    assert not dep(g).parallel


def test_step_two_never_meets_odd_offset() -> None:
    f = loop("i", 0, "n", step=2, body=[store("a", add("i", 1), load("a", "i"))])
    assert dep(f).parallel


def test_gcd_test_separates_even_and_odd() -> None:
    f = loop("i", "n", body=[store("a", mul(2, "i"), load("a", add(mul(2, "i"), 1)))])
    assert dep(f).parallel


def test_banerjee_with_symbolic_bounds() -> None:
    # for i in range(n): a[i] = a[i + n]  -- the read half never meets the written half
    f = loop("i", "n", body=[store("a", "i", load("a", add("i", "n")))])
    assert dep(f).parallel
    # ... but with range(n + 1) they may meet
    g = loop("i", add("n", 1), body=[store("a", "i", load("a", add("i", "n")))])
    r = dep(g)
    assert not r.parallel and not r.conflicts[0].certain
    assert "cannot prove" in r.reasons[0]


def test_banerjee_with_shape_symbols() -> None:
    n = shape("a", 0)
    f = loop("i", n, body=[store("a", "i", load("a", add(add("i", n), 1)))])
    assert dep(f).parallel


def test_same_element_every_iteration_is_output_conflict() -> None:
    f = loop("i", "n", body=[store("a", 0, load("x", "i"), line=4)])
    (c,) = dep(f).conflicts
    assert c.kind == "output" and c.certain
    assert "a[0] at line 4 writes the same element in different iterations" in c.reason


def test_private_definition_is_substituted() -> None:
    ok = loop("i", 1, "n", body=[assign("ip", "i"), store("b", "ip", load("a", "i"))])
    assert dep(ok).parallel
    bad = loop("i", 1, "n", body=[assign("im", sub("i", 1)), store("a", "i", load("a", "im"))])
    (c,) = dep(bad).conflicts
    assert c.distance == 1 and c.certain


def test_symbolic_offset_is_not_provable() -> None:
    f = loop("i", "n", body=[store("a", "i", load("a", add("i", "m")))])
    r = dep(f)
    assert not r.parallel and not r.proven_race


# ------------------------------------------------------------ loop nests


def jacobi_nest() -> tuple[For, For, For]:
    def stencil(dst: str, src: str) -> For:
        s = add(add(load(src, "i", "j"), load(src, "i", sub("j", 1))),
                add(load(src, "i", add("j", 1)), load(src, sub("i", 1), "j")))
        inner = loop("j", 1, sub("m", 1), body=[store(dst, ("i", "j"), mul(0.25, s))])
        return loop("i", 1, sub("n", 1), body=[inner])

    first, second = stencil("B", "A"), stencil("A", "B")
    return loop("t", "steps", body=[first, second]), first, second


def test_time_loop_around_jacobi() -> None:
    t, first, second = jacobi_nest()
    assert not dep(t).parallel
    assert dep(first, t).parallel and dep(second, t).parallel
    assert dep(first.body[0], t, first).parallel  # type: ignore[arg-type]


def test_gauss_seidel_in_place_is_sequential_in_both_loops() -> None:
    s = add(load("A", sub("i", 1), "j"), load("A", "i", sub("j", 1)))
    inner = loop("j", 1, "m", body=[store("A", ("i", "j"), s)])
    outer = loop("i", 1, "n", body=[inner])
    assert dep(outer).proven_race
    assert dep(inner, outer).proven_race


def test_row_recurrence_lets_inner_loop_run_parallel() -> None:
    inner = loop("j", "m", body=[store("A", ("i", "j"), load("A", sub("i", 1), "j"))])
    outer = loop("i", 1, "n", body=[inner])
    assert dep(outer).proven_race
    assert dep(inner, outer).parallel


def test_matmul_accumulating_into_c() -> None:
    upd = store("C", ("i", "j"), add(load("C", "i", "j"), mul(load("A", "i", "k"),
                                                             load("B", "k", "j"))))
    k = loop("k", "p", body=[upd])
    j = loop("j", "m", body=[k])
    i = loop("i", "n", body=[j])
    assert dep(i).parallel and dep(j, i).parallel
    rk = dep(k, i, j)
    assert not rk.parallel and rk.parallel_with_array_reductions
    assert rk.array_reductions[0].op == "+"


def test_matmul_with_scalar_accumulator() -> None:
    k = loop("k", "p", body=[aug("s", "+", mul(load("A", "i", "k"), load("B", "k", "j")))])
    j = loop("j", "m", body=[assign("s", 0.0), k, store("C", ("i", "j"), fv("s"))])
    i = loop("i", "n", body=[j])
    fn = func([i])
    plan = analyse_function(fn)
    assert plan[i.loop_id].parallel and plan[j.loop_id].parallel
    assert plan[k.loop_id].parallel  # as a + reduction on s
    assert plan[k.loop_id].scalars is not None
    assert [r.var for r in plan[k.loop_id].scalars.reductions] == ["s"]


def floyd_warshall(candidate: E | None = None, dtype: Scalar = FLOAT64) -> tuple[For, For, For]:
    """k/i/j nest of ``d[i, j] = min(d[i, j], candidate)``, by default
    ``d[i, k] + d[k, j]``."""
    def ld(*idx: E) -> Load:
        return load("d", *idx, dtype=dtype)

    cand = add(ld("i", "k"), ld("k", "j")) if candidate is None else candidate
    upd = Store(arr("d", 2, dtype), (ex("i"), ex("j")),
                Intrinsic("min", (ld("i", "j"), ex(cand)), dtype), (False, False), at(9))
    j = loop("j", "n", body=[upd])
    i = loop("i", "n", body=[j])
    k = loop("k", "n", body=[i])
    return k, i, j


def test_floyd_warshall_inner_loops_are_parallel_under_a_guard() -> None:
    # Row k (i loop) and column k (j loop) are written by iteration k and
    # read by the others: a real dependence, harmless when d[k, k] >= 0
    # because then that iteration stores back the values already there.
    k, i, j = floyd_warshall()
    assert dep(k).proven_race and not dep(k).guards
    for r in (dep(i, k), dep(j, k, i)):
        assert r.parallel and not r.conflicts
        (g,) = r.guards
        assert expr_text(g.value) == "d[k, k]" and g.test == "nonneg"
    assert "iteration i == k" in dep(i, k).guards[0].why
    assert "iteration j == k" in dep(j, k, i).guards[0].why


def test_floyd_warshall_on_integers_needs_a_zero_diagonal() -> None:
    # d[k, j] + g could wrap around for g > 0: only g == 0 is a no-op for sure
    k, i, _ = floyd_warshall(dtype=INT64)
    (g,) = dep(i, k).guards
    assert g.test == "zero"


@pytest.mark.parametrize("candidate", [
    sub(load("d", "i", "k"), load("d", "k", "j")),  # d[k, j] - g is not a no-op for g >= 0
    add(load("d", "i", "k"), load("d", "k", "m")),  # row k's own element is not the operand
    add(load("d", "i", "j"), load("d", "k", "j")),  # g = d[i, j] varies along the row
    add(load("d", "i", "k"), mul(load("d", "k", "j"), 1.0)),  # not a plain element
    add(load("x", "i", "j"), load("d", "k", "j")),  # g varies with j
], ids=["minus", "other-element", "varying-g", "scaled", "varying-other-array"])
def test_lookalike_relaxations_stay_serial(candidate: E) -> None:
    k, i, _ = floyd_warshall(candidate)
    r = dep(i, k)
    assert not r.parallel and not r.guards and r.conflicts


def test_relaxation_with_a_second_write_stays_serial() -> None:
    k, _, j = floyd_warshall()
    extra = store("d", ("k", "j"), 0.0)
    i2 = loop("i", "n", body=[loop("j", "n", body=[*j.body, extra])])
    r = dep(i2, k)
    assert not r.parallel and not r.guards


def test_skewed_subscript_in_inner_loop_conflicts() -> None:
    inner = loop("j", "m", body=[store("a", add("i", "j"), load("x", "j"))])
    outer = loop("i", "n", body=[inner])
    r = dep(outer)
    assert not r.parallel
    assert dep(inner, outer).parallel


def test_triangular_bounds_depending_on_outer_loop() -> None:
    # for i in range(n): for j in range(i + 1, n): a[i, j] = a[i, j] * 2
    upd = store("a", ("i", "j"), mul(load("a", "i", "j"), 2.0))
    inner = loop("j", add("i", 1), "n", body=[upd])
    outer = loop("i", "n", body=[inner])
    assert dep(outer).parallel and dep(inner, outer).parallel


# ---------------------------------------------------- non-affine, reductions


def test_histogram_is_an_array_reduction() -> None:
    idx = load("b", "i", dtype=INT64)
    f = loop("i", "n", body=[store("h", idx, add(load("h", idx), 1.0), line=5)])
    r = dep(f)
    assert not r.parallel and r.parallel_with_array_reductions and not r.proven_race
    (red,) = r.array_reductions
    assert (red.array, red.op, red.updates[0].loc.line) == ("h", "+", 5)
    assert "h[b[i]]" in red.reason


def test_histogram_with_other_read_is_unknown() -> None:
    idx = load("b", "i", dtype=INT64)
    body = [store("h", idx, add(load("h", idx), 1.0)), store("y", "i", load("h", 0))]
    r = dep(loop("i", "n", body=body))
    assert not r.parallel and not r.parallel_with_array_reductions
    assert {a.text for a in r.unknown} >= {"h[b[i]]"}


def test_indirect_write_is_unknown() -> None:
    f = loop("i", "n", body=[store("a", load("idx", "i", dtype=INT64), load("x", "i"), line=7)])
    r = dep(f)
    assert not r.parallel and not r.proven_race
    assert r.unknown[0].text == "a[idx[i]]"
    assert "not a linear function" in r.reasons[0] and "line 7" in r.reasons[0]


def test_indirect_read_of_read_only_array_is_fine() -> None:
    f = loop("i", "n", body=[store("a", "i", load("x", load("idx", "i", dtype=INT64)))])
    assert dep(f).parallel


def test_scalar_recurrence_blocks_parallelism() -> None:
    body = [aug("s", "+", load("x", "i")), store("out", "i", fv("s"))]
    r = dep(loop("i", "n", body=body))
    assert not r.parallel and r.proven_race
    assert "'s'" in r.reasons[0]


def test_break_blocks_parallelism() -> None:
    body = [if_(cmp(">", load("x", "i"), 0.0), [brk()]), store("y", "i", 1.0)]
    r = dep(loop("i", "n", body=body))
    assert not r.parallel and r.early_exits


def test_break_of_inner_loop_does_not_block_outer() -> None:
    inner = loop("j", "m", body=[if_(cmp(">", load("x", "i", "j"), 0.0), [brk()])])
    r = dep(loop("i", "n", body=[inner, store("y", "i", 1.0)]))
    assert r.parallel


def test_aliased_array_variables() -> None:
    f = loop("i", "n", body=[store("b", "i", load("a", add("i", 1)))])
    assert dep(f).parallel
    assert not analyse_loop(f, (), None, {"a": "a", "b": "a"}).parallel


def test_array_alias_roots() -> None:
    t = Array(FLOAT64, 1, "C")
    fn = func([assign("b", arr("a")), assign("c", zeros(3))],
              params={"a": t}, locals_={"b": t, "c": t, "n": PY_INT})
    assert array_alias_roots(fn) == {"a": "a", "b": "a", "c": "c"}


def test_private_array_is_ignored() -> None:
    body = [assign("tmp", zeros(3)), store("tmp", 0, load("x", "i")),
            store("y", "i", load("tmp", 0))]
    assert dep(loop("i", "n", body=body)).parallel


def test_call_with_array_argument_is_unknown() -> None:
    c = Call("g", (arr("a"), load("x", 0)), FLOAT64)
    r = dep(loop("i", "n", body=[ExprStmt(c)]))
    assert not r.parallel and r.unknown[0].array == "a"


def test_expr_text() -> None:
    e = mul(add("i", 1), sub("j", load("a", "k", 2)))
    assert expr_text(e) == "(i + 1) * (j - a[k, 2])"


def test_shared_inner_loop_distance_beyond_its_span_is_independent() -> None:
    # for i: for j in range(4): a[i, j] = a[i - 1, j + 10]
    inner = loop("j", 4, body=[store("a", ("i", "j"), load("a", sub("i", 1), add("j", 10)))])
    outer = loop("i", 1, "n", body=[inner])
    assert dep(outer).parallel
    wide = loop("j", 20, body=[store("a", ("i", "j"), load("a", sub("i", 1), add("j", 10)))])
    r = dep(loop("i", 1, "n", body=[wide]))
    assert r.proven_race and r.conflicts[0].distance == 1


def test_inconsistent_distances_are_not_certain() -> None:
    # a[i, j, j] vs a[i - 1, j + 1, j]: the two j subscripts cannot agree
    body = [store("a", ("i", "j", "j"), load("a", sub("i", 1), add("j", 1), "j"))]
    r = dep(loop("i", 1, "n", body=[loop("j", "m", body=body)]))
    assert not r.parallel and not r.proven_race
