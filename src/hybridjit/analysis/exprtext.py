"""Python-like source text of IR expressions, for messages.

Contract: ``expr_text(expr) -> str``, close to what the user wrote
(casts the compiler inserted are left out).
"""

from __future__ import annotations

from ..ir.nodes import BinOp, Call, Cast, Const, Expr, Intrinsic, Load, Shape, UnaryOp, Var

_PREC = {"|": 1, "^": 2, "&": 3, "<<": 4, ">>": 4, "+": 5, "-": 5,
         "*": 6, "/": 6, "//": 6, "%": 6, "**": 8}


def expr_text(e: Expr, parent: int = 0) -> str:
    """Python-like source text of an expression, for messages."""
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Const):
        return repr(e.value)
    if isinstance(e, Cast):
        return expr_text(e.value, parent)
    if isinstance(e, Load):
        return f"{e.array.name}[{', '.join(expr_text(i) for i in e.indices)}]"
    if isinstance(e, Shape):
        return f"{e.array.name}.shape[{e.dim}]"
    if isinstance(e, BinOp):
        p = _PREC.get(e.op, 0)
        text = f"{expr_text(e.left, p)} {e.op} {expr_text(e.right, p + 1)}"
        return f"({text})" if p < parent else text
    if isinstance(e, UnaryOp):
        sign = {"neg": "-", "pos": "+", "not": "not ", "invert": "~"}.get(e.op, e.op)
        return f"{sign}{expr_text(e.operand, 7)}"
    if isinstance(e, Intrinsic | Call):
        name = e.name if isinstance(e, Intrinsic) else e.func
        return f"{name}({', '.join(expr_text(a) for a in e.args)})"
    return "..."
