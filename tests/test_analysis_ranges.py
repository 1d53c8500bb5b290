"""Lower bounds of index expressions and clear_nonneg_wraps on hand-built functions."""

from __future__ import annotations

from hybridjit.analysis.ranges import (
    clear_nonneg_wraps,
    is_nonneg,
    lower_bound,
    variable_lower_bounds,
)
from hybridjit.ir.nodes import Load, Store
from hybridjit.ir.visit import walk
from hybridjit.types import INT8, INT32, INT64, PY_INT, UINT8, UINT32, Array, Scalar
from irbuild import add, assign, cast, fdiv, func, load, loop, mod, mul, neg, shape, store, sub, v

A1 = Array(Scalar("float64"), 1, "C")


def wraps(fn) -> dict[str, tuple[bool, ...]]:  # type: ignore[no-untyped-def]
    """Text of each access -> its wrap flags."""
    from hybridjit.analysis.exprtext import expr_text

    out = {}
    for s in fn.body:
        for n in walk(s):
            if isinstance(n, Load):
                out[expr_text(n)] = n.wrap
            elif isinstance(n, Store):
                out["store " + expr_text(Load(n.array, n.indices, n.array.type))] = n.wrap
    return out


def test_expression_bounds() -> None:
    b = {"i": 0, "k": 2}
    assert lower_bound(add("i", 1), b) == 1
    assert lower_bound(sub("k", 2), b) == 0
    assert lower_bound(sub("k", 3), b) == -1
    assert lower_bound(sub("i", "k"), b) is None  # needs an upper bound of k
    assert lower_bound(mul("i", "k"), b) == 0
    assert lower_bound(mul(-1, "k"), b) is None
    assert lower_bound(fdiv("k", 2), b) == 1
    assert lower_bound(mod("x", shape("a", 0)), b) == 0  # x unknown, divisor >= 0
    assert lower_bound(shape("a", 0), b) == 0
    assert lower_bound(neg("i"), b) is None
    assert lower_bound(v("u", UINT8), {}) == 0
    assert is_nonneg(cast(v("u", UINT8), INT64), {})
    assert not is_nonneg(cast(v("u", UINT32), INT32), {})  # narrowing may wrap
    assert not is_nonneg(cast(v("i", INT64), INT8), b)
    assert not is_nonneg(load("idx", "i", dtype=INT64), b)
    assert is_nonneg(load("idx", "i", dtype=UINT8), b)


def test_loop_variables_and_derived_locals() -> None:
    body = [
        assign("n", shape("a", 0)),
        assign("m", sub("n", 1)),  # may be -1
        loop("i", 1, "n", body=[assign("j", sub("i", 1))]),
        loop("k", "m", 0, step=-1, body=[]),  # values > 0
        loop("p", -2, "n", body=[]),
    ]
    b = variable_lower_bounds(func(body, params={"a": A1, "q": PY_INT}))
    assert b["n"] == 0 and b["m"] == -1 and b["i"] == 1 and b["j"] == 0 and b["k"] == 1
    assert b["p"] == -2 and "q" not in b


def test_constant_and_run_time_steps() -> None:
    body = [
        assign("n", shape("a", 0)),
        loop("i", 2, -2, step=-2, body=[]),  # 2, 0: exactly (stop + 1 = -1 would wrap)
        loop("j", 0, -2, step=-1, body=[]),  # 0, -1
        loop("k", -1, 8, step=-1, body=[]),  # empty: the bound of the formula
        loop("s", 0, "n", step="q", body=[]),  # either sign: >= min(0, n + 1)
        loop("t", 3, -5, step="q", body=[]),  # either sign: >= min(3, -4)
    ]
    b = variable_lower_bounds(func(body, params={"a": A1, "q": PY_INT}))
    assert b["i"] == 0 and b["j"] == -1 and b["k"] == 9
    assert b["s"] == 0 and b["t"] == -4


def test_counter_incremented_from_zero() -> None:
    body = [assign("c", 0), loop("i", "n", body=[assign("c", add("c", 1))])]
    assert variable_lower_bounds(func(body))["c"] == 0
    down = [assign("c", 0), loop("i", "n", body=[assign("c", sub("c", 1))])]
    assert "c" not in variable_lower_bounds(func(down))


def test_loop_variable_reassigned_in_body_loses_range() -> None:
    body = [loop("i", "n", body=[assign("i", sub("i", 5)), store("a", "i", 0.0, wrap=True)])]
    fn = clear_nonneg_wraps(func(body, params={"a": A1, "n": PY_INT}))
    assert wraps(fn)["store a[i]"] == (True,)


def test_clear_nonneg_wraps() -> None:
    inner = loop("j", "m", body=[
        store("out", ("i", "j"), add(load("a", sub("i", 1), "j", wrap=True),
                                     load("a", add("i", 1), sub("j", 1), wrap=True)), wrap=True),
    ])
    body = [loop("i", 1, sub("n", 1), body=[inner])]
    fn = func(body, params={"n": PY_INT, "m": PY_INT})
    w = wraps(clear_nonneg_wraps(fn))
    assert w["store out[i, j]"] == (False, False)
    assert w["a[i - 1, j]"] == (False, False)
    assert w["a[i + 1, j - 1]"] == (False, True)  # j - 1 is -1 when j == 0


def test_parameter_index_keeps_wrap() -> None:
    fn = func([store("a", "k", 0.0, wrap=True)], params={"a": A1, "k": PY_INT})
    assert wraps(clear_nonneg_wraps(fn))["store a[k]"] == (True,)
