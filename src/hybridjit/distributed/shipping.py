"""Python functions travelling to workers as their source text.

Contract: ``ship_globals(pyfunc) -> dict`` (on the client) takes what a
function uses of its globals, with every Python function and jit function
among them (and, recursively, among theirs) replaced by a
:class:`ShippedFunction`: its source, file, line, qualified name, module,
its own shipped globals and, for a jit function, its options.
``rebuild_globals(shipped) -> dict`` (on a worker) makes a globals dict
again: each function is defined anew from its source (the source
registered in ``linecache`` at its original line numbers, so the compiler
reads it as it reads any function), a jit function becomes a
:class:`~hybridjit.dispatcher.Dispatcher` with its options.  Other values
(modules, numbers, dtypes, functions their module holds by name, which
the worker imports) travel as pickle sends them.

Why: cloudpickle sends a function that its module does not hold by name
(a jit function's module holds the Dispatcher) by value, as a code object
from "<dynamic-code>" with no source, and the compiler compiles from
source: a helper called by the kernel would not compile on a worker.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import sys
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any

from ..config import CompileOptions


@dataclass
class ShippedFunction:
    name: str
    qualname: str
    module: str
    source: str  # the def, dedented, without decorators
    filename: str
    first_line: int  # of the def in that file
    options: CompileOptions | None  # a jit function's; None for a plain one
    globals: dict[str, Any] = field(default_factory=dict)


def ship_globals(pyfunc: Any) -> dict[str, Any]:
    """What ``pyfunc`` uses of its globals, functions as source (module doc)."""
    return _globals_of(pyfunc, {})


def rebuild_globals(shipped: dict[str, Any]) -> dict[str, Any]:
    """A globals dict made from :func:`ship_globals`' result (module doc)."""
    return _rebuild_dict(shipped, {})


# ---------------------------------------------------------------- client


def _globals_of(fn: Any, memo: dict[Any, Any]) -> dict[str, Any]:
    scope = fn.__globals__
    out: dict[str, Any] = {"__name__": scope.get("__name__", fn.__module__)}
    for name in sorted(_names(fn.__code__)):
        if name in scope:
            out[name] = _ship(scope[name], memo)
    return out


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _ship(value: Any, memo: dict[Any, Any]) -> Any:
    from ..dispatcher import Dispatcher

    if isinstance(value, Dispatcher):  # pickled, it would carry its function by value
        return _ship_function(value.py_func, value.options, memo, value)
    if isinstance(value, types.FunctionType) and not _by_name(value):
        return _ship_function(value, None, memo, value)
    return value


def _by_name(fn: types.FunctionType) -> bool:
    """Whether pickle sends ``fn`` as a reference to its module's attribute
    (the worker imports it, source file and all)."""
    module = sys.modules.get(fn.__module__)
    if module is None or fn.__module__ == "__main__":
        return False
    obj: Any = module
    for part in fn.__qualname__.split("."):
        obj = getattr(obj, part, None)
    return obj is fn


def _ship_function(fn: types.FunctionType, options: CompileOptions | None,
                   memo: dict[Any, Any], original: Any) -> Any:
    key = (id(fn), options)
    if key in memo:
        return memo[key]
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return original  # no source here either: let pickle send it as it can
    text = textwrap.dedent("".join(lines))
    node = ast.parse(text).body[0]
    if not isinstance(node, ast.FunctionDef):
        return original  # a lambda: the compiler refuses those anyway
    skip = node.lineno - 1  # decorators come first: start at the def
    source = "".join(text.splitlines(keepends=True)[skip:])
    shipped = ShippedFunction(fn.__name__, fn.__qualname__, fn.__module__, source,
                              fn.__code__.co_filename, first + skip, options)
    memo[key] = shipped
    shipped.globals.update(_globals_of(fn, memo))
    return shipped


# ---------------------------------------------------------------- worker

#: per synthetic file name, the lines registered so far
_files: dict[str, list[str]] = {}


def _rebuild_dict(shipped: dict[str, Any], memo: dict[int, Any]) -> dict[str, Any]:
    return {k: _rebuild(v, memo) if isinstance(v, ShippedFunction) else v
            for k, v in shipped.items()}


def _rebuild(sf: ShippedFunction, memo: dict[int, Any]) -> Any:
    if id(sf) in memo:
        return memo[id(sf)]
    # values first (a default argument may use one), functions after (they
    # may refer to each other)
    scope = {k: v for k, v in sf.globals.items() if not isinstance(v, ShippedFunction)}
    fn = define(sf.source, sf.name, sf.qualname, f"<hybridjit shipped {sf.filename}>",
                sf.first_line, scope)
    if sf.options is not None:
        from ..dispatcher import Dispatcher

        made: Any = Dispatcher(fn, sf.options)
    else:
        made = fn
    memo[id(sf)] = made
    scope.update(_rebuild_dict(sf.globals, memo))
    return made


def define(source: str, name: str, qualname: str, filename: str, first_line: int,
           scope: dict[str, Any]) -> types.FunctionType:
    """Define the function ``source`` (a dedented ``def``) in ``scope``, its
    lines registered in ``linecache`` under ``filename`` (a name no real
    file has) at ``first_line``: the compiler reads them from there, and
    tracebacks and errors show them."""
    shown = filename
    lines = _files.setdefault(shown, [])
    own = source.splitlines(keepends=True)
    while len(lines) < first_line - 1 + len(own):
        lines.append("\n")
    lines[first_line - 1:first_line - 1 + len(own)] = own
    # mtime None: linecache.checkcache keeps the entry though no such file exists
    linecache.cache[shown] = (sum(map(len, lines)), None, lines, shown)
    namespace: dict[str, Any] = {}
    code = compile("\n" * (first_line - 1) + source, shown, "exec")
    exec(code, scope, namespace)
    fn: types.FunctionType = namespace[name]
    fn.__qualname__ = qualname
    return fn
