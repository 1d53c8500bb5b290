"""Concise constructors for hand-built IR in analysis unit tests.

Arguments that are ``int``/``float`` become :class:`Const`, ``str`` becomes an
int64 :class:`Var`; arrays are named by string and default to 1-d float64 of
the number of indices given.  ``line=`` sets the node's :class:`SourceLoc`.
"""

from __future__ import annotations

import itertools
from typing import TypeAlias

from hybridjit.errors import SourceLoc
from hybridjit.ir.nodes import (
    Alloc,
    Assign,
    BinOp,
    Break,
    Cast,
    Compare,
    Const,
    Continue,
    Expr,
    ExprStmt,
    For,
    Function,
    If,
    Intrinsic,
    Load,
    Param,
    Shape,
    Stmt,
    Store,
    UnaryOp,
    Var,
    While,
)
from hybridjit.ir.visit import walk
from hybridjit.types import BOOL, FLOAT64, INT64, PY_FLOAT, PY_INT, Array, Scalar, Type

E: TypeAlias = "Expr | int | float | str"

_ids = itertools.count(1)


def at(line: int) -> SourceLoc:
    return SourceLoc("t.py", line, 4)


def ex(x: E, t: Type = INT64) -> Expr:
    """``int`` -> Const, ``float`` -> Const, ``str`` -> Var of type ``t``."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, bool):
        return _const(x, BOOL)
    if isinstance(x, int):
        return _const(x, PY_INT)
    if isinstance(x, float):
        return _const(x, PY_FLOAT)
    return Var(x, t)


def _const(value: bool | int | float, t: Scalar) -> Expr:
    return Const(value, t)


def v(name: str, t: Type = INT64, line: int = 0) -> Var:
    return Var(name, t, at(line) if line else SourceLoc("<unknown>", 0, 0))


def fv(name: str) -> Var:
    """A float64 scalar variable."""
    return Var(name, FLOAT64)


def arr(name: str, ndim: int = 1, dtype: Scalar = FLOAT64) -> Var:
    return Var(name, Array(dtype, ndim, "C"))


def _bin(op: str, a: E, b: E) -> BinOp:
    x, y = ex(a), ex(b)
    floats = any(isinstance(e.type, Scalar) and e.type.is_float for e in (x, y))
    return BinOp(op, x, y, FLOAT64 if floats else INT64)


def add(a: E, b: E) -> BinOp: return _bin("+", a, b)
def sub(a: E, b: E) -> BinOp: return _bin("-", a, b)
def mul(a: E, b: E) -> BinOp: return _bin("*", a, b)
def fdiv(a: E, b: E) -> BinOp: return _bin("//", a, b)
def mod(a: E, b: E) -> BinOp: return _bin("%", a, b)
def neg(a: E) -> UnaryOp: return UnaryOp("neg", ex(a), ex(a).type)
def cast(a: E, t: Type) -> Cast: return Cast(ex(a), t)


def cmp(op: str, a: E, b: E, line: int = 0) -> Compare:
    return Compare(op, ex(a), ex(b), BOOL, at(line))


def call(name: str, *args: E) -> Intrinsic:
    xs = tuple(ex(a) for a in args)
    return Intrinsic(name, xs, xs[0].type if xs else FLOAT64)


def shape(a: str, dim: int, ndim: int = 1) -> Shape:
    return Shape(arr(a, ndim), dim)


def load(
    a: str, *idx: E, line: int = 0, ndim: int | None = None, dtype: Scalar = FLOAT64,
    wrap: bool = False,
) -> Load:
    n = len(idx) if ndim is None else ndim
    return Load(arr(a, n, dtype), tuple(ex(i) for i in idx), dtype, (wrap,) * len(idx), at(line))


def store(
    a: str, idx: tuple[E, ...] | E, value: E, line: int = 0, ndim: int | None = None,
    wrap: bool = False,
) -> Store:
    ix = idx if isinstance(idx, tuple) else (idx,)
    n = len(ix) if ndim is None else ndim
    return Store(arr(a, n), tuple(ex(i) for i in ix), ex(value), (wrap,) * len(ix), at(line))


def assign(name: str, value: E, line: int = 0) -> Assign:
    return Assign(name, ex(value), at(line))


def aug(name: str, op: str, value: E, t: Type = FLOAT64, line: int = 0) -> Assign:
    """``name op= value`` as the frontend lowers it: ``name = name op value``."""
    return Assign(name, BinOp(op, Var(name, t), ex(value), t), at(line))


def loop(
    var: str,
    start: E,
    stop: E | None = None,
    body: tuple[Stmt, ...] | list[Stmt] = (),
    step: E = 1,
    prange: bool = False,
    line: int = 0,
) -> For:
    """``for var in range(start, stop, step)``; ``loop("i", n, body=...)`` is range(n)."""
    if stop is None:
        start, stop = 0, start
    return For(var, ex(start), ex(stop), ex(step), tuple(body), prange, next(_ids), None, at(line))


def if_(test: Expr, body: list[Stmt] | tuple[Stmt, ...], orelse: list[Stmt] | tuple[Stmt, ...] = (),
        line: int = 0) -> If:
    return If(test, tuple(body), tuple(orelse), at(line))


def while_(test: Expr, body: list[Stmt] | tuple[Stmt, ...], line: int = 0) -> While:
    return While(test, tuple(body), at(line))


def expr_stmt(e: Expr) -> ExprStmt:
    return ExprStmt(e)


def zeros(n: E) -> Alloc:
    return Alloc("zeros", (ex(n),), None, Array(FLOAT64, 1, "C"))


def brk() -> Break: return Break()
def cont() -> Continue: return Continue()


def func(body: list[Stmt] | tuple[Stmt, ...], params: dict[str, Type] | None = None,
         locals_: dict[str, Type] | None = None) -> Function:
    """A function; locals default to the types assigned in ``body`` (loop vars int64)."""
    ps = tuple(Param(n, t) for n, t in (params or {}).items())
    found: dict[str, Type] = {}
    for s in body:
        for n in walk(s):
            if isinstance(n, For):
                found.setdefault(n.var, INT64)
            elif isinstance(n, Assign):
                found.setdefault(n.target, n.value.type)
    loc = {**found, **(params or {}), **(locals_ or {})}
    return Function("f", "f_0", ps, tuple(body), tuple(loc.items()), PY_INT)
