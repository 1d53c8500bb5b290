"""Classify the local variables a loop body assigns: private, reduction, carried.

Contract: ``classify_loop_scalars(loop, live_after) -> ScalarClassification``.
Input is one :class:`~hybridjit.ir.nodes.For` (the candidate parallel loop)
and, optionally, the set of variables whose value may be used after the loop
(``None`` means "unknown": every assigned variable is assumed live).  Output
says, for every variable assigned anywhere in the loop body (loop variables of
the loop and of nested loops included):

- *private*: each iteration writes it before it reads it, on every path, so
  each thread may keep its own copy;
- *reduction*: only ever updated as ``s = s op e`` (``+ - * min max``) and
  never otherwise read, so partial results per thread can be combined;
- *arg-reduction*: the ``if d < best: best = d; k = c`` pattern;
- *carried*: anything else read before written, whose value flows from one
  iteration to the next: the loop must stay sequential.

``live_after_loop(body, loop_id) -> set[str]`` is the companion liveness
query: the variables whose value at the exit of that loop may still be read
(pass it as ``live_after``; without it nested loop variables and
conditionally assigned temporaries are conservatively carried).

Variables of any type are classified (an array allocated at the top of each
iteration is private just like a scalar); reductions are recognised only on
:class:`~hybridjit.types.Scalar` values.  The analysis is conservative: when
in doubt a variable is carried, never private.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import SourceLoc
from ..ir.nodes import (
    Assign,
    BinOp,
    BoundCheck,
    Break,
    Cast,
    Compare,
    Continue,
    Expr,
    ExprStmt,
    For,
    If,
    Intrinsic,
    Node,
    Reduction,
    Return,
    Stmt,
    Store,
    Var,
    While,
)
from ..ir.visit import walk
from ..types import Scalar

# --------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ArgReduction:
    """``if d < best: best = d; k = c`` (``op`` "min"; "max" for ``>``).

    ``index_vars`` are the variables assigned alongside ``var`` (``k``).
    ``strict`` is True for ``<``/``>``: on ties the *earliest* iteration wins,
    for ``<=``/``>=`` the latest, so a parallel combine must merge partial
    results in iteration order with the same comparison, starting from "no
    candidate yet" (not from +-inf: a loop that never improves ``best`` must
    leave ``k`` untouched).
    """

    var: str
    index_vars: tuple[str, ...]
    op: str
    strict: bool
    loc: SourceLoc


@dataclass(frozen=True, slots=True)
class CarriedScalar:
    """A variable whose value crosses iterations, with the access that shows it."""

    name: str
    reason: str
    loc: SourceLoc


@dataclass(frozen=True, slots=True)
class ScalarClassification:
    """Every variable the loop body assigns, in exactly one of the groups.

    ``private`` includes the loop's own variable and nested loop variables.
    ``lastprivate`` lists the private variables (a subset of ``private``)
    whose value after the loop must be the one from the last iteration;
    every one of them is assigned unconditionally in each iteration.  The
    loop's own variable is never listed: its value after the loop (the last
    one, when any iteration ran) is the code generator's business.
    ``reasons`` has one human-readable line per carried variable.
    """

    private: tuple[str, ...]
    reductions: tuple[Reduction, ...]
    arg_reductions: tuple[ArgReduction, ...]
    carried: tuple[str, ...]
    lastprivate: tuple[str, ...] = ()
    carried_details: tuple[CarriedScalar, ...] = ()
    reasons: tuple[str, ...] = field(default=())

    @property
    def parallel_ok(self) -> bool:
        """True when no scalar prevents running iterations in parallel."""
        return not self.carried


# -------------------------------------------------------------- helpers


def strip_casts(expr: Expr) -> Expr:
    """The expression under any chain of :class:`Cast` nodes.

    Seeing through casts is safe for the patterns recognised here: integer
    casts wrap (associative modulo 2**n), float casts only round, and
    rounding is monotonic so it commutes with min/max.
    """
    while isinstance(expr, (Cast, BoundCheck)):
        expr = expr.value
    return expr


def _var_reads(node: Node) -> Iterator[Var]:
    for n in walk(node):
        if isinstance(n, Var):
            yield n


def _reads_name(node: Node, name: str) -> bool:
    return any(v.name == name for v in _var_reads(node))


def iter_stmts(body: Iterable[Stmt]) -> Iterator[Stmt]:
    """Every statement in ``body``, nested ones included, in source order."""
    for s in body:
        yield s
        if isinstance(s, If):
            yield from iter_stmts(s.body)
            yield from iter_stmts(s.orelse)
        elif isinstance(s, For | While):
            yield from iter_stmts(s.body)


def stmt_exprs(s: Stmt) -> tuple[Expr, ...]:
    """The expressions a statement evaluates itself (not its sub-statements)."""
    if isinstance(s, Assign | ExprStmt):
        return (s.value,)
    if isinstance(s, Store):
        return (s.array, *s.indices, s.value)
    if isinstance(s, Return):
        return (s.value,) if s.value is not None else ()
    if isinstance(s, If | While):
        return (s.test,)
    if isinstance(s, For):
        return (s.start, s.stop, s.step)
    return ()


# ------------------------------------------------ upward-exposed reads


@dataclass
class _Scan:
    """Walks one iteration in source order, tracking what is surely written.

    ``exposed`` keeps, per name, the first read that may see a value from
    before the iteration (an earlier iteration or before the loop).
    ``end_states`` collects the surely-written sets at each way the
    iteration can end (falling off the end, ``continue``).
    """

    exposed: dict[str, SourceLoc] = field(default_factory=dict)
    end_states: list[frozenset[str]] = field(default_factory=list)

    def read(self, expr: Expr, written: frozenset[str], loc: SourceLoc) -> None:
        for v in _var_reads(expr):
            if v.name not in written and v.name not in self.exposed:
                self.exposed[v.name] = v.loc if v.loc.line > 0 else loc

    def block(self, body: Iterable[Stmt], written: frozenset[str], depth: int) -> frozenset[str]:
        for s in body:
            written = self.stmt(s, written, depth)
        return written

    def stmt(self, s: Stmt, written: frozenset[str], depth: int) -> frozenset[str]:
        for e in stmt_exprs(s):
            self.read(e, written, s.loc)
        if isinstance(s, Assign):
            return written | {s.target}
        if isinstance(s, If):
            # Only a write on *both* branches dominates what follows.
            return self.block(s.body, written, depth) & self.block(s.orelse, written, depth)
        if isinstance(s, For):
            # The body may run zero times: its writes never dominate what
            # follows, but inside it the loop variable is freshly written.
            self.block(s.body, written | {s.var}, depth + 1)
            return written
        if isinstance(s, While):
            self.block(s.body, written, depth + 1)
            return written
        if isinstance(s, Continue | Break | Return) and depth == 0:
            # The iteration may end here, skipping the writes that follow.
            self.end_states.append(written)
        return written


# --------------------------------------------------------- reductions

def match_update(value: Expr, is_self: Callable[[Expr], bool]) -> tuple[str, Expr] | None:
    """Match ``x op e`` / ``e op x`` where ``is_self`` recognises ``x``
    (casts stripped); returns (combine op, e) with op one of + * min max.

    ``x - e`` is accepted with combine op ``+``: each thread starts from 0
    and subtracts its own terms, and the partial results are *added* to the
    original value (this is also how OpenMP's ``-`` reduction combines).
    ``e - x`` is not a reduction.
    """
    v = strip_casts(value)
    if isinstance(v, BinOp):
        if v.op in ("+", "*") and is_self(strip_casts(v.left)):
            return v.op, v.right
        if v.op in ("+", "*") and is_self(strip_casts(v.right)):
            return v.op, v.left
        if v.op == "-" and is_self(strip_casts(v.left)):
            return "+", v.right
    if isinstance(v, Intrinsic) and v.name in ("min", "max") and len(v.args) == 2:
        a, b = v.args
        if is_self(strip_casts(a)):
            return v.name, b
        if is_self(strip_casts(b)):
            return v.name, a
    return None


def _update_op(value: Expr, name: str) -> tuple[str, Expr] | None:
    return match_update(value, lambda e: isinstance(e, Var) and e.name == name)


def _scalar_reduction(name: str, assigns: list[Assign], reads: int) -> str | None:
    """The combine op when every write of ``name`` is ``name = name op e``
    with one common op and ``name`` is read nowhere else, else None."""
    ops = set()
    for a in assigns:
        if not isinstance(a.value.type, Scalar):
            return None
        m = _update_op(a.value, name)
        if m is None or _reads_name(m[1], name):
            return None
        ops.add(m[0])
    # Each update reads ``name`` exactly once; any other read disqualifies.
    if len(ops) != 1 or reads != len(assigns):
        return None
    return ops.pop()


def _arg_pattern(s: If) -> tuple[str, str, bool, Expr, tuple[Assign, ...]] | None:
    """Match ``if d < best: best = d; k = c ...``.

    Returns (best, op, strict, d, other assignments) or None.
    """
    test = strip_casts(s.test)
    if s.orelse or not isinstance(test, Compare) or test.op not in ("<", "<=", ">", ">="):
        return None
    if not s.body or not all(isinstance(b, Assign) for b in s.body):
        return None
    body = tuple(b for b in s.body if isinstance(b, Assign))
    for best_side, d_side, flip in ((test.right, test.left, False), (test.left, test.right, True)):
        best = strip_casts(best_side)
        if not isinstance(best, Var):
            continue
        d = strip_casts(d_side)
        # ``d < best`` means a new minimum; written ``best > d`` it is flipped.
        op = "min" if (test.op in ("<", "<=")) != flip else "max"
        strict = test.op in ("<", ">")
        mine = [b for b in body if b.target == best.name]
        if len(mine) == 1 and strip_casts(mine[0].value) == d:
            others = tuple(b for b in body if b.target != best.name)
            return best.name, op, strict, d, others
    return None


@dataclass
class _Counts:
    assigns: dict[str, list[Assign]] = field(default_factory=dict)
    reads: dict[str, int] = field(default_factory=dict)


def _count(body: tuple[Stmt, ...]) -> _Counts:
    counts = _Counts()
    for s in iter_stmts(body):
        if isinstance(s, Assign):
            counts.assigns.setdefault(s.target, []).append(s)
        for e in stmt_exprs(s):
            for v in _var_reads(e):
                counts.reads[v.name] = counts.reads.get(v.name, 0) + 1
    return counts


def _arg_reductions(
    body: tuple[Stmt, ...], counts: _Counts, loop_vars: set[str]
) -> list[ArgReduction]:
    found = []
    for s in iter_stmts(body):
        if not isinstance(s, If):
            continue
        m = _arg_pattern(s)
        if m is None:
            continue
        best, op, strict, d, others = m
        names = [best, *(o.target for o in others)]
        if len(set(names)) != len(names) or loop_vars & set(names):
            continue
        # ``best`` is read only by the test, every name is written only here,
        # and neither ``d`` nor the index values read any of them.
        if counts.reads.get(best, 0) != 1 or any(len(counts.assigns[n]) != 1 for n in names):
            continue
        if any(counts.reads.get(o.target, 0) for o in others):
            continue
        if any(_reads_name(e, n) for e in (d, *(o.value for o in others)) for n in names):
            continue
        assigned = counts.assigns[best][0]
        if not isinstance(assigned.value.type, Scalar):
            continue
        found.append(ArgReduction(best, tuple(o.target for o in others), op, strict, s.loc))
    return found


# ---------------------------------------------------------------- driver


def _nested_loop_vars(body: tuple[Stmt, ...]) -> list[str]:
    return [s.var for s in iter_stmts(body) if isinstance(s, For)]


def classify_loop_scalars(loop: For, live_after: set[str] | None = None) -> ScalarClassification:
    """Classify every variable assigned in ``loop``'s body (see module doc)."""
    counts = _count(loop.body)
    loop_vars = {loop.var, *_nested_loop_vars(loop.body)}
    assigned = list(dict.fromkeys([loop.var, *_nested_loop_vars(loop.body), *counts.assigns]))

    scan = _Scan()
    end = scan.block(loop.body, frozenset({loop.var}), 0)
    surely_written = frozenset.intersection(end, *scan.end_states)

    reductions: list[Reduction] = []
    arg_reductions: list[ArgReduction] = []
    handled: set[str] = set()
    for name in assigned:
        if name in loop_vars:
            continue
        op = _scalar_reduction(name, counts.assigns.get(name, []), counts.reads.get(name, 0))
        if op is not None:
            reductions.append(Reduction(name, op))
            handled.add(name)
    for ar in _arg_reductions(loop.body, counts, loop_vars):
        if ar.var in handled or handled & set(ar.index_vars):
            continue
        if not ar.index_vars:
            # ``if d < best: best = d`` is exactly ``best = min(best, d)``.
            reductions.append(Reduction(ar.var, ar.op))
        else:
            arg_reductions.append(ar)
        handled.update((ar.var, *ar.index_vars))

    private: list[str] = []
    lastprivate: list[str] = []
    details: list[CarriedScalar] = []
    for name in assigned:
        if name in handled:
            continue
        if name in scan.exposed:
            loc = scan.exposed[name]
            details.append(CarriedScalar(name, _exposed_reason(name, loc), loc))
            continue
        live = live_after is None or name in live_after
        if live and name not in surely_written and name != loop.var:
            if name in counts.assigns:
                loc = counts.assigns[name][0].loc
                details.append(CarriedScalar(name, _conditional_reason(name, loc), loc))
            else:
                loc = next(f.loc for f in iter_stmts(loop.body)
                           if isinstance(f, For) and f.var == name)
                details.append(CarriedScalar(name, _loop_var_reason(name, loc), loc))
            continue
        private.append(name)
        if live and name != loop.var:
            lastprivate.append(name)

    return ScalarClassification(
        private=tuple(private),
        reductions=tuple(reductions),
        arg_reductions=tuple(arg_reductions),
        carried=tuple(d.name for d in details),
        lastprivate=tuple(lastprivate),
        carried_details=tuple(details),
        reasons=tuple(d.reason for d in details),
    )


def _where(loc: SourceLoc) -> str:
    return f"line {loc.line}" if loc.line > 0 else "an unknown line"


def _loop_var_reason(name: str, loc: SourceLoc) -> str:
    return (
        f"'{name}', the variable of the loop at {_where(loc)}, may be used after this loop: "
        f"it then holds the value from whichever iteration ran that inner loop last"
    )


def _exposed_reason(name: str, loc: SourceLoc) -> str:
    return (
        f"'{name}' is read at {_where(loc)} before this iteration assigns it, so each "
        f"iteration uses the value left by the previous one"
    )


def _conditional_reason(name: str, loc: SourceLoc) -> str:
    return (
        f"'{name}' is assigned at {_where(loc)} only on some paths through the loop body "
        f"and is used after the loop, so its final value depends on which iteration "
        f"assigned it last"
    )


# ------------------------------------------------------------- liveness


@dataclass(frozen=True)
class _Exits:
    """Live sets at the targets of ``break`` and ``continue``."""

    brk: frozenset[str] = frozenset()
    cont: frozenset[str] = frozenset()


@dataclass
class _Liveness:
    """Structured backward liveness; records what is live after one loop."""

    target: int
    after: set[str] = field(default_factory=set)

    def block(self, body: tuple[Stmt, ...], out: frozenset[str], ex: _Exits) -> frozenset[str]:
        live = out
        for s in reversed(body):
            live = self.stmt(s, live, ex)
        return live

    def stmt(self, s: Stmt, out: frozenset[str], ex: _Exits) -> frozenset[str]:
        reads = frozenset(v.name for e in stmt_exprs(s) for v in _var_reads(e))
        if isinstance(s, Assign):
            return (out - {s.target}) | reads
        if isinstance(s, Return):
            return reads
        if isinstance(s, Break):
            return ex.brk
        if isinstance(s, Continue):
            return ex.cont
        if isinstance(s, If):
            return reads | self.block(s.body, out, ex) | self.block(s.orelse, out, ex)
        if isinstance(s, For | While):
            return self.loop(s, out, reads)
        return out | reads

    def loop(self, s: For | While, out: frozenset[str], reads: frozenset[str]) -> frozenset[str]:
        if isinstance(s, For) and s.loop_id == self.target:
            self.after |= out
        # Live at the loop head: after the loop (it may run zero times or
        # stop) or at the top of another iteration; iterate to a fixpoint.
        head = out | (reads if isinstance(s, While) else frozenset())
        while True:
            body_in = self.block(s.body, head, _Exits(out, head))
            if isinstance(s, For):
                body_in = body_in - {s.var}
            new = head | body_in
            if new == head:
                break
            head = new
        return head | reads


def live_after_loop(body: tuple[Stmt, ...], loop_id: int) -> set[str]:
    """Variables whose value when loop ``loop_id`` finishes may be read later.

    ``body`` is the whole function body (the loop anywhere inside it).
    """
    lv = _Liveness(loop_id)
    lv.block(body, frozenset(), _Exits())
    return set(lv.after)
