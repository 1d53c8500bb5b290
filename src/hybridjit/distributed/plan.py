"""Which loop nest of a function runs block by block, cut along which loops.

Contract: ``plan_partition(program, decisions, chunked) -> Plan``.  Input:
the typed, parallelised IR of one specialisation (``pipeline.analyse``), its
loop decisions, and the names of the array parameters that arrive chunked
(Dask arrays).  Output: a :class:`Plan` naming the *region* (the outermost
parallel loop nest, a statement at the top of the function), the loops cut
into blocks (the region's loop, then the nested loops the kernel grid gives
a dimension of their own), and for every written array the dimension each
such loop indexes as ``loop variable + offset``.  Pure: no values, no Dask.

A function that cannot run this way raises :class:`PartitionError` at the
line that prevents it, saying why: no parallel loop nest, a sequential loop
(a time loop) or an ``if`` around it, array work before or after it, a
written array whose blocks the subscripts do not tell apart (a subscript
computed from data), a NumPy array the nest writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..analysis.affine import Affine, Sym
from ..analysis.dependence import AccessSite, collect_accesses
from ..analysis.region import region_interface
from ..analysis.scalars import classify_loop_scalars, live_after_loop
from ..errors import PartitionError, SourceLoc
from ..ir.nodes import (
    Alloc,
    Assign,
    Call,
    Expr,
    For,
    Function,
    Load,
    Program,
    Reduction,
    Return,
    Stmt,
    Store,
    Var,
    While,
)
from ..ir.visit import walk, walk_all
from ..transform.grid import kernel_grid
from ..transform.parallelize import LoopDecision
from ..types import NONE, Array, Tuple

# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class DimMap:
    """``array``'s dimension ``dim`` is indexed by the loop variable plus
    ``offset`` (an affine form in values fixed before the nest)."""

    array: str
    dim: int
    offset: Affine


@dataclass(frozen=True)
class Split:
    """A loop whose iteration range is cut into blocks; ``maps`` says which
    dimension of each written array (of the anchor, for a nest that writes
    none) its variable indexes: the anchor's map comes first."""

    loop: For
    maps: tuple[DimMap, ...]

    def map_of(self, array: str) -> DimMap | None:
        return next((m for m in self.maps if m.array == array), None)


@dataclass(frozen=True)
class Plan:
    function: str
    loop: For  # the region: the outermost parallel loop of the nest
    index: int  # its position in the function's body
    splits: tuple[Split, ...]
    anchor: str | None  # the array whose chunks cut the iteration ranges
    params: tuple[str, ...]
    chunked: frozenset[str]
    touched: tuple[str, ...]  # array parameters the nest uses, in parameter order
    written: tuple[str, ...]  # of those, the ones it writes
    reductions: tuple[Reduction, ...]
    result: Expr | None  # the value returned after the nest
    sites: tuple[AccessSite, ...]  # every array access in the nest (for explain)


# ---------------------------------------------------------------- driver


def plan_partition(program: Program, decisions: Sequence[LoopDecision],
                   chunked: frozenset[str]) -> Plan:
    """The plan for running ``program``'s entry blockwise (module doc)."""
    fn = program.entry
    loop, index = _find_region(fn, decisions)
    _check_before(fn, fn.body[:index])
    result = _check_after(fn, fn.body[index + 1:])
    info = loop.parallel
    assert info is not None
    if info.arg_reductions:
        raise PartitionError("this loop nest finds the position of a minimum or maximum (an "
                             "arg-min/arg-max reduction), which fn.dask does not combine "
                             "across blocks", loop.loc)
    if info.lastprivate:
        raise PartitionError(f"'{info.lastprivate[0]}' keeps its last iteration's value after "
                             "this loop, which no single block knows", loop.loc)
    if info.guards:
        raise PartitionError("this loop runs in parallel only while a test on the data holds "
                             f"({info.guards[0].why}), which a block cannot check alone",
                             loop.loc)
    params = tuple(p.name for p in fn.params)
    iface = region_interface(loop, fn)
    in_nest = dict(iface.arrays)
    touched = tuple(p for p in params if p in in_nest)
    col = collect_accesses(loop, classify_loop_scalars(loop, live_after_loop(fn.body,
                                                                             loop.loop_id)))
    written_by_calls = _arrays_written_by_calls(program, loop)
    written = tuple(p for p in touched if p in iface.written or p in written_by_calls)
    sites = tuple(col.sites)
    for name in written:
        if name in written_by_calls:
            raise PartitionError(
                f"the loop nest passes '{name}' to a helper function that may write any element "
                "of it, so fn.dask cannot tell which block writes which part",
                written_by_calls[name],
                hint="write the array in the loop nest itself, indexed by the loop variables")
        if name not in chunked:
            first = next(s for s in sites if s.access.array == name and s.access.is_write)
            raise PartitionError(
                f"the loop nest writes '{name}', which is passed as a NumPy array: fn.dask "
                "sends NumPy arrays whole to every task as inputs", first.access.loc,
                hint=f"pass it as a Dask array (dask.array.from_array({name}, chunks=...)) so "
                     "each block returns its part")
    anchor, splits = _splits(loop, fn, written, touched, chunked, sites)
    return Plan(fn.name, loop, index, splits, anchor, params, chunked, touched, written,
                info.reductions, result, sites)


