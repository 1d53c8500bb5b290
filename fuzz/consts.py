"""Which expressions hybridjit's frontend turns into compile-time constants.

Contract: :func:`const_value` evaluates an expression the way hybridjit's
frontend folds it into an IR constant (``Const``) and returns that value,
or raises :class:`NotConst` where the frontend leaves a run-time
expression.  It matters where the *type* of a result depends on
constness: a Python int chosen among NumPy integers (``max(5, x)``, ``x or
5``) keeps the NumPy type only when it is a constant that fits
(``types.select_type`` / ``coerce.fits_selection`` in hybridjit, mirrored
by :func:`fuzz.typesys.select`).

What the frontend folds (checked against it by experiment):

* literals, module-level numeric constants (names not assigned in the
  function), ``math.pi``-style constants, ``a.ndim`` of an array;
* unary minus of a constant (not ``+c`` or ``~c``);
* a binary operator on two *Python* number constants (evaluated by Python;
  not when it raises, not on NumPy constants);
* ``int(c)``, ``float(c)``, ``bool(c)``, ``np.int8(c)`` and the other
  NumPy scalar types of a constant; ``round(c)``, ``math.floor/ceil/trunc(c)``
  of an integer or bool constant (not of a float one);
* nothing else (comparisons, ``abs``, ``min``, other calls, ``and``/``or``,
  conditional expressions are run-time expressions).

``ndim`` gives the number of dimensions of the arrays it knows (the oracle,
which does not know them statically, uses 1: it only needs the value's
type, the run-time value is at hand).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np


class NotConst(Exception):
    """Not a compile-time constant for hybridjit's frontend."""


_PY_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}
_NP_SCALARS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float32", "float64", "bool_"}
_MATH_CONSTS = {"pi", "e", "tau", "inf", "nan"}


def _weak(v: Any) -> bool:
    return type(v) in (bool, int, float)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def const_value(node: ast.expr, module: Mapping[str, Any], local: Collection[str],
                ndim: Callable[[str], int] = lambda name: 1) -> Any:
    """The constant value hybridjit folds ``node`` to (see the module
    docstring); raises :class:`NotConst`.  ``module``: module-level numeric
    constants by name; ``local``: names the function assigns or takes."""
    if isinstance(node, ast.Constant):
        if type(node.value) in (bool, int, float):
            return node.value
        raise NotConst
    if isinstance(node, ast.Name):
        if node.id in module and node.id not in local:
            return module[node.id]
        raise NotConst
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name):
            base = node.value.id
            if node.attr == "ndim" and base in local:
                return ndim(base)
            if base in ("math", "np") and base not in local and node.attr in _MATH_CONSTS:
                return float(getattr(math, node.attr))
        raise NotConst
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = const_value(node.operand, module, local, ndim)
        if isinstance(v, np.bool_):
            raise NotConst  # a TypeError
        if isinstance(v, bool):
            v = int(v)
        with np.errstate(all="ignore"):
            return -v
    if isinstance(node, ast.BinOp) and type(node.op) in _PY_OPS:
        a = const_value(node.left, module, local, ndim)
        b = const_value(node.right, module, local, ndim)
        if not (_weak(a) and _weak(b)):
            raise NotConst
        if isinstance(node.op, (ast.LShift, ast.Pow)) and type(b) is int and b > 4096:
            if type(a) not in (bool, int):
                raise NotConst
            if abs(a) > 1 or (isinstance(node.op, ast.LShift) and a != 0):
                return 2**4096 if a > 0 or b % 2 == 0 else -2**4096  # (hybridjit: too big)
        try:
            v = _PY_OPS[type(node.op)](a, b)
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise NotConst from exc  # (a TypeError: see hybridjit's fold_python)
        if type(v) not in (bool, int, float):
            raise NotConst  # complex
        return v
    if isinstance(node, ast.Call) and not node.keywords and len(node.args) == 1:
        name = _dotted(node.func)
        if name is None:
            raise NotConst
        if name in ("int", "float", "bool", "round", "math.floor", "math.ceil",
                    "math.trunc") and name.split(".")[0] in local:
            raise NotConst
        v = const_value(node.args[0], module, local, ndim)
        try:
            if name == "int":
                if isinstance(v, np.unsignedinteger) and int(v) >= 2 ** 63:
                    raise NotConst
                return int(v)
            if name == "float":
                return float(v)
            if name == "bool":
                return bool(v)
            if name in ("round", "math.floor", "math.ceil", "math.trunc"):
                if isinstance(v, (float, np.floating)):
                    raise NotConst
                if isinstance(v, np.unsignedinteger) and int(v) >= 2 ** 63:
                    raise NotConst
                return int(v)
            if name.startswith("np.") and name[3:] in _NP_SCALARS:
                with np.errstate(all="ignore"):
                    return getattr(np, name[3:])(v)
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise NotConst from exc
        raise NotConst
    raise NotConst


def is_const(node: ast.expr, module: Mapping[str, Any], local: Collection[str]) -> bool:
    try:
        const_value(node, module, local)
    except NotConst:
        return False
    return True


def module_constants(tree: ast.Module) -> dict[str, Any]:
    """Module-level ``NAME = number`` assignments of a program."""
    out: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            try:
                v = ast.literal_eval(node.value)
            except ValueError:
                continue
            if type(v) in (bool, int, float):
                out[node.targets[0].id] = v
    return out


def local_names(fn: ast.FunctionDef) -> set[str]:
    """Parameters and every name the function assigns (Python's locals)."""
    names = {a.arg for a in fn.args.args}
    for n in ast.walk(fn):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            names.add(n.id)
    return names
