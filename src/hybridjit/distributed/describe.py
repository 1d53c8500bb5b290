"""What ``fn.dask`` would do with a specialisation, in words, for ``explain``.

Contract: ``describe(disp, program, decisions) -> lines``: the loops cut into
blocks and along which array's chunks, how far the reads of each array
reach around a block (from the subscripts; the tasks themselves get the
exact boxes of the evaluated footprints), what comes back; or why the
function cannot run blockwise.  Every array parameter is taken as a Dask
array.  Pure: no Dask import, no values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import PartitionError
from ..frontend.source import parse_function
from ..ir.nodes import Program
from ..transform.parallelize import LoopDecision
from ..types import Array
from .plan import Plan, halo_text, plan_partition
from .variant import region_statement


def describe(disp: Any, program: Program, decisions: Sequence[LoopDecision]) -> list[str]:
    arrays = frozenset(p.name for p in program.entry.params if isinstance(p.type, Array))
    try:
        plan = plan_partition(program, decisions, arrays)
        region_statement(parse_function(disp.py_func), plan.loop)
    except PartitionError as exc:
        where = f" (line {exc.loc.line})" if exc.loc is not None and exc.loc.line else ""
        return [f"cannot run blockwise: {exc.message}{where}"]
    return _lines(plan)


def _lines(plan: Plan) -> list[str]:
    if plan.anchor is None:
        out = [f"one task: no array that the loop at line {plan.loop.loc.line} walks through "
               "to cut it along"]
    else:
        cuts = ", ".join(
            f"loop {s.loop.var} (line {s.loop.loc.line}) along dim {s.maps[0].dim}"
            for s in plan.splits)
        out = [f"one task per chunk of {plan.anchor}: {cuts}"]
    for name in plan.touched:
        if name in plan.written:
            continue
        reach = halo_text(plan, name)
        if reach:
            out.append(f"block reads of {name}: {reach}")
    returned = list(plan.written)
    if plan.result is not None:
        ops = ", ".join(f"{r.var} ({r.op})" for r in plan.reductions)
        returned.append("a 0-d array of the returned value"
                        + (f", from a tree reduction of {ops}" if ops else ""))
    out.append("returns " + (", ".join(returned) if returned else "nothing")
               + "; NumPy array arguments are sent whole to every worker")
    return out