# ---------------------------------------------------------- the region


def _find_region(fn: Function, decisions: Sequence[LoopDecision]) -> tuple[For, int]:
    """The one outermost parallel loop, a statement of the function's body."""
    for s in fn.body:  # a parallel nest inside a loop or an if: say which one holds it
        if isinstance(s, For) and s.parallel is not None:
            continue
        inner = next((n for n in walk(s) if isinstance(n, For) and n.parallel is not None),
                     None)
        if inner is None:
            continue
        if (s.loc.line, s.loc.col) == (inner.loc.line, inner.loc.col):
            refuse_array_statement(inner)  # its versions (overlap, broadcast) under an if
        if isinstance(s, For | While):
            raise PartitionError(
                f"the parallel loop nest at line {inner.loc.line} runs inside this sequential "
                "loop (a time loop): fn.dask runs one loop nest per call, split into blocks",
                s.loc, hint="call fn.dask once per step, in a Python loop: each call adds one "
                            "layer of tasks to the Dask graph")
        raise PartitionError(
            f"the parallel loop nest at line {inner.loc.line} runs under this if statement: "
            "fn.dask runs one loop nest, unconditionally", s.loc,
            hint="test the condition in Python before calling fn.dask")
    top = [(k, s) for k, s in enumerate(fn.body) if isinstance(s, For) and s.parallel]
    if len(top) > 1:
        lines = ", ".join(str(s.loc.line) for _, s in top)
        raise PartitionError(
            f"this function has {len(top)} parallel loop nests (lines {lines}); fn.dask splits "
            "one loop nest per call", top[1][1].loc,
            hint="put each loop nest in a function of its own and chain the fn.dask calls")
    if top:
        k, s = top[0]
        assert isinstance(s, For)
        return s, k
    loops = [n for n in walk_all(fn.body) if isinstance(n, For)]
    if not loops:
        raise PartitionError(f"{fn.name}() has no loop of its own to split into blocks",
                             fn.loc)
    why = {d.loop_id: d.why for d in decisions}.get(loops[0].loop_id, "")
    raise PartitionError(
        "this loop is not parallel, so fn.dask cannot split it into blocks"
        + (f": {why}" if why else ""), loops[0].loc)


def refuse_array_statement(loop: For) -> None:
    raise PartitionError(
        "this parallel loop nest comes from a NumPy array statement: fn.dask cuts explicit "
        "for loops over range() or prange() into blocks", loop.loc,
        hint="write the statement as a loop nest")


def _check_before(fn: Function, stmts: tuple[Stmt, ...]) -> None:
    """Statements before the nest are re-evaluated on the client (shapes and
    scalars only): array work there would run outside any block."""
    types = fn.local_types()
    for s in stmts:
        if isinstance(s, Assign) and isinstance(types.get(s.target), Array):
            _refuse_before(f"assigns the array variable '{s.target}'", s)
        for n in walk(s):
            if isinstance(n, Load | Store):
                _refuse_before(f"{'writes' if isinstance(n, Store) else 'reads'} elements of "
                               f"'{n.array.name}'", n)
            if isinstance(n, Alloc):
                _refuse_before("allocates an array", n)
            if isinstance(n, Call):
                _refuse_before("calls a helper function", n)
            if isinstance(n, Return):
                _refuse_before("returns", n)


