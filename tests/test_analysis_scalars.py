"""classify_loop_scalars on hand-built loops: private, reductions, carried."""

from __future__ import annotations

from hybridjit.analysis.scalars import classify_loop_scalars, live_after_loop
from hybridjit.ir.nodes import Assign, BinOp, Load, Reduction, Var
from hybridjit.types import FLOAT32, FLOAT64
from irbuild import (
    add,
    arr,
    assign,
    aug,
    call,
    cast,
    cmp,
    cont,
    fv,
    if_,
    load,
    loop,
    mul,
    store,
    sub,
    zeros,
)


def test_temporary_written_first_is_private() -> None:
    body = [assign("t", mul(load("x", "i"), 2.0)), store("y", "i", fv("t"))]
    r = classify_loop_scalars(loop("i", "n", body=body))
    assert set(r.private) == {"i", "t"}
    assert r.reductions == () and r.carried == ()
    assert r.parallel_ok


def test_nested_loop_vars_are_private() -> None:
    inner = loop("j", "m", body=[store("a", ("i", "j"), 0.0)])
    r = classify_loop_scalars(loop("i", "n", body=[inner]), live_after=set())
    assert set(r.private) == {"i", "j"}


def test_unknown_liveness_is_conservative_for_nested_loop_vars() -> None:
    # j after the inner loop is its last value, or unchanged when m == 0.
    inner = loop("j", "m", body=[store("a", ("i", "j"), 0.0)])
    assert classify_loop_scalars(loop("i", "n", body=[inner])).carried == ("j",)


def test_sum_reduction() -> None:
    r = classify_loop_scalars(loop("i", "n", body=[aug("s", "+", load("x", "i"))]))
    assert r.reductions == (Reduction("s", "+"),)
    assert r.parallel_ok


def test_reduction_seen_through_casts_and_in_nested_loop() -> None:
    # s (float32) += x[i, j] (float64): Cast(float32, Cast(float64, s) + x[i, j])
    s32 = Var("s", FLOAT32)
    upd = Assign("s", cast(BinOp("+", cast(s32, FLOAT64), load("x", "i", "j"), FLOAT64), FLOAT32))
    r = classify_loop_scalars(loop("i", "n", body=[loop("j", "m", body=[upd])]))
    assert r.reductions == (Reduction("s", "+"),)


def test_reduction_on_right_and_minus_maps_to_plus() -> None:
    plus_right = Assign("s", BinOp("+", load("x", "i"), fv("s"), FLOAT64))
    minus = aug("s", "-", load("y", "i"))
    r = classify_loop_scalars(loop("i", "n", body=[plus_right, minus]))
    assert r.reductions == (Reduction("s", "+"),)


def test_reversed_minus_is_not_a_reduction() -> None:
    upd = Assign("s", BinOp("-", load("x", "i"), fv("s"), FLOAT64))
    r = classify_loop_scalars(loop("i", "n", body=[upd]))
    assert r.carried == ("s",)


def test_product_min_max_reductions() -> None:
    body = [
        aug("p", "*", load("x", "i")),
        assign("lo", call("min", fv("lo"), load("x", "i"))),
        assign("hi", call("max", load("x", "i"), fv("hi"))),
    ]
    r = classify_loop_scalars(loop("i", "n", body=body))
    expected = {Reduction("p", "*"), Reduction("lo", "min"), Reduction("hi", "max")}
    assert set(r.reductions) == expected


def test_mixed_ops_are_carried() -> None:
    body = [aug("s", "+", load("x", "i")), aug("s", "*", 2.0)]
    r = classify_loop_scalars(loop("i", "n", body=body))
    assert r.carried == ("s",) and r.reductions == ()


def test_prefix_sum_is_carried_with_location() -> None:
    body = [aug("s", "+", load("x", "i"), line=3), store("out", "i", fv("s"), line=4)]
    r = classify_loop_scalars(loop("i", "n", body=body))
    assert r.carried == ("s",)
    assert r.carried_details[0].loc.line == 3
    assert "'s'" in r.reasons[0] and "line 3" in r.reasons[0]
    assert not r.parallel_ok


def test_read_before_write_is_carried() -> None:
    body = [store("y", "i", fv("prev")), assign("prev", load("x", "i"))]
    r = classify_loop_scalars(loop("i", "n", body=body))
    assert r.carried == ("prev",)


def test_write_only_in_if_does_not_dominate() -> None:
    body = [if_(cmp(">", load("x", "i"), 0.0), [assign("t", 1.0)]), store("y", "i", fv("t"))]
    r = classify_loop_scalars(loop("i", "n", body=body))
    assert r.carried == ("t",)


def test_write_on_both_branches_dominates() -> None:
    test = cmp(">", load("x", "i"), 0.0)
    body = [if_(test, [assign("t", 1.0)], [assign("t", 2.0)]), store("y", "i", fv("t"))]
    r = classify_loop_scalars(loop("i", "n", body=body), live_after=set())
    assert "t" in r.private


def test_write_inside_nested_loop_does_not_dominate_later_read() -> None:
    inner = loop("j", "m", body=[assign("t", load("x", "j"))])
    body = [inner, store("y", "i", fv("t"))]
    r = classify_loop_scalars(loop("i", "n", body=body), live_after=set())
    assert r.carried == ("t",)


def test_conditional_write_live_after_loop_is_carried() -> None:
    body = [if_(cmp(">", load("x", "i"), 0.0), [assign("last", "i")])]
    r_live = classify_loop_scalars(loop("i", "n", body=body), live_after={"last"})
    assert r_live.carried == ("last",)
    r = classify_loop_scalars(loop("i", "n", body=body), live_after=set())
    assert r.private == ("i", "last") and r.lastprivate == ()


