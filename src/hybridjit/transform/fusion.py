"""Fusion of consecutive element-wise array statements into one loop nest.

Contract: helpers of :mod:`hybridjit.transform.arrays` (they take its
lowerer, ``lw``).  :func:`run_length` finds how many statements from a
position form a fusable run; :func:`lower_run` lowers such a run to one
loop nest computing, for each index, every statement's element in order.
A temporary array made by the run and used nowhere else becomes a scalar
of the nest's body (no allocation); one used later is still stored.

A run is consecutive statements, each ``x = <element-wise value>`` (a new
array) or ``target[...] = <element-wise value>``, whose values read arrays
only element by element (a Map tree over variables and basic views; scalar
parts that read no array), such that

* an array made earlier in the run is read only as itself (the same element),
* no statement stores into an array made in the run or rebinds a name read
  earlier in it,
* all statements have the same shape at run time, and no stored window
  shares memory with another window the run reads or stores (other than the
  very same window): both are tested at run time, and when a test fails the
  statements run one after the other, unfused.

Then computing element by element across the statements gives exactly what
computing them one after the other gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ir.arrays import ArrayStore, ArrayView, Fresh, Map, TransposeView
from ..ir.nodes import Assign, BinOp, Cast, Compare, Const, Expr, If, Stmt, Store, UnaryOp, Var
from ..ir.visit import walk
from ..types import BOOL, Array, Scalar

if TYPE_CHECKING:
    from .arrays import _Lowerer
    from .windows import Window

Shape_ = tuple[Expr, ...]


def run_length(lw: _Lowerer, stmts: tuple[Stmt, ...], start: int) -> int:
    """How many statements from ``start`` form a fusable run (0 or >= 2)."""
    made: set[str] = set()  # arrays the run makes
    read: set[str] = set()  # bases the run reads
    stored: set[str] = set()  # bases the run stores into
    n = 0
    for s in stmts[start:]:
        leaves = _member_leaves(lw, s)
        if leaves is None:
            break
        bases = {_root(x) for x in leaves}
        if any(not isinstance(x, Var) for x in leaves if _root(x) in made):
            break  # an array of the run read through a view: another element
        if bases & stored:
            break  # reads what an earlier statement stored (statically the same array)
        if isinstance(s, Assign):
            if s.target in read or s.target in made or s.target in stored:
                break
            made.add(s.target)
        else:
            assert isinstance(s, ArrayStore)
            target = _root(s.target)
            if target in made or target in read:
                break
            stored.add(target)
        read |= bases
        n += 1
    return n if n >= 2 else 0


def _member_leaves(lw: _Lowerer, s: Stmt) -> list[Expr] | None:
    """The array operands of a statement that can join a run (None if it
    cannot)."""
    if isinstance(s, Assign):
        t = lw.types.get(s.target)
        if not isinstance(t, Array) or s.target in lw.param_names or s.target in lw.forward:
            return None
        value = _strip(s.value)
        if not isinstance(value, (Map, Fresh)) and not (
                isinstance(value, Cast) and isinstance(value.type, Array)):
            return None  # a view, an allocation, a reduction ...: not element-wise
        return _leaves(value)
    if isinstance(s, ArrayStore):
        if _leaves(s.target) is None or not isinstance(_strip(s.target),
                                                      (Var, ArrayView, TransposeView)):
            return None
        if not isinstance(s.value.type, Array):
            return [] if _array_free(s.value) else None
        return _leaves(s.value)
    return None


def _leaves(e: Expr) -> list[Expr] | None:
    """The array leaves (variables and basic views of variables) of an
    element-wise expression; None if it is not one."""
    e = _strip(e)
    if isinstance(e, Var):
        return [e] if isinstance(e.type, Array) else None
    if isinstance(e, (ArrayView, TransposeView)):
        base = _strip(e.base)
        if not isinstance(base, (Var, ArrayView, TransposeView)) or _leaves(base) is None:
            return None
        parts = [x for d in getattr(e, "dims", ()) for x in _dim_exprs(d)]
        return [e] if all(_array_free(x) for x in parts) else None
    if isinstance(e, Map):
        out: list[Expr] = []
        for a in e.args:
            if isinstance(a.type, Array):
                sub = _leaves(a)
                if sub is None:
                    return None
                out += sub
            elif not _array_free(a):
                return None
        return out
    if isinstance(e, (Fresh,)) or (isinstance(e, Cast) and isinstance(e.type, Array)):
        return _leaves(e.value)
    return None


def _dim_exprs(d: object) -> list[Expr]:
    return [x for x in (getattr(d, "start", None), getattr(d, "stop", None),
                        getattr(d, "step", None), getattr(d, "index", None))
            if isinstance(x, Expr)]


def _array_free(e: Expr) -> bool:
    """A scalar expression that reads no array (its value cannot change
    while the run stores)."""
    return not any(isinstance(n, Expr) and isinstance(n.type, Array) for n in walk(e))


def _root(e: Expr) -> str:
    e = _strip(e)
    while isinstance(e, (ArrayView, TransposeView)):
        e = _strip(e.base)
    assert isinstance(e, Var)
    return e.name


def _strip(e: Expr) -> Expr:
    while isinstance(e, Cast) and isinstance(e.type, Array) and isinstance(e.value.type, Array) \
            and e.type.dtype == e.value.type.dtype:
        e = e.value
    return e


# ------------------------------------------------------------------ lowering


def lower_run(lw: _Lowerer, run: tuple[Stmt, ...]) -> list[Stmt]:
    """One nest for the run (see the module docstring), with the statements
    one after the other as the version for when its run-time tests fail."""
    pre: list[Stmt] = []
    shapes: list[Shape_] = []
    targets: dict[int, Window] = {}
    for k, s in enumerate(run):
        if isinstance(s, ArrayStore):
            w = lw.window(s.target, pre)
            targets[k] = w
            if isinstance(s.value.type, Array):
                pre += lw.check_store_shape(lw.shape_of(s.value, pre, s.loc), w.shape, s.loc)
            shapes.append(w.shape)
        else:
            assert isinstance(s, Assign)
            shapes.append(lw.shape_of(s.value, pre, s.loc))
            lw.extents[s.target] = shapes[-1]  # (later statements read its extents)
    shape = shapes[0]
    if any(len(x) != len(shape) for x in shapes):
        return []  # (the caller lowers them one by one)
    same: list[Expr] = [Compare("==", x, y, BOOL, run[0].loc)
                        for other in shapes[1:] for x, y in zip(other, shape)
                        if not _same(x, y)]
    kept = [s.target for s in run if isinstance(s, Assign) and lw.needed_after(s.target, run)]
    for name in kept:
        pre += lw.allocate(name, shape, run[0].loc)
    scalars = [s.target for s in run if isinstance(s, Assign) and s.target not in kept]
    lw.plan.fused_lines = sorted({s.loc.line for s in run})
    lw.plan.scalars = scalars
    saved, lw.reads = lw.reads, []
    try:
        nest = lw.nest(shape, lambda idx: _body(lw, run, targets, kept, idx, shape, pre),
                       run[0].loc)
        reads = lw.reads
    finally:
        lw.reads = saved
    apart = _apart_tests(lw, list(targets.values()), reads, run[0].loc)
    tests = same + apart
    if not tests:
        return [*pre, nest]
    # (the unfused version records extents valid only in its own branch:
    # what follows the run must see those the fused version's code set)
    role, lw.role, extents = lw.role, "unfused", dict(lw.extents)
    try:
        unfused = [x for s in run for x in lw.stmt(s, keep_plan=True)]
    finally:
        lw.role, lw.extents = role, extents
    cond: Expr = tests[0]
    for t in tests[1:]:
        cond = BinOp("&", cond, t, BOOL, False, run[0].loc)
    return [*pre, If(cond, (nest,), tuple(unfused), run[0].loc)]


def _body(lw: _Lowerer, run: tuple[Stmt, ...], targets: dict[int, Window], kept: list[str],
          idx: tuple[Expr, ...], shape: Shape_, pre: list[Stmt]) -> list[Stmt]:
    out: list[Stmt] = []
    saved = dict(lw.run_values)
    try:
        for k, s in enumerate(run):
            if isinstance(s, Assign):
                t = lw.types[s.target]
                assert isinstance(t, Array)
                value = lw.element(s.value, idx, shape, pre, t.dtype)
                temp = lw.temp(t.dtype, "f")
                out.append(Assign(temp, value, s.loc))
                lw.run_values[s.target] = Var(temp, t.dtype, s.loc)
                if s.target in kept:
                    out.append(Store(lw.var(s.target, s.loc), idx, Var(temp, t.dtype, s.loc),
                                     (False,) * len(idx), s.loc))
            else:
                assert isinstance(s, ArrayStore)
                w = targets[k]
                bt = w.base.type
                assert isinstance(bt, Array) and isinstance(bt.dtype, Scalar)
                if isinstance(s.value.type, Array):
                    v = lw.element(s.value, idx, shape, pre, bt.dtype)
                else:
                    v = lw.hoist(s.value, pre)
                    v = v if v.type == bt.dtype else Cast(v, bt.dtype, "", s.loc)
                out.append(Store(w.base, w.at(idx), v, w.wraps, s.loc))
    finally:
        lw.run_values = saved
    return out


def _apart_tests(lw: _Lowerer, stores: list[Window], reads: list[Window],
                 loc: object) -> list[Expr]:
    """Run-time tests that each stored window shares no memory with another
    window the run reads or stores (the very same window may: element by
    element it is read where it is written)."""
    from .arrays import _overlap_test

    tests: list[Expr] = []
    seen: list[tuple[Window, Window]] = []
    others = reads + stores
    for w in stores:
        for r in others:
            if r is w or r == w or not lw.may_alias(r.base.name, w.base.name):
                continue
            if (w, r) in seen or (r, w) in seen:
                continue
            seen.append((w, r))
            tests.append(UnaryOp("not", _overlap_test(w, r, loc), BOOL, loc))  # type: ignore[arg-type]
    return tests


def _same(a: Expr, b: Expr) -> bool:
    if isinstance(a, Const) and isinstance(b, Const):
        return int(a.value) == int(b.value)
    return a == b
