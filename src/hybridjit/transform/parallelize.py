"""Decide which loops run in parallel: IR -> IR plus one decision per loop.

Contract: :func:`parallelize` returns the function with ``For.parallel`` set
on every loop that will run in parallel, and a :class:`LoopDecision` for
every loop saying what was decided and why, in words for ``explain``.

Modes (the ``parallel=`` option):

- ``"auto"`` (default): ``prange`` loops run in parallel; so does each
  outermost ``range`` loop that the dependence analysis proves parallel and
  that carries enough work (checked at run time against its trip count).
- ``True``: only ``prange`` loops.  ``False``: nothing.
- ``"unsafe"``: like True, without the race checks on ``prange`` loops.

A ``prange`` loop with a proven race (a carried scalar, or array accesses
that certainly conflict) is a :class:`ParallelRaceError` at the loop's line;
one the analysis cannot decide gets a warning naming the accesses.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

from ..analysis.dependence import (
    LoopDependence,
    analyse_loop,
    array_alias_roots,
    loops_with_enclosing,
)
from ..analysis.scalars import ScalarClassification, classify_loop_scalars, live_after_loop
from ..errors import HybridJitWarning, ParallelRaceError, SourceLoc
from ..ir.arrays import LibraryCall
from ..ir.nodes import (
    ArgReduce,
    For,
    Function,
    If,
    Load,
    ParallelInfo,
    Stmt,
    Store,
    Var,
    While,
)
from ..ir.visit import walk
from ..types import FLOAT64, Array, Scalar, Type

#: a loop parallelised automatically runs in parallel only when
#: trip count * estimated work per iteration reaches this
AUTO_WORK_THRESHOLD = 20000
#: a reduction nest the array lowering made pays for threads later than a
#: loop does (its body is a multiply-add; the threads' partial results are
#: combined after): a dot product of ~10,000 elements (measured: a triangular
#: solve's row products of up to 2,000 elements ran 2.7x slower threaded)
REDUCTION_TRIP_FACTOR = 8


@dataclass(frozen=True)
class LoopDecision:
    loop_id: int
    loc: SourceLoc
    kind: str  # "prange" | "range"
    parallel: bool
    why: str


def parallelize(fn: Function, mode: bool | str, fastmath: bool = False) -> tuple[
    Function, list[LoopDecision]
]:
    verdicts = _verdicts(fn) if mode is not False else {}
    decisions: list[LoopDecision] = []
    walker = _Walker(mode, verdicts, decisions, _runtime_alias_roots(fn), fastmath,
                     fn.local_types())
    body = walker.body(fn.body, inside=False)
    decisions.sort(key=lambda d: (d.loc.line, d.loc.col))
    return replace(fn, body=body), decisions


def _verdicts(fn: Function) -> dict[int, _Analysed]:
    """Dependence verdicts treating distinct array names as distinct arrays.

    Variables that may refer to one array (``u, v = v, u`` in a time loop)
    are distinct within one execution of a loop in the common case; rather
    than give up, each loop that uses two of them gets a run-time check
    (``ParallelInfo.distinct``) and runs serially when they do overlap."""
    out = {}
    for loop, enclosing in loops_with_enclosing(fn.body):
        scalars = classify_loop_scalars(loop, live_after_loop(fn.body, loop.loop_id))
        out[loop.loop_id] = _Analysed(analyse_loop(loop, enclosing, scalars, None),
                                      enclosing, scalars)
    return out


@dataclass(frozen=True)
class _Analysed:
    """A loop's verdict and what it was analysed with (to analyse it again)."""

    verdict: LoopDependence
    enclosing: tuple[For, ...]
    scalars: ScalarClassification


def _identical_ok(loop: For, pairs: tuple[tuple[str, str], ...], an: _Analysed,
                  types: dict[str, Type]) -> tuple[tuple[str, str], ...]:
    """The pairs whose arrays, as one and the same view, add no conflict
    (``c[i] = a[i] + b[i]`` called as ``f(w, w, w)``)."""
    v = an.verdict
    ok = []
    for a, b in pairs:
        if types.get(a) != types.get(b):
            continue  # other dtypes or ranks: never the same view
        merged = analyse_loop(loop, an.enclosing, an.scalars, {a: a, b: a})
        if (len(merged.conflicts), len(merged.unknown), len(merged.array_reductions)) == \
                (len(v.conflicts), len(v.unknown), len(v.array_reductions)):
            ok.append((a, b))
    return tuple(ok)


