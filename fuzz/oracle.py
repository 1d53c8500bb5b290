"""The oracle: CPython running an instrumented copy of the program.

Contract: :func:`instrument` takes a program module's source and returns the
source of the *oracle* copy; :func:`load_oracle` executes it with the
run-time helpers below in scope.  The oracle computes what CPython computes,
except where hybridjit documents a departure from CPython: there it raises
:class:`Departure` (the program is skipped and counted as a departure), or,
where the departure is only the *static type* of a value, converts the value
to the one type compiled code gives it.

Departures recognised (README "Semantics, and where they depart"):

* fixed 64-bit Python ints: every Python-int value the program computes,
  assigns, passes or returns must lie in int64, and a NumPy uint64 beyond
  2**63 - 1 becoming a Python int (``int(x)``, ``round(x)``,
  ``math.floor(x)``, ``math.comb(n, x)`` ...) is an OverflowError in
  hybridjit.  Expressions made only of constants are folded exactly by the
  compiler (:mod:`fuzz.consts`): a function holding one whose integer
  value needs more than 64 bits does not compile (README), so it departs
  when called, whether or not that expression runs (:func:`big_constant`);
* wrap-around "at the array's width": a NumPy integer stored into an
  integer array element that cannot hold it (NumPy raises OverflowError;
  Python ints and floats raise in both, as the README says);
* a NumPy float converted to a NumPy integer type (``np.int8(x)``) "as C
  does": undefined when it is nan/inf or does not fit.  (``int()``,
  ``round()``, ``math.floor`` and float stores of nan/inf raise as in
  CPython, README: compared exactly);
* NumPy's transcendental functions are computed with the C library: the
  oracle computes ``np.exp(x)`` and friends with the C library too (via
  ctypes, in the result's precision), so the comparison stays bit-exact;
* a value chosen among values of different types (``min``/``max``, ``a
  and b`` / ``a or b``, ``x if c else y``) has one type in compiled code,
  ``types.select_type``'s (:func:`fuzz.typesys.select`): CPython's choice
  (compared by value) is converted to it.  Whether a Python-int operand is
  a compile-time constant matters (:mod:`fuzz.consts`); the operands not
  chosen are evaluated speculatively to learn their types (generated
  operands are pure).  A value that the type cannot hold exactly is a
  departure.

CPython's TypeErrors are compared by line: hybridjit refusing the program at
compile time at the line where CPython raises TypeError is "ok-typeerror"
(:mod:`fuzz.compare`); the oracle copy keeps the program's line numbers.

Device kernels giving nan/inf instead of math domain errors is decided per
configuration when outcomes are compared (:mod:`fuzz.compare`).
"""

from __future__ import annotations

import ast
import copy
import math
import operator
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from .consts import NotConst, const_value, is_const, local_names, module_constants
from .typesys import (
    INT64_MAX,
    INT64_MIN,
    ScalarT,
    convert,
    fits_selection,
    select,
    typeof,
)


class Departure(Exception):
    """The program reached a documented departure from CPython."""


class OutsideSubset(Exception):
    """The program computed something outside the subset (a negative real
    number to a fractional power, complex in CPython, a ValueError in
    hybridjit): a generator bug, reported as category "invalid"."""


# ----------------------------------------------------------------- run time


def _hj_i(v: Any) -> Any:
    """Check a Python int stays within int64 (tuples item by item)."""
    if type(v) is int and not INT64_MIN <= v <= INT64_MAX:
        raise Departure(f"Python int {v} outside int64")
    if type(v) is tuple:
        for x in v:
            _hj_i(x)
    return v


def _hj_bigmath(fn: Callable[..., Any], *args: Any) -> Any:
    """math.factorial/comb/perm: refuse (as beyond int64) before computing
    results so big that CPython would take ages."""
    _u64_to_py(*args)
    ints = [int(a) for a in args if isinstance(a, (int, np.integer))]
    name = fn.__name__
    if len(ints) == len(args) and all(i >= 0 for i in ints):
        if name == "factorial" and ints[0] > 20:
            raise Departure("factorial beyond int64")
        if name == "comb" and len(ints) == 2 and ints[1] <= ints[0] \
                and min(ints[1], ints[0] - ints[1]) > 64:
            raise Departure("comb beyond int64")
        if name == "perm" and len(ints) == 2 and ints[1] <= ints[0] and ints[1] > 20:
            raise Departure("perm beyond int64")
    return _hj_i(fn(*args))