def _refuse_before(what: str, node: Stmt | Expr) -> None:
    raise PartitionError(
        f"this statement before the parallel loop nest {what}: fn.dask runs only the loop "
        "nest block by block, and evaluates what comes before it (shapes and scalars) on "
        "the client", node.loc,
        hint="move the array work into the loop nest, or out of the function")


def _check_after(fn: Function, stmts: tuple[Stmt, ...]) -> Expr | None:
    """Only ``return <scalar>`` may follow the nest: it is computed from the
    combined reductions once every block is done."""
    for s in stmts:
        if not isinstance(s, Return):
            raise PartitionError(
                "a statement after the parallel loop nest: fn.dask runs the loop nest block "
                "by block and returns the written arrays and the value returned from the "
                "reductions, nothing else", s.loc,
                hint="move this statement out of the function, after the fn.dask call")
        if s.value is None or s.value.type == NONE:
            return None
        if isinstance(s.value.type, Array | Tuple):
            what = "an array" if isinstance(s.value.type, Array) else "a tuple"
            raise PartitionError(
                f"the function returns {what}: fn.dask returns the written arrays (in "
                "argument order) and at most one scalar value", s.loc,
                hint="return one scalar (or nothing); the written arrays come back anyway")
        return s.value
    return None


def _arrays_written_by_calls(program: Program, loop: For) -> dict[str, SourceLoc]:
    """Array parameters the nest passes to a helper that may store into them
    (or pass them on): name -> the call's location."""
    by_symbol = {f.symbol: f for f in program.callees}
    out: dict[str, SourceLoc] = {}
    for n in walk(loop):
        if isinstance(n, Call):
            callee = by_symbol.get(n.func)
            for k, a in enumerate(n.args):
                if isinstance(a, Var) and isinstance(a.type, Array) and \
                        (callee is None or _may_write(callee, k, by_symbol, set())):
                    out.setdefault(a.name, n.loc)
    return out


def _may_write(fn: Function, k: int, by_symbol: dict[str, Function],
               seen: set[tuple[str, int]]) -> bool:
    if (fn.symbol, k) in seen or k >= len(fn.params):
        return False
    seen.add((fn.symbol, k))
    name = fn.params[k].name
    aliases = {name} | {s.target for s in walk_all(fn.body) if isinstance(s, Assign)
                        and any(isinstance(v, Var) and v.name == name for v in walk(s.value))}
    for n in walk_all(fn.body):
        if isinstance(n, Store) and n.array.name in aliases:
            return True
        if isinstance(n, Call):
            callee = by_symbol.get(n.func)
            for j, a in enumerate(n.args):
                if isinstance(a, Var) and a.name in aliases and \
                        (callee is None or _may_write(callee, j, by_symbol, seen)):
                    return True
    return False


# ---------------------------------------------------------- the splits


def _splits(loop: For, fn: Function, written: tuple[str, ...], touched: tuple[str, ...],
            chunked: frozenset[str], sites: tuple[AccessSite, ...]) -> tuple[
                str | None, tuple[Split, ...]]:
    """The anchor and the loops cut into blocks.  The region's loop must tie
    every written array to its iterations; a nested grid loop is cut too when
    it ties every one of them as well (else it runs whole in each block)."""
    levels = (loop, *kernel_grid(loop, fn).nest)
    if written:
        arrays = written
        maps = [_require_map(loop, name, sites) for name in arrays]
    else:  # a reduction: cut along the first chunked array the loop walks through
        arrays = ()
        maps = []
        for name in touched:
            m = _common_map(loop.var, _sites_of(name, sites, False), set())
            if name in chunked and isinstance(m, DimMap):
                arrays, maps = (name,), [m]
                break
        if not arrays:
            return None, ()
    splits = [Split(loop, tuple(maps))]
    used = {m.array: {m.dim} for m in maps}
    for inner in levels[1:]:
        inner_maps = []
        for name in arrays:
            m = _common_map(inner.var, _sites_of(name, sites, bool(written)), used[name])
            if not isinstance(m, DimMap):
                break
            inner_maps.append(m)
        if len(inner_maps) < len(arrays):
            break
        splits.append(Split(inner, tuple(inner_maps)))
        for m in inner_maps:
            used[m.array].add(m.dim)
    return arrays[0], tuple(splits)


def _sites_of(name: str, sites: tuple[AccessSite, ...], writes: bool) -> list[AccessSite]:
    return [s for s in sites if s.access.array == name and s.access.is_write == writes]


