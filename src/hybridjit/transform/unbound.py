"""Raise UnboundLocalError where CPython would: IR -> IR.

Contract: :func:`insert_unbound_checks` returns ``fn`` unchanged when every
read of a local variable is definitely assigned
(:func:`~hybridjit.analysis.definite.maybe_unbound`).  Otherwise each
variable with a read that may come first gets a flag (a bool local
``.b_<name>``, false at entry, set true after every assignment of the
variable and at the top of a ``for`` body over it), and each such read
becomes a :class:`~hybridjit.ir.nodes.BoundCheck` on its flag.  An array
variable's reads are checked by a ``BoundCheck`` statement just before the
statement that reads it (array reads are parts of loads and stores, not
expressions of their own).  Runs after lowering, before parallelisation, so
the flags are ordinary scalars to every later pass.
"""

from __future__ import annotations

from dataclasses import replace

from ..analysis.definite import maybe_unbound
from ..ir.nodes import (
    Assign,
    BoundCheck,
    Const,
    Expr,
    ExprStmt,
    For,
    Function,
    If,
    Node,
    Stmt,
    Var,
    While,
)
from ..ir.visit import rewrite, walk
from ..types import BOOL, Array


def flag_of(name: str) -> str:
    return ".b_" + name


def insert_unbound_checks(fn: Function) -> Function:
    unbound = maybe_unbound(fn)
    if not unbound:
        return fn
    names = sorted({n.name for s in fn.body for n in walk(s)
                    if isinstance(n, Var) and id(n) in unbound})
    rw = _Rewriter(unbound, set(names))
    inits: tuple[Stmt, ...] = tuple(Assign(flag_of(n), Const(False, BOOL), fn.loc)
                                    for n in names)
    body = inits + rw.body(fn.body)
    flags = tuple((flag_of(n), BOOL) for n in names)
    return replace(fn, body=body, locals=tuple(sorted(fn.locals + flags)))


class _Rewriter:
    def __init__(self, unbound: frozenset[int], names: set[str]):
        self.unbound = unbound
        self.names = names

    def body(self, stmts: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        for s in stmts:
            out += self.stmt(s)
        return tuple(out)

    def stmt(self, s: Stmt) -> list[Stmt]:
        if isinstance(s, If):
            pre, test = self.expr(s.test)
            return [*pre, replace(s, test=test, body=self.body(s.body),
                                  orelse=self.body(s.orelse))]
        if isinstance(s, While):
            pre, test = self.expr(s.test)
            return [*pre, replace(s, test=test, body=self.body(s.body))]
        if isinstance(s, For):
            pre, start = self.expr(s.start)
            pre2, stop = self.expr(s.stop)
            pre3, step = self.expr(s.step)
            body = self.body(s.body)
            if s.var in self.names:
                body = (Assign(flag_of(s.var), Const(True, BOOL), s.loc), *body)
            return [*pre, *pre2, *pre3,
                    replace(s, start=start, stop=stop, step=step, body=body)]
        pre = self.array_checks(s)
        new = rewrite(s, self.check_read)
        out = [*pre, new]
        if isinstance(s, Assign) and s.target in self.names and not self.checks_itself(new):
            out.append(Assign(flag_of(s.target), Const(True, BOOL), s.loc))
        return out

    @staticmethod
    def checks_itself(s: Stmt) -> bool:
        """``x = x + 1`` reading ``x`` through a check: once it passes the flag
        is already set (and a loop accumulating ``x`` stays a reduction)."""
        assert isinstance(s, Assign)
        return any(isinstance(n, BoundCheck) and n.name == s.target for n in walk(s.value))

    def expr(self, e: Expr) -> tuple[list[Stmt], Expr]:
        return self.array_checks(e), rewrite(e, self.check_read)

    def check_read(self, n: Node) -> Node:
        if isinstance(n, Var) and id(n) in self.unbound and not isinstance(n.type, Array):
            return BoundCheck(Var(flag_of(n.name), BOOL, n.loc), n.name, n, n.type, n.loc)
        return n

    def array_checks(self, node: Node) -> list[Stmt]:
        seen: dict[str, Var] = {}
        for n in walk(node):
            if isinstance(n, Var) and id(n) in self.unbound and isinstance(n.type, Array):
                seen.setdefault(n.name, n)
        return [ExprStmt(BoundCheck(Var(flag_of(name), BOOL, v.loc), name, Const(True, BOOL),
                                    BOOL, v.loc), v.loc)
                for name, v in seen.items()]
