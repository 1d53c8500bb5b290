"""What Python constructs are called in error messages.

Contract: :func:`construct` names an ``ast`` node kind the way a Python
programmer says it ("'try' statements", "list comprehensions", "the matrix
product operator @"), never by its ``ast`` class name; :func:`hint_for`
gives the matching hint.  Pure data.
"""

from __future__ import annotations

import ast

_NAMES: dict[type, str] = {
    ast.With: "'with' statements", ast.AsyncWith: "'async with' statements",
    ast.Try: "'try' statements", ast.Raise: "'raise' statements",
    ast.Import: "imports", ast.ImportFrom: "imports",
    ast.Global: "'global' declarations", ast.Nonlocal: "'nonlocal' declarations",
    ast.FunctionDef: "nested function definitions", ast.ClassDef: "class definitions",
    ast.AsyncFunctionDef: "async functions", ast.AsyncFor: "'async for' loops",
    ast.Delete: "'del' statements", ast.Assert: "'assert' statements",
    ast.List: "lists", ast.ListComp: "list comprehensions", ast.Dict: "dicts",
    ast.DictComp: "dict comprehensions", ast.Set: "sets", ast.SetComp: "set comprehensions",
    ast.Lambda: "lambdas", ast.JoinedStr: "f-strings", ast.FormattedValue: "f-strings",
    ast.GeneratorExp: "generator expressions", ast.Yield: "'yield'",
    ast.YieldFrom: "'yield from'", ast.Await: "'await'",
    ast.NamedExpr: "assignment expressions (:=)", ast.Starred: "starred expressions (*x)",
    ast.Slice: "slices",
    ast.MatMult: "the matrix product operator @",
    ast.Is: "'is' comparisons", ast.IsNot: "'is not' comparisons",
    ast.In: "'in' tests", ast.NotIn: "'not in' tests",
}
if hasattr(ast, "TryStar"):  # Python 3.11
    _NAMES[ast.TryStar] = "'try' statements"
if hasattr(ast, "Match"):
    _NAMES[ast.Match] = "'match' statements"

_HINTS: dict[type, str] = {
    ast.With: "context managers cannot be compiled; move the 'with' outside the function",
    ast.Try: "exceptions cannot be caught in compiled code; check conditions with 'if'",
    ast.Raise: "raise the exception in the Python code that calls this function",
    ast.Import: "import modules at module level; hybridjit resolves math/numpy names",
    ast.ImportFrom: "import modules at module level",
    ast.Global: "module-level values are constants here; pass changing values as arguments",
    ast.Nonlocal: "pass the value as an argument",
    ast.FunctionDef: "define helper functions at module level; they are compiled automatically",
    ast.ClassDef: "classes cannot be compiled",
    ast.Delete: "'del' is not supported",
    ast.Assert: "check the condition before calling the compiled function",
    ast.AsyncFunctionDef: "async code cannot be compiled",
    ast.ListComp: "allocate an array with np.empty and fill it in a loop",
    ast.List: "allocate an array with np.empty and fill it in a loop",
    ast.Dict: "dictionaries cannot be compiled",
    ast.Set: "sets cannot be compiled",
    ast.Lambda: "define a module-level function instead",
    ast.JoinedStr: "strings cannot be compiled; format results in Python",
    ast.GeneratorExp: "write an explicit loop",
    ast.Yield: "generators cannot be compiled",
    ast.Await: "async code cannot be compiled",
    ast.NamedExpr: "assign in a separate statement",
    ast.Starred: "unpack explicitly",
    ast.MatMult: "write a = a @ b (NumPy has no in-place matrix product either)",
    ast.Is: "compare numbers with == and !=",
    ast.IsNot: "compare numbers with == and !=",
    ast.In: "test each value with == in a loop",
    ast.NotIn: "test each value with != in a loop",
}


def construct(kind: type) -> str:
    return _NAMES.get(kind, f"this construct ({kind.__name__.lower()})")


def hint_for(kind: type, default: str) -> str:
    return _HINTS.get(kind, default)
