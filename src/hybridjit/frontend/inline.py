"""Inlining of helper functions that work with whole arrays.

Contract: a plain Python helper whose typed IR allocates, computes or
returns arrays (``return np.where(d < 0, 1.0 - w, w)``) is not compiled as
a C function: :func:`inline_call` lowers its body in the caller, at the
call, as statements run just before the calling statement, and returns the
expression that stands for its result.  The helper's locals are renamed per
call site (``.i<line>c<col>_<name>``) so two calls never share a variable;
its globals still resolve in its own module and its errors point at its own
lines.  Because the body lands in the caller, the array statements it holds
are fused, parallelised and offloaded with the caller's, and the arrays it
allocates belong to the entry, which owns Python objects.

Why inline rather than call: a C helper would need to create NumPy objects
(it runs without the caller's object bookkeeping, possibly inside parallel
code) and would keep its array statements out of the caller's fusion.

``return`` is turned into an assignment of the result variables: returns
under ``if`` are made tail returns by moving the statements that follow the
``if`` into both of its branches (Python's own control flow, unchanged);
a ``return`` inside a loop of such a helper is refused.
"""

from __future__ import annotations

import ast
import copy
import re
from typing import TYPE_CHECKING

from ..errors import SourceLoc, TypingError, UnsupportedError
from ..ir.arrays import (
    ArrayReduce,
    ArrayStore,
    Compress,
    Concat,
    Cumulative,
    Fresh,
    Gather,
    LibraryCall,
    Map,
    Scatter,
    Sequence,
)
from ..ir.nodes import Alloc, Assign, Expr, Function, MakeTuple, Static, Stmt, Var
from ..ir.visit import walk_all
from ..types import NONE, Array, Tuple, Type
from .coerce import cast
from .source import ParsedFunction, parse_function

if TYPE_CHECKING:
    from .lower import FunctionLowerer

#: IR that needs the caller's context: array values and array statements
#: (views alone do not: a C helper receives and indexes them)
_ARRAY_WORK = (Alloc, Map, ArrayReduce, Cumulative, Fresh, Sequence, Concat, ArrayStore,
               Compress, LibraryCall, Gather, Scatter)

_PREFIX = re.compile(r"^\.(?:i\d+c\d+)+_")


def needs_inline(fn: Function) -> bool:
    """Whether a helper, lowered on its own, must be inlined instead."""
    return _holds_array(fn.return_type) or any(
        isinstance(n, _ARRAY_WORK) for n in walk_all(fn.body)
    )


def _holds_array(t: Type) -> bool:
    return isinstance(t, Array) or (isinstance(t, Tuple) and any(map(_holds_array, t.items)))


def shown_name(name: str) -> str:
    """A variable's name as the user wrote it (without an inlining prefix)."""
    return _PREFIX.sub("", name)


def inline_call(caller: FunctionLowerer, func: object, args: list[Expr], node: ast.Call,
                loc: SourceLoc) -> Expr:
    """Lower ``func(*args)`` into the caller (see the module docstring)."""
    from .lower import FunctionLowerer

    name = getattr(func, "__name__", "helper")
    if caller.conditional:
        raise UnsupportedError(
            f"{name}() works with whole arrays, so it cannot be called where it might not be "
            "evaluated (in 'and'/'or', a conditional expression or a while test)", loc,
            hint=f"call it in a statement of its own: r = {name}(...)",
        )
    parsed = parse_function(func)
    prefix = f"{caller.inline_prefix}i{node.lineno}c{node.col_offset}"
    tree = _renamed(parsed.tree, "." + prefix + "_")
    tree.body = _tail_returns(tree.body, parsed)
    if not _ends_in_return(tree.body) and any(
            isinstance(n, ast.Return) and n.value is not None for n in ast.walk(tree)):
        raise TypingError(
            f"{name}() returns a value on some paths and reaches its end (returning None) on "
            "others", parsed.loc(tree), hint="end every path with a return of the same kind")
    inner = ParsedFunction(parsed.pyfunc, tree, parsed.file, parsed.line_offset,
                           parsed.col_offset)
    child = FunctionLowerer(caller.ctx, inner, tuple(a.type for a in args), caller.symbol,
                            caller.is_entry)
    child.share_state(caller, prefix)
    body: list[Stmt] = []
    for pname, a in zip(child.param_names, args):
        if isinstance(a, Static):
            if _assigned(tree, pname):
                raise UnsupportedError(
                    f"parameter '{shown_name(pname)}' of {name}() is given a compile-time "
                    "value (a dtype or a string) and cannot be assigned", loc)
            child.static_args[pname] = a.value
            child.local_names.discard(pname)
            continue
        if isinstance(a, Var) and not _assigned(tree, pname):
            # the caller's variable itself (nothing in the body can rebind it):
            # no copy, and the array statements see the caller's array
            child.aliases[pname] = a
            continue
        t = child.assign_type(pname, a.type, loc)
        body.append(Assign(pname, cast(a, t), loc))
    body += child.lower_body(tree.body)
    caller.take_state(child)
    caller.pre.extend(body)
    return result_expr(child, loc)


