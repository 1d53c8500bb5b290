"""``explain``: what the compiler decided for every loop, and why.

Contract: :func:`explain` takes a dispatcher and example argument types and
returns an :class:`Explanation`: one :class:`~hybridjit.transform.parallelize.LoopDecision`
per loop (parallel or not, and the reason in plain words) and, when devices
are in play, where each parallel region runs on this machine (the CPU cores
when the target allows no device here).  ``str()`` of it is the
report a person reads; tests read its fields.  :func:`explain_command` is the
``hybridjit explain path.py:function`` command.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import SourceLoc
from .transform.parallelize import LoopDecision
from .types import PY_FLOAT, PY_INT, Array, Scalar, Type

#: how explain names the role of each loop nest of an array statement
_ROLES = {
    "nest": "",
    "broadcast": "its version for operands of extent 1 (broadcast)",
    "overlap": "its copy through a temporary (when memory is shared)",
    "operand": "an operand computed first",
    "unfused": "the statements one after the other (when the run-time tests of the fusion fail)",
}


@dataclass
class ArrayStatement:
    """One statement with array operations: its loop nests (role, decision
    of the outermost loop) and the temporaries it keeps."""

    loc: SourceLoc
    nests: list[tuple[str, LoopDecision]]
    temporaries: list[str]
    #: the lines of the statements fused with this one; arrays made scalars
    fused_lines: list[int] = field(default_factory=list)
    scalars: list[str] = field(default_factory=list)
    #: library calls made instead of the nest where they pay, and when
    library: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def parallel(self) -> bool:
        """Whether the nest computing the statement runs in parallel."""
        return any(d.parallel for role, d in self.nests if role == "nest")

    def lines(self) -> list[str]:
        main = [d for role, d in self.nests if role == "nest"]
        n = len(main)
        if not main and self.library:  # a NumPy call (its operands' nests may follow)
            out = [f"library: {x}" for x in self.library]
            out += [f"{_ROLES[r]}: {'PARALLEL' if d.parallel else 'serial'}"
                    for r, d in self.nests]
            return out + [f"temporary: {t}" for t in self.temporaries]
        fused = "the whole expression computed element by element in it" if n == 1 else \
            "one per part of the computation"
        if self.fused_lines:
            lines = ", ".join(map(str, self.fused_lines))
            own = [f"'{x}'" for x in self.scalars if shown(x) == x]
            inlined = len(self.scalars) - len(own)
            made = ", ".join(own + ([f"{inlined} in inlined helpers"] if inlined else []))
            out = [f"array statements at lines {lines} fused into {n} loop nest"
                   + (f"; {made} computed element by element as scalars, never allocated"
                      if made else "")]
        else:
            out = [f"array statement: {n} loop nest{'s' * (n != 1)}, {fused}"
                   + ("" if self.temporaries else "; no temporary array")]
        out += [("PARALLEL" if d.parallel else "serial") + f" - {d.why}" for d in main]
        for role, label in _ROLES.items():  # other versions: one line per kind
            ds = [d for r, d in self.nests if r == role]
            if role == "nest" or not ds:
                continue
            verdict = "PARALLEL" if all(d.parallel for d in ds) else (
                "serial" if not any(d.parallel for d in ds) else "partly parallel")
            out.append(f"{label}: {verdict}")
        out += [f"library: {x}" for x in self.library]
        out += [f"temporary: {t}" for t in self.temporaries]
        return out + [f"note: {x}" for x in self.notes]


@dataclass
class Explanation:
    function: str
    loops: list[LoopDecision]
    regions: list[tuple[int, str]] = field(default_factory=list)  # (line, verdict)
    arrays: list[ArrayStatement] = field(default_factory=list)
    #: every loop the array statements made (reported with their statement)
    array_loops: set[int] = field(default_factory=set)
    #: what fn.dask does with the function (hybridjit.distributed), or why it cannot
    dask: list[str] = field(default_factory=list)

    def array_at(self, line: int) -> ArrayStatement:
        """The plan of the array statement on ``line`` (tests use this)."""
        for a in self.arrays:
            if a.loc.line == line:
                return a
        raise KeyError(f"no array statement at line {line}")

    def loop_at(self, line: int) -> LoopDecision:
        """The decision for the loop starting on ``line`` (tests use this)."""
        for d in self.loops:
            if d.loc.line == line:
                return d
        raise KeyError(f"no loop at line {line}")

    def __str__(self) -> str:
        out = [f"{self.function}:"]
        in_arrays = {id(d) for a in self.arrays for _, d in a.nests}
        entries: list[tuple[int, list[str], SourceLoc]] = []
        for d in self.loops:
            if id(d) in in_arrays or d.loop_id in self.array_loops:
                continue
            verdict = "PARALLEL" if d.parallel else "serial"
            entries.append((d.loc.line, [f"{verdict} - {d.why}"], d.loc))
        for a in self.arrays:
            entries.append((a.loc.line, a.lines(), a.loc))
        for line, texts, loc in sorted(entries, key=lambda e: e[0]):
            out.append(f"  line {line}: {loc.source_line().strip()}")
            out += [f"      {t}" for t in texts]
        for line, text in dict.fromkeys(self.regions):  # (an array statement's nests: once)
            out.append(f"  line {line}: device: {text}")
        out += [f"  dask: {text}" for text in self.dask]
        if not self.loops:
            out.append("  (no loops)")
        return "\n".join(out)

    __repr__ = __str__


def explain(disp: Any, arg_types: tuple[Type, ...]) -> Explanation:
    from .pipeline import analyse
    from .transform.arrays import ArrayPlan
    from .transform.regions import outline_regions

    plans: list[ArrayPlan] = []
    program, _, decisions = analyse(disp.py_func, arg_types, disp.options, plans)
    by_loop = {d.loop_id: d for d in decisions}
    arrays = [ArrayStatement(p.loc, [(role, by_loop[i]) for i, role in p.nests if i in by_loop],
                             p.temporaries, p.fused_lines, p.scalars, p.library, p.notes)
              for p in plans]
    array_loops = {i for p in plans for i in p.loops}
    main_nests = {i for p in plans for i, role in p.nests if role == "nest"}
    entry_loops = {d.loop_id for d in decisions}
    regions: list[tuple[int, str]] = []
    if disp.options.target != "cpu":
        _, found = outline_regions(program.entry, disp.options.boundscheck,
                                   disp.options.fastmath)
        where = None
        for r in found:
            if r.loop_id in array_loops and r.loop_id not in main_nests:
                continue  # an array statement's other versions: its main nest speaks for it
            if r.loop_id in entry_loops:
                if r.rid >= 0:
                    where = where or where_regions_run(disp.options.target)
                    text = f"{where}; kernel {_readable(r.kernel_why)}"
                else:
                    text = "runs on the CPU: " + "; ".join(r.blockers)
                regions.append((r.loc.line, text))
    return Explanation(disp.py_func.__qualname__, decisions, regions, arrays, array_loops,
                       _dask_lines(disp, program, decisions))


def _dask_lines(disp: Any, program: Any, decisions: list[LoopDecision]) -> list[str]:
    """fn.dask's plan in words; a failure of that report never fails explain."""
    from .distributed import explain_lines

    try:
        return explain_lines(disp, program, decisions)
    except Exception as exc:  # a bug in the report: say so, explain the rest
        return [f"(not analysed: {type(exc).__name__}: {exc}; please report this)"]


