"""Mark loops that run in parallel: IR -> IR.

Contract: :func:`parallelize` returns the function with ``For.parallel``
set on every loop that will run in parallel, together with a
:class:`LoopDecision` per loop explaining why (for ``explain``).  With
``mode=False`` nothing is parallel; with ``True`` the outermost ``prange``
of each nest is; a ``prange`` whose scalars carry a value from one iteration
to the next is a :class:`ParallelRaceError` at the loop's line unless
``mode == "unsafe"``.  Arg-min/arg-max patterns keep the loop serial (correct
first) and say so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..analysis.scalars import classify_loop_scalars, live_after_loop
from ..errors import ParallelRaceError, SourceLoc
from ..ir.nodes import For, Function, If, ParallelInfo, Stmt, While


@dataclass(frozen=True)
class LoopDecision:
    loop_id: int
    loc: SourceLoc
    parallel: bool
    why: str


def parallelize(fn: Function, mode: bool | str) -> tuple[Function, list[LoopDecision]]:
    decisions: list[LoopDecision] = []
    body = _walk_body(fn.body, fn, mode, decisions, inside_parallel=False)
    return replace(fn, body=body), decisions


def _walk_body(body: tuple[Stmt, ...], fn: Function, mode: bool | str,
               out: list[LoopDecision], inside_parallel: bool) -> tuple[Stmt, ...]:
    return tuple(_walk_stmt(s, fn, mode, out, inside_parallel) for s in body)


def _walk_stmt(s: Stmt, fn: Function, mode: bool | str, out: list[LoopDecision],
               inside_parallel: bool) -> Stmt:
    if isinstance(s, If):
        return replace(s, body=_walk_body(s.body, fn, mode, out, inside_parallel),
                       orelse=_walk_body(s.orelse, fn, mode, out, inside_parallel))
    if isinstance(s, While):
        return replace(s, body=_walk_body(s.body, fn, mode, out, inside_parallel))
    if not isinstance(s, For):
        return s
    info = None
    if s.is_prange and not inside_parallel and mode is not False:
        info = _prange_info(s, fn, mode, out)
    elif s.is_prange:
        why = ("parallel=False: runs serially" if mode is False
               else "nested inside a parallel loop: runs serially within each iteration")
        out.append(LoopDecision(s.loop_id, s.loc, False, why))
    body = _walk_body(s.body, fn, mode, out, inside_parallel or info is not None)
    return replace(s, body=body, parallel=info)


def _prange_info(loop: For, fn: Function, mode: bool | str,
                 out: list[LoopDecision]) -> ParallelInfo | None:
    live = live_after_loop(fn.body, loop.loop_id)
    cls = classify_loop_scalars(loop, live)
    if cls.carried and mode != "unsafe":
        details = "; ".join(cls.reasons) or ", ".join(cls.carried)
        raise ParallelRaceError(
            f"prange loop carries values between iterations: {details}",
            loop.loc,
            hint="use range for a sequential loop, or make each iteration independent; "
            "parallel='unsafe' overrides this check",
        )
    if cls.arg_reductions:
        names = ", ".join(a.var for a in cls.arg_reductions)
        out.append(LoopDecision(loop.loop_id, loop.loc, False,
                                f"arg-min/arg-max of {names}: runs serially"))
        return None
    private = tuple(sorted(set(cls.private) | set(cls.carried)))
    info = ParallelInfo(private, cls.reductions, "prange", None,
                        tuple(sorted(set(cls.lastprivate))))
    red = ", ".join(f"{r.var} ({r.op})" for r in cls.reductions)
    out.append(LoopDecision(loop.loop_id, loop.loc, True,
                            "prange: parallel" + (f", reductions: {red}" if red else "")))
    return info