def _runtime_alias_roots(fn: Function) -> dict[str, str]:
    """Alias classes for the run-time overlap checks: variables the function
    makes refer to one array, and every array parameter with every other
    (arguments may be views of one buffer, ``f(a[:-1], a[1:])`` or a helper
    called as ``h(a, a)``; a ``prange`` asserts independent iterations, not
    distinct arguments)."""
    roots = array_alias_roots(fn)
    params = {roots[p.name] for p in fn.params if p.name in roots}
    if not params:
        return roots
    common = min(params)
    return {n: common if r in params else r for n, r in roots.items()}


def _may_alias_pairs(loop: For, roots: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Pairs of array names used in ``loop`` (one written) that may share memory."""
    used: set[str] = set()
    written: set[str] = set()
    for n in walk(loop):
        if isinstance(n, (Load, Store)):
            used.add(n.array.name)
            if isinstance(n, Store):
                written.add(n.array.name)
    names = sorted(used)
    return tuple((a, b) for i, a in enumerate(names) for b in names[i + 1:]
                 if roots.get(a, a) == roots.get(b, b) and (a in written or b in written))


class _Walker:
    def __init__(self, mode: bool | str, verdicts: dict[int, _Analysed],
                 out: list[LoopDecision], roots: dict[str, str], fastmath: bool,
                 types: dict[str, Type]):
        self.types = types
        self.mode = mode
        self.fastmath = fastmath
        self.verdicts = verdicts
        self.out = out
        self.roots = roots

    def body(self, stmts: tuple[Stmt, ...], inside: bool) -> tuple[Stmt, ...]:
        return tuple(self.stmt(s, inside) for s in stmts)

    def stmt(self, s: Stmt, inside: bool) -> Stmt:
        if isinstance(s, If):
            return replace(s, body=self.body(s.body, inside), orelse=self.body(s.orelse, inside))
        if isinstance(s, While):
            return replace(s, body=self.body(s.body, inside))
        if not isinstance(s, For):
            return s
        info = self.decide(s, inside)
        return replace(s, body=self.body(s.body, inside or info is not None), parallel=info)

    def note(self, loop: For, parallel: bool, why: str) -> None:
        kind = "prange" if loop.is_prange else "range"
        self.out.append(LoopDecision(loop.loop_id, loop.loc, kind, parallel, why))

    def decide(self, loop: For, inside: bool) -> ParallelInfo | None:
        if self.mode is False:
            self.note(loop, False, "parallel=False: every loop runs serially")
            return None
        if inside:
            self.note(loop, False, "inside a parallel loop: each iteration runs it serially")
            return None
        calls = [n for n in walk(loop) if isinstance(n, LibraryCall)]
        if calls:
            self.note(loop, False, f"it calls NumPy's {calls[0].shown_name} (line "
                      f"{calls[0].loc.line}), which needs the Python interpreter: the loop runs "
                      "serially, on the host")
            return None
        analysed = self.verdicts[loop.loop_id]
        verdict = analysed.verdict
        escaping = self.arrays_live_after(verdict)
        if escaping and (loop.is_prange or self.mode == "auto"):
            why = (f"the array variable '{escaping[0]}' is assigned in every iteration and used "
                   "after the loop (each iteration's array is its own)")
            if loop.is_prange and self.mode != "unsafe":
                raise ParallelRaceError(
                    f"this prange loop cannot run in parallel: {why}", loop.loc,
                    hint="allocate the array before the loop and fill it, or use range")
            self.note(loop, False, why)
            return None
        if loop.is_prange:
            info = self.decide_prange(loop, verdict)
        elif self.mode != "auto":
            self.note(loop, False, "a range loop (parallel=True parallelises prange only)")
            return None
        else:
            info = self.decide_range(loop, verdict)
        if info is not None:
            pairs = _may_alias_pairs(loop, self.roots)
            same = _identical_ok(loop, pairs, analysed, self.types) if pairs else ()
            info = replace(info, distinct=pairs, identical_ok=same)
        return info

    def arrays_live_after(self, v: LoopDependence) -> list[str]:
        """Array variables the loop assigns whose value is read after it: a
        parallel iteration's arrays live only as long as the iteration."""
        if v.scalars is None:
            return []
        return [n for n in v.scalars.lastprivate if isinstance(self.types.get(n), Array)]

    def decide_prange(self, loop: For, v: LoopDependence) -> ParallelInfo | None:
        if self.mode != "unsafe":
            _check_race(loop, v)
        if _generated(loop):
            # a reduction nest the array lowering made: threads only where
            # the work pays for them (a row product in a loop is short)
            info = _info(v, "prange", _min_trip(loop) * REDUCTION_TRIP_FACTOR)
            self.note(loop, True, "a whole-array reduction (any order is NumPy's order)"
                      + _extras(info)
                      + (f"; runs in parallel when it has at least {info.min_trip} iterations"
                         if info.min_trip > 1 else ""))
            return info
        info = _info(v, "prange", 0)
        self.note(loop, True, "prange: the programmer declared it parallel" + _extras(info))
        return info

    def decide_range(self, loop: For, v: LoopDependence) -> ParallelInfo | None:
        inexact = _float_sum_reductions(loop, v)
        if v.parallel and inexact and not self.fastmath:
            self.note(loop, False, f"the floating-point reduction of {', '.join(inexact)} would "
                      "be summed in a different order and round differently; write prange "
                      "or use fastmath=True to allow it")
            return None
        if not v.parallel:
            self.note(loop, False, "; ".join(v.reasons[:3]) if v.reasons
                      else "not proven parallel")
            return None
        info = _info(v, "auto", _min_trip(loop))
        claim = ("no iteration changes memory another iteration uses" if info.guards
                 else "no iteration touches memory another iteration writes")
        self.note(loop, True, f"proved parallel: {claim}" + _extras(info)
                  + (f"; runs in parallel when it has at least {info.min_trip} iterations"
                     if info.min_trip > 1 else ""))
        return info


def _float_sum_reductions(loop: For, v: LoopDependence) -> list[str]:
    """Reductions whose parallel result may round differently (+ and * on
    floats and complex numbers)."""
    if v.scalars is None:
        return []
    types = {}
    for n in walk(loop):
        if isinstance(n, Var) and isinstance(n.type, Scalar):
            types[n.name] = n.type
    return [r.var for r in v.scalars.reductions
            if r.op in ("+", "-", "*") and types.get(r.var, FLOAT64).is_inexact]


def _check_race(loop: For, v: LoopDependence) -> None:
    scal = v.scalars
    problems: list[str] = []
    if scal is not None and scal.carried:
        problems += list(scal.reasons) or [f"'{n}' carries a value" for n in scal.carried]
    certain = [c for c in v.conflicts if c.certain]
    problems += [c.reason for c in certain]
    problems += [r.reason for r in v.array_reductions]
    if v.early_exits:
        problems.append("it can stop early (break)")
    if problems:
        raise ParallelRaceError(
            "this prange loop has a race: " + "; ".join(dict.fromkeys(problems)),
            loop.loc,
            hint="use range for a sequential loop, or make each iteration write only its own "
            "elements; parallel='unsafe' overrides this check",
        )
    doubtful = [c.reason for c in v.conflicts if not c.certain]
    doubtful += [f"{a.text} at {a.where}" for a in v.unknown]
    if doubtful:
        warnings.warn_explicit(
            f"cannot prove this prange loop free of races: {'; '.join(doubtful[:4])}",
            HybridJitWarning, loop.loc.file, loop.loc.line,
        )


def _info(v: LoopDependence, source: str, min_trip: int) -> ParallelInfo:
    scal = v.scalars
    assert scal is not None
    args = tuple(ArgReduce(a.var, a.index_vars, a.op, a.strict) for a in scal.arg_reductions)
    arg_names = {a.var for a in args} | {n for a in args for n in a.index_vars}
    private = tuple(sorted((set(scal.private) | set(scal.carried)) - arg_names))
    return ParallelInfo(private, scal.reductions, source, None,
                        tuple(sorted(set(scal.lastprivate) - arg_names)), args, min_trip,
                        guards=v.guards)


def _extras(info: ParallelInfo) -> str:
    parts = [f"{r.var} ({r.op})" for r in info.reductions]
    parts += [f"{a.var} with {', '.join(a.index_vars) or 'no index'} (arg-{a.op})"
              for a in info.arg_reductions]
    text = f"; reductions: {', '.join(parts)}" if parts else ""
    for g in info.guards:
        text += f"; in parallel only when {g.why}, checked before it runs (serially otherwise)"
    return text


def _generated(loop: For) -> bool:
    """A loop the compiler made (its variable a temporary: ``.i9``), not one
    the programmer wrote (an inlined helper's are ``.i1c2_name``)."""
    from ..frontend.inline import shown_name

    return loop.var.startswith(".") and shown_name(loop.var) == loop.var


def _min_trip(loop: For) -> int:
    """Iterations needed before threads pay off, from a rough work estimate:
    nodes in the body, inner loops counted as 32 iterations."""
    work = _work(loop.body)
    return max(1, AUTO_WORK_THRESHOLD // max(work, 1))


def _work(stmts: tuple[Stmt, ...]) -> int:
    total = 0
    for s in stmts:
        if isinstance(s, (For, While)):
            total += 32 * max(1, _work(s.body))
        elif isinstance(s, If):
            total += 1 + max(_work(s.body), _work(s.orelse))
        else:
            total += sum(1 for _ in walk(s))
    return total
