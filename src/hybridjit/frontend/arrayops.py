"""Element-wise array operations: any scalar operation lifted to arrays.

Contract: :func:`lift` applies a scalar lowering function (``binop``,
``compare``, a NumPy ufunc handler ...) to arguments of which some are
arrays, giving a :class:`~hybridjit.ir.arrays.Map`: the scalar function runs
on placeholders for the elements, so an array operation has exactly the
semantics (types, conversions, errors) of the same operation on each
element, as NumPy defines array operations.  Broadcasting is NumPy's; the
result has the largest number of dimensions among the arguments.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import SourceLoc, TypingError
from ..ir.arrays import Map, element_name
from ..ir.nodes import Cast, Expr, Node, Var
from ..ir.visit import rewrite, walk
from ..types import Array, Scalar, Type
from .coerce import cast


def element_type(t: Type) -> Type:
    return t.dtype if isinstance(t, Array) else t


def has_array(args: list[Expr]) -> bool:
    return any(isinstance(a.type, Array) for a in args)


def lift(scalar_fn: Callable[..., Expr], args: list[Expr], loc: SourceLoc) -> Expr:
    """``scalar_fn(*args)`` element by element (module doc); just the call
    when no argument is an array."""
    if not has_array(args):
        return scalar_fn(*args)
    holders = [Var(element_name(k), element_type(a.type), loc) for k, a in enumerate(args)]
    template = scalar_fn(*holders)
    result = template.type
    if not isinstance(result, Scalar):
        raise TypingError(f"this operation on arrays gives a {result} per element",
                          loc, hint="element-wise operations give one number per element")
    out_args = list(args)
    for k, a in enumerate(args):
        if not isinstance(a.type, Array):
            template, out_args[k] = _hoist_conversion(template, k, a)
    ndim = max(a.type.ndim for a in args if isinstance(a.type, Array))
    return Map(template, tuple(out_args), Array(result.strong(), ndim, "C"), loc)


def _hoist_conversion(template: Expr, k: int, arg: Expr) -> tuple[Expr, Expr]:
    """A scalar argument converted the same way at every use in the
    template is converted once, outside it (NumPy converts a scalar operand
    once; a Python int too large for the array's type raises once)."""
    name = element_name(k)
    uses = [n for n in walk(template) if isinstance(n, Var) and n.name == name]
    casts = [n for n in walk(template) if isinstance(n, Cast) and isinstance(n.value, Var)
             and n.value.name == name]
    kinds = {(c.type, c.check) for c in casts}
    if not casts or len(casts) != len(uses) or len(kinds) != 1:
        return template, arg
    (to, check), = kinds

    def unwrap(n: Node) -> Node:
        if isinstance(n, Cast) and isinstance(n.value, Var) and n.value.name == name:
            return Var(name, to, n.loc)
        return n

    # (the conversion keeps its check: NaN into an integer array still raises)
    hoisted = Cast(arg, to, check, arg.loc) if check else cast(arg, to)
    return rewrite(template, unwrap), hoisted
