"""Outline parallel regions for devices: IR -> IR + a region table.

Contract: :func:`outline_regions` gives every outermost parallel loop of the
entry function a region id (``ParallelInfo.region``) when a device target is
possible, and returns one :class:`Region` per loop: its interface (kernel
parameters), footprints, kernel sources for each device dialect, and the
reasons a device cannot run it (then it has no id and the host never calls
the dispatch hook for it, so CPU-only code pays nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..analysis.footprint import RegionFootprint, region_footprint
from ..analysis.region import RegionInterface, offload_blockers, region_interface
from ..analysis.scalars import classify_loop_scalars, live_after_loop
from ..codegen.kernel import CUDAKernelRenderer, OpenCLKernelRenderer
from ..errors import SourceLoc
from ..ir.nodes import For, Function, If, Reduction, Stmt, While
from .grid import KernelGrid, identical_ok_on_grid, kernel_grid
from .tiling import TilePlan, plan_tiles


@dataclass(frozen=True)
class Region:
    rid: int  # -1 when a device cannot run it
    loop_id: int
    loc: SourceLoc
    iface: RegionInterface
    reductions: tuple[Reduction, ...]
    blockers: tuple[str, ...]
    footprint: RegionFootprint | None
    kernels: dict[str, str]  # dialect -> source
    kernel_name: str
    reduction_types: dict[str, str]  # reduction variable -> dtype name
    distinct: tuple[tuple[str, str], ...] = ()  # must not overlap to run on a device
    identical_ok: tuple[tuple[str, str], ...] = ()  # ... unless they are the same view
    grid: KernelGrid = field(default_factory=KernelGrid)  # the nest on the index space
    tiles: TilePlan | None = None  # loads staged in local memory (2-D kernels)
    #: what the kernel is, for explain: its grid, and its tiles when it has them
    kernel_why: str = ""


def outline_regions(fn: Function, boundscheck: bool, fastmath: bool) -> tuple[
    Function, list[Region]
]:
    regions: list[Region] = []
    body = _body(fn.body, fn, regions, boundscheck, fastmath)
    return replace(fn, body=body), regions


def _body(stmts: tuple[Stmt, ...], fn: Function, out: list[Region], bc: bool,
          fm: bool) -> tuple[Stmt, ...]:
    return tuple(_stmt(s, fn, out, bc, fm) for s in stmts)


def _stmt(s: Stmt, fn: Function, out: list[Region], bc: bool, fm: bool) -> Stmt:
    if isinstance(s, If):
        return replace(s, body=_body(s.body, fn, out, bc, fm),
                       orelse=_body(s.orelse, fn, out, bc, fm))
    if isinstance(s, While):
        return replace(s, body=_body(s.body, fn, out, bc, fm))
    if not isinstance(s, For):
        return s
    if s.parallel is None:
        return replace(s, body=_body(s.body, fn, out, bc, fm))
    region = _make_region(s, fn, len(out), bc, fm)
    out.append(region)
    if region.rid < 0:
        return s
    return replace(s, parallel=replace(s.parallel, region=region.rid))


def _make_region(loop: For, fn: Function, rid: int, bc: bool, fm: bool) -> Region:
    assert loop.parallel is not None
    iface = region_interface(loop, fn)
    blockers = offload_blockers(loop, fn, iface)
    if bc:
        blockers.append("boundscheck=True is checked on the host only")
    if loop.parallel.arg_reductions:
        blockers.append("arg-min/arg-max reductions run on the host")
    if loop.parallel.guards:
        blockers.append("it is parallel only while a test on the data holds, which is "
                        "checked on the host")
    if loop.parallel.lastprivate:
        blockers.append("a variable assigned in the loop is used after it")
    name = f"hj_region{rid}"
    footprint = None
    kernels: dict[str, str] = {}
    grid = KernelGrid()
    tiles = None
    why = ""
    identical_ok = loop.parallel.identical_ok
    if not blockers:
        live = live_after_loop(fn.body, loop.loop_id)
        footprint = region_footprint(loop, classify_loop_scalars(loop, live))
        grid = kernel_grid(loop, fn)
        identical_ok = identical_ok_on_grid(loop, grid, fn, identical_ok)
        tiles = plan_tiles(loop, grid, fn)
        if tiles:  # a staged operand is read early: it must not be written memory
            staged = tiles.arrays()
            identical_ok = tuple(p for p in identical_ok if not set(p) & staged)
        why = grid.why + (f"; {tiles.why(fn)}" if tiles else "")
        kernels = {
            "opencl": OpenCLKernelRenderer(fn, loop, iface, name, fm, grid, tiles).render(),
            "cuda": CUDAKernelRenderer(fn, loop, iface, name, fm, grid, tiles).render(),
        }
    types = fn.local_types()
    red_types = {r.var: types[r.var].name for r in loop.parallel.reductions  # type: ignore[attr-defined]
                 }
    return Region(rid if not blockers else -1, loop.loop_id, loop.loc, iface,
                  loop.parallel.reductions, tuple(sorted(set(blockers))), footprint,
                  kernels, name, red_types, distinct=loop.parallel.distinct, grid=grid,
                  identical_ok=identical_ok, tiles=tiles, kernel_why=why)