def _require_map(loop: For, name: str, sites: tuple[AccessSite, ...]) -> DimMap:
    found = _common_map(loop.var, _sites_of(name, sites, True), set())
    if isinstance(found, DimMap):
        return found
    assert found is not None  # a written array has a write site
    site, why = found
    hint = ("index the written array with the loop variable plus a constant (B[i, j], "
            "B[i + 1]), or run this function without Dask")
    if why == "data":
        raise PartitionError(
            f"the loop nest writes {site.access.text} at a subscript computed from the data "
            f"(or one that may be negative and wrap around), so fn.dask cannot tell which "
            f"block writes which part of '{name}'", site.access.loc, hint=hint)
    if why == "none":
        raise PartitionError(
            f"the loop nest writes {site.access.text}, and no subscript of the form "
            f"{loop.var} + constant ties it to the iterations of the loop at line "
            f"{loop.loc.line}, so fn.dask cannot tell which block writes which part of "
            f"'{name}'", site.access.loc, hint=hint)
    raise PartitionError(
        f"the loop nest writes '{name}' with {loop.var} in different dimensions or with "
        f"different offsets ({why} and {site.access.text}), so the blocks of iterations do "
        f"not write separate parts of it", site.access.loc, hint=hint)


def _common_map(var: str, sites: list[AccessSite],
                used: set[int]) -> DimMap | tuple[AccessSite, str] | None:
    """The dimension and offset with which every site indexes ``var + offset``;
    else (the site that breaks it, "data" | "none" | the text of the site it
    disagrees with), or None without sites."""
    if not sites:
        return None
    common: dict[int, Affine] | None = None
    first: AccessSite | None = None
    for site in sites:
        own = _direct_dims(var, site, used)
        if not own:
            return site, "data" if any(f is None for f in site.dim_forms) else "none"
        if common is None:
            common, first = own, site
            continue
        common = {d: o for d, o in common.items() if own.get(d) == o}
        if not common:
            assert first is not None
            return site, first.access.text
    assert common
    d = min(common)
    return DimMap(sites[0].access.array, d, common[d])


def _direct_dims(var: str, site: AccessSite, used: set[int]) -> dict[int, Affine]:
    """Dimensions whose subscript is ``var + offset`` with an offset free of
    loop variables."""
    loop_vars = {f.var for f in site.loops}
    out = {}
    for d, form in enumerate(site.dim_forms):
        if d in used or form is None or form.coef(Sym(var)) != 1:
            continue
        offset = form.without(Sym(var))
        if not any(not s.is_shape and s.name in loop_vars for s in offset.symbols):
            out[d] = offset
    return out


# ---------------------------------------------------------- explaining


def halo_text(plan: Plan, name: str) -> str:
    """How far the reads of ``name`` reach around a block, per dimension, from
    its subscripts (explain's summary; the tasks use the exact footprints)."""
    split_vars = [s.loop.var for s in plan.splits]
    per_dim: dict[int, list[str]] = {}
    reach: dict[int, tuple[str, int, int]] = {}
    for site in _sites_of(name, plan.sites, False):
        loop_vars = {f.var for f in site.loops}
        for d, form in enumerate(site.dim_forms):
            if form is None:
                per_dim.setdefault(d, []).append("any element (a subscript computed from data)")
                continue
            used = [v for v in split_vars if form.coef(Sym(v)) == 1]
            rest = form.without(Sym(used[0])) if used else form
            if used and rest.is_const:
                v, lo, hi = reach.get(d, (used[0], rest.const, rest.const))
                if v == used[0]:
                    reach[d] = (v, min(lo, rest.const), max(hi, rest.const))
                    continue
            if any(not s.is_shape and s.name in loop_vars for s in form.symbols):
                per_dim.setdefault(d, []).append("the whole range its loops cover")
            else:
                per_dim.setdefault(d, []).append(str(form))
    parts = []
    for d in sorted(set(per_dim) | set(reach)):
        texts = []
        if d in reach:
            v, lo, hi = reach[d]
            texts.append(f"{_offset(v, lo)}..{_offset(v, hi)}")
        texts += list(dict.fromkeys(per_dim.get(d, [])))
        parts.append(f"dim {d}: " + ", ".join(texts))
    return "; ".join(parts)


def _offset(var: str, c: int) -> str:
    return var if c == 0 else f"{var}{c:+d}"
