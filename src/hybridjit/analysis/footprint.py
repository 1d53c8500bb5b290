"""Which part of each array a parallel region reads and writes.

Contract: ``region_footprint(region, scalar_info) -> RegionFootprint``.
``region`` is the outermost ``For`` of a parallel region (its nested loops
included).  For each array variable the region touches, the result holds
symbolic boxes (per dimension an inclusive interval ``[lo, hi]`` whose ends
are :class:`~.affine.Affine` forms in runtime symbols: scalar variables not
assigned in the region and array extents), found by bounding each affine
subscript over the iteration space (the end of each loop that minimises or
maximises the term, innermost loop first, so triangular nests work).
A subscript that is not affine, or a loop whose range is not, gives the
whole dimension; an array passed to a call, or reassigned in the region, is
read and written whole.

A write box is *covered* when every element of it is surely written: an
unconditional store (no ``if``/``while`` around it, no ``break``/``continue``
in the region) whose subscripts are each ``+-v + invariant`` for distinct loop
variables ``v`` of unit-step loops with invariant bounds, every loop around
the store indexing a dimension or being provably non-empty at run time.

``RegionFootprint.evaluate(values, shapes)`` evaluates the boxes at region
entry: ``values`` maps each scalar symbol (a :class:`~.affine.Sym` or its
name) to its value, ``shapes`` each array to its shape.  The result per array
is one read box and one write box (the hull of the access boxes, as the
memory manager's inclusive ``(lo, hi)`` pairs, clamped to the shape; a
possibly negative subscript wraps, so it gives the whole dimension) and
whether the write box is fully overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..ir.nodes import Assign, Call, For, Var
from ..ir.visit import walk
from ..types import Array
from .affine import Affine, LoopRange, Sym, eliminate
from .dependence import AccessSite, collect_accesses, fresh_private_arrays
from .scalars import ScalarClassification, iter_stmts, stmt_exprs

# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class DimRange:
    """Inclusive index interval ``[lo, hi]`` of one dimension."""

    lo: Affine
    hi: Affine

    def __str__(self) -> str:
        return f"[{self.lo}, {self.hi}]"


#: One concrete box, as the memory manager takes it: inclusive (lo, hi) per dimension.
Box = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class SymBox:
    """A symbolic box: a DimRange per dimension (None: the whole dimension).

    ``requires`` are ranges of loops around the accesses: when one of them is
    empty at run time the accesses never run and the box is empty.  For a
    *covered* box (every element surely written) they are the loops that
    index no dimension, which must run for the claim to hold.
    """

    dims: tuple[DimRange | None, ...]
    requires: tuple[DimRange, ...] = ()

    def __str__(self) -> str:
        return " x ".join("[:]" if d is None else str(d) for d in self.dims)


@dataclass(frozen=True, slots=True)
class ArrayFootprint:
    array: str
    ndim: int
    reads: tuple[SymBox, ...]
    writes: tuple[SymBox, ...]
    covered: tuple[SymBox, ...]  # write boxes whose every element is written


@dataclass(frozen=True, slots=True)
class ConcreteFootprint:
    """Evaluated footprint of one array: None where nothing is read/written."""

    read: Box | None
    write: Box | None
    fully_overwritten: bool


@dataclass(frozen=True, slots=True)
class RegionFootprint:
    loop_id: int
    arrays: tuple[ArrayFootprint, ...]
    symbols: tuple[Sym, ...]  # every runtime value the boxes mention

    def array(self, name: str) -> ArrayFootprint | None:
        return next((a for a in self.arrays if a.array == name), None)

    def evaluate(
        self, values: Mapping[Sym | str, int], shapes: Mapping[str, Sequence[int]]
    ) -> dict[str, ConcreteFootprint]:
        """Concrete boxes per array (module doc); a missing symbol is a KeyError."""
        env = symbol_values(values, shapes)
        return {a.array: _evaluate_array(a, env, tuple(shapes[a.array])) for a in self.arrays}

    def evaluate_reads(
        self, values: Mapping[Sym | str, int], shapes: Mapping[str, Sequence[int]]
    ) -> dict[str, list[Box]]:
        """Each read box of each array on its own (with ``merge_reads=False``,
        one per access: their union leaves out what their hull adds, such as
        a 5-point stencil's corners)."""
        env = symbol_values(values, shapes)
        out = {}
        for a in self.arrays:
            boxes = (_concrete(b, env, tuple(shapes[a.array])) for b in a.reads)
            out[a.array] = list(dict.fromkeys(b for b in boxes if b is not None))
        return out


def symbol_values(
    values: Mapping[Sym | str, int], shapes: Mapping[str, Sequence[int]]
) -> dict[Sym, int]:
    """The symbol environment: scalars by name or Sym, plus every array extent."""
    env = {Sym(k) if isinstance(k, str) else k: int(v) for k, v in values.items()}
    for name, shape in shapes.items():
        for d, n in enumerate(shape):
            env[Sym(name, d)] = int(n)
    return env


# ---------------------------------------------------------- symbolic boxes


def _extreme(form: Affine, site: AccessSite, ranges: Mapping[int, LoopRange],
             want_max: bool) -> Affine | None:
    """Bound ``form`` over the loops around the access, innermost first
    (their ranges may mention the loop variables of outer ones)."""
    e: Affine | None = form
    for f in reversed(site.loops):
        e = eliminate(e, Sym(f.var), ranges[f.loop_id], want_max)
    return e


def _site_box(site: AccessSite, ranges: Mapping[int, LoopRange]) -> SymBox:
    dims: list[DimRange | None] = []
    for form in site.dim_forms:
        lo = _extreme(form, site, ranges, False) if form is not None else None
        hi = _extreme(form, site, ranges, True) if form is not None else None
        dims.append(DimRange(lo, hi) if lo is not None and hi is not None else None)
    loop_vars = {f.var for f in site.loops}
    requires = []
    for f in site.loops:
        r = ranges[f.loop_id]
        # Only ranges fixed for the whole region can be checked at its entry.
        if r.lo is not None and r.hi is not None and _is_invariant(r.lo, loop_vars) \
                and _is_invariant(r.hi, loop_vars):
            requires.append(DimRange(r.lo, r.hi))
    return SymBox(tuple(dims), tuple(requires))


def _is_invariant(form: Affine | None, loop_vars: set[str]) -> bool:
    return form is not None and all(s.is_shape or s.name not in loop_vars for s in form.symbols)


def _covered_box(site: AccessSite, ranges: Mapping[int, LoopRange]) -> SymBox | None:
    """The box ``site`` writes entirely, when it provably does (module doc)."""
    forms = site.forms
    if site.conditional or forms is None:
        return None
    loop_vars = {f.var for f in site.loops}
    loops = {f.var: f for f in site.loops}
    used: set[str] = set()
    box: list[DimRange] = []
    for form in forms:
        vs = [s for s in form.symbols if not s.is_shape and s.name in loop_vars]
        if not vs:
            box.append(DimRange(form, form))
            continue
        v = vs[0]
        r = ranges[loops[v.name].loop_id]
        if len(vs) != 1 or abs(form.coef(v)) != 1 or v.name in used or r.step not in (1, -1):
            return None
        if r.lo is None or r.hi is None or not _is_invariant(r.lo, loop_vars) \
                or not _is_invariant(r.hi, loop_vars):
            return None
        used.add(v.name)
        at_lo, at_hi = form.substitute(v, r.lo), form.substitute(v, r.hi)
        box.append(DimRange(at_lo, at_hi) if form.coef(v) > 0 else DimRange(at_hi, at_lo))
    requires: list[DimRange] = []
    for f in site.loops:
        if f.var in used:
            continue
        r = ranges[f.loop_id]
        if r.lo is None or r.hi is None or not _is_invariant(r.lo, loop_vars) \
                or not _is_invariant(r.hi, loop_vars):
            return None
        requires.append(DimRange(r.lo, r.hi))
    return SymBox(tuple(box), tuple(requires))


def _hull_if_comparable(a: SymBox, b: SymBox) -> SymBox | None:
    """The hull of two boxes (with the same loops around them) whose ends
    differ by constants, else None."""
    if a.requires != b.requires:
        return None
    dims: list[DimRange | None] = []
    for x, y in zip(a.dims, b.dims, strict=True):
        if x is None or y is None:
            dims.append(None)
            continue
        dl, dh = x.lo - y.lo, x.hi - y.hi
        if not (dl.is_const and dh.is_const):
            return None
        dims.append(DimRange(x.lo if dl.const <= 0 else y.lo, x.hi if dh.const >= 0 else y.hi))
    return SymBox(tuple(dims), a.requires)


def _merge(boxes: list[SymBox]) -> tuple[SymBox, ...]:
    out: list[SymBox] = []
    for b in dict.fromkeys(boxes):
        for k, o in enumerate(out):
            m = _hull_if_comparable(o, b)
            if m is not None:
                out[k] = m
                break
        else:
            out.append(b)
    return tuple(out)


# ---------------------------------------------------------------- driver


def _whole_arrays(region: For) -> set[str]:
    """Arrays the region may touch anywhere: passed to a call, or reassigned
    (then a name may denote different arrays at different times)."""
    names: set[str] = set()
    for s in iter_stmts(region.body):
        if isinstance(s, Assign) and isinstance(s.value.type, Array):
            names.add(s.target)
            names.update(v.name for v in walk(s.value) if isinstance(v, Var))
        for e in stmt_exprs(s):
            for n in walk(e):
                if isinstance(n, Call):
                    names.update(a.name for a in n.args
                                 if isinstance(a, Var) and isinstance(a.type, Array))
    return names


def region_footprint(
    region: For, scalar_info: ScalarClassification | None = None, merge_reads: bool = True
) -> RegionFootprint:
    """Symbolic read/write footprints of every array ``region`` touches;
    ``merge_reads=False`` keeps one read box per access (not hulls of those
    whose ends differ by constants)."""
    col = collect_accesses(region, scalar_info)
    fresh = fresh_private_arrays(region.body, col.scalars)
    whole = _whole_arrays(region) - fresh
    ndims: dict[str, int] = {}
    reads: dict[str, list[SymBox]] = {}
    writes: dict[str, list[SymBox]] = {}
    covered: dict[str, list[SymBox]] = {}
    for site in col.sites:
        name = site.access.array
        if name in fresh:
            continue
        t = site.node.array.type
        ndims[name] = t.ndim if isinstance(t, Array) else len(site.dim_forms)
        box = _site_box(site, col.bounds)
        (writes if site.access.is_write else reads).setdefault(name, []).append(box)
        cov = None if col.jumps or not site.access.is_write else _covered_box(site, col.bounds)
        if cov is not None and name not in whole:
            covered.setdefault(name, []).append(cov)
    for name in whole:
        n = ndims.get(name, _ndim_of(region, name))
        reads.setdefault(name, []).append(SymBox((None,) * n))
        writes.setdefault(name, []).append(SymBox((None,) * n))
        ndims[name] = n
    arrays = tuple(
        ArrayFootprint(name, ndims[name], _merge(reads.get(name, [])) if merge_reads
                       else tuple(dict.fromkeys(reads.get(name, []))),
                       _merge(writes.get(name, [])), tuple(dict.fromkeys(covered.get(name, []))))
        for name in sorted(ndims)
    )
    return RegionFootprint(region.loop_id, arrays, _symbols(arrays))


def _ndim_of(region: For, name: str) -> int:
    for n in walk(region):
        if isinstance(n, Var) and n.name == name and isinstance(n.type, Array):
            return n.type.ndim
    return 1


def _symbols(arrays: tuple[ArrayFootprint, ...]) -> tuple[Sym, ...]:
    syms: set[Sym] = set()
    for a in arrays:
        ranges = [d for b in (*a.reads, *a.writes, *a.covered)
                  for d in (*b.dims, *b.requires) if d is not None]
        for d in ranges:
            syms.update(d.lo.symbols)
            syms.update(d.hi.symbols)
    return tuple(sorted(syms))


# ------------------------------------------------------------- evaluation


def _concrete(box: SymBox, env: Mapping[Sym, int], shape: tuple[int, ...]) -> Box | None:
    """The box clamped to ``shape``; None when empty.  Negative subscripts
    wrap: wholly negative intervals map to their wrapped positions, straddling
    ones to the whole dimension."""
    if any(r.lo.evaluate(env) > r.hi.evaluate(env) for r in box.requires):
        return None  # the accesses never run
    out: list[tuple[int, int]] = []
    for d, n in zip(box.dims, shape, strict=True):
        if d is None:
            lo, hi = 0, n - 1
        else:
            lo, hi = d.lo.evaluate(env), d.hi.evaluate(env)
            if hi < lo:
                return None  # the loops run zero times
            if hi < 0 and lo >= -n:
                lo, hi = lo + n, hi + n
            elif lo < 0:
                lo, hi = 0, n - 1
        lo, hi = max(lo, 0), min(hi, n - 1)
        if hi < lo:
            return None
        out.append((lo, hi))
    return tuple(out)


def _concrete_covered(c: SymBox, env: Mapping[Sym, int], shape: tuple[int, ...]) -> Box | None:
    """The covered box when the claim holds at these values: every required
    loop runs and the box lies inside the array (no wrapping, no clamping)."""
    if any(r.lo.evaluate(env) > r.hi.evaluate(env) for r in c.requires):
        return None
    out = []
    for d, n in zip(c.dims, shape, strict=True):
        if d is None:
            return None
        lo, hi = d.lo.evaluate(env), d.hi.evaluate(env)
        if not 0 <= lo <= hi <= n - 1:
            return None
        out.append((lo, hi))
    return tuple(out)


def _hull(boxes: list[Box | None]) -> Box | None:
    real = [b for b in boxes if b is not None]
    if not real:
        return None
    return tuple((min(b[d][0] for b in real), max(b[d][1] for b in real))
                 for d in range(len(real[0])))


def _evaluate_array(a: ArrayFootprint, env: Mapping[Sym, int],
                    shape: tuple[int, ...]) -> ConcreteFootprint:
    read = _hull([_concrete(b, env, shape) for b in a.reads])
    write = _hull([_concrete(b, env, shape) for b in a.writes])
    covered = {_concrete_covered(c, env, shape) for c in a.covered}
    return ConcreteFootprint(read, write, write is not None and write in covered)