def _assigned(tree: ast.FunctionDef, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
               for n in ast.walk(tree))


def _renamed(tree: ast.FunctionDef, prefix: str) -> ast.FunctionDef:
    """A copy of ``tree`` whose parameters and assigned names carry ``prefix``."""
    local = {a.arg for a in (*tree.args.posonlyargs, *tree.args.args)} | {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    tree = copy.deepcopy(tree)
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id in local:
            n.id = prefix + n.id
        elif isinstance(n, ast.arg) and n.arg in local:
            n.arg = prefix + n.arg
    return tree


def _tail_returns(stmts: list[ast.stmt], parsed: ParsedFunction) -> list[ast.stmt]:
    """The statements with every ``return`` the last one on its path: what
    follows an ``if`` that returns on some path is copied into its branches."""
    out: list[ast.stmt] = []
    for k, s in enumerate(stmts):
        if isinstance(s, ast.Return):
            out.append(s)
            return out
        if isinstance(s, ast.If) and _returns_in(s):
            rest = stmts[k + 1:]
            branch = copy.copy(s)
            branch.body = _tail_returns(s.body + copy.deepcopy(rest), parsed)
            branch.orelse = _tail_returns(s.orelse + copy.deepcopy(rest), parsed)
            out.append(branch)
            return out
        if _returns_in(s):
            raise UnsupportedError(
                "'return' inside a loop of a helper that works with whole arrays is not "
                "supported", parsed.loc(next(n for n in ast.walk(s) if isinstance(n, ast.Return))),
                hint="leave the loop with 'break' and return after it",
            )
        out.append(s)
    return out


def _returns_in(s: ast.stmt) -> bool:
    return any(isinstance(n, ast.Return) for n in ast.walk(s))


def result_of_return(child: FunctionLowerer, value: Expr | None, loc: SourceLoc) -> list[Stmt]:
    """``return value`` in an inlined body: assign the result variables (one
    per item of a returned tuple display, so a tuple may hold arrays)."""
    if value is None:
        _agree(child, "none", loc)
        return []
    if isinstance(value, MakeTuple):
        _agree(child, len(value.items), loc)
        out: list[Stmt] = []
        for k, item in enumerate(value.items):
            name = f".{child.inline_prefix}_r{k}"
            t = child.assign_type(name, item.type, loc)
            out.append(Assign(name, cast(item, t), loc))
        return out
    _agree(child, "value", loc)
    name = f".{child.inline_prefix}_r"
    t = child.assign_type(name, value.type, loc)
    return [Assign(name, cast(value, t), loc)]


def _agree(child: FunctionLowerer, shape: object, loc: SourceLoc) -> None:
    """Every return of an inlined helper returns the same kind of value."""
    if child.return_shape is None:
        child.return_shape = shape
    elif child.return_shape != shape:
        raise TypingError(
            "this return returns a different kind of value than another return of the "
            "function", loc, hint="return values of one kind from every return statement",
        )


def result_expr(child: FunctionLowerer, loc: SourceLoc) -> Expr:
    """The value an inlined call stands for, once its body has run."""
    shape = child.return_shape
    if shape is None or shape == "none":
        return Static(None, NONE, loc)  # no value: see FunctionLowerer.stmt_Expr
    if shape == "value":
        return child.read_var(f".{child.inline_prefix}_r", loc)
    assert isinstance(shape, int)
    items = tuple(child.read_var(f".{child.inline_prefix}_r{k}", loc) for k in range(shape))
    return MakeTuple(items, Tuple(tuple(i.type for i in items)), loc)


def _ends_in_return(stmts: list[ast.stmt]) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ast.Return):
        return True
    return isinstance(last, ast.If) and _ends_in_return(last.body) \
        and _ends_in_return(last.orelse)
