"""region_footprint on hand-built regions, and evaluation at runtime values."""

from __future__ import annotations

from hybridjit.analysis.affine import Sym
from hybridjit.analysis.footprint import region_footprint
from hybridjit.analysis.scalars import classify_loop_scalars
from hybridjit.ir.nodes import Call, ExprStmt, For
from hybridjit.types import FLOAT64, INT64
from irbuild import add, arr, assign, cmp, if_, load, loop, mul, neg, shape, store, sub, zeros


def fp(region: For):  # type: ignore[no-untyped-def]
    return region_footprint(region, classify_loop_scalars(region, set()))


def jacobi() -> For:
    s = add(add(load("A", "i", sub("j", 1)), load("A", "i", add("j", 1))),
            add(load("A", sub("i", 1), "j"), load("A", add("i", 1), "j")))
    inner = loop("j", 1, sub("m", 1), body=[store("B", ("i", "j"), mul(0.25, s))])
    return loop("i", 1, sub("n", 1), body=[inner])


def test_jacobi_footprints() -> None:
    r = fp(jacobi())
    a, b = r.array("A"), r.array("B")
    assert a is not None and b is not None
    assert a.writes == () and len(a.reads) == 1 and b.reads == ()
    assert [str(d) for d in a.reads[0].dims] == ["[0, n - 1]", "[0, m - 1]"]
    assert [str(d) for d in b.writes[0].dims] == ["[1, n - 2]", "[1, m - 2]"]
    assert set(r.symbols) == {Sym("n"), Sym("m")}
    c = r.evaluate({"n": 6, "m": 5}, {"A": (6, 5), "B": (6, 5)})
    assert c["A"].read == ((0, 5), (0, 4)) and c["A"].write is None
    assert c["B"].write == ((1, 4), (1, 3)) and c["B"].fully_overwritten
    assert c["B"].read is None


def test_block_read_is_exactly_the_block() -> None:
    inner = loop("j", 10, 20, body=[
        store("out", (sub("i", 1000), sub("j", 10)), load("a", "i", "j")),
    ])
    r = fp(loop("i", 1000, 2000, body=[inner]))
    c = r.evaluate({}, {"a": (5000, 100), "out": (1000, 10)})
    assert c["a"].read == ((1000, 1999), (10, 19))
    assert c["out"].write == ((0, 999), (0, 9)) and c["out"].fully_overwritten


def test_conditional_write_is_not_covered() -> None:
    body = [if_(cmp(">", load("x", "i"), 0.0), [store("y", "i", 1.0)])]
    c = fp(loop("i", "n", body=body)).evaluate({"n": 8}, {"x": (8,), "y": (8,)})
    assert c["y"].write == ((0, 7),) and not c["y"].fully_overwritten


def test_indirect_subscript_reads_whole_dimension() -> None:
    body = [store("y", "i", load("x", load("idx", "i", dtype=INT64), "i"))]
    r = fp(loop("i", 4, body=body))
    c = r.evaluate({}, {"x": (100, 50), "y": (4,), "idx": (4,)})
    assert c["x"].read == ((0, 99), (0, 3))
    assert c["idx"].read == ((0, 3),)


def test_triangular_nest_is_bounded_but_not_covered() -> None:
    inner = loop("j", "i", "n", body=[store("a", ("i", "j"), 0.0)])
    r = fp(loop("i", "n", body=[inner]))
    a = r.array("a")
    assert a is not None and a.covered == ()
    assert [str(d) for d in a.writes[0].dims] == ["[0, n - 1]", "[0, n - 1]"]


def test_negative_step_and_negative_coefficient() -> None:
    # for i in range(n - 1, -1, -1): b[i] = a[n - 1 - i]
    body = [store("b", "i", load("a", sub(sub("n", 1), "i")))]
    r = fp(loop("i", sub("n", 1), -1, step=-1, body=body))
    c = r.evaluate({"n": 10}, {"a": (10,), "b": (10,)})
    assert c["a"].read == ((0, 9),)
    assert c["b"].write == ((0, 9),) and c["b"].fully_overwritten
    body2 = [store("b", neg("i"), 1.0)]  # b[-i]: -9..0, wraps
    c2 = fp(loop("i", 10, body=body2)).evaluate({}, {"b": (10,)})
    assert c2["b"].write == ((0, 9),) and not c2["b"].fully_overwritten


def test_possibly_negative_subscripts_wrap() -> None:
    body = [store("b", "i", add(load("a", sub("i", 1)), load("c", -1)))]
    c = fp(loop("i", 3, body=body)).evaluate({}, {"a": (10,), "b": (10,), "c": (7,)})
    assert c["a"].read == ((0, 9),)  # a[-1] wraps to the end
    assert c["c"].read == ((6, 6),)  # c[-1] is c[6]
    assert c["b"].write == ((0, 2),) and c["b"].fully_overwritten


def test_loop_not_indexing_the_write_must_run() -> None:
    inner = loop("k", "p", body=[store("out", "i", load("x", "i", "k"))])
    r = fp(loop("i", "n", body=[inner]))
    shapes = {"out": (5,), "x": (5, 3)}
    assert r.evaluate({"n": 5, "p": 3}, shapes)["out"].fully_overwritten
    empty = r.evaluate({"n": 5, "p": 0}, shapes)
    assert empty["out"].write is None and empty["x"].read is None


def test_step_two_is_bounded_but_not_covered() -> None:
    r = fp(loop("i", 0, "n", step=2, body=[store("b", "i", 1.0)]))
    c = r.evaluate({"n": 10}, {"b": (10,)})
    assert c["b"].write == ((0, 9),) and not c["b"].fully_overwritten


def test_empty_iteration_space() -> None:
    c = fp(jacobi()).evaluate({"n": 2, "m": 5}, {"A": (2, 5), "B": (2, 5)})
    assert c["A"].read is None and c["B"].write is None and not c["B"].fully_overwritten


def test_private_definitions_and_shapes() -> None:
    n = shape("a", 0)
    body = [assign("ii", add("i", 1)), store("b", "ii", load("a", "i"))]
    r = fp(loop("i", sub(n, 1), body=body))
    assert Sym("a", 0) in r.symbols
    c = r.evaluate({}, {"a": (8,), "b": (9,)})
    assert c["b"].write == ((1, 7),) and c["b"].fully_overwritten
    assert c["a"].read == ((0, 6),)


def test_call_makes_array_whole_and_private_array_is_skipped() -> None:
    body = [assign("tmp", zeros(3)), store("tmp", 0, 1.0),
            ExprStmt(Call("g", (arr("a"), load("tmp", 0)), FLOAT64)), store("b", "i", 1.0)]
    r = fp(loop("i", 4, body=body))
    assert r.array("tmp") is None
    c = r.evaluate({}, {"a": (10,), "b": (4,)})
    assert c["a"].read == ((0, 9),) and c["a"].write == ((0, 9),)
    assert not c["a"].fully_overwritten and c["b"].fully_overwritten


def test_out_of_range_write_claims_nothing() -> None:
    r = fp(loop("i", "n", body=[store("b", "i", 1.0)]))
    c = r.evaluate({"n": 12}, {"b": (10,)})
    assert c["b"].write == ((0, 9),) and not c["b"].fully_overwritten
