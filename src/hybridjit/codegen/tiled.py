"""The loops of a 2-D kernel whose contraction loops read through tiles.

Contract: :func:`tiled_loops` prints, for a :class:`KernelRenderer` whose
region has a :class:`TilePlan` (transform/tiling.py), the body of the kernel
in place of the grid-stride loops of ``KernelRenderer.loops``.  The kernel
is launched in work-groups of ``size`` x ``size`` work-items on launch
dimensions 0 and 1 (runtime/offload.py), and both grid levels advance a
whole work-group at a time: a group takes the ``size`` x ``size`` block of
iterations at ``(group id * size, ...)``, then the block one launch further,
so every work-item of a group runs the same blocks and meets the same
barriers.  A work-item whose iteration lies beyond a loop's trip count
(``hj_in2`` false) still loads its share of each tile and waits at the
barriers; it runs no statement of the loop body.

Each block of ``size`` iterations of a contraction loop ``k``:

1. every work-item stages one element of each tile: at grid level 0
   (``A[i, k]``) the element for its own ``i`` and ``k = k0 + its level-1
   index``, at level 1 (``B[k, j]``) the element for its own ``j`` and
   ``k = k0 + its level-0 index`` (a zero where that iteration does not
   exist, never a read outside what the loop reads);
2. a barrier; then each live work-item runs the block's iterations of the
   loop body with staged loads read from the tiles;
3. a barrier, before the next block overwrites the tiles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ir.nodes import Const, For, If, Stmt
from ..ir.visit import walk
from ..transform.tiling import Contraction, TilePlan
from ..types import Scalar
from .cfamily import const_step_trip, scalar_name

if TYPE_CHECKING:
    from .kernel import KernelRenderer

_IN = ("hj_in", "hj_in2")  # per grid level: its iteration exists


def tiled_loops(r: KernelRenderer, plan: TilePlan, ind: str) -> list[str]:
    grid = r.grid
    levels = (r.loop, grid.nest[0])
    size = plan.size
    lines = [f"{ind}const int64_t hj_l{s} = (int64_t){r.place('local', grid.dim_of(level))};"
             for level, s in enumerate(("", "2"))]
    tile = 0
    for c in plan.contractions:
        for staged in c.loads:
            t = staged.load.type
            assert isinstance(t, Scalar)
            lines.append(f"{ind}{r.local_decl} {t.c_name} hj_tile{tile}[{size}][{size + 1}];")
            tile += 1
    r.parallel_depth = 1
    inner = ind
    for level, suffix in enumerate(("", "2")):
        dim = grid.dim_of(level)
        b = f"hj_b{suffix}"
        first, stride = r.place("group", dim), r.place("groups", dim)
        lines.append(f"{inner}for (int64_t {b} = (int64_t){first} * {size}; "
                     f"{b} < hj_trip{suffix}; {b} += (int64_t){stride} * {size}) {{")
        inner += "    "
        k = f"hj_k{suffix}"
        live = f"{k} < hj_trip{suffix}" if level == 0 else f"hj_in && {k} < hj_trip2"
        lines += [f"{inner}const int64_t {k} = {b} + hj_l{suffix};",
                  f"{inner}const int {_IN[level]} = {live};",
                  f"{inner}{scalar_name(levels[level].var)} = hj_lo{suffix} + {k} * "
                  f"hj_step{suffix};"]
        if level == 0:
            lines += _guarded(r, grid.prefixes[0], "hj_in", inner)
    numbering = _tile_numbers(plan)
    lines += _body(r, plan, numbering, levels[1].body, inner)
    while inner != ind:
        inner = inner[:-4]
        lines.append(f"{inner}}}")
    return lines


def _tile_numbers(plan: TilePlan) -> dict[int, int]:
    """The number of each contraction's first tile, by loop id."""
    out, n = {}, 0
    for c in plan.contractions:
        out[c.loop_id] = n
        n += len(c.loads)
    return out


def _holds_contraction(s: Stmt, plan: TilePlan) -> bool:
    return any(isinstance(n, For) and plan.loop(n.loop_id) is not None for n in walk(s))


