"""affine_form on hand-built index expressions, and Affine arithmetic."""

from __future__ import annotations

import pytest

from hybridjit.analysis.affine import Affine, Sym, affine_form
from hybridjit.ir.nodes import BinOp, Const
from hybridjit.types import FLOAT64, INT32, INT64
from irbuild import add, cast, fdiv, fv, load, mod, mul, neg, shape, sub, v

LOOPS = {"i", "j"}


def inv(name: str) -> bool:
    return name in {"n", "m", "a", "b"}


def form(e):  # type: ignore[no-untyped-def]
    return affine_form(e, LOOPS, inv)


def test_constants_and_loop_vars() -> None:
    assert form(add("i", 1)) == Affine(1, ((Sym("i"), 1),))
    assert form(sub(mul(2, "i"), "j")) == Affine.symbol("i", 2) - Affine.symbol("j")
    assert form(neg("i")) == Affine.symbol("i", -1)
    assert form(Const(7, INT64)) == Affine(7)


def test_invariant_symbols_and_shapes() -> None:
    f = form(sub(add("i", "n"), shape("a", 0)))
    assert f is not None
    assert f.coef("i") == 1 and f.coef("n") == 1 and f.coef(Sym("a", 0)) == -1
    assert str(f) == "-a.shape[0] + i + n"


def test_non_invariant_scalar_is_not_affine() -> None:
    assert form(add("i", "t")) is None
    # ... unless a definition is substituted
    d = {"t": Affine.symbol("i") + 1}
    assert affine_form(add("j", "t"), LOOPS, inv, d) == Affine(1, ((Sym("i"), 1), (Sym("j"), 1)))


def test_shape_of_array_assigned_in_loop_is_not_affine() -> None:
    assert form(shape("c", 0)) is None


def test_products_division_modulo_loads_are_not_affine() -> None:
    assert form(mul("i", "j")) is None
    assert form(mul("i", "n")) is None
    assert form(fdiv("i", 2)) is None
    assert form(mod("i", "n")) is None
    assert form(add(cast(load("idx", "i", dtype=INT64), INT64), 1)) is None


def test_casts_between_ints_are_transparent_floats_are_not() -> None:
    assert form(cast(add(v("i", INT32), 1), INT64)) == Affine.symbol("i") + 1
    assert form(cast(fv("x"), INT64)) is None
    assert form(BinOp("+", v("i"), Const(1.5, FLOAT64), FLOAT64)) is None


def test_shift_by_constant() -> None:
    assert form(BinOp("<<", v("i"), Const(2, INT64), INT64)) == Affine.symbol("i", 4)


def test_arithmetic_and_printing() -> None:
    a = Affine.symbol("i", 2) + Affine.symbol("n") - 3
    assert a - a == Affine(0)
    assert (a * 2).coef("i") == 4
    expected = Affine.symbol("j", 2) + Affine.symbol("n") - 1
    assert a.substitute("i", Affine.symbol("j") + 1) == expected
    assert str(Affine.symbol("i") - 1) == "i - 1"
    assert str(Affine(0)) == "0"
    assert str(-Affine.symbol("i", 2)) == "-2*i"


def test_evaluate() -> None:
    a = Affine.symbol("i", 3) - Affine.symbol(Sym("a", 1)) + 5
    assert a.evaluate({Sym("i"): 2, Sym("a", 1): 10}) == 1
    with pytest.raises(KeyError):
        a.evaluate({Sym("i"): 2})
