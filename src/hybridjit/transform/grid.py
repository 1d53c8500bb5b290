"""How a region's loop nest maps onto a device's index space.

Contract: :func:`kernel_grid` takes the outermost parallel loop of a region
and returns a :class:`KernelGrid`: either 1-D (each work-item runs whole
iterations of the loop, its nested loops serially) or 2-D, where the loop
nested directly inside gets a second index-space dimension of its own.

2-D needs a nest a GPU can split without changing its meaning::

    for i in prange(n):        # the region's loop
        t = f(i)               # optional: scalar assignments only
        for j in range(m):     # last statement; bounds invariant in i
            ...                # iterations independent for a fixed i

The inner loop must be proven parallel for a fixed ``i`` by the dependence
analysis, with no reductions beyond the outer loop's own (each work-item
keeps one partial whichever loop its iterations come from), and the
statements before it are re-run by every work-item that handles an
iteration of it.  Why 2-D: a GPU reads memory fast when neighbouring threads
touch neighbouring addresses.  With one thread per row ``i``, thread ``t``
reads row ``t`` and its neighbours read rows ``t+1``, ``t+2``: a stride of a
whole row.  With ``j`` on the fastest-varying dimension, neighbours read
``a[i, j]``, ``a[i, j+1]``: one coalesced transaction.  Which loop goes on
dimension 0 is decided by counting the array accesses whose last subscript
(unit stride in a C-ordered array) uses each loop's variable; the inner
loop wins ties.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.dependence import analyse_loop, array_alias_roots
from ..analysis.scalars import classify_loop_scalars, iter_stmts, live_after_loop
from ..ir.nodes import Alloc, Assign, Call, Const, Expr, For, Function, Load, Stmt, Store, Var
from ..ir.visit import walk
from ..types import Scalar


@dataclass(frozen=True)
class KernelGrid:
    """``inner`` is None for a 1-D kernel; else the nested loop with its own
    dimension, ``prefix`` the statements before it and ``inner_fast``
    whether its variable is dimension 0 (else the outer loop's is)."""

    inner: For | None = None
    prefix: tuple[Stmt, ...] = ()
    inner_fast: bool = True
    why: str = ""

    @property
    def dims(self) -> int:
        return 1 if self.inner is None else 2


def kernel_grid(loop: For, fn: Function) -> KernelGrid:
    """The index-space shape for region loop ``loop`` (module doc)."""
    if not loop.body or not isinstance(loop.body[-1], For):
        return KernelGrid(why="1-D: the loop body does not end in a nested loop")
    inner = loop.body[-1]
    prefix = loop.body[:-1]
    why_not = _why_not_2d(loop, inner, prefix, fn)
    if why_not:
        return KernelGrid(why=f"1-D: the nested loop at line {inner.loc.line} {why_not}")
    fast = _inner_is_fast(loop, inner)
    on_x = inner.var if fast else loop.var
    return KernelGrid(inner, prefix, fast,
                      f"2-D: loops {loop.var} and {inner.var} each get a dimension, "
                      f"{on_x} the fastest-varying one (unit-stride accesses)")


def _why_not_2d(loop: For, inner: For, prefix: tuple[Stmt, ...], fn: Function) -> str:
    if not (isinstance(inner.step, Const) and int(inner.step.value) != 0):
        return "has a step known only at run time"
    if not all(isinstance(s, Assign) and isinstance(s.value.type, Scalar)
               and not any(isinstance(n, (Call, Alloc)) for n in walk(s.value))
               for s in prefix):
        return "follows statements other than scalar assignments"
    # every work-item re-runs the prefix, some after others ran inner
    # iterations: it must not read what the nest writes
    roots = array_alias_roots(fn)
    written = {roots.get(n.array.name, n.array.name) for n in walk(loop) if isinstance(n, Store)}
    if any(isinstance(n, Load) and roots.get(n.array.name, n.array.name) in written
           for s in prefix for n in walk(s)):
        return "follows a read of an array the loop nest writes"
    assigned = {loop.var} | {s.target for s in iter_stmts(loop.body) if isinstance(s, Assign)}
    assigned |= {s.var for s in iter_stmts(loop.body) if isinstance(s, For)}
    if not all(_invariant(e, assigned) for e in (inner.start, inner.stop, inner.step)):
        return "has bounds that change with the outer loop"
    live = live_after_loop(fn.body, inner.loop_id)
    verdict = analyse_loop(inner, (loop,), classify_loop_scalars(inner, live), roots)
    if not verdict.parallel or verdict.guards:
        return "is not proven parallel for a fixed outer iteration"
    scal = verdict.scalars
    assert scal is not None and loop.parallel is not None
    own = {(r.var, r.op) for r in loop.parallel.reductions}
    if scal.arg_reductions or scal.lastprivate \
            or any((r.var, r.op) not in own for r in scal.reductions):
        return "carries a reduction of its own"
    return ""


def _invariant(e: Expr, assigned: set[str]) -> bool:
    return all(not isinstance(n, (Load, Call)) and not (isinstance(n, Var) and n.name in assigned)
               for n in walk(e))


def _inner_is_fast(loop: For, inner: For) -> bool:
    """Whether more accesses step through memory with ``inner``'s variable."""
    votes = {loop.var: 0, inner.var: 0}
    for n in walk(inner):
        if isinstance(n, (Load, Store)) and n.indices:
            used = {v.name for v in walk(n.indices[-1]) if isinstance(v, Var)} & set(votes)
            if len(used) == 1:
                votes[used.pop()] += 1
    return votes[inner.var] >= votes[loop.var]
