"""Loop-invariant set-up of array statements, moved out of their loop: IR -> IR.

Contract: :func:`hoist_invariant_setup` returns the function with, for
every outermost ``for`` loop, the longest prefix of its body made of assignments to
compiler temporaries whose values are the same in every iteration moved in
front of the loop, under a test that the loop runs at least once.  Runs
after the array lowering, before parallelisation.

What it moves: the extents, slice bounds and shape checks an array
statement computes before its nest (``.s1 = A.shape[1]``,
``.n4 = host.broadcast(A.shape[1], .s3)``, ``host.core_match``) when the
statement sits in a loop and its operands are not changed by the loop.  So
a ``prange`` loop of row products ``y[i] = A[i, :] @ x`` checks ``A``'s and
``x``'s extents once, not per row; and, the checks being host code (they
raise NumPy's exceptions), the loop is left free of them and can become a
device region.

Why it is exact: each moved statement is at the start of the body, so the
first iteration evaluated it before anything else anyway; its value reads
only names the loop never assigns (and extents of arrays it never
reassigns), so every later iteration computed the same value and raised
the same exception, if any; and it is skipped when the loop runs no
iteration, as before.  Only temporaries assigned nowhere else are moved:
the loop body is the only place reading them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ..ir.arrays import LibraryCall
from ..ir.nodes import (
    Assign,
    BinOp,
    BoolOp,
    Call,
    Compare,
    Const,
    Expr,
    ExprStmt,
    For,
    Function,
    If,
    Intrinsic,
    Load,
    Stmt,
    Var,
)
from ..ir.visit import walk, walk_all
from ..types import BOOL, PY_INT, Scalar
from .arrays import _as_int

#: intrinsics whose value depends only on their arguments (no memory read,
#: nothing but a possible exception): extents, slice arithmetic, checks
_PURE_INTRINSICS = ("host.broadcast", "host.broadcast_into", "host.core_match",
                    "host.mask_match", "host.slice_step", "slice_lo", "slice_len", "min", "max")


def hoist_invariant_setup(fn: Function) -> Function:
    assigned = Counter(s.target for s in walk_all(fn.body) if isinstance(s, Assign))
    return replace(fn, body=_body(fn.body, assigned))


def _body(stmts: tuple[Stmt, ...], assigned: Counter[str]) -> tuple[Stmt, ...]:
    """Outermost loops only: a statement moved out of an inner loop would be
    assigned conditionally in the outer loop's body, which the outer loop's
    own analysis then sees as a value carried between iterations."""
    out: list[Stmt] = []
    for s in stmts:
        if isinstance(s, If):
            out.append(replace(s, body=_body(s.body, assigned), orelse=_body(s.orelse, assigned)))
        elif isinstance(s, For):
            out += _loop(s, assigned)
        else:
            out.append(s)
    return tuple(out)


def _loop(loop: For, assigned: Counter[str]) -> list[Stmt]:
    changed = _changed_in(loop)
    moved: list[Stmt] = []
    for s in loop.body:
        if isinstance(s, Assign) and s.target.startswith(".") and assigned[s.target] == 1 \
                and isinstance(s.value.type, Scalar) and _invariant(s.value, changed):
            changed.discard(s.target)  # (assigned only here: from now on invariant)
        elif not (isinstance(s, ExprStmt) and isinstance(s.value, Intrinsic)
                  and s.value.name in _PURE_INTRINSICS and _invariant(s.value, changed)):
            break
        moved.append(s)
    if not moved or not _simple(loop.start, loop.stop, loop.step):
        return [loop]
    rest = replace(loop, body=loop.body[len(moved):])
    return [If(_runs(loop), tuple(moved), (), loop.loc), rest]


def _changed_in(loop: For) -> set[str]:
    """Names the loop assigns (its variable included) or stores into."""
    out = {loop.var}
    for n in walk(loop):
        if isinstance(n, Assign):
            out.add(n.target)
        elif isinstance(n, For):
            out.add(n.var)
        elif isinstance(n, LibraryCall):
            out.update(n.targets)
    return out


def _invariant(e: Expr, changed: set[str]) -> bool:
    for n in walk(e):
        if isinstance(n, Var) and n.name in changed:
            return False
        if isinstance(n, (Load, Call)):
            return False  # (memory the loop may write; a call may do anything)
        if isinstance(n, Intrinsic) and n.name.startswith("host.") \
                and n.name not in _PURE_INTRINSICS:
            return False
    return True


def _simple(*bounds: Expr) -> bool:
    """Bounds that may be evaluated once more (no memory read, no call)."""
    return not any(isinstance(n, (Load, Call)) or (isinstance(n, Intrinsic)
                   and n.name.startswith("host.")) for b in bounds for n in walk(b))


def _runs(loop: For) -> Expr:
    """Whether the loop runs at least one iteration."""
    loc = loop.loc
    start, stop, step = (_as_int(x) for x in (loop.start, loop.stop, loop.step))
    up = Compare("<", start, stop, BOOL, loc)
    if isinstance(step, Const) and int(step.value) > 0:
        return up
    down = Compare(">", start, stop, BOOL, loc)
    if isinstance(step, Const) and int(step.value) < 0:
        return down
    zero = Const(0, PY_INT, loc)
    return BoolOp("or", (BinOp("&", Compare(">", step, zero, BOOL, loc), up, BOOL, False, loc),
                         BinOp("&", Compare("<", step, zero, BOOL, loc), down, BOOL, False, loc)),
                  BOOL, loc)
