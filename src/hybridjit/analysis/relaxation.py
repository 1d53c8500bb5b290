"""Relaxation updates: carried dependences that a run-time test on data removes.

Contract: :func:`relaxation_guards` takes the conflicts the dependence test
found on one written array of a loop and returns the :class:`ValueGuard`
tests under which none of them can change a value another iteration
reads, or None when it cannot show that.  Pure; no IR is modified.

The case this exists for is Floyd-Warshall::

    for k in range(n):
        for i in range(n):
            for j in range(n):
                d[i, j] = min(d[i, j], d[i, k] + d[k, j])

Iteration ``i == k`` of the ``i`` loop writes row ``k``, which every other
iteration reads: a real memory dependence.  But in that iteration the
statement is ``d[k, j] = min(d[k, j], d[k, k] + d[k, j])``, which stores the
value already there whenever ``d[k, k] >= 0`` (``x + g`` with ``g >= 0`` is
never below ``x`` in floating point, NaN compares false).  So, given that
test passes before the loop starts, no iteration changes what another reads,
and the loop may run in parallel; when it fails the loop runs serially.

The rule, for a loop over ``i`` and an array ``A`` whose only write in the
loop is a *relaxation* ``A[w] = min(A[w], e)`` (or ``max``, or ``if e <
A[w]: A[w] = e``), which leaves ``A[w]`` unchanged unless ``e`` beats it:

1. Every conflict pins the writing iteration: some subscript of the write
   is ``i + c`` and the other access's subscript there is invariant (in
   ``i`` and the nested loops), so the write can only hit memory another
   iteration touches at ``i* = that subscript - c``.
2. At ``i = i*``, ``e`` is ``A[w*] + g``: one operand is the very element
   being written and ``g`` is a loop-invariant scalar or element whose
   sign the guard tests (``g >= 0`` for min, ``<= 0`` for max; integers
   must have ``g == 0`` so ``A[w*] + g`` cannot wrap around).
3. ``g`` itself is stable: an invariant variable, an element of an array
   the loop does not write, or an element of ``A`` that only iteration
   ``i*`` can write - whose writes are unchanged values, by induction.

The stores of those no-op iterations still happen and write each element's
own bits back; other threads may read the element meanwhile and see the
same value either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..ir.nodes import (
    BinOp,
    Cast,
    Compare,
    Const,
    Expr,
    For,
    If,
    Intrinsic,
    Load,
    Store,
    ValueGuard,
    Var,
)
from ..ir.visit import rewrite, walk
from ..types import INT64, Array, Scalar
from .affine import Affine, Sym
from .exprtext import expr_text
from .scalars import iter_stmts, strip_casts

if TYPE_CHECKING:
    from .dependence import AccessSite, Conflict


@dataclass(frozen=True)
class _Relaxation:
    """``A[w] = min(A[w], e)`` in one of its spellings: ``op`` is "min" or
    "max", ``site`` the store, ``value`` the candidate ``e``."""

    site: AccessSite
    op: str
    value: Expr


def relaxation_guards(
    loop: For,
    sites: list[AccessSite],
    conflicts: list[Conflict],
    written: Callable[[str], bool],
    invariant: Callable[[str], bool],
) -> tuple[ValueGuard, ...] | None:
    """The guards under which ``conflicts`` (all on one array, whose
    accesses are ``sites``) are harmless, or None (module doc).
    ``written(name)``: the loop writes the array variable ``name`` refers
    to; ``invariant(name)``: the loop never assigns the scalar ``name``."""
    writes = [s for s in sites if s.access.is_write]
    if len(writes) != 1 or not conflicts:
        return None
    relax = _relaxation(writes[0], loop)
    if relax is None:
        return None
    by_access = {id(s.access): s for s in sites}
    site_of = {id(s.node): s for s in sites}
    guards: dict[str, ValueGuard] = {}
    for c in conflicts:
        other = by_access.get(id(c.other))
        if c.other.is_write or other is None or by_access.get(id(c.write)) is not relax.site:
            return None
        pin = _pin(relax.site, other, loop.var, invariant)
        if pin is None:
            return None
        guard = _noop_guard(relax, pin, loop, site_of, written, invariant)
        if guard is None:
            return None
        guards.setdefault(guard.why, guard)
    return tuple(guards.values())


# ------------------------------------------------------------ the pattern


def _relaxation(site: AccessSite, loop: For) -> _Relaxation | None:
    store = site.node
    assert isinstance(store, Store)
    arr = store.array.type
    assert isinstance(arr, Array)

    def is_self(e: Expr) -> bool:
        e = _exact_core(e)
        return isinstance(e, Load) and e.array.name == store.array.name \
            and e.indices == store.indices

    value = _exact_core(store.value)
    if isinstance(value, Intrinsic) and value.name in ("min", "max") and len(value.args) == 2:
        first, cand = value.args
        if is_self(first) and _exact_cast_chain(cand):
            return _Relaxation(site, value.name, strip_casts(cand))
        return None
    # ``if e < A[w]: A[w] = e`` (or ``A[w] > e``; max with the mirror tests)
    parent = next((s for s in iter_stmts(loop.body) if isinstance(s, If)
                   and len(s.body) == 1 and s.body[0] is store and not s.orelse), None)
    if parent is None or not isinstance(parent.test, Compare):
        return None
    t = parent.test
    for cand, cur, op in ((t.left, t.right, {"<": "min", ">": "max"}.get(t.op)),
                          (t.right, t.left, {">": "min", "<": "max"}.get(t.op))):
        if op and is_self(cur) and _exact_cast_chain(cand) \
                and strip_casts(cand) == value:
            return _Relaxation(site, op, value)
    return None


def _exact(src: Scalar, dst: Scalar) -> bool:
    """Converting ``src`` to ``dst`` keeps every value exactly."""
    if src.name == dst.name or src.is_bool:
        return True
    if src.is_float or dst.is_float:
        if not dst.is_float:
            return False
        if src.is_float:
            return dst.bits >= src.bits
        return src.bits <= {16: 8, 32: 16, 64: 32}[dst.bits]
    return bool(np.can_cast(src.dtype, dst.dtype, "safe"))


def _exact_cast_chain(e: Expr) -> bool:
    while isinstance(e, Cast):
        src, dst = e.value.type, e.type
        if not (isinstance(src, Scalar) and isinstance(dst, Scalar) and _exact(src, dst)):
            return False
        e = e.value
    return True


def _exact_core(e: Expr) -> Expr:
    """``e`` under casts that keep values exactly (else ``e`` itself)."""
    return strip_casts(e) if _exact_cast_chain(e) else e


# ------------------------------------------------------------ pinning


def _pin(write: AccessSite, other: AccessSite, var: str,
         invariant: Callable[[str], bool]) -> tuple[Affine, Expr] | None:
    """The only iteration ``i*`` of the loop whose write can touch what
    ``other`` touches (as a form and as an expression computable before the
    loop: no variable the loop assigns, even one its form substituted away),
    or None."""
    theirs = {Sym(f.var) for f in other.loops}
    for d, (fw, fx) in enumerate(zip(write.dim_forms, other.dim_forms, strict=True)):
        if fw is None or fx is None or fw.coef(var) != 1:
            continue
        rest = fw.without(var)
        if not rest.is_const or theirs & set(fx.symbols):
            continue
        idx = other.node.indices[d]
        if not all(invariant(v.name) for v in walk(idx) if isinstance(v, Var)):
            continue
        if rest.const:
            idx = BinOp("-", idx, Const(rest.const, INT64), INT64)
        return fx - rest.const, idx
    return None


def _noop_guard(relax: _Relaxation, pin: tuple[Affine, Expr], loop: For,
                site_of: dict[int, AccessSite], written: Callable[[str], bool],
                invariant: Callable[[str], bool]) -> ValueGuard | None:
    """The test on ``g`` making ``relax`` a no-op at iteration ``pin``
    (``site_of``: the array's access sites by IR node id)."""
    form, at = pin
    var = loop.var
    target = [f.substitute(var, form) if f else None for f in relax.site.dim_forms]
    e = relax.value
    if not (isinstance(e, BinOp) and e.op == "+"):
        return None
    for p, g in ((e.left, e.right), (e.right, e.left)):
        core = _exact_core(p)
        own = site_of.get(id(core))
        if own is None or not _exact_cast_chain(p):
            continue
        if [f.substitute(var, form) if f else None for f in own.dim_forms] != target:
            continue
        if not _stable(g, relax, form, loop, site_of, written, invariant):
            continue
        value = rewrite(g, lambda n: at if isinstance(n, Var) and n.name == var else n)
        return _guard(relax, value, f"{var} == {expr_text(at)}")
    return None


def _stable(g: Expr, relax: _Relaxation, form: Affine, loop: For,
            site_of: dict[int, AccessSite], written: Callable[[str], bool],
            invariant: Callable[[str], bool]) -> bool:
    """``g`` at iteration ``form`` has one value throughout the loop."""
    core = strip_casts(g)
    var = loop.var
    free = [n.name for n in walk(core) if isinstance(n, Var) and n.name != var
            and not isinstance(n.type, Array)]
    if not all(invariant(n) for n in free):
        return False
    if isinstance(core, Var):
        return core.name != var
    if not isinstance(core, Load):
        return False
    site = site_of.get(id(core))
    if site is None:  # another array: stable unless the loop writes it
        return not written(core.array.name)
    at = [f.substitute(var, form) if f else None for f in site.dim_forms]
    loop_syms = {Sym(f.var) for f in site.loops}
    if any(f is None or loop_syms & set(f.symbols) for f in at):
        return False
    # only iteration ``form`` may write it: a write subscript ``i + c``
    # meets it at i = that subscript - c
    for fw, fg in zip(relax.site.dim_forms, at, strict=True):
        if fw is not None and fg is not None and fw.coef(var) == 1 \
                and fw.without(var).is_const and fg - fw.without(var).const == form:
            return True
    return False


def _guard(relax: _Relaxation, value: Expr, iteration: str) -> ValueGuard | None:
    t = relax.value.type
    if not isinstance(t, Scalar):
        return None
    g = expr_text(value)
    if t.is_float:
        test, cmp = ("nonneg", ">= 0") if relax.op == "min" else ("nonpos", "<= 0")
    else:
        test, cmp = "zero", "== 0"
    why = (f"{g} {cmp}: then iteration {iteration}, the only one writing elements "
           f"other iterations read ({relax.site.access.text} at {relax.site.access.where}), "
           f"stores back the values already there (adding {g} cannot "
           f"{'lower' if relax.op == 'min' else 'raise'} them)")
    return ValueGuard(value, test, why)
