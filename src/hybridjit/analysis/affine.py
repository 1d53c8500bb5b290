"""Affine forms of integer index expressions.

Contract: ``affine_form(expr, loop_vars, invariant, defs) -> Affine | None``.
An :class:`Affine` is ``const + sum(coef * sym)`` with integer coefficients
over :class:`Sym` symbols: loop variables (names in ``loop_vars``),
loop-invariant integer variables (``invariant(name)`` is True) and array
extents ``a.shape[d]`` (of an array ``a`` with ``invariant("a")``), the last
two opaque runtime values.  Anything else (products of two non-constant
terms, division, modulo, loads such as ``a[idx[i]]``, floats) gives None:
the caller treats it as "not affine".  ``defs`` optionally maps a variable to
the affine form of its single definition (forward substitution of
``ii = i + 1``); the caller vouches that it is valid at every use.

Integer arithmetic is taken as exact: index expressions are assumed not to
overflow int64 (a wrapped index would be out of bounds anyway).

``Affine.evaluate(values)`` gives the integer value for concrete symbol values.
``loop_range(for_node, form)`` gives the :class:`LoopRange` of a loop
variable and ``eliminate(form, var, range, want_max)`` bounds a form over it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..ir.nodes import BinOp, Cast, Const, Expr, For, Shape, UnaryOp, Var
from ..types import Scalar, Type


@dataclass(frozen=True, slots=True, order=True)
class Sym:
    """An integer unknown: variable ``name`` (``dim == -1``) or
    ``name.shape[dim]`` (``dim >= 0``)."""

    name: str
    dim: int = -1

    @property
    def is_shape(self) -> bool:
        return self.dim >= 0

    def __str__(self) -> str:
        return self.name if self.dim < 0 else f"{self.name}.shape[{self.dim}]"


@dataclass(frozen=True, slots=True)
class Affine:
    """``const + sum(coef * sym for sym, coef in terms)``; ``terms`` is sorted
    by symbol and holds no zero coefficient, so equal forms compare equal."""

    const: int
    terms: tuple[tuple[Sym, int], ...] = ()

    # ---------------------------------------------------------- building

    @staticmethod
    def constant(c: int) -> Affine:
        return Affine(c)

    @staticmethod
    def symbol(sym: Sym | str, coef: int = 1) -> Affine:
        s = Sym(sym) if isinstance(sym, str) else sym
        return Affine(0, ((s, coef),) if coef else ())

    @staticmethod
    def _make(const: int, coefs: Mapping[Sym, int]) -> Affine:
        return Affine(const, tuple(sorted((s, c) for s, c in coefs.items() if c)))

    def __add__(self, other: Affine | int) -> Affine:
        o = _lift(other)
        coefs = dict(self.terms)
        for s, c in o.terms:
            coefs[s] = coefs.get(s, 0) + c
        return Affine._make(self.const + o.const, coefs)

    def __radd__(self, other: int) -> Affine:
        return self + other

    def __sub__(self, other: Affine | int) -> Affine:
        return self + (-_lift(other))

    def __rsub__(self, other: int) -> Affine:
        return _lift(other) - self

    def __neg__(self) -> Affine:
        return self.scale(-1)

    def scale(self, k: int) -> Affine:
        if k == 0:
            return Affine(0)
        return Affine(self.const * k, tuple((s, c * k) for s, c in self.terms))

    def __mul__(self, k: int) -> Affine:
        return self.scale(k)

    def __rmul__(self, k: int) -> Affine:
        return self.scale(k)

    # --------------------------------------------------------- querying

    @property
    def is_const(self) -> bool:
        return not self.terms

    @property
    def symbols(self) -> tuple[Sym, ...]:
        return tuple(s for s, _ in self.terms)

    def coef(self, sym: Sym | str) -> int:
        s = Sym(sym) if isinstance(sym, str) else sym
        return dict(self.terms).get(s, 0)

    def without(self, sym: Sym | str) -> Affine:
        """This form with the term in ``sym`` dropped."""
        s = Sym(sym) if isinstance(sym, str) else sym
        return Affine(self.const, tuple(t for t in self.terms if t[0] != s))

    def substitute(self, sym: Sym | str, value: Affine) -> Affine:
        """Replace ``sym`` by the affine form ``value``."""
        c = self.coef(sym)
        return self.without(sym) + value.scale(c) if c else self

    def rename(self, mapping: Mapping[Sym, Sym]) -> Affine:
        coefs: dict[Sym, int] = {}
        for s, c in self.terms:
            t = mapping.get(s, s)
            coefs[t] = coefs.get(t, 0) + c
        return Affine._make(self.const, coefs)

    def evaluate(self, values: Mapping[Sym, int]) -> int:
        """The value for concrete symbol values (KeyError names a missing one)."""
        return self.const + sum(c * int(values[s]) for s, c in self.terms)

    def __str__(self) -> str:
        parts: list[str] = []
        for s, c in self.terms:
            mag = abs(c)
            text = str(s) if mag == 1 else f"{mag}*{s}"
            parts.append(("- " if c < 0 else "+ ") + text)
        if self.const or not parts:
            parts.append(("- " if self.const < 0 else "+ ") + str(abs(self.const)))
        first = parts[0]
        out = ("-" + first[2:]) if first.startswith("- ") else first[2:]
        return " ".join([out, *parts[1:]])


def _lift(x: Affine | int) -> Affine:
    return x if isinstance(x, Affine) else Affine(x)


# ------------------------------------------------------------ extraction


def _is_int_type(t: Type) -> bool:
    return isinstance(t, Scalar) and (t.is_int or t.is_bool)


def affine_form(
    expr: Expr,
    loop_vars: set[str] | frozenset[str],
    invariant: Callable[[str], bool],
    defs: Mapping[str, Affine] | None = None,
) -> Affine | None:
    """The affine form of integer expression ``expr``, or None (module doc)."""
    if isinstance(expr, Const):
        ok = isinstance(expr.value, bool | int) and _is_int_type(expr.type)
        return Affine(int(expr.value)) if ok else None
    if not _is_int_type(expr.type):
        return None
    if isinstance(expr, Var):
        if expr.name in loop_vars:
            return Affine.symbol(expr.name)
        if defs is not None and expr.name in defs:
            return defs[expr.name]
        return Affine.symbol(expr.name) if invariant(expr.name) else None
    if isinstance(expr, Shape):
        return Affine.symbol(Sym(expr.array.name, expr.dim)) if invariant(expr.array.name) else None
    if isinstance(expr, Cast):
        # int -> int casts are transparent (no overflow, see module doc);
        # float -> int truncates, which is not affine.
        if not _is_int_type(expr.value.type):
            return None
        return affine_form(expr.value, loop_vars, invariant, defs)
    if isinstance(expr, UnaryOp) and expr.op in ("neg", "pos"):
        inner = affine_form(expr.operand, loop_vars, invariant, defs)
        if inner is None:
            return None
        return -inner if expr.op == "neg" else inner
    if isinstance(expr, BinOp):
        return _binop_form(expr, loop_vars, invariant, defs)
    return None


def _binop_form(
    expr: BinOp,
    loop_vars: set[str] | frozenset[str],
    invariant: Callable[[str], bool],
    defs: Mapping[str, Affine] | None,
) -> Affine | None:
    if expr.op not in ("+", "-", "*", "<<"):
        return None  # // % / ** and bitwise ops are not affine
    a = affine_form(expr.left, loop_vars, invariant, defs)
    b = affine_form(expr.right, loop_vars, invariant, defs)
    if a is None or b is None:
        return None
    if expr.op == "+":
        return a + b
    if expr.op == "-":
        return a - b
    if expr.op == "<<":
        # ``x << k`` with a small constant k is ``x * 2**k``.
        return a.scale(1 << b.const) if b.is_const and 0 <= b.const < 63 else None
    if a.is_const:
        return b.scale(a.const)
    if b.is_const:
        return a.scale(b.const)
    return None  # product of two unknowns


# ------------------------------------------------------------ loop ranges


@dataclass(frozen=True)
class LoopRange:
    """Values of a loop variable: within [lo, hi] (inclusive), ``step`` apart
    (None where not affine / not a constant step)."""

    lo: Affine | None
    hi: Affine | None
    step: int | None

    def rename(self, mapping: Mapping[Sym, Sym]) -> LoopRange:
        lo = self.lo.rename(mapping) if self.lo is not None else None
        hi = self.hi.rename(mapping) if self.hi is not None else None
        return LoopRange(lo, hi, self.step)


def loop_range(f: For, form: Callable[[Expr], Affine | None]) -> LoopRange:
    """Range of ``f``'s variable, from ``form`` applied to its range() arguments.

    ``hi`` is ``stop - 1`` (``stop + 1`` for a negative step), a bound the
    last value may fall short of when ``|step| > 1``: ranges over-approximate.
    """
    step = form(f.step)
    if step is None or not step.is_const or step.const == 0:
        return LoopRange(None, None, None)
    start, stop, s = form(f.start), form(f.stop), step.const
    if start is None or stop is None:
        return LoopRange(None, None, s)
    return LoopRange(start, stop - 1, s) if s > 0 else LoopRange(stop + 1, start, s)


def eliminate(e: Affine | None, sym: Sym, r: LoopRange, want_max: bool) -> Affine | None:
    """A lower (``want_max``: upper) bound of ``e`` valid for every value of
    ``sym`` in ``r``: ``sym`` replaced by the end that minimises (maximises)
    its term.  None when that end is unknown (or ``e`` is None)."""
    if e is None:
        return None
    k = e.coef(sym)
    if not k:
        return e
    end = r.lo if (k > 0) != want_max else r.hi
    return None if end is None else e.substitute(sym, end)
