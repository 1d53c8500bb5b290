"""Source access: a Python function -> its parsed ``ast.FunctionDef`` with
locations mapped back to the user's file.

Contract: :func:`parse_function` returns a :class:`ParsedFunction` whose
``loc(node)`` gives the :class:`SourceLoc` of any AST node in the original
file (line and column, undoing the dedent needed to parse a method or a
nested function).  Functions without retrievable source raise
UnsupportedError.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any

from ..errors import SourceLoc, UnsupportedError


@dataclass(frozen=True)
class ParsedFunction:
    pyfunc: Any
    tree: ast.FunctionDef
    file: str
    line_offset: int
    col_offset: int

    def loc(self, node: ast.AST) -> SourceLoc:
        line = getattr(node, "lineno", 1) + self.line_offset
        col = getattr(node, "col_offset", 0) + self.col_offset
        end_line = getattr(node, "end_lineno", None)
        end_col = getattr(node, "end_col_offset", None)
        if end_col is not None and end_line == getattr(node, "lineno", None):
            end_col += self.col_offset
        else:
            end_col = None
        return SourceLoc(self.file, line, col, end_col)


def parse_function(pyfunc: Any) -> ParsedFunction:
    code = pyfunc.__code__
    try:
        lines, first_line = inspect.getsourcelines(pyfunc)
    except (OSError, TypeError) as exc:
        raise UnsupportedError(
            f"cannot read the source of {pyfunc.__qualname__}",
            hint="hybridjit compiles functions defined in .py files (not in exec/eval strings)",
        ) from exc
    raw = "".join(lines)
    dedented = textwrap.dedent(raw)
    indent = _indent_width(raw) - _indent_width(dedented)
    module = ast.parse(dedented)
    defs = [n for n in module.body if isinstance(n, ast.FunctionDef)]
    if not defs:
        raise UnsupportedError(
            f"{pyfunc.__qualname__} is not a plain 'def' function",
            SourceLoc(code.co_filename, first_line),
            hint="lambdas and async functions cannot be compiled; write a def",
        )
    return ParsedFunction(pyfunc, defs[0], code.co_filename, first_line - 1, indent)


def _indent_width(text: str) -> int:
    for line in text.splitlines():
        if line.strip():
            return len(line) - len(line.lstrip())
    return 0


_SIGNATURE = ("*args, **kwargs and keyword-only parameters are not supported",
              "use plain parameters (defaults are fine): def f(a, b, n=10)")


def signature_error(parsed: ParsedFunction) -> UnsupportedError:
    """The error for a ``def`` with ``*args``, ``**kwargs`` or keyword-only
    parameters, at its line."""
    message, hint = _SIGNATURE
    return UnsupportedError(message, parsed.loc(parsed.tree), hint=hint)


def check_signature(pyfunc: Any) -> None:
    """Raise :func:`signature_error` for such a function (cheap otherwise)."""
    code = pyfunc.__code__
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) or code.co_kwonlyargcount:
        raise signature_error(parse_function(pyfunc))
