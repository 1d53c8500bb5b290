"""How a region's loop nest maps onto a device's index space.

Contract: :func:`kernel_grid` takes the outermost parallel loop of a region
and returns a :class:`KernelGrid` of 1 to :data:`MAX_DIMS` dimensions: 1-D
(each work-item runs whole iterations of the loop, its nested loops
serially), or 2-D/3-D, where the loop nested directly inside, and the one
inside that, get an index-space dimension of their own.

A nested loop gets a dimension when a GPU can split it without changing the
nest's meaning::

    for i in prange(n):        # the region's loop
        t = f(i)               # optional: scalar assignments only
        for j in range(m):     # last statement; bounds invariant in the nest
            u = g(i, j)        # optional again
            for k in range(p): # the same rules, one level deeper
                ...

Each such loop must be proven parallel for fixed values of the loops around
it by the dependence analysis, with no reductions beyond the region loop's
own (each work-item keeps one partial whichever loop its iterations come
from), and the statements before it are re-run by every work-item that
handles an iteration of it, so they may not read what the nest writes.
Why: a GPU reads memory fast when neighbouring threads touch neighbouring
addresses.  With one thread per row ``i``, thread ``t`` reads row ``t`` and
its neighbours read rows ``t+1``, ``t+2``: a stride of a whole row.  With
``j`` on the fastest-varying dimension, neighbours read ``a[i, j]``,
``a[i, j+1]``: one coalesced transaction.  Which loop goes on dimension 0
is decided by counting the array accesses whose last subscript (unit stride
in a C-ordered array) uses each loop's variable; the deepest loop wins
ties.  The other loops take dimensions 1 and 2, the deeper one first.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.dependence import analyse_loop, array_alias_roots
from ..analysis.scalars import classify_loop_scalars, iter_stmts, live_after_loop
from ..ir.nodes import Alloc, Assign, Call, Const, Expr, For, Function, Load, Stmt, Store, Var
from ..ir.visit import walk
from ..types import Scalar

#: index-space dimensions of OpenCL NDRanges and CUDA grids
MAX_DIMS = 3


@dataclass(frozen=True)
class KernelGrid:
    """``nest`` holds the loops nested in the region's loop that get a
    dimension of their own (outermost first), ``prefixes[k]`` the statements
    before ``nest[k]`` in its parent's body, and ``fast`` the level (0 for the
    region's loop, ``k + 1`` for ``nest[k]``) whose variable is dimension 0."""

    nest: tuple[For, ...] = ()
    prefixes: tuple[tuple[Stmt, ...], ...] = ()
    fast: int = 0
    why: str = ""

    @property
    def dims(self) -> int:
        return 1 + len(self.nest)

    def dim_order(self) -> tuple[int, ...]:
        """The level on each launch dimension, dimension 0 first."""
        rest = [level for level in reversed(range(self.dims)) if level != self.fast]
        return (self.fast, *rest)

    def dim_of(self, level: int) -> int:
        """The launch dimension of loop ``level`` (0 is the region's loop)."""
        return self.dim_order().index(level)


def kernel_grid(loop: For, fn: Function) -> KernelGrid:
    """The index-space shape for region loop ``loop`` (module doc)."""
    nest: list[For] = []
    prefixes: list[tuple[Stmt, ...]] = []
    parent, stopped = loop, ""
    while 1 + len(nest) < MAX_DIMS:
        if not parent.body or not isinstance(parent.body[-1], For):
            stopped = "" if nest else "the loop body does not end in a nested loop"
            break
        inner, prefix = parent.body[-1], parent.body[:-1]
        why_not = _why_not_split(loop, (loop, *nest), inner, prefix, fn)
        if why_not:
            stopped = f"the nested loop at line {inner.loc.line} {why_not}"
            break
        nest.append(inner)
        prefixes.append(prefix)
        parent = inner
    if not nest:
        return KernelGrid(why=f"1-D: {stopped}")
    levels = (loop, *nest)
    fast = _fastest_level(levels)
    names = [lp.var for lp in levels]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    why = (f"{len(levels)}-D: loops {listed} each get a dimension, "
           f"{names[fast]} the fastest-varying one (unit-stride accesses)")
    if stopped:  # a deeper loop runs inside each work-item; say why
        why += f"; {stopped}, so it runs inside each work-item"
    return KernelGrid(tuple(nest), tuple(prefixes), fast, why)


def identical_ok_on_grid(loop: For, grid: KernelGrid, fn: Function,
                         pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The pairs of ``pairs`` (arrays the region loop allows to be one and
    the same view, ``ParallelInfo.identical_ok``) that every loop the grid
    splits allows too.  The region loop's analysis covers its own iterations
    only: ``C[i, j] = sum(A[i, k] * B[k, j])`` called with ``C`` and ``A``
    one array has independent rows but a ``j`` loop that reads what it
    writes, so its kernel must not run then."""
    if not grid.nest:
        return pairs
    ok = []
    for a, b in pairs:
        roots = array_alias_roots(fn)
        ra = roots.get(a, a)
        merged = {n: ra if r == roots.get(b, b) else r for n, r in roots.items()}
        around: tuple[For, ...] = (loop,)
        for inner in grid.nest:
            live = live_after_loop(fn.body, inner.loop_id)
            verdict = analyse_loop(inner, around, classify_loop_scalars(inner, live), merged)
            if not verdict.parallel or verdict.guards:
                break
            around += (inner,)
        else:
            ok.append((a, b))
    return tuple(ok)


def _why_not_split(loop: For, around: tuple[For, ...], inner: For, prefix: tuple[Stmt, ...],
                   fn: Function) -> str:
    """Why ``inner`` (last in the body of ``around[-1]``, inside region loop
    ``loop``) cannot get a dimension of its own; "" when it can."""
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
    if not all(invariant(e, assigned) for e in (inner.start, inner.stop, inner.step)):
        return "has bounds that change with the outer loop"
    live = live_after_loop(fn.body, inner.loop_id)
    verdict = analyse_loop(inner, around, classify_loop_scalars(inner, live), roots)
    if not verdict.parallel or verdict.guards:
        return "is not proven parallel for fixed outer iterations"
    scal = verdict.scalars
    assert scal is not None and loop.parallel is not None
    own = {(r.var, r.op) for r in loop.parallel.reductions}
    if scal.arg_reductions or scal.lastprivate \
            or any((r.var, r.op) not in own for r in scal.reductions):
        return "carries a reduction of its own"
    return ""


def invariant(e: Expr, assigned: set[str]) -> bool:
    """Whether ``e`` has one value throughout a nest that assigns
    ``assigned``: it reads no memory, calls nothing, uses none of them."""
    return all(not isinstance(n, (Load, Call)) and not (isinstance(n, Var) and n.name in assigned)
               for n in walk(e))


def _fastest_level(levels: tuple[For, ...]) -> int:
    """The level whose variable steps through memory in most accesses."""
    votes = dict.fromkeys((lp.var for lp in levels), 0)
    for n in walk(levels[-1]):
        if isinstance(n, (Load, Store)) and n.indices:
            used = {v.name for v in walk(n.indices[-1]) if isinstance(v, Var)} & set(votes)
            if len(used) == 1:
                votes[used.pop()] += 1
    best = max(votes.values())
    return max(k for k, lp in enumerate(levels) if votes[lp.var] == best)