def _is_float(v: Any) -> bool:
    return isinstance(v, (float, np.floating))


def _float_to_int_ok(v: Any, lo: int, hi: int) -> bool:
    f = float(v)
    return math.isfinite(f) and lo <= math.trunc(f) <= hi


def _hj_c(v: Any) -> Any:
    """A constant expression: its value must fit in 64 bits (README)."""
    if type(v) is int and not INT64_MIN <= v <= INT64_MAX:
        raise Departure(f"constant expression {v} needs more than 64 bits")
    return v


def _u64_to_py(*args: Any) -> None:
    """A NumPy uint64 beyond 2**63 - 1 becoming a Python int (``int(x)``,
    ``math.comb(n, x)``) is an OverflowError in hybridjit (64-bit Python
    ints, README): a departure."""
    for a in args:
        if isinstance(a, np.unsignedinteger) and int(a) > INT64_MAX:
            raise Departure(f"NumPy {a!r} becomes a Python int beyond int64")


_BINOP_FUNCS = {
    "Add": operator.add, "Sub": operator.sub, "Mult": operator.mul,
    "Div": operator.truediv, "FloorDiv": operator.floordiv, "Mod": operator.mod,
    "Pow": operator.pow, "BitAnd": operator.and_, "BitOr": operator.or_,
    "BitXor": operator.xor, "LShift": operator.lshift, "RShift": operator.rshift,
}


def _hj_bigop(op: str, a: Any, b: Any) -> Any:
    """``a op b`` where one operand is a constant beyond 64 bits: hybridjit
    compiles it only where the constant becomes the other operand's NumPy
    uint64 (holding it) or a float (``x_uint64 // 15923697233659874863``);
    elsewhere it is a compile-time error (README)."""
    big, other = (a, b) if type(a) is int and not INT64_MIN <= a <= INT64_MAX else (b, a)
    ok = isinstance(other, (float, np.floating)) or (
        isinstance(other, np.uint64) and 0 <= big < 2 ** 64)
    if not ok:
        raise Departure(f"constant {big} beyond 64 bits meets {other!r}")
    return _BINOP_FUNCS[op](a, b)


def _hj_int(v: Any) -> Any:
    """``int()``: nan/inf raise as in CPython (README); beyond int64 departs."""
    _u64_to_py(v)
    return _hj_i(int(v))


def _hj_round(v: Any) -> Any:
    _u64_to_py(v)
    return _hj_i(round(v))


def _hj_fl(fn: Callable[[Any], Any], v: Any) -> Any:
    """math.floor/ceil/trunc."""
    _u64_to_py(v)
    return _hj_i(fn(v))


def _hj_pyint(fn: Callable[..., Any], *args: Any) -> Any:
    """math functions taking Python ints (gcd, lcm, isqrt, ldexp)."""
    _u64_to_py(*args)
    return _hj_i(fn(*args))


def _hj_cast(cls: Any, v: Any) -> Any:
    """``np.int8(v)`` and friends: a NumPy float converts as C does (README),
    undefined when it does not fit; a Python float raises as in NumPy."""
    dt = np.dtype(cls)
    if dt.kind in "iu" and isinstance(v, np.floating):
        info = np.iinfo(dt)
        if not _float_to_int_ok(v, int(info.min), int(info.max)):
            raise Departure(f"{dt.name}() of the NumPy float {v!r}")
    return cls(v)


def _hj_sv(a: Any, v: Any) -> Any:
    """The value stored into an element of array ``a``: a NumPy integer that
    the array's type cannot hold wraps ("the array's width"; NumPy raises);
    Python ints and floats raise as in NumPy (README)."""
    _hj_i(v)
    if isinstance(a, np.ndarray) and a.dtype.kind in "iu" and isinstance(v, np.integer):
        info = np.iinfo(a.dtype)
        if not int(info.min) <= int(v) <= int(info.max):
            raise Departure(f"integer {v!r} stored into a {a.dtype} array (wraps)")
    if isinstance(a, np.ndarray) and a.dtype.kind == "u" and isinstance(v, np.floating):
        # NumPy converts a NumPy float into an unsigned array as C does (no
        # error even for inf), undefined out of range
        info = np.iinfo(a.dtype)
        if not _float_to_int_ok(v, 0, int(info.max)):
            raise Departure(f"NumPy float {v!r} stored into a {a.dtype} array")
    return v