def _body(r: KernelRenderer, plan: TilePlan, numbering: dict[int, int],
          stmts: tuple[Stmt, ...], ind: str) -> list[str]:
    """The level-1 body: contraction loops tiled, the ifs around them run by
    the whole group (their tests are invariant), the rest by live items."""
    lines: list[str] = []
    pending: list[Stmt] = []
    for s in stmts:
        if not _holds_contraction(s, plan):
            pending.append(s)
            continue
        lines += _guarded(r, tuple(pending), "hj_in2", ind)
        pending = []
        if isinstance(s, For):
            c = plan.loop(s.loop_id)
            assert c is not None
            lines += _contraction(r, s, c, numbering[s.loop_id], plan.size, ind)
            continue
        assert isinstance(s, If)
        lines.append(f"{ind}if ({r.expr(s.test)}) {{")
        lines += _body(r, plan, numbering, s.body, ind + "    ")
        if s.orelse:
            lines.append(f"{ind}}} else {{")
            lines += _body(r, plan, numbering, s.orelse, ind + "    ")
        lines.append(f"{ind}}}")
    return lines + _guarded(r, tuple(pending), "hj_in2", ind)


def _guarded(r: KernelRenderer, stmts: tuple[Stmt, ...], flag: str, ind: str) -> list[str]:
    if not stmts:
        return []
    return [f"{ind}if ({flag}) {{", *r.body(stmts, ind + "    "), f"{ind}}}"]


def _contraction(r: KernelRenderer, k: For, c: Contraction, first: int, size: int,
                 ind: str) -> list[str]:
    assert isinstance(k.step, Const)
    step = int(k.step.value)
    i2, i3 = ind + "    ", ind + "        "
    # (names of their own: hj_lo2 is a kernel parameter)
    n, lo, hi, base = (f"hj_c{part}{k.loop_id}" for part in ("trip", "lo", "hi", "base"))
    trip = const_step_trip(lo, hi, step)
    kt = r.types[k.var]
    assert isinstance(kt, Scalar)
    kvar = scalar_name(k.var)
    lines = [f"{ind}{{",
             f"{i2}const int64_t {lo} = {r.expr(k.start)};",
             f"{i2}const int64_t {hi} = {r.expr(k.stop)};",
             f"{i2}const int64_t {n} = {trip};",
             f"{i2}for (int64_t {base} = 0; {base} < {n}; {base} += {size}) {{"]
    staged: dict[object, str] = {}
    for offset, s in enumerate(c.loads):
        tile = f"hj_tile{first + offset}"
        # level 0 (A[i, k]): own i, k from the level-1 index; level 1 the other way
        own, at = ("hj_k < hj_trip", "hj_l2") if s.level == 0 else ("hj_k2 < hj_trip2", "hj_l")
        t = s.load.type
        zero = r.expr(Const(0, t))
        lines += [f"{i3}{{",
                  f"{i3}    const {kt.c_name} {kvar} = {lo} + ({base} + {at}) * {step};",
                  f"{i3}    hj_tile{first + offset}[hj_l][hj_l2] = ({own} && {base} + {at} < {n})"
                  f" ? {r.expr(s.load)} : {zero};",
                  f"{i3}}}"]
        staged[s.load] = f"{tile}[hj_l][hj_cc]" if s.level == 0 else f"{tile}[hj_cc][hj_l2]"
    lines += [f"{i3}{r.barrier}",
              f"{i3}if (hj_in2) {{",
              f"{i3}    const int64_t hj_cn = {n} - {base} < {size} ? {n} - {base} : {size};",
              f"{i3}    for (int64_t hj_cc = 0; hj_cc < hj_cn; hj_cc++) {{",
              f"{i3}        {kvar} = {lo} + ({base} + hj_cc) * {step};"]
    r.staged = staged
    try:
        lines += r.body(k.body, i3 + "        ")
    finally:
        r.staged = {}
    lines += [f"{i3}    }}", f"{i3}}}", f"{i3}{r.barrier}", f"{i2}}}", f"{ind}}}"]
    return lines