def shown(name: str) -> str:
    """A variable's name as the user wrote it (an inlined helper's local
    without its call-site prefix)."""
    from .frontend.inline import shown_name

    return shown_name(name)


def _readable(text: str) -> str:
    """The compiler's own loop variables (an array statement's nest: .i3,
    .i4) named i0, i1 ... in their order of appearance."""
    names: dict[str, str] = {}
    return re.sub(r"\.i\d+", lambda m: names.setdefault(m.group(0), f"i{len(names)}"), text)


def where_regions_run(target: str) -> str:
    """Where a region that could be offloaded runs on this machine, in words
    (the choice the dispatcher and the offload session make)."""
    from .runtime import registry

    if target == "auto":
        from .doctor import auto_target

        kind, why = auto_target()
        if kind == "cpu":
            return (f"runs on the CPU cores ({why}; target=\"auto\" would offload it to a GPU "
                    "when one is present and the region is big enough)")
        return f"may run on the {why}: decided per call by its size (see last_stats)"
    device = registry.get_device(target)
    if device is None:
        return (f"runs on the CPU cores: no {target} device here "
                f"({registry.availability(target).reason})")
    on_host = "" if device.is_accelerator else ", which is the host CPU"
    return (f"runs on the {target} device {device.name}{on_host} "
            "(on a device error it falls back to the CPU; see last_stats)")


