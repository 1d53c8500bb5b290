"""Which loads of a 2-D device kernel go through tiles in local memory.

Contract: :func:`plan_tiles` takes a region loop, its :class:`KernelGrid`
and the function, and returns a :class:`TilePlan` naming the serial
*contraction loops* of the kernel and, in each, the loads a work-group
stages through ``TILE`` x ``TILE`` tiles of local (shared) memory; or None
when the kernel is not such a nest.

The shape it recognises is a product written as loops, by hand or by the
lowering of ``A @ B`` (transform/arrays.py)::

    for i in prange(n):            # grid level 0
        for j in range(m):         # grid level 1 (its own dimension)
            s = 0                  # anything; runs per (i, j)
            for k in range(p):     # the contraction: bounds invariant
                s += A[i, k] * B[k, j]
            C[i, j] = s            # anything

Why: with one work-item per ``(i, j)``, every element of ``A[i, :]`` is
read from global memory by all ``m`` work-items of row ``i``.  In a
work-group of ``TILE`` x ``TILE`` items the group loads ``TILE`` columns of
``k`` of its rows of ``A`` and the same rows of ``B`` once, each item one
element, and every item then reads its ``TILE`` values of each from local
memory: global traffic drops by a factor of ``TILE``.

A load is staged when its subscripts use ``k`` and exactly one of the grid
variables (``i`` or ``j``) besides values invariant in the region, its
array is not written in the region, and it is evaluated on every iteration
of ``k`` (not under a conditional expression).  The contraction loop must
run the same iterations in every work-item (bounds invariant in the region,
a constant step) and hold only scalar assignments, so every work-item of a
group reaches the same barriers; it may sit inside ``if`` statements whose
tests are invariant in the region.  The arithmetic is untouched: each
work-item computes its value from the same operands in the same order as
without tiles, so results are bit-identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..analysis.dependence import array_alias_roots
from ..analysis.scalars import iter_stmts
from ..ir.nodes import (
    Alloc,
    Assign,
    BoolOp,
    Break,
    Call,
    Const,
    Continue,
    Expr,
    For,
    Function,
    If,
    IfExp,
    Let,
    Load,
    Return,
    Stmt,
    Store,
    Var,
)
from ..ir.visit import children, walk
from ..types import Scalar
from .grid import KernelGrid, invariant

#: work-items per side of a work-group, and the tile's extent along ``k``
TILE = 16
#: tiles one kernel may use (each TILE x (TILE + 1) elements of local memory)
MAX_TILES = 4


@dataclass(frozen=True)
class StagedLoad:
    """A load read through a tile: ``level`` is the grid level (0: the
    region's loop, 1: the nested one) whose variable it uses besides ``k``."""

    load: Load
    level: int


@dataclass(frozen=True)
class Contraction:
    loop_id: int
    loads: tuple[StagedLoad, ...]


@dataclass(frozen=True)
class TilePlan:
    contractions: tuple[Contraction, ...]
    size: int = TILE

    def loop(self, loop_id: int) -> Contraction | None:
        return next((c for c in self.contractions if c.loop_id == loop_id), None)

    def arrays(self) -> set[str]:
        """The array variables read through tiles."""
        return {s.load.array.name for c in self.contractions for s in c.loads}

    def why(self, fn: Function) -> str:
        arrays = sorted(n.lstrip(".") for n in self.arrays())
        lines = sorted({f.loc.line for f in iter_stmts(fn.body)
                        if isinstance(f, For) and self.loop(f.loop_id) is not None})
        return (f"work-groups of {self.size}x{self.size} read {', '.join(arrays)} through "
                f"tiles in local memory in the loop{'s' if len(lines) > 1 else ''} at "
                f"line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}")


def plan_tiles(loop: For, grid: KernelGrid, fn: Function) -> TilePlan | None:
    """The tiles of region ``loop`` (module doc), or None."""
    if grid.dims != 2:
        return None
    inner = grid.nest[0]
    variant = _assigned(loop)
    roots = array_alias_roots(fn)
    written = {roots.get(n.array.name, n.array.name) for n in walk(loop)
               if isinstance(n, Store)}
    levels = (loop.var, inner.var)
    if any(isinstance(n, (Break, Continue, Return)) for n in _top_level(inner.body)):
        return None  # (it leaves the loop early: not all items reach the barriers)
    found: list[Contraction] = []
    for k in _uniform_loops(inner.body, variant):
        staged = _staged_loads(k, levels, variant, written, roots)
        if staged:
            found.append(Contraction(k.loop_id, staged))
    if not found or sum(len(c.loads) for c in found) > MAX_TILES:
        return None  # nothing a work-group shares, or more than local memory holds
    return TilePlan(tuple(found))


def _assigned(loop: For) -> set[str]:
    """Variables the region assigns or binds (loop variables and the names
    of ``Let`` expressions included)."""
    out = {loop.var}
    for s in iter_stmts(loop.body):
        if isinstance(s, Assign):
            out.add(s.target)
        elif isinstance(s, For):
            out.add(s.var)
    out |= {n.name for n in walk(loop) if isinstance(n, Let)}
    return out


def _top_level(body: tuple[Stmt, ...]) -> Iterator[Stmt]:
    """Statements of ``body`` and of its ifs, not inside nested loops."""
    for s in body:
        yield s
        if isinstance(s, If):
            yield from _top_level(s.body)
            yield from _top_level(s.orelse)


def _uniform_loops(body: tuple[Stmt, ...], variant: set[str]) -> Iterator[For]:
    """Serial loops every work-item of a group reaches alike: in ``body``,
    or in ifs with invariant tests, with invariant bounds and a constant
    step, whose bodies hold only scalar assignments."""
    for s in body:
        if isinstance(s, If) and invariant(s.test, variant):
            yield from _uniform_loops(s.body, variant)
            yield from _uniform_loops(s.orelse, variant)
        elif isinstance(s, For) and s.parallel is None and _is_contraction(s, variant):
            yield s


def _is_contraction(k: For, variant: set[str]) -> bool:
    if not (isinstance(k.step, Const) and int(k.step.value) != 0):
        return False
    if not (invariant(k.start, variant) and invariant(k.stop, variant)):
        return False
    return all(isinstance(s, Assign) and s.target != k.var and isinstance(s.value.type, Scalar)
               and not any(isinstance(n, (Call, Alloc)) for n in walk(s.value))
               for s in k.body)


def _staged_loads(k: For, levels: tuple[str, str], variant: set[str], written: set[str],
                  roots: dict[str, str]) -> tuple[StagedLoad, ...]:
    out: list[StagedLoad] = []
    for s in k.body:
        assert isinstance(s, Assign)
        for load in _always_evaluated_loads(s.value):
            if roots.get(load.array.name, load.array.name) in written:
                continue
            used: set[str] = set()
            for ix in load.indices:
                for n in walk(ix):
                    if isinstance(n, (Load, Call)):
                        used.add("")  # an indirect subscript: not staged
                    elif isinstance(n, Var):
                        used.add(n.name)
            used &= variant | {""}
            for level, var in enumerate(levels):
                if used == {var, k.var}:
                    staged = StagedLoad(load, level)
                    if staged not in out:
                        out.append(staged)
    return tuple(out)


def _always_evaluated_loads(e: Expr) -> Iterator[Load]:
    """Loads of ``e`` evaluated whenever ``e`` is (not in the branches of a
    conditional expression or the later operands of ``and``/``or``)."""
    if isinstance(e, Load):
        yield e
        return
    if isinstance(e, IfExp):
        yield from _always_evaluated_loads(e.test)
        return
    if isinstance(e, BoolOp):
        yield from _always_evaluated_loads(e.values[0])
        return
    for c in children(e):
        if isinstance(c, Expr):
            yield from _always_evaluated_loads(c)
