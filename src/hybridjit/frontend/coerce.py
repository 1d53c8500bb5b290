"""Explicit conversions between IR types used while lowering.

Contract: :func:`cast` returns an expression of exactly the requested type
(folding constants), :func:`truth` the Python truth value of a scalar as a
bool expression.  Both are pure.
"""

from __future__ import annotations

from ..errors import SourceLoc, TypingError
from ..ir.nodes import Cast, Compare, Const, Expr
from ..types import BOOL, Scalar, Type


def cast(expr: Expr, to: Type) -> Expr:
    if expr.type == to:
        return expr
    if isinstance(expr, Const) and isinstance(to, Scalar):
        return Const(_convert_const(expr.value, to), to, expr.loc)
    return Cast(expr, to, expr.loc)


def _convert_const(value: bool | int | float, to: Scalar) -> bool | int | float:
    if to.is_bool:
        return bool(value)
    if to.is_int:
        if isinstance(value, float):
            return int(value)
        return int(value)
    return float(value)


def truth(expr: Expr, loc: SourceLoc) -> Expr:
    """``bool(expr)`` for a scalar expression."""
    t = expr.type
    if not isinstance(t, Scalar):
        raise TypingError(
            f"a value of type {t} has no truth value here",
            loc,
            hint="compare explicitly, e.g. 'a.shape[0] > 0'",
        )
    if t.is_bool:
        return expr if t == BOOL else cast(expr, BOOL)
    if isinstance(expr, Const):
        return Const(bool(expr.value), BOOL, loc)
    return Compare("!=", expr, Const(0, t, loc), BOOL, loc)
