"""The block version of a function: its source, rewritten, and made again.

Contract: ``make_variant(parsed, plan, signs) -> Variant`` rewrites the
parsed source of the user's function (``frontend.source.parse_function``)
into the function each Dask task runs: the same parameters plus, per cut
loop ``s``, ``_hj_lo{s}, _hj_hi{s}`` (the block's iteration range), and per
``+``/``*`` reduction ``_hj_id{r}`` (its identity); the cut loops iterate over
the block's range only; the reductions start from their identity; everything
after the nest becomes ``return <the reductions>``.  ``materialise(variant,
scope) -> function`` makes it a Python function again, with globals
``scope`` (the original's, or those :mod:`.shipping` rebuilt on a worker),
its source registered in ``linecache`` so that the frontend reads it as it
reads any function.  Both run on the client and on
every worker (the source travels as text, never a shared library).

Why a rewritten source and not local arrays with translated subscripts: the
task's arrays keep their global shapes and global indices (see
:mod:`.runner`), so ``A[i - 1, j]``, ``n, m = A.shape``, negative indices
and NumPy-style code inside the nest mean exactly what they mean in one
process; only the cut loops' ranges change.  The block's start goes through
``max(_hj_lo, <original start>)`` so the analysis still proves the loop
variable as large as the original start (subscripts such as ``i - 1`` stay
free of negative-index wrapping, and the footprints stay exact).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import types
from dataclasses import dataclass
from typing import Any

from ..errors import PartitionError
from ..frontend.source import ParsedFunction
from ..ir.nodes import For
from .plan import Plan, refuse_array_statement
from .shipping import define

#: prefix of every name the rewrite adds (refused in user code)
RESERVED = "_hj_"


@dataclass(frozen=True)
class Variant:
    source: str
    filename: str
    name: str  # of the def
    qualname: str
    extra: tuple[str, ...]  # parameters added after the original ones, in order
    region_line: int  # line of the cut nest in ``source``


def region_statement(parsed: ParsedFunction, loop: For) -> int:
    """Index in the function's body of the ``for`` statement that is ``loop``
    (the outermost loop of the nest); a nest with no such statement (a NumPy
    array statement) cannot be cut."""
    for k, stmt in enumerate(parsed.tree.body):
        if isinstance(stmt, ast.For) and _same_place(parsed, stmt, loop):
            _range_args(stmt, loop)
            return k
    refuse_array_statement(loop)
    raise AssertionError("unreachable")


def make_variant(parsed: ParsedFunction, plan: Plan, signs: tuple[int, ...]) -> Variant:
    """The block version of the function (module doc); ``signs`` are the
    signs of the cut loops' steps (a descending loop is cut at its stop)."""
    _refuse_reserved(parsed)
    tree = copy.deepcopy(parsed.tree)
    tree.decorator_list = []
    k = region_statement(parsed, plan.loop)
    region = tree.body[k]
    assert isinstance(region, ast.For)
    extra: list[str] = []
    before: list[ast.stmt] = []
    for s, (split, sign) in enumerate(zip(plan.splits, signs, strict=True)):
        node = region if s == 0 else _find_for(parsed, region, split.loop)
        start, stop, step = _range_args(node, split.loop)
        lo, hi = f"{RESERVED}lo{s}", f"{RESERVED}hi{s}"
        extra += [lo, hi]
        assert isinstance(node.iter, ast.Call)
        if sign > 0:  # values from the block's start up: bounded below by the original start
            bound = f"{RESERVED}b{s}"
            before.append(_assign(bound, _call("max", _name(lo), start)))
            node.iter.args = [_name(bound), _name(hi), step]
        else:  # values down to the block's stop: bounded below by the original stop
            bound = f"{RESERVED}e{s}"
            before.append(_assign(bound, _call("max", _name(hi), stop)))
            node.iter.args = [_name(lo), _name(bound), step]
        node.iter.keywords = []
    for r, red in enumerate(plan.reductions):
        if red.op in ("+", "*"):  # each block's partial starts from the identity
            ident = f"{RESERVED}id{r}"
            extra.append(ident)
            before.append(_assign(red.var, _name(ident)))
    names: list[ast.expr] = [_name(red.var) for red in plan.reductions]
    ret = [] if not names else [ast.Return(
        value=names[0] if len(names) == 1 else ast.Tuple(elts=names, ctx=ast.Load()))]
    tree.body = [*tree.body[:k], *before, region, *ret]
    tree.args.args += [ast.arg(arg=name) for name in extra]
    if tree.args.defaults:  # parameters with defaults come last: give the new ones one
        tree.args.defaults += [ast.Constant(0) for _ in extra]
    source = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    new_tree = ast.parse(source).body[0]
    assert isinstance(new_tree, ast.FunctionDef)
    region_line = new_tree.body[k + len(before)].lineno
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    qualname = f"{parsed.pyfunc.__qualname__}.<dask block>"
    filename = f"<hybridjit dask block of {parsed.pyfunc.__qualname__} {digest}>"
    return Variant(source, filename, tree.name, qualname, tuple(extra), region_line)


def materialise(variant: Variant, scope: dict[str, Any]) -> types.FunctionType:
    """The variant as a Python function with globals ``scope`` (module doc)."""
    return define(variant.source, variant.name, variant.qualname, variant.filename, 1, scope)


# ---------------------------------------------------------------- helpers


def _same_place(parsed: ParsedFunction, node: ast.AST, loop: For) -> bool:
    loc = parsed.loc(node)
    return (loc.line, loc.col) == (loop.loc.line, loop.loc.col)


def _find_for(parsed: ParsedFunction, region: ast.For, loop: For) -> ast.For:
    for node in ast.walk(region):
        if isinstance(node, ast.For) and _same_place(parsed, node, loop):
            return node
    raise PartitionError("fn.dask cannot find this loop in the function's source", loop.loc)


def _range_args(node: ast.For, loop: For) -> tuple[ast.expr, ast.expr, ast.expr]:
    """(start, stop, step) of ``for v in range(...)`` / ``prange(...)``."""
    call = node.iter
    fname = call.func if isinstance(call, ast.Call) else None
    called = fname.id if isinstance(fname, ast.Name) else \
        fname.attr if isinstance(fname, ast.Attribute) else ""
    if not isinstance(call, ast.Call) or called not in ("range", "prange") \
            or call.keywords or not 1 <= len(call.args) <= 3 \
            or any(isinstance(a, ast.Starred) for a in call.args) \
            or not isinstance(node.target, ast.Name) or node.target.id != loop.var:
        raise PartitionError("fn.dask cuts loops over range() or prange() into blocks, and "
                             "this one is not such a loop", loop.loc)
    args = list(call.args)
    if len(args) == 1:
        args = [ast.Constant(0), args[0]]
    if len(args) == 2:
        args.append(ast.Constant(1))
    return args[0], args[1], args[2]


def _refuse_reserved(parsed: ParsedFunction) -> None:
    for node in ast.walk(parsed.tree):
        name = node.id if isinstance(node, ast.Name) else \
            node.arg if isinstance(node, ast.arg) else None
        if name is not None and name.startswith(RESERVED):
            raise PartitionError(f"the name '{name}' is reserved for fn.dask's block "
                                 "parameters", parsed.loc(node), hint="rename it")


def _name(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _assign(target: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=value)


def _call(func: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(func), args=list(args), keywords=[])