def _libm() -> Any:
    import ctypes
    import ctypes.util

    return ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")


_LIBM: Any = None
#: NumPy function -> C library function (README: "NumPy's transcendental
#: functions are computed with the C library")
LIBM_NAMES = {
    "exp": "exp", "exp2": "exp2", "log": "log", "log2": "log2", "log10": "log10",
    "log1p": "log1p", "expm1": "expm1", "sin": "sin", "cos": "cos", "tan": "tan",
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh", "cosh": "cosh",
    "tanh": "tanh", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh",
    "cbrt": "cbrt", "arctan2": "atan2", "hypot": "hypot", "power": "pow",
}


def _hj_f16(r: Any) -> Any:
    """A NumPy function's result: float16 (of 8-bit integers or bools) is
    outside the subset, a documented compile-time refusal (README)."""
    if isinstance(r, np.float16):
        raise Departure("a float16 result (hybridjit refuses it at compile time)")
    return r


def _hj_np(fn: Any, *args: Any) -> Any:
    """A NumPy transcendental function on scalars, computed as hybridjit
    documents it: NumPy's result type, the C library's value."""
    global _LIBM
    r = _hj_f16(fn(*args))
    name = LIBM_NAMES.get(getattr(fn, "__name__", ""))
    if name is None or not isinstance(r, (np.float32, np.float64)):
        return r
    import ctypes

    if _LIBM is None:
        _LIBM = _libm()
    single = isinstance(r, np.float32)
    cfn = getattr(_LIBM, name + ("f" if single else ""))
    ct = ctypes.c_float if single else ctypes.c_double
    cfn.restype = ct
    cfn.argtypes = [ct] * len(args)
    vals = [float(np.asarray(a).astype(r.dtype)) for a in args]
    return r.dtype.type(cfn(*vals))


def _hj_pow(a: Any, b: Any) -> Any:
    """``a ** b``: a NumPy float result is the C library's ``pow``/``powf``
    of the operands in its type, as hybridjit computes it (NumPy's scalar
    power of float32 can be an ulp away from powf: np.float32(41000) **
    np.float32(2) is 1681000100, np.power gives 1681000000)."""
    r = a ** b
    if isinstance(r, (np.float32, np.float64)):
        return _hj_np(np.power, a, b)
    if isinstance(r, complex) and not any(_is_complex(x) for x in (a, b)):
        raise OutsideSubset(f"{a!r} ** {b!r} is the complex {r!r}")
    return r


def _is_complex(v: Any) -> bool:
    return isinstance(v, (complex, np.complexfloating))


def _as_selected(value: Any, values: list[Any], consts: tuple[bool, ...]) -> Any:
    """``value``, chosen among ``values`` (min/max, and/or, a conditional
    expression), in the one type compiled code gives the choice
    (:func:`fuzz.typesys.select`); ``consts[k]``: operand k is a
    compile-time constant (:mod:`fuzz.consts`)."""
    ts = [typeof(v) for v in values]
    if not all(isinstance(t, ScalarT) for t in ts):
        raise Departure("operand outside the type model")
    sts: list[ScalarT] = ts  # type: ignore[assignment]
    t = select(sts, [fits_selection(v, c, sts) for v, c in zip(values, consts)])
    if typeof(value) == t:
        return value
    try:
        out = convert(value, t)
    except (OverflowError, ValueError) as exc:
        raise Departure(f"{value!r} does not fit the selected type {t}") from exc
    if isinstance(value, (int, np.integer)) and (t.is_float or t.is_complex) \
            and int(value) != (out.real if t.is_complex else out):
        raise Departure(f"{value!r} is not exact in the selected type {t}")
    return out


def _hj_mm(fn: Callable[..., Any], consts: tuple[bool, ...], *args: Any) -> Any:
    """min/max: CPython's winner (compared by value), in the selected type."""
    r = fn(*args)
    if len({type(a) for a in args}) == 1:
        return r
    return _as_selected(r, list(args), consts)


def _speculate(thunk: Callable[[], Any]) -> Any:
    with np.errstate(all="ignore"):
        try:
            return thunk()
        except Exception as exc:
            raise Departure("cannot learn the type of an operand not evaluated") from exc


