"""The compiler pipeline for one specialisation.

Contract: :func:`compile_to_c` runs parse -> lower -> analyse/transform ->
render for a Python function and argument types and returns a
:class:`CompiledSource` (the C text plus what the cache and ``explain``
need).  It does not build or load anything; the dispatcher does that.  With
``HYBRIDJIT_DUMP=<dir>`` each stage's output is written there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from . import config
from .analysis.ranges import clear_nonneg_wraps
from .codegen.c_openmp import render_module
from .config import CompileOptions
from .frontend.lower import Options, lower_program
from .ir.nodes import Call, Program
from .ir.printer import format_program
from .ir.visit import walk_all
from .transform.arrays import ArrayPlan, loop_id_source, lower_arrays
from .transform.hoist import hoist_invariant_setup
from .transform.parallelize import LoopDecision, parallelize
from .transform.regions import Region, outline_regions
from .transform.unbound import insert_unbound_checks
from .types import Type


@dataclass
class CompiledSource:
    program: Program
    c_source: str
    assumptions: list[list[str]]
    decisions: list[LoopDecision] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)


def analyse(pyfunc: Any, arg_types: tuple[Type, ...], opts: CompileOptions,
            plans: list[ArrayPlan] | None = None) -> tuple[
    Program, list[list[str]], list[LoopDecision]
]:
    """Lowering and the IR passes; ``plans`` (when given) receives what each
    array statement became."""
    program, ctx = lower_program(pyfunc, arg_types, Options(opts.fastmath, opts.boundscheck))
    program = _prune_callees(program)
    _dump(pyfunc, "1-lowered.ir", lambda: format_program(program))
    decisions: list[LoopDecision] = []
    fns = []
    new_loop_id = loop_id_source(program.functions())
    for fn in program.functions():
        fn = lower_arrays(fn, new_loop_id, opts.boundscheck, plans)
        fn = hoist_invariant_setup(fn)
        fn = insert_unbound_checks(fn)
        fn = clear_nonneg_wraps(fn)
        fn, d = parallelize(fn, opts.parallel, opts.fastmath)
        decisions += d
        fns.append(fn)
    program = Program(fns[-1], tuple(fns[:-1]))
    _dump(pyfunc, "2-parallel.ir", lambda: format_program(program))
    assumptions = [[m, n, fp] for (m, n), fp in sorted(ctx.assumptions.items())]
    return program, assumptions, decisions


def compile_to_c(pyfunc: Any, arg_types: tuple[Type, ...], opts: CompileOptions,
                 module_name: str, offload: bool) -> CompiledSource:
    """``offload``: outline device regions (the dispatch hook is compiled in)."""
    program, assumptions, decisions = analyse(pyfunc, arg_types, opts)
    regions: list[Region] = []
    if offload:
        entry, regions = outline_regions(program.entry, opts.boundscheck, opts.fastmath)
        program = replace(program, entry=entry)
        for r in regions:
            for dialect, text in r.kernels.items():
                _dump(pyfunc, f"4-region{r.rid}.{dialect}", functools.partial(str, text))
    source = render_module(program, module_name, opts.boundscheck, opts.fastmath, regions)
    _dump(pyfunc, "3-module.c", lambda: source)
    return CompiledSource(program, source, assumptions, decisions, regions)


def _prune_callees(program: Program) -> Program:
    """Keep only helpers reachable from the entry (type inference may have
    lowered transitional specialisations that the final IR no longer calls)."""
    by_symbol = {f.symbol: f for f in program.callees}
    reachable: set[str] = set()
    stack = [program.entry]
    while stack:
        fn = stack.pop()
        for n in walk_all(fn.body):
            if isinstance(n, Call) and n.func not in reachable:
                reachable.add(n.func)
                stack.append(by_symbol[n.func])
    return replace(program, callees=tuple(f for f in program.callees if f.symbol in reachable))


def _dump(pyfunc: Any, stage: str, text: Callable[[], str]) -> None:
    """With HYBRIDJIT_DUMP, write a stage's output (only formatted then)."""
    d = config.dump_dir()
    if d is None:
        return
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{pyfunc.__module__}.{pyfunc.__qualname__}.{stage}").write_text(text())