def test_unconditional_write_live_after_is_lastprivate() -> None:
    body = [assign("t", load("x", "i")), store("y", "i", fv("t"))]
    r = classify_loop_scalars(loop("i", "n", body=body), live_after={"t"})
    assert r.lastprivate == ("t",)


def test_continue_skipping_a_write_prevents_lastprivate() -> None:
    body = [if_(cmp(">", load("x", "i"), 0.0), [cont()]), assign("t", load("x", "i"))]
    r = classify_loop_scalars(loop("i", "n", body=body), live_after={"t"})
    assert r.carried == ("t",)


def test_argmin_pattern() -> None:
    d = load("x", "i")
    body = [if_(cmp("<", d, fv("best")), [assign("best", d), assign("k", "i")], line=7)]
    r = classify_loop_scalars(loop("i", "n", body=body))
    assert len(r.arg_reductions) == 1
    ar = r.arg_reductions[0]
    assert (ar.var, ar.index_vars, ar.op, ar.strict) == ("best", ("k",), "min", True)
    assert ar.loc.line == 7
    assert r.carried == ()


def test_argmax_flipped_compare_non_strict() -> None:
    body = [
        assign("d", load("x", "i")),
        if_(cmp("<=", fv("best"), fv("d")), [assign("k", "i"), assign("best", fv("d"))]),
    ]
    r = classify_loop_scalars(loop("i", "n", body=body), live_after={"best", "k"})
    ar = r.arg_reductions[0]
    assert (ar.var, ar.op, ar.strict) == ("best", "max", False)
    assert "d" in r.private


def test_conditional_min_without_index_is_plain_min() -> None:
    d = load("x", "i")
    body = [if_(cmp("<", d, fv("best")), [assign("best", d)])]
    r = classify_loop_scalars(loop("i", "n", body=body))
    assert r.reductions == (Reduction("best", "min"),)


def test_argmin_with_index_read_elsewhere_is_carried() -> None:
    d = load("x", "i")
    body = [
        if_(cmp("<", d, fv("best")), [assign("best", d), assign("k", "i")]),
        store("y", "i", "k"),
    ]
    r = classify_loop_scalars(loop("i", "n", body=body))
    assert r.arg_reductions == ()
    assert set(r.carried) == {"best", "k"}


def test_kmeans_inner_state_is_private_to_outer_loop() -> None:
    d = sub(load("x", "i"), load("c", "j"))
    inner = loop("j", "K", body=[
        assign("d", mul(d, d)),
        if_(cmp("<", fv("d"), fv("best")), [assign("best", fv("d")), assign("k", "j")]),
    ])
    body = [assign("best", 1e300), assign("k", 0), inner, store("labels", "i", "k")]
    r = classify_loop_scalars(loop("i", "n", body=body), live_after=set())
    assert set(r.private) == {"i", "j", "best", "k", "d"}
    assert r.carried == () and r.arg_reductions == ()
    # the inner loop on its own is an arg-min reduction
    r_inner = classify_loop_scalars(inner, live_after={"best", "k"})
    assert [a.var for a in r_inner.arg_reductions] == ["best"]


def test_reduction_var_read_elsewhere_is_carried() -> None:
    body = [aug("s", "+", load("x", "i")), store("y", "i", add(fv("s"), 1.0))]
    assert classify_loop_scalars(loop("i", "n", body=body)).carried == ("s",)


def test_private_array_allocated_each_iteration() -> None:
    body = [assign("tmp", zeros(3)), store("tmp", 0, load("x", "i"))]
    r = classify_loop_scalars(loop("i", "n", body=body), live_after=set())
    assert "tmp" in r.private


def test_nested_loop_var_read_before_its_loop_is_carried() -> None:
    body = [store("y", "i", "j"), loop("j", 3, body=[store("z", "j", 0.0)])]
    assert classify_loop_scalars(loop("i", "n", body=body)).carried == ("j",)


def test_array_var_swapped_in_loop_is_carried() -> None:
    body = [assign("t", arr("a")), assign("a", arr("b")), assign("b", Var("t", arr("a").type))]
    r = classify_loop_scalars(loop("k", "steps", body=body), live_after={"a", "b"})
    assert set(r.carried) == {"a", "b"}


def test_loads_are_not_scalars() -> None:
    ld = Load(arr("a"), (Var("i", load("a", 0).indices[0].type),), FLOAT64)
    r = classify_loop_scalars(loop("i", "n", body=[store("b", "i", ld)]))
    assert r.private == ("i",)


def test_live_after_loop() -> None:
    inner = loop("j", "m", body=[assign("t", load("x", "j")), store("y", "j", fv("t"))])
    outer = loop("i", "n", body=[inner, assign("u", 1.0)])
    body = (assign("u", 0.0), outer, store("z", 0, fv("u")))
    assert live_after_loop(body, outer.loop_id) == {"u", "z"}  # the array z is read too
    # after the inner loop, u is overwritten before any read: nothing useful is
    # live but what the next iteration of the outer loop reads (m, x, y arrays)
    assert "t" not in live_after_loop(body, inner.loop_id)
    assert "j" not in live_after_loop(body, inner.loop_id)
    r = classify_loop_scalars(outer, live_after_loop(body, outer.loop_id))
    assert set(r.private) == {"i", "j", "t", "u"} and r.lastprivate == ("u",)


def test_live_after_loop_sees_reads_in_later_iterations_of_enclosing_loop() -> None:
    inner = loop("j", "m", body=[assign("t", load("x", "j"))])
    outer = loop("i", "n", body=[store("y", "i", fv("t")), inner])
    assert "t" in live_after_loop((outer,), inner.loop_id)