def _hj_bool(is_and: bool, consts: tuple[bool, ...], *thunks: Callable[[], Any]) -> Any:
    """``a and b ...`` / ``a or b ...`` with Python's value semantics."""
    values: list[Any] = []
    result = None
    for k, th in enumerate(thunks):
        v = th()
        values.append(v)
        last = k == len(thunks) - 1
        if last or (not v if is_and else bool(v)):
            result = v
            break
    rest = [_speculate(th) for th in thunks[len(values):]]
    return _as_selected(result, values + rest, consts)


def _hj_ifexp(test: Any, body: Callable[[], Any], orelse: Callable[[], Any],
              consts: tuple[bool, ...]) -> Any:
    if test:
        v = body()
        return _as_selected(v, [v, _speculate(orelse)], consts)
    v = orelse()
    return _as_selected(v, [_speculate(body), v], consts)


RUNTIME: dict[str, Any] = {
    name: obj for name, obj in globals().items() if name.startswith("_hj_")
}
RUNTIME["Departure"] = Departure
RUNTIME["OutsideSubset"] = OutsideSubset


# --------------------------------------------------------------- rewriting

_INT_CASTS = {f"{p}int{b}" for p in ("", "u") for b in (8, 16, 32, 64)}


def _is_const(node: ast.AST) -> bool:
    """Built only from constants (and operators on them)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
        return _is_const(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_const(node.left) and _is_const(node.right)
    return False


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])


def _lambda(body: ast.expr) -> ast.Lambda:
    noargs = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                           kw_defaults=[], kwarg=None, defaults=[])
    return ast.Lambda(noargs, body)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


class _Rewriter:
    def __init__(self, helpers: set[str], module: dict[str, Any]):
        self.helpers = helpers
        self.module = module  # module-level numeric constants
        self.local: set[str] = set()  # the current function's local names

    def is_big(self, node: ast.expr) -> bool:
        """A constant expression folded to an integer beyond 64 bits."""
        try:
            v = const_value(node, self.module, self.local)
        except NotConst:
            return False
        return type(v) is int and not INT64_MIN <= v <= INT64_MAX

    def binop(self, left: ast.expr, op: ast.operator, right: ast.expr, new_left: ast.expr,
              new_right: ast.expr) -> ast.expr:
        """``left op right`` (rewritten operands ``new_*``); a constant beyond
        64 bits meeting a run-time value is checked at run time
        (``_hj_bigop``); a power of NumPy floats is the C library's
        (``_hj_pow``)."""
        if self.is_big(left) != self.is_big(right):
            return _call("_hj_i", _call("_hj_bigop", ast.Constant(type(op).__name__),
                                        new_left, new_right))
        if isinstance(op, ast.Pow):
            return _call("_hj_i", _call("_hj_pow", new_left, new_right))
        return _call("_hj_i", ast.BinOp(new_left, op, new_right))

    def consts(self, nodes: list[ast.expr]) -> ast.Tuple:
        """Which operands are compile-time constants (before rewriting)."""
        return ast.Tuple([ast.Constant(is_const(n, self.module, self.local)) for n in nodes],
                         ast.Load())

    # expressions ---------------------------------------------------------
    def ex(self, node: ast.expr, exempt: bool) -> ast.expr:
        if exempt and _is_const(node):
            # folded exactly at compile time (one beyond 64 bits is a
            # documented compile-time error: big_constant, statically)
            return node
        if isinstance(node, ast.BinOp):
            return self.binop(node.left, node.op, node.right,
                              self.ex(node.left, True), self.ex(node.right, True))
        if isinstance(node, ast.UnaryOp):
            inner = ast.UnaryOp(node.op, self.ex(node.operand, True))
            return inner if isinstance(node.op, ast.Not) else _call("_hj_i", inner)
        if isinstance(node, ast.Compare):
            return ast.Compare(self.ex(node.left, True), node.ops,
                               [self.ex(c, True) for c in node.comparators])
        if isinstance(node, ast.BoolOp):
            return _call("_hj_bool", ast.Constant(isinstance(node.op, ast.And)),
                         self.consts(node.values),
                         *(_lambda(self.ex(v, False)) for v in node.values))
        if isinstance(node, ast.IfExp):
            return _call("_hj_ifexp", self.ex(node.test, True),
                         _lambda(self.ex(node.body, False)),
                         _lambda(self.ex(node.orelse, False)),
                         self.consts([node.body, node.orelse]))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            return ast.Subscript(self.ex(node.value, True), self.ex(node.slice, True),
                                 node.ctx)
        if isinstance(node, ast.Tuple):
            return ast.Tuple([self.ex(e, exempt) for e in node.elts], node.ctx)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return _call("_hj_i", node)
        return node

    def call(self, node: ast.Call) -> ast.expr:
        name = _dotted(node.func)
        kw = node.keywords
        if name in self.helpers:
            return ast.Call(node.func, [_call("_hj_i", self.ex(a, False)) for a in node.args],
                            kw)
        if name in ("min", "max"):
            return _call("_hj_mm", node.func, self.consts(node.args),
                         *(self.ex(a, False) for a in node.args))
        args = [self.ex(a, True) for a in node.args]
        if name == "int" and len(args) == 1:
            return _call("_hj_int", *args)
        if name == "round" and len(args) == 1:
            return _call("_hj_round", *args)
        if name in ("math.floor", "math.ceil", "math.trunc") and len(args) == 1:
            return _call("_hj_fl", node.func, *args)
        if name in ("math.factorial", "math.comb", "math.perm"):
            return _call("_hj_bigmath", node.func, *args)
        if name in ("math.gcd", "math.lcm", "math.isqrt", "math.ldexp"):
            return _call("_hj_pyint", node.func, *args)
        if name is not None and name.startswith("np.") and name[3:] in _INT_CASTS \
                and len(args) == 1:
            return _call("_hj_cast", node.func, *args)
        if name is not None and name.startswith("np.") and name[3:] in LIBM_NAMES:
            return _call("_hj_np", node.func, *args)
        if name is not None and name.startswith("np."):
            return _call("_hj_i", _call("_hj_f16", ast.Call(node.func, args, kw)))
        return _call("_hj_i", ast.Call(node.func, args, kw))

    # statements ----------------------------------------------------------
    def block(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for s in body:
            out.extend(self.stmt(s))
        return out

    def store_value(self, target: ast.expr, value: ast.expr) -> ast.expr:
        if isinstance(target, ast.Subscript):
            return _call("_hj_sv", copy.deepcopy(target.value), value)
        return value

    def stmt(self, s: ast.stmt) -> list[ast.stmt]:
        """The rewritten statement(s), at the original's line (so that an
        exception's line is the program's)."""
        out = self._stmt(s)
        for n in out:
            if getattr(n, "lineno", None) is None:
                ast.copy_location(n, s)
        return out

    def _stmt(self, s: ast.stmt) -> list[ast.stmt]:
        if isinstance(s, ast.FunctionDef):
            self.local = local_names(s)
            s.body = self.block(s.body)
            return [s]
        if isinstance(s, ast.Assign):
            value = self.ex(s.value, False)
            targets = [self.target(t) for t in s.targets]
            if len(targets) == 1:
                t = targets[0]
                if isinstance(t, ast.Tuple) and isinstance(value, ast.Tuple) \
                        and len(t.elts) == len(value.elts):
                    value = ast.Tuple([self.store_value(te, ve)
                                       for te, ve in zip(t.elts, value.elts)], ast.Load())
                else:
                    value = self.store_value(t, value)
            return [ast.Assign(targets, value)]
        if isinstance(s, ast.AugAssign):
            rhs = self.ex(s.value, True)
            if isinstance(s.target, ast.Name):
                load = ast.Name(s.target.id, ast.Load())
                return [ast.Assign([s.target], self.binop(load, s.op, s.value, load, rhs))]
            if isinstance(s.target, ast.Subscript):
                arr = self.ex(s.target.value, True)
                tmp = ast.Assign([ast.Name("_hj_t", ast.Store())],
                                 self.ex(s.target.slice, True))
                load = ast.Subscript(copy.deepcopy(arr), ast.Name("_hj_t", ast.Load()),
                                     ast.Load())
                store = ast.Subscript(copy.deepcopy(arr), ast.Name("_hj_t", ast.Load()),
                                      ast.Store())
                value = _call("_hj_sv", copy.deepcopy(arr),
                              self.binop(load, s.op, s.value, load, rhs))
                return [tmp, ast.Assign([store], value)]
            return [s]
        if isinstance(s, ast.Return):
            return [ast.Return(None if s.value is None else self.ex(s.value, False))]
        if isinstance(s, ast.If):
            return [ast.If(self.ex(s.test, True), self.block(s.body), self.block(s.orelse))]
        if isinstance(s, ast.While):
            return [ast.While(self.ex(s.test, True), self.block(s.body), self.block(s.orelse))]
        if isinstance(s, ast.For):
            return [ast.For(s.target, self.ex(s.iter, True), self.block(s.body),
                            self.block(s.orelse), None)]
        if isinstance(s, ast.Expr):
            return [ast.Expr(self.ex(s.value, True))]
        return [s]

    def target(self, t: ast.expr) -> ast.expr:
        if isinstance(t, ast.Subscript):
            return ast.Subscript(self.ex(t.value, True), self.ex(t.slice, True), t.ctx)
        if isinstance(t, ast.Tuple):
            return ast.Tuple([self.target(e) for e in t.elts], t.ctx)
        return t


ORACLE_FILE = "<oracle {}>"


def big_constant(fn: ast.FunctionDef, module: dict[str, Any]) -> str | None:
    """A constant expression in ``fn`` that hybridjit folds to an integer
    beyond 64 bits (``x + 2**63``, ``541 << 63``): a compile-time error
    (README), whether or not it runs.  None if there is none.  (Where the
    compiler converts such a constant to a NumPy type holding it,
    ``x_uint64 + (2**64 - 1)``, it compiles; the generator does not make
    these, and a program that has one is conservatively a departure.)"""
    local = local_names(fn)

    def const(node: ast.AST) -> bool:
        return isinstance(node, ast.expr) and is_const(node, module, local)

    def visit(node: ast.AST) -> str | None:
        if isinstance(node, ast.BinOp) and const(node.left) != const(node.right):
            # a constant meeting a run-time value: checked at run time
            # (_hj_bigop: it depends on the value's type)
            side = node.right if const(node.left) else node.left
            return visit(side)
        if isinstance(node, ast.AugAssign):
            return visit(node.target) if const(node.value) else (
                visit(node.target) or visit(node.value))
        if isinstance(node, ast.expr):
            try:
                v = const_value(node, module, local)
            except NotConst:
                pass
            else:
                if type(v) is int and not INT64_MIN <= v <= INT64_MAX:
                    return f"{ast.unparse(node)} = {v}"
                return None  # a constant: nothing inside it survives
        for child in ast.iter_child_nodes(node):
            found = visit(child)
            if found:
                return found
        return None

    for stmt in fn.body:
        found = visit(stmt)
        if found:
            return found
    return None


def _static_departures(tree: ast.Module, module: dict[str, Any]) -> dict[str, str]:
    """Functions that cannot compile for a documented reason (a constant
    beyond 64 bits in them or in a function they name)."""
    fns = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    out: dict[str, str] = {}
    for name, fn in fns.items():
        found = big_constant(fn, module)
        if found:
            out[name] = f"constant expression {found} needs more than 64 bits (compile-time error)"
    changed = True
    while changed:
        changed = False
        for name, fn in fns.items():
            if name in out:
                continue
            for n in ast.walk(fn):
                if isinstance(n, ast.Name) and n.id in out and n.id != name:
                    out[name] = out[n.id]
                    changed = True
                    break
    return out


def instrument_tree(source: str) -> ast.Module:
    """The oracle copy of a program module (see the module docstring), its
    statements at the original lines."""
    tree = ast.parse(source)
    helpers = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    module = module_constants(tree)
    static = _static_departures(tree, module)
    rw = _Rewriter(helpers, module)
    body: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            node = rw.stmt(node)[0]
            assert isinstance(node, ast.FunctionDef)
            if node.name in static:
                raise_it = ast.Raise(_call("Departure", ast.Constant(static[node.name])), None)
                node.body.insert(0, ast.copy_location(raise_it, node.body[0]))
        body.append(node)
    tree.body = body
    ast.fix_missing_locations(tree)
    return tree


def instrument(source: str) -> str:
    """The oracle copy as source text (for reading)."""
    return ast.unparse(instrument_tree(source))


def load_oracle(source: str, name: str = "oracle") -> types.ModuleType:
    """Execute the oracle copy of ``source``; returns the module.  Its code
    objects have the file name ``ORACLE_FILE.format(name)``."""
    mod = types.ModuleType(name)
    mod.__dict__.update(RUNTIME)
    code = compile(instrument_tree(source), ORACLE_FILE.format(name), "exec")
    exec(code, mod.__dict__)
    return mod


def raise_line(exc: BaseException, name: str = "oracle") -> int:
    """The program line an exception of the oracle copy was raised at (the
    innermost frame in the program, not in the run-time helpers); 0: none."""
    line = 0
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == ORACLE_FILE.format(name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
