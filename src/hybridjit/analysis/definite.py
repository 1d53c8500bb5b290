"""Definite assignment: which reads of a local variable may find it unassigned.

Contract: ``maybe_unbound(fn) -> frozenset[int]`` gives the ``id()`` of every
:class:`~hybridjit.ir.nodes.Var` node of ``fn`` (a read of a local variable
that is not a parameter) that some path through the function reaches before
any assignment of that variable, where CPython raises UnboundLocalError.
Pure; the ids refer to the nodes of ``fn`` as given.

The analysis is the classic forward "definitely assigned" data flow on the
structured IR: a set of variables assigned on every path, intersected where
paths join, ``None`` where no path arrives (after ``return``, ``break``,
``continue``).  A ``for`` loop may run zero times unless its bounds are
constants that give it an iteration; ``while True`` leaves only through
``break``.  Frontend temporaries (names starting with ``.``) are assigned
before use by construction and are not tracked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir.nodes import (
    Assign,
    Break,
    Const,
    Continue,
    Expr,
    For,
    Function,
    If,
    Node,
    Return,
    Stmt,
    Var,
    While,
)
from ..ir.visit import walk

State = frozenset[str] | None  # None: no path reaches this point


def maybe_unbound(fn: Function) -> frozenset[int]:
    tracked = {n for n, _ in fn.locals} - {p.name for p in fn.params}
    tracked = {n for n in tracked if not n.startswith(".")}
    flow = _Flow(tracked)
    flow.body(fn.body, frozenset())
    return frozenset(flow.unbound)


def _meet(a: State, b: State) -> State:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


@dataclass
class _Loop:
    breaks: list[State] = field(default_factory=list)
    continues: list[State] = field(default_factory=list)


class _Flow:
    def __init__(self, tracked: set[str]):
        self.tracked = tracked
        self.unbound: set[int] = set()
        self.loops: list[_Loop] = []

    def reads(self, node: Node | None, state: State) -> None:
        if node is None or state is None:
            return
        for n in walk(node):
            if isinstance(n, Var) and n.name in self.tracked and n.name not in state:
                self.unbound.add(id(n))

    def body(self, stmts: tuple[Stmt, ...], state: State) -> State:
        for s in stmts:
            state = self.stmt(s, state)
        return state

    def stmt(self, s: Stmt, state: State) -> State:
        if isinstance(s, If):
            self.reads(s.test, state)
            return _meet(self.body(s.body, state), self.body(s.orelse, state))
        if isinstance(s, While):
            return self.while_loop(s, state)
        if isinstance(s, For):
            return self.for_loop(s, state)
        if isinstance(s, (Break, Continue)):
            if state is not None:
                loop = self.loops[-1]
                (loop.breaks if isinstance(s, Break) else loop.continues).append(state)
            return None
        if isinstance(s, Return):
            self.reads(s.value, state)
            return None
        self.reads(s, state)
        if isinstance(s, Assign) and state is not None:
            return state | {s.target}
        return state

    def while_loop(self, s: While, state: State) -> State:
        self.reads(s.test, state)
        loop = _Loop()
        self.loops.append(loop)
        self.body(s.body, state)
        self.loops.pop()
        forever = isinstance(s.test, Const) and bool(s.test.value)
        exit_state: State = None if forever else state
        for b in loop.breaks:
            exit_state = _meet(exit_state, b)
        return exit_state

    def for_loop(self, s: For, state: State) -> State:
        for e in (s.start, s.stop, s.step):
            self.reads(e, state)
        loop = _Loop()
        self.loops.append(loop)
        inside = state | {s.var} if state is not None else None
        end = self.body(s.body, inside)
        self.loops.pop()
        for c in loop.continues:
            end = _meet(end, c)
        # after the last iteration the state is `end`, a superset of `state`
        exit_state = end if _runs_at_least_once(s) else state
        for b in loop.breaks:
            exit_state = _meet(exit_state, b)
        return exit_state


def _runs_at_least_once(s: For) -> bool:
    bounds: list[Expr] = [s.start, s.stop, s.step]
    if not all(isinstance(e, Const) for e in bounds):
        return False
    start, stop, step = (int(e.value) for e in bounds)  # type: ignore[attr-defined]
    return (step > 0 and start < stop) or (step < 0 and start > stop)