# ---------------------------------------------------------------- the command


def explain_command(target: str, types_text: str | None = None) -> int:
    from .dispatcher import Dispatcher
    from .errors import HybridJitError

    path, _, name = target.rpartition(":")
    if not path or not name:
        print("usage: hybridjit explain path/to/module.py:function", file=sys.stderr)
        return 2
    if not os.path.isfile(path):
        why = "no such file" if not os.path.exists(path) else "not a file"
        print(f"hybridjit explain: cannot read {path}: {why}", file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location("_hj_explained", path)
    if spec is None or spec.loader is None:
        print(f"hybridjit explain: cannot load {path} (not a Python file?)", file=sys.stderr)
        return 2
    module = importlib.util.module_from_spec(spec)
    sys.modules["_hj_explained"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module failed to import: say how, briefly
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        print(f"hybridjit explain: importing {path} failed: {detail}", file=sys.stderr)
        return 1
    fn = getattr(module, name, None)
    if fn is None:
        print(f"{path} has no function {name}", file=sys.stderr)
        return 2
    if not isinstance(fn, Dispatcher):
        from . import jit

        fn = jit(fn)
    try:
        types = parse_types(types_text) if types_text else guess_types(fn.py_func)
    except (TypeError, ValueError) as exc:
        print(f"hybridjit explain: bad --types {types_text!r}: {exc}", file=sys.stderr)
        return 2
    try:
        print(explain(fn, types))
    except HybridJitError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def guess_types(pyfunc: Any) -> tuple[Type, ...]:
    """Parameter types from how the body uses them: a parameter indexed with
    k subscripts is a k-d float64 array, anything else an int."""
    from .frontend.source import parse_function

    tree = parse_function(pyfunc).tree
    params = [a.arg for a in tree.args.args]
    ndims: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            k = len(node.slice.elts) if isinstance(node.slice, ast.Tuple) else 1
            if not isinstance(node.slice, ast.Constant) or node.value.id in ndims:
                ndims[node.value.id] = max(ndims.get(node.value.id, 0), k)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.attr in ("shape", "size", "ndim"):
            ndims.setdefault(node.value.id, 1)
    return tuple(Array(Scalar("float64"), ndims[p], "C") if p in ndims else PY_INT
                 for p in params)


def parse_types(text: str) -> tuple[Type, ...]:
    """``"float64[:,:], int32[:], int, float"`` -> types (arrays C-contiguous)."""
    out: list[Type] = []
    for item in _split_top(text):
        item = item.strip()
        if "[" in item:
            base, dims = item.split("[", 1)
            out.append(Array(Scalar(np.dtype(base.strip()).name), dims.count(":"), "C"))
        elif item == "int":
            out.append(PY_INT)
        elif item == "float":
            out.append(PY_FLOAT)
        else:
            out.append(Scalar(np.dtype(item).name))
    return tuple(out)


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts
