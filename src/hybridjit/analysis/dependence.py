"""Does a loop carry a dependence?  Array subscripts, scalars, early exits.

Contract: ``analyse_loop(loop, enclosing, scalar_info, array_roots) ->
LoopDependence``.  ``loop`` is any ``For``; ``enclosing`` the loops around it,
outermost first.  The question answered is whether two *different*
iterations of one execution of ``loop`` (all enclosing loop variables equal,
inner loop variables free: direction vector ``(=, ..., =, <>, *, ..., *)``)
can touch the same array element with at least one of them writing, or
carry a scalar value (``scalar_info``, from :mod:`.scalars`).  So an inner
loop can be parallel when an outer one is not.

Per pair of accesses to the same array, subscript by subscript (a pair is
independent as soon as one dimension is): exact tests for loop-invariant and
single-loop-variable subscripts (``a[i]`` vs ``a[i - 1]``: distance 1, with
the loop step and constant bounds taken into account), the GCD test, then
Banerjee's bounds test over the iteration space (bounds are affine in outer
loop variables and runtime symbols; the analysed pair is bounded exactly on
its triangle ``i1 < i2``).  Soundness: "parallel" is only claimed when every
pair is proven independent; anything not proven is a conflict (``certain``
when it happens whenever the loop runs enough iterations) or ``unknown``
(non-affine subscripts).

Some memory dependences are harmless because of the values involved:
Floyd-Warshall's ``d[i, j] = min(d[i, j], d[i, k] + d[k, j])`` writes row
``k`` in iteration ``i == k`` of its ``i`` loop, which other iterations read,
but stores the values already there when ``d[k, k] >= 0``.  Conflicts of
such relaxation updates are handed to :mod:`.relaxation`; when it accounts
for all of them the loop is parallel under ``LoopDependence.guards``, tests
made at run time before the loop starts.

Array variables: distinct names are distinct arrays (the dispatcher checks
arguments for overlap at call time) unless ``array_roots`` maps them to one
root (``b = a`` in the function, see :func:`array_alias_roots`).  Histogram
updates ``h[f(i)] += v`` whose only accesses to ``h`` are such updates are
reported as :class:`ArrayReduction` instead of a conflict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import SourceLoc
from ..ir.arrays import LibraryCall
from ..ir.nodes import (
    Alloc,
    Assign,
    Break,
    Call,
    Continue,
    Expr,
    For,
    Function,
    If,
    Load,
    Return,
    Stmt,
    Store,
    ValueGuard,
    Var,
    While,
)
from ..ir.visit import walk, walk_all
from ..types import Array
from .affine import Affine, LoopRange, Sym, affine_form, eliminate, loop_range
from .exprtext import expr_text
from .relaxation import relaxation_guards
from .scalars import (
    ScalarClassification,
    classify_loop_scalars,
    iter_stmts,
    live_after_loop,
    match_update,
    stmt_exprs,
    strip_casts,
)

# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Access:
    """One array access in the loop body, as the user wrote it."""

    array: str
    indices: tuple[Expr, ...]
    is_write: bool
    loc: SourceLoc
    text: str  # e.g. "a[i - 1]"

    @property
    def where(self) -> str:
        return f"line {self.loc.line}" if self.loc.line > 0 else "an unknown line"


@dataclass(frozen=True, slots=True)
class Conflict:
    """``write`` and ``other`` may touch one element in different iterations.

    ``kind``: "flow" (``other`` reads what an earlier iteration wrote), "anti"
    (``other`` reads what a later iteration overwrites), "output" (both
    write), "flow/anti" when either order is possible.  ``distance`` is the
    iteration distance from ``write`` to ``other`` when it is one constant.
    ``certain``: the conflict occurs whenever the loop runs enough iterations
    (exact test); otherwise the analysis merely could not rule it out.
    """

    write: Access
    other: Access
    kind: str
    distance: int | None
    certain: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ArrayReduction:
    """``h[f(i)] op= v`` updates, the only accesses of ``h`` in the loop:
    parallel with per-thread copies of ``h`` or atomic updates."""

    array: str
    op: str
    updates: tuple[Access, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class LoopDependence:
    """The verdict for one loop.

    ``parallel`` is True only when every array access pair is proven
    independent, no scalar is carried, and the loop cannot exit early; the
    scalars' private/reduction/arg-reduction lists (``scalars``) must then be
    honoured by the parallel code.  ``reasons`` explain every obstacle.
    """

    loop_id: int
    parallel: bool
    reasons: tuple[str, ...]
    conflicts: tuple[Conflict, ...] = ()
    unknown: tuple[Access, ...] = ()
    array_reductions: tuple[ArrayReduction, ...] = ()
    early_exits: tuple[SourceLoc, ...] = ()
    scalars: ScalarClassification | None = None
    #: tests on data under which ``parallel`` holds (see :mod:`.relaxation`)
    guards: tuple[ValueGuard, ...] = ()

    @property
    def parallel_with_array_reductions(self) -> bool:
        """Parallel if the ``array_reductions`` are implemented (copies/atomics)."""
        return self.parallel or (
            bool(self.array_reductions)
            and not (self.conflicts or self.unknown or self.early_exits)
            and (self.scalars is None or not self.scalars.carried)
        )

    @property
    def proven_race(self) -> bool:
        """A ``prange`` over this loop would certainly race (report an error)."""
        carried = self.scalars is not None and bool(self.scalars.carried)
        return carried or any(c.certain for c in self.conflicts)


# ------------------------------------------------------------ expressions

def _access(node: Load | Store, is_write: bool, loc: SourceLoc) -> Access:
    text = f"{node.array.name}[{', '.join(expr_text(i) for i in node.indices)}]"
    return Access(node.array.name, node.indices, is_write, node.loc if node.loc.line else loc, text)


# --------------------------------------------------------- alias roots


def array_alias_roots(fn: Function) -> dict[str, str]:
    """Map every array variable of ``fn`` to a root shared by all variables
    that may refer to the same memory (``b = a``, ``c = a if p else b``).

    Freshly allocated arrays get their own root; parameters are distinct
    (overlapping arguments are the dispatcher's business).
    """
    parent = {n: n for n, t in fn.locals if isinstance(t, Array)}

    def find(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    for s in iter_stmts(fn.body):
        if isinstance(s, LibraryCall):  # a NumPy function may return an operand
            for t in s.targets:
                for v in walk_all(s.args + s.option_values):
                    if isinstance(v, Var) and v.name in parent and t in parent:
                        a, b = sorted((find(t), find(v.name)))
                        parent[b] = a
            continue
        if not isinstance(s, Assign) or s.target not in parent:
            continue
        if isinstance(strip_casts(s.value), Alloc):
            continue
        for v in walk(s.value):
            if isinstance(v, Var) and v.name in parent:
                a, b = sorted((find(s.target), find(v.name)))
                parent[b] = a
    return {n: find(n) for n in parent}


# ---------------------------------------------------------- collection


@dataclass(frozen=True)
class AccessSite:
    """An access with its context: ``loops`` are the analysed loop, then the
    nested loops around the access; ``dim_forms`` the affine form of each
    subscript (None where not affine); ``conditional`` when under an ``if``
    or ``while`` (it may not run in every iteration)."""

    access: Access
    root: str
    node: Load | Store
    loops: tuple[For, ...]
    dim_forms: tuple[Affine | None, ...]
    conditional: bool

    @property
    def forms(self) -> tuple[Affine, ...] | None:
        """All subscripts' forms, or None when any is not affine."""
        forms = tuple(f for f in self.dim_forms if f is not None)
        return forms if len(forms) == len(self.dim_forms) else None


@dataclass
class AccessCollector:
    """One pass over a loop body: array accesses with the affine forms of
    their subscripts, the ranges of all loops, calls, early exits.

    Symbols are loop variables of the loops around each access and variables
    the body never assigns; private scalars assigned once (``ii = i + 1``)
    are substituted.  Build it with :func:`collect_accesses`.
    """

    loop: For
    roots: Mapping[str, str]
    assigned: frozenset[str]
    scalars: ScalarClassification
    assign_counts: dict[str, int]
    defs: dict[str, Affine] = field(default_factory=dict)
    bounds: dict[int, LoopRange] = field(default_factory=dict)
    sites: list[AccessSite] = field(default_factory=list)
    calls: list[tuple[str, Access]] = field(default_factory=list)
    exits: list[SourceLoc] = field(default_factory=list)
    jumps: bool = False  # any break/continue/return anywhere in the body
    #: variables some loop in the body binds (``k = i`` then ``for k in``:
    #: the assignment's value does not hold inside that loop)
    loop_bound: frozenset[str] = frozenset()

    def invariant(self, name: str) -> bool:
        return name not in self.assigned and name != self.loop.var

    def loop_vars(self, loops: tuple[For, ...]) -> frozenset[str]:
        # A loop variable the body reassigns is no loop variable at all.
        return frozenset(f.var for f in loops if self.assign_counts.get(f.var, 0) == 0)

    def form(self, e: Expr, loops: tuple[For, ...]) -> Affine | None:
        return affine_form(e, self.loop_vars(loops), self.invariant, self.defs)

    def bound(self, f: For, outside: tuple[For, ...]) -> LoopRange:
        return loop_range(f, lambda e: self.form(e, outside))

    def root(self, name: str) -> str:
        return self.roots.get(name, name)

    def run(self) -> None:
        self.bounds[self.loop.loop_id] = self.bound(self.loop, ())
        self.block(self.loop.body, (self.loop,), True, False)

    def block(self, body: tuple[Stmt, ...], loops: tuple[For, ...], own: bool, cond: bool) -> None:
        for s in body:
            self.stmt(s, loops, own, cond)

    def stmt(self, s: Stmt, loops: tuple[For, ...], own: bool, cond: bool) -> None:
        for e in stmt_exprs(s):
            self.expr(e, loops, s.loc, cond)
        if isinstance(s, Store):
            self.add(s, True, loops, s.loc, cond)
        elif isinstance(s, Assign):
            self.define(s, loops, cond)
        elif isinstance(s, If):
            self.block(s.body, loops, own, True)
            self.block(s.orelse, loops, own, True)
        elif isinstance(s, For):
            self.bounds[s.loop_id] = self.bound(s, loops)
            self.block(s.body, (*loops, s), False, cond)
        elif isinstance(s, While):
            self.block(s.body, loops, False, True)
        elif isinstance(s, Break | Continue | Return):
            self.jumps = True
            # ``continue`` only ends an iteration; ``break`` of this loop
            # (not of a nested one) and ``return`` end the whole loop.
            if isinstance(s, Return) or (isinstance(s, Break) and own):
                self.exits.append(s.loc)

    def expr(self, e: Expr, loops: tuple[For, ...], loc: SourceLoc, cond: bool) -> None:
        for n in walk(e):
            if isinstance(n, Load):
                self.add(n, False, loops, loc, cond)
            elif isinstance(n, Call):
                # The callee may read and write any array it is given.
                for a in n.args:
                    if isinstance(a, Var) and isinstance(a.type, Array):
                        acc = Access(a.name, (), True, n.loc if n.loc.line else loc,
                                     f"{n.func}(..., {a.name}, ...)")
                        self.calls.append((self.root(a.name), acc))

    def add(self, node: Load | Store, write: bool, loops: tuple[For, ...], loc: SourceLoc,
            cond: bool) -> None:
        forms = tuple(self.index_form(node, d, loops) for d in range(len(node.indices)))
        access = _access(node, write, loc)
        self.sites.append(AccessSite(access, self.root(node.array.name), node, loops, forms, cond))

    def index_form(self, node: Load | Store, d: int, loops: tuple[For, ...]) -> Affine | None:
        """The element a subscript reaches: a subscript that may be negative
        (not cleared by ranges.clear_nonneg_wraps) wraps around by the
        extent, which only a negative constant turns into an affine form
        (``a[-1]`` is ``a[n - 1]``); otherwise it is not affine."""
        f = self.form(node.indices[d], loops)
        if f is None or not node.wrap or not node.wrap[d]:
            return f
        if not f.terms and f.const < 0 and self.invariant(node.array.name):
            return f + Affine.symbol(Sym(node.array.name, d))
        return None

    def define(self, s: Assign, loops: tuple[For, ...], cond: bool) -> None:
        """Forward-substitute ``t = i + 1``: a private scalar assigned once.

        Private means every read is dominated by this single write in the
        same iteration, and the form only uses loop variables of loops around
        the assignment (constant wherever ``t`` is read) and invariants.
        """
        if cond or self.assign_counts.get(s.target, 0) != 1 or s.target in self.loop_bound:
            return
        if s.target not in self.scalars.private:
            return
        f = self.form(s.value, loops)
        if f is not None:
            self.defs[s.target] = f


def collect_accesses(
    loop: For,
    scalar_info: ScalarClassification | None = None,
    array_roots: Mapping[str, str] | None = None,
) -> AccessCollector:
    """Every array access of ``loop`` with affine subscripts (see AccessCollector)."""
    scalars = scalar_info if scalar_info is not None else classify_loop_scalars(loop)
    counts = _assign_counts(loop.body)
    bound = frozenset(f.var for f in iter_stmts(loop.body) if isinstance(f, For)) | {loop.var}
    col = AccessCollector(loop, array_roots or {}, frozenset(counts), scalars, counts,
                          loop_bound=bound)
    col.run()
    return col


# ------------------------------------------------------------- pair tests


@dataclass
class _Space:
    """The iteration space of a pair of accesses, for bounding h = f1 - f2."""

    inner: list[tuple[Sym, LoopRange]]  # nested loop variables, deepest first
    pair: tuple[Sym, Sym, LoopRange]  # the analysed loop's variable on each side
    outer: list[tuple[Sym, LoopRange]]  # enclosing loop variables, innermost first
    facts: list[Affine]  # affine forms >= 0 at every point of the space

    def range_of(self, sym: Sym) -> LoopRange | None:
        return next((r for s, r in self.inner if s == sym), None)

    def extreme(self, h: Affine, direction: str, want_max: bool) -> Affine | None:
        """min (or max) of ``h`` with ``i1 < i2`` (or ``>``), as a form in
        runtime symbols; None when unbounded."""
        e: Affine | None = h
        for sym, b in self.inner:
            e = eliminate(e, sym, b, want_max)
        e = _eliminate_pair(e, self.pair, direction, want_max)
        for sym, b in self.outer:
            e = eliminate(e, sym, b, want_max)
        return e

    def positive(self, e: Affine) -> bool:
        """Provably e > 0: e - t*F is a positive constant for some fact F >= 0."""
        if e.is_const:
            return e.const > 0
        shapes = [Affine.symbol(s) for s in e.symbols if s.is_shape]
        for fact in [*self.facts, *shapes]:
            t = _ratio(e, fact)
            if t is not None and e.const - t * fact.const > 0:
                return True
        # c + sum(k * shape) with every k >= 0 is at least c
        nonneg = all(s.is_shape and k > 0 for s, k in e.terms)
        return nonneg and e.const > 0


def _ratio(e: Affine, fact: Affine) -> Fraction | None:
    """t > 0 with e's symbolic part equal to t times fact's, else None."""
    if not fact.terms or {s for s, _ in e.terms} != {s for s, _ in fact.terms}:
        return None
    fc = dict(fact.terms)
    ratios = {Fraction(k, fc[s]) for s, k in e.terms}
    if len(ratios) != 1:
        return None
    t = ratios.pop()
    return t if t > 0 else None


def _eliminate_pair(
    e: Affine | None, pair: tuple[Sym, Sym, LoopRange], direction: str, want_max: bool
) -> Affine | None:
    """Bound ``a*i1 + b*i2`` over the triangle lo <= i1, i1 + g <= i2 <= hi
    (``<``) or its mirror (``>``); g = |step|.  The extremes lie on the
    vertices, which differ from the first one by multiples of W = hi-lo-g >= 0.
    """
    if e is None:
        return None
    s1, s2, b = pair
    a, c = e.coef(s1), e.coef(s2)
    if not a and not c:
        return e
    if b.lo is None or b.hi is None or b.step is None:
        return None
    g = abs(b.step)
    width = b.hi - b.lo - g
    if direction == "<":
        first, steps = (b.lo, b.lo + g), (0, a + c, c)
    else:
        first, steps = (b.lo + g, b.lo), (0, a + c, a)
    base = e.substitute(s1, first[0]).substitute(s2, first[1])
    return base + width.scale(max(steps) if want_max else min(steps))


@dataclass(frozen=True)
class _DimResult:
    independent: bool
    exact: bool = False  # solvable whenever the loops run long enough
    pair: tuple[Sym, Sym] | None = None  # the two copies of a loop variable it ties
    distance: int | None = None  # the value pair[1] - pair[0] it forces


def _gcd_excludes(h: Affine) -> bool:
    g = 0
    for _, k in h.terms:
        g = math.gcd(g, k)
    return g != 0 and h.const % g != 0


def _test_dim(
    h: Affine, direction: str, space: _Space, same_inner: set[tuple[Sym, Sym]]
) -> _DimResult:
    """Can subscript difference ``h`` be 0 with the analysed pair ordered by
    ``direction``?  ``same_inner`` pairs the two copies of a nested loop
    that encloses both accesses."""
    if h.is_const:  # loop-invariant subscripts: equal in every iteration or never
        return _DimResult(h.const != 0, exact=True)
    if _gcd_excludes(h):
        return _DimResult(True)
    s1, s2, b = space.pair
    for u, w in ((s1, s2), *same_inner):
        if set(h.symbols) == {u, w} and h.coef(u) == -h.coef(w):
            r = b if u == s1 else space.range_of(u)
            return _siv(h, u, w, r, direction if u == s1 else None)
    lo = space.extreme(h, direction, False)
    hi = space.extreme(h, direction, True)
    excluded = (lo is not None and space.positive(lo)) or (hi is not None and space.positive(-hi))
    return _DimResult(excluded)


def _siv(h: Affine, u: Sym, w: Sym, r: LoopRange | None, direction: str | None) -> _DimResult:
    """``h = a*u - a*w + c``: two copies of one loop variable, ``w - u == c/a``
    (``direction`` "<" wants that positive, ">" negative, None anything)."""
    a = h.coef(u)
    if h.const % a:
        return _DimResult(True)
    d = h.const // a
    if direction is not None and (d == 0 or (d > 0) != (direction == "<")):
        return _DimResult(True)
    if r is not None and r.step is not None and d % r.step:
        return _DimResult(True)  # both are start + k*step
    if r is not None and r.lo is not None and r.hi is not None:
        span = r.hi - r.lo
        if span.is_const and abs(d) > span.const:
            return _DimResult(True)
    return _DimResult(False, True, (u, w), d)


def _rename(site: AccessSite, tag: str) -> dict[Sym, Sym]:
    return {Sym(f.var): Sym(f"{f.var}@{tag}") for f in site.loops}


@dataclass
class _PairVerdict:
    directions: tuple[str, ...]  # value orders i1 < i2 / i1 > i2 that may conflict
    distance: int | None
    certain: bool


@dataclass
class _Tester:
    loop: For
    enclosing: tuple[For, ...]
    outer_bounds: list[tuple[Sym, LoopRange]]  # innermost first
    bounds: dict[int, LoopRange]

    def space(self, w: AccessSite, x: AccessSite, rw: dict[Sym, Sym], rx: dict[Sym, Sym]) -> _Space:
        inner: list[tuple[Sym, LoopRange]] = []
        facts: list[Affine] = []
        for site, ren in ((w, rw), (x, rx)):
            for f in reversed(site.loops[1:]):
                b = self.bounds[f.loop_id].rename(ren)
                inner.append((ren[Sym(f.var)], b))
                facts.extend(_nonempty(b, 0))
        b = self.bounds[self.loop.loop_id]
        pair = (rw[Sym(self.loop.var)], rx[Sym(self.loop.var)], b)
        # A carried conflict needs two iterations: hi - lo - |step| >= 0.
        facts.extend(_nonempty(b, abs(b.step) if b.step else 1))
        for _, ob in self.outer_bounds:
            facts.extend(_nonempty(ob, 0))
        return _Space(inner, pair, self.outer_bounds, facts)

    def test(self, w: AccessSite, x: AccessSite) -> _PairVerdict:
        """The pair's dependence over the dimensions whose subscripts are
        affine in both (all of them, for a pair of affine accesses)."""
        rw, rx = _rename(w, "1"), _rename(x, "2")
        space = self.space(w, x, rw, rx)
        shared = {
            (rw[Sym(f.var)], rx[Sym(f.var)])
            for f in w.loops[1:]
            if any(f is g for g in x.loops[1:])
        }
        hs = [fw.rename(rw) - fx.rename(rx)
              for fw, fx in zip(w.dim_forms, x.dim_forms, strict=True)
              if fw is not None and fx is not None]
        directions, distance, certain = [], None, True
        for direction in ("<", ">"):
            results = [_test_dim(h, direction, space, shared) for h in hs]
            if any(r.independent for r in results):
                continue
            directions.append(direction)
            # Exact per dimension is exact overall only if the dimensions
            # that tie the same variable pair agree on its distance.
            ties: dict[tuple[Sym, Sym], set[int | None]] = {}
            for r in results:
                if r.pair is not None:
                    ties.setdefault(r.pair, set()).add(r.distance)
            consistent = all(len(v) == 1 for v in ties.values())
            certain = certain and consistent and all(r.exact for r in results)
            own = ties.get(space.pair[:2], set())
            distance = next(iter(own)) if len(own) == 1 else None
        return _PairVerdict(tuple(directions), distance, certain and bool(directions))


def _nonempty(b: LoopRange, gap: int) -> list[Affine]:
    """``hi - lo - gap >= 0`` as a fact, when it involves only runtime symbols."""
    if b.lo is None or b.hi is None:
        return []
    f = b.hi - b.lo - gap
    return [f] if not f.is_const and all("@" not in s.name for s in f.symbols) else []


# --------------------------------------------------------------- messages


def _iteration_order(direction: str, step: int | None) -> str | None:
    """"later"/"earlier": when the second access runs relative to the write."""
    if step is None:
        return None
    later = (direction == "<") == (step > 0)
    return "later" if later else "earlier"


def _conflict(w: AccessSite, x: AccessSite, v: _PairVerdict, step: int | None) -> Conflict:
    orders = {_iteration_order(d, step) for d in v.directions}
    order = orders.pop() if len(orders) == 1 else None
    dist = None
    if v.distance is not None and step:
        dist = abs(v.distance // step) if v.distance % step == 0 else None
    if x.access.is_write:
        kind = "output"
    else:
        kind = {"later": "flow", "earlier": "anti"}.get(order or "", "flow/anti")
    text = _describe(w, x, kind, _when(order, dist), v.certain)
    return Conflict(w.access, x.access, kind, dist, v.certain, text)


def _describe(w: AccessSite, x: AccessSite, kind: str, when: str, certain: bool) -> str:
    """One sentence naming both accesses, for a reader who knows no theory."""
    wa, xa = w.access, x.access

    def verb(sure: str, maybe: str) -> str:
        return sure if certain else maybe

    if w is x:
        text = (f"{wa.text} at {wa.where} {verb('writes', 'may write')} the same element "
                f"in different iterations")
    elif kind == "output":
        text = (f"{xa.text} at {xa.where} {verb('overwrites', 'may overwrite')} an element "
                f"that {when} writes as {wa.text} at {wa.where}")
    elif kind == "flow":
        text = (f"{xa.text} read at {xa.where} {verb('uses', 'may use')} the value written "
                f"to {wa.text} at {wa.where} by {when}")
    elif kind == "anti":
        text = (f"{xa.text} read at {xa.where} {verb('reads', 'may read')} an element that "
                f"{when} overwrites as {wa.text} at {wa.where}")
    else:
        text = (f"{xa.text} read at {xa.where} {verb('reads', 'may read')} an element that "
                f"{when} writes as {wa.text} at {wa.where}")
    if not certain:
        text += " (the compiler cannot prove they never overlap)"
    return text


def _when(order: str | None, dist: int | None) -> str:
    if order is None:
        return "another iteration"
    if dist == 1:
        return "the previous iteration" if order == "later" else "the next iteration"
    if dist:
        return f"the iteration {dist} steps {'before' if order == 'later' else 'after'}"
    return "an earlier iteration" if order == "later" else "a later iteration"


# -------------------------------------------------------- array reductions


def _array_reduction(sites: list[AccessSite], root: str) -> ArrayReduction | None:
    """All accesses of ``root`` are ``h[idx] = h[idx] op v`` with one op."""
    ops: set[str] = set()
    self_loads: list[Load] = []
    updates: list[Access] = []
    for s in sites:
        if not isinstance(s.node, Store):
            continue
        store = s.node

        def is_self(e: Expr, store: Store = store) -> bool:
            return isinstance(e, Load) and e.array.name == store.array.name \
                and e.indices == store.indices

        m = match_update(store.value, is_self)
        if m is None:
            return None
        op, other = m
        if any(isinstance(n, Load) and n.array.name == store.array.name for n in walk(other)):
            return None
        ops.add(op)
        self_loads.extend(n for n in walk(store.value) if isinstance(n, Load) and is_self(n))
        updates.append(s.access)
    loads = [s.node for s in sites if isinstance(s.node, Load)]
    loads_ok = all(any(ld is own for own in self_loads) for ld in loads)
    if len(ops) != 1 or not loads_ok or not updates:
        return None
    op = ops.pop()
    first = updates[0]
    reason = (f"{first.text} at {first.where} is a reduction into array '{root}' ({op}): "
              f"different iterations may update the same element, so it runs in parallel "
              f"only with per-thread copies or atomic updates")
    return ArrayReduction(root, op, tuple(updates), reason)


# ----------------------------------------------------------------- driver


def _assign_counts(body: tuple[Stmt, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in iter_stmts(body):
        if isinstance(s, Assign):
            counts[s.target] = counts.get(s.target, 0) + 1
        elif isinstance(s, For):
            counts[s.var] = counts.get(s.var, 0)
    return counts


def fresh_private_arrays(body: tuple[Stmt, ...], scalars: ScalarClassification) -> set[str]:
    """Arrays allocated afresh in every iteration before any use (never
    another array's alias): their accesses stay within one iteration."""
    allocs: dict[str, bool] = {}
    for s in iter_stmts(body):
        if isinstance(s, Assign):
            fresh = isinstance(strip_casts(s.value), Alloc)
            allocs[s.target] = allocs.get(s.target, True) and fresh
    return {n for n, fresh in allocs.items() if fresh and n in scalars.private}


def _outer_bounds(enclosing: tuple[For, ...]) -> list[tuple[Sym, LoopRange]]:
    out: list[tuple[Sym, LoopRange]] = []
    for d, f in enumerate(enclosing):
        assigned = set(_assign_counts(f.body)) | {f.var}
        outer_vars = frozenset(g.var for g in enclosing[:d])

        def form(
            e: Expr, vs: frozenset[str] = outer_vars, asg: set[str] = assigned
        ) -> Affine | None:
            # range() is evaluated once: its symbols must keep their value
            # throughout this enclosing loop for the bound to hold later on.
            return affine_form(e, vs, lambda n: n not in asg)

        out.append((Sym(f.var), loop_range(f, form)))
    return out[::-1]


@dataclass
class _Findings:
    reasons: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    unknown: list[Access] = field(default_factory=list)
    reductions: list[ArrayReduction] = field(default_factory=list)
    guards: list[ValueGuard] = field(default_factory=list)


def analyse_loop(
    loop: For,
    enclosing: tuple[For, ...] = (),
    scalar_info: ScalarClassification | None = None,
    array_roots: Mapping[str, str] | None = None,
) -> LoopDependence:
    """Decide whether iterations of ``loop`` may run in parallel (module doc).

    Without ``scalar_info`` the scalars are classified with unknown liveness
    (conservative: nested loop variables count as used after the loop);
    :func:`analyse_function` passes exact liveness.
    """
    scalars = scalar_info if scalar_info is not None else classify_loop_scalars(loop)
    col = collect_accesses(loop, scalars, array_roots)
    tester = _Tester(loop, enclosing, _outer_bounds(enclosing), col.bounds)
    private = {col.root(n) for n in fresh_private_arrays(loop.body, scalars)}
    reassigned = {
        col.root(s.target)
        for s in iter_stmts(loop.body)
        if isinstance(s, Assign) and isinstance(s.value.type, Array)
    } - private

    out = _Findings(list(scalars.reasons))
    out.reasons += [f"the loop can stop early (break/return at line {loc.line})"
                    for loc in col.exits]
    called = {root for root, _ in col.calls}
    for _, acc in col.calls:
        out.unknown.append(acc)
        out.reasons.append(f"{acc.text} at {acc.where} may modify array '{acc.array}'")
    by_root: dict[str, list[AccessSite]] = {}
    for site in col.sites:
        if site.root not in private:
            by_root.setdefault(site.root, []).append(site)
    written = {s.root for s in col.sites if s.access.is_write} | called
    context = _ArrayContext(tester, lambda name: col.root(name) in written, col.invariant)
    for root, sites in by_root.items():
        if any(s.access.is_write for s in sites) or root in called:
            _judge_array(root, sites, context, root in reassigned, root in called, out)
    parallel = not (out.reasons or out.conflicts or out.unknown or out.reductions)
    return LoopDependence(
        loop.loop_id, parallel, tuple(dict.fromkeys(out.reasons)), tuple(out.conflicts),
        tuple(dict.fromkeys(out.unknown)), tuple(out.reductions), tuple(col.exits), scalars,
        tuple(out.guards) if parallel else (),
    )


@dataclass(frozen=True)
class _ArrayContext:
    """What judging one array needs to know about the loop."""

    tester: _Tester
    written: Callable[[str], bool]  # the loop writes this array variable's memory
    invariant: Callable[[str], bool]  # the loop never assigns this scalar


def _judge_array(root: str, sites: list[AccessSite], context: _ArrayContext, reassigned: bool,
                 called: bool, out: _Findings) -> None:
    """Add what the accesses of one written array contribute to the verdict."""
    tester = context.tester
    if reassigned:
        out.unknown += [s.access for s in sites]
        out.reasons.append(f"the array variable '{root}' is reassigned inside the loop")
        return
    found, unk = _root_conflicts(sites, tester)
    if not found and not unk:
        return
    red = _array_reduction(sites, root)
    if red is not None and not called:
        out.reductions.append(red)
        out.reasons.append(red.reason)
        return
    guards = None if unk or called else relaxation_guards(
        tester.loop, sites, found, context.written, context.invariant)
    if guards:
        out.guards += guards
        return
    out.conflicts += found
    out.unknown += unk
    out.reasons += [c.reason for c in found]
    out.reasons += [
        f"{a.text} {'written' if a.is_write else 'read'} at {a.where}: the subscript is not "
        f"a linear function of the loop variables, so the compiler cannot tell which "
        f"iterations touch the same element of '{a.array}'"
        for a in unk
    ]


def _root_conflicts(
    sites: list[AccessSite], tester: _Tester
) -> tuple[list[Conflict], list[Access]]:
    """Conflicts between a write and any access of one array.  A pair with
    a subscript that is not affine is still independent when a dimension
    affine in both proves it (``b[i, f(k)]`` in a loop over ``i``); else its
    accesses are unknown."""
    conflicts: list[Conflict] = []
    unknown: dict[Access, None] = {}
    writes = [s for s in sites if s.access.is_write]
    for wi, w in enumerate(writes):
        for x in sites:
            # each write pair once; reads against every write
            if x.access.is_write and writes.index(x) < wi:
                continue
            partial = w.forms is None or x.forms is None
            if partial and not any(a is not None and b is not None
                                   for a, b in zip(w.dim_forms, x.dim_forms, strict=True)):
                unknown.update({w.access: None, x.access: None})
                continue
            verdict = tester.test(w, x)
            if not verdict.directions:
                continue
            if partial:
                unknown.update({w.access: None, x.access: None})
                continue
            step = tester.bounds[tester.loop.loop_id].step
            conflicts.append(_conflict(w, x, verdict, step))
    if unknown:
        return [], list(unknown)
    return conflicts, []


def loops_with_enclosing(
    body: tuple[Stmt, ...], outer: tuple[For, ...] = ()
) -> Iterator[tuple[For, tuple[For, ...]]]:
    for s in body:
        if isinstance(s, For):
            yield s, outer
            yield from loops_with_enclosing(s.body, (*outer, s))
        elif isinstance(s, If):
            yield from loops_with_enclosing(s.body, outer)
            yield from loops_with_enclosing(s.orelse, outer)
        elif isinstance(s, While):
            yield from loops_with_enclosing(s.body, outer)


def analyse_function(fn: Function) -> dict[int, LoopDependence]:
    """:func:`analyse_loop` for every ``For`` of ``fn``, keyed by ``loop_id``,
    with exact liveness and alias roots computed from the whole function."""
    roots = array_alias_roots(fn)
    out = {}
    for f, enclosing in loops_with_enclosing(fn.body):
        scalars = classify_loop_scalars(f, live_after_loop(fn.body, f.loop_id))
        out[f.loop_id] = analyse_loop(f, enclosing, scalars, roots)
    return out
