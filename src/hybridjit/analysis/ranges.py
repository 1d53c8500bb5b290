"""Which subscripts are provably >= 0, so their negative-index wrap can go.

Contract: ``clear_nonneg_wraps(fn) -> Function`` returns ``fn`` with
``Load.wrap[d]`` / ``Store.wrap[d]`` cleared wherever subscript ``d`` is
provably non-negative; nothing else changes.  The building blocks are
``variable_lower_bounds(fn) -> {name: lower bound}`` and
``lower_bound(expr, bounds) -> int | None`` (None: no bound known).

Lower bounds are flow-insensitive: a variable's bound holds for every value
it is ever assigned (every ``Assign`` to it and every value a ``for`` over a
constant-step ``range`` gives it), so a loop variable reassigned in its body
keeps a bound only if that assignment respects it too.  Parameters of signed
types have no bound; unsigned and bool values are >= 0.  Integer arithmetic
is assumed not to overflow (as for every other index computation).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..ir.nodes import (
    Assign,
    BinOp,
    Cast,
    Const,
    Expr,
    For,
    Function,
    IfExp,
    Intrinsic,
    Load,
    Node,
    Shape,
    Store,
    UnaryOp,
    Var,
)
from ..ir.visit import rewrite, walk
from ..types import PY_FLOAT, Scalar, Type
from .scalars import iter_stmts, strip_casts


def _scalar(t: Type) -> Scalar | None:
    return t if isinstance(t, Scalar) else None


def _never_negative(t: Type) -> bool:
    s = _scalar(t)
    return s is not None and (s.is_bool or (s.is_int and not s.is_signed))


def _is_int(t: Type) -> bool:
    s = _scalar(t)
    return s is not None and (s.is_int or s.is_bool)


# ------------------------------------------------------------ expressions


def lower_bound(expr: Expr, bounds: Mapping[str, int]) -> int | None:
    """A constant ``c`` with ``expr >= c`` always, or None; integers only."""
    if not _is_int(expr.type):
        return None
    lb = _lower_bound(expr, bounds)
    if _never_negative(expr.type):
        return max(lb, 0) if lb is not None else 0
    return lb


def _lower_bound(e: Expr, bounds: Mapping[str, int]) -> int | None:
    if isinstance(e, Const):
        return int(e.value) if isinstance(e.value, bool | int) else None
    if isinstance(e, Var):
        return bounds.get(e.name)
    if isinstance(e, Shape):
        return 0
    if isinstance(e, Cast):
        return _cast_bound(e, bounds)
    if isinstance(e, UnaryOp):
        return lower_bound(e.operand, bounds) if e.op == "pos" else None
    if isinstance(e, IfExp):
        a, b = lower_bound(e.body, bounds), lower_bound(e.orelse, bounds)
        return None if a is None or b is None else min(a, b)
    if isinstance(e, Intrinsic):
        return _intrinsic_bound(e, bounds)
    if isinstance(e, BinOp):
        return _binop_bound(e, bounds)
    return None


def _cast_bound(e: Cast, bounds: Mapping[str, int]) -> int | None:
    src, dst = _scalar(e.value.type), _scalar(e.type)
    if src is None or dst is None or not (src.is_int or src.is_bool):
        return None  # float -> int truncation (and NaN) is not tracked
    lb = lower_bound(e.value, bounds)
    # Only value-preserving casts keep the bound: a narrowing cast may wrap.
    widening = dst.bits > src.bits or (dst.bits == src.bits and dst.is_signed == src.is_signed)
    if src.is_bool or (widening and (dst.is_signed or not src.is_signed)):
        return lb
    return None


def _intrinsic_bound(e: Intrinsic, bounds: Mapping[str, int]) -> int | None:
    lbs = [lower_bound(a, bounds) for a in e.args]
    if e.name == "min" and lbs and all(b is not None for b in lbs):
        return min(b for b in lbs if b is not None)
    if e.name == "max" and any(b is not None for b in lbs):
        return max(b for b in lbs if b is not None)
    if e.name == "abs" and len(lbs) == 1 and lbs[0] is not None and lbs[0] >= 0:
        return lbs[0]  # abs(INT64_MIN) is negative: only a proven non-negative stays
    return None


def _binop_bound(e: BinOp, bounds: Mapping[str, int]) -> int | None:
    a = lower_bound(e.left, bounds)
    b = lower_bound(e.right, bounds)
    right = strip_casts(e.right)
    const = right.value if isinstance(right, Const) and isinstance(right.value, int) else None
    if e.op == "+":
        return None if a is None or b is None else a + b
    if e.op == "-":
        # needs an upper bound of the right side: only constants have one here
        return None if a is None or const is None else a - const
    if e.op == "*":
        return a * b if a is not None and b is not None and a >= 0 and b >= 0 else None
    if e.op == "//":
        return a // const if a is not None and const is not None and const > 0 else None
    if e.op == "%":
        # Python/NumPy modulo takes the divisor's sign (x % 0 is 0 or raises)
        return 0 if b is not None and b >= 0 else None
    if e.op == "&":
        return 0 if (a is not None and a >= 0) or (b is not None and b >= 0) else None
    if e.op == ">>":
        return 0 if a is not None and a >= 0 and b is not None and b >= 0 else None
    return None


def is_nonneg(expr: Expr, bounds: Mapping[str, int]) -> bool:
    lb = lower_bound(expr, bounds)
    return lb is not None and lb >= 0


# -------------------------------------------------------------- variables


@dataclass(frozen=True)
class _RangeDef:
    """The values a ``for`` gives its variable."""

    loop: For


_Def = Expr | _RangeDef


def _definitions(fn: Function) -> dict[str, list[_Def]]:
    defs: dict[str, list[_Def]] = {}
    for s in iter_stmts(fn.body):
        if isinstance(s, Assign):
            defs.setdefault(s.target, []).append(s.value)
        elif isinstance(s, For):
            defs.setdefault(s.var, []).append(_RangeDef(s))
    return defs


def _def_bound(d: _Def, bounds: Mapping[str, int]) -> int | None:
    if not isinstance(d, _RangeDef):
        return lower_bound(d, bounds)
    step = strip_casts(d.loop.step)
    if not isinstance(step, Const) or not isinstance(step.value, int) or step.value == 0:
        # a step of either sign: every value is at least start (counting
        # up) or above stop (counting down), so at least the smaller bound
        start, stop = lower_bound(d.loop.start, bounds), lower_bound(d.loop.stop, bounds)
        return None if start is None or stop is None else min(start, stop + 1)
    start_c, stop_c = strip_casts(d.loop.start), strip_casts(d.loop.stop)
    if isinstance(start_c, Const) and isinstance(stop_c, Const):
        values = range(int(start_c.value), int(stop_c.value), step.value)
        if values:  # (exact: range(2, -2, -2) gives 2, 0; an empty one gives nothing)
            return min(values[0], values[-1])
    if step.value > 0:
        return lower_bound(d.loop.start, bounds)  # values start, start+step, ...
    stop = lower_bound(d.loop.stop, bounds)
    return None if stop is None else stop + 1  # values > stop


def _mentions(d: _Def) -> Iterator[str]:
    nodes: list[Node] = (
        [d.loop.start, d.loop.stop, d.loop.step] if isinstance(d, _RangeDef) else [d]
    )
    for n in nodes:
        for v in walk(n):
            if isinstance(v, Var):
                yield v.name


def variable_lower_bounds(fn: Function) -> dict[str, int]:
    """A lower bound for each integer variable that has one (module doc)."""
    types = fn.local_types()
    params = {p.name for p in fn.params}
    defs = {n: ds for n, ds in _definitions(fn).items() if n not in params}
    fixed = {n: 0 for n, t in types.items() if _never_negative(t)}

    # Guess from the definitions that do not depend on the variable itself
    # (``k = 0`` for ``k += 1``), then drop every guess some definition can
    # break, until all guesses are self-consistent: by induction over the
    # execution, every assigned value then respects its bound.
    guess: dict[str, int] = {}
    grew = True
    while grew:
        grew = False
        for name, ds in defs.items():
            if name in guess or name in fixed or not _is_int(types.get(name, PY_FLOAT)):
                continue
            env = {**guess, **fixed}
            base = [_def_bound(d, env) for d in ds if name not in set(_mentions(d))]
            if base and all(b is not None for b in base):
                guess[name] = min(b for b in base if b is not None)
                grew = True
    while True:
        env = {**guess, **fixed}
        broken = [n for n, lb in guess.items()
                  if any((b := _def_bound(d, env)) is None or b < lb for d in defs[n])]
        if not broken:
            return env
        for n in broken:
            del guess[n]


# ---------------------------------------------------------------- rewrite


def clear_nonneg_wraps(fn: Function) -> Function:
    """``fn`` with the wrap flag cleared on every provably non-negative subscript."""
    bounds = variable_lower_bounds(fn)

    def clear(node: Node) -> Node:
        if isinstance(node, Load | Store) and len(node.wrap) == len(node.indices):
            pairs = zip(node.wrap, node.indices, strict=True)
            wrap = tuple(w and not is_nonneg(i, bounds) for w, i in pairs)
            if wrap != node.wrap:
                return dataclasses.replace(node, wrap=wrap)
        return node

    body = tuple(rewrite(s, clear) for s in fn.body)
    return dataclasses.replace(fn, body=body)
