"""Static types of generated programs, with NumPy itself as the type oracle.

Contract: a :class:`ScalarT` names one run-time scalar type: Python ``bool``
/ ``int`` / ``float`` / ``complex`` (``py_bool``, ``py_int``, ``py_float``,
``py_complex``) or a NumPy scalar type (its dtype name: ``bool``, ``int8``
... ``float64``, ``complex64``, ``complex128``).  :data:`ALL_SCALARS` are
the real ones, :data:`COMPLEX_SCALARS` the complex ones (a program uses
them only with the generator's feature "complex").  An :class:`ArrayT` is
a dtype and a number of dimensions.  The result type of an operator or a
function call is found by *running* it in CPython on sample values of the
operand types (cached), so it is exactly NumPy 2 / NEP 50 and needs no
hand-written promotion table; an operation that raises on the samples, or
gives a type hybridjit does not support (float16), is invalid (``None``).
Which operations on complex numbers hybridjit supports is the business of
:mod:`fuzz.tables` (NumPy orders complex numbers, hybridjit refuses that).
"""

from __future__ import annotations

import cmath
import functools
import math
import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

NP_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
             "uint64", "float32", "float64")
PY_TYPES = ("py_bool", "py_int", "py_float")
COMPLEX_DTYPES = ("complex64", "complex128")
#: Python's number types, narrowest first (a join of Python numbers is the widest)
PY_ORDER = (*PY_TYPES, "py_complex")


@dataclass(frozen=True)
class ScalarT:
    name: str  # "py_int", "py_float", "py_bool" or a NumPy dtype name

    @property
    def py(self) -> bool:
        return self.name.startswith("py_")

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the value (Python numbers: bool, int64, float64)."""
        return np.dtype({"py_bool": "bool", "py_int": "int64", "py_float": "float64",
                         "py_complex": "complex128"}.get(self.name, self.name))

    @property
    def kind(self) -> str:  # 'b', 'i', 'u', 'f', 'c'
        return self.dtype.kind

    @property
    def is_float(self) -> bool:
        """A real floating-point type (not complex)."""
        return self.kind == "f"

    @property
    def is_complex(self) -> bool:
        return self.kind == "c"

    @property
    def real_type(self) -> ScalarT:
        """The type of a complex number's parts (``z.real``): Python float
        for a Python complex, float32 for complex64, float64 for complex128."""
        if self.name == "py_complex":
            return PY_FLOAT
        return ScalarT({"complex64": "float32", "complex128": "float64"}[self.name])

    @property
    def is_int(self) -> bool:
        """Integer (signed or unsigned), not bool."""
        return self.kind in "iu"

    @property
    def is_bool(self) -> bool:
        return self.kind == "b"

    @property
    def bits(self) -> int:
        return self.dtype.itemsize * 8

    def spelling(self) -> str:
        """How a cast to this type is written: ``int``, ``np.float32``, ``np.bool_``."""
        if self.py:
            return self.name[3:]
        return "np.bool_" if self.name == "bool" else f"np.{self.name}"

    def __str__(self) -> str:
        return self.name[3:] if self.py else f"np.{self.name}"


@dataclass(frozen=True)
class ArrayT:
    dtype: str  # a NumPy dtype name
    ndim: int

    @property
    def elem(self) -> ScalarT:
        return ScalarT(self.dtype)

    def __str__(self) -> str:
        return f"{self.dtype}[{','.join(':' * self.ndim)}]"


@dataclass(frozen=True)
class TupleT:
    items: tuple[ScalarT | ArrayT, ...]

    def __str__(self) -> str:
        return "(" + ", ".join(map(str, self.items)) + ")"


AnyT = ScalarT | ArrayT | TupleT

PY_BOOL, PY_INT, PY_FLOAT = (ScalarT(n) for n in PY_TYPES)
PY_COMPLEX = ScalarT("py_complex")
#: the real scalar types
ALL_SCALARS = tuple(ScalarT(n) for n in PY_TYPES + NP_DTYPES)
COMPLEX_SCALARS = (PY_COMPLEX, *(ScalarT(n) for n in COMPLEX_DTYPES))
MODEL_DTYPES = NP_DTYPES + COMPLEX_DTYPES


def sample(t: ScalarT, which: int = 0) -> Any:
    """A harmless value of type ``t`` (``which`` picks another one)."""
    if t.is_bool:
        v: Any = which % 2 == 0
    elif t.is_complex:
        v = (1.5 + 0.5j, 2.25 - 1j, 0.75 + 2j)[which % 3]
    elif t.is_float:
        v = (1.5, 2.25, 0.75)[which % 3]
    else:
        v = (3, 2, 5)[which % 3]
    return v if t.py else t.dtype.type(v)


def typeof(v: Any) -> AnyT | None:
    """The type of a run-time value (None when outside the model)."""
    if isinstance(v, np.generic):  # first: np.float64 is a subclass of float
        name = v.dtype.name
        return ScalarT(name) if name in MODEL_DTYPES else None
    if isinstance(v, bool):
        return PY_BOOL
    if isinstance(v, int):
        return PY_INT
    if isinstance(v, float):
        return PY_FLOAT
    if isinstance(v, complex):
        return PY_COMPLEX
    if isinstance(v, np.ndarray):
        return ArrayT(v.dtype.name, v.ndim) if v.dtype.name in MODEL_DTYPES else None
    if isinstance(v, tuple):
        items = [typeof(x) for x in v]
        if any(i is None or isinstance(i, TupleT) for i in items):
            return None
        return TupleT(tuple(items))  # type: ignore[arg-type]
    return None


def float_code(x: float) -> str:
    """Source of a float that survives ``eval`` without names: ``-0.0``,
    ``float('nan')``, ``float('-inf')``."""
    return repr(x) if math.isfinite(x) else f"float({repr(x)!r})"


def _scalar_typeof(v: Any) -> ScalarT | None:
    t = typeof(v)
    return t if isinstance(t, ScalarT) else None


def _try(fn: Callable[..., Any], *args: Any) -> ScalarT | None:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return _scalar_typeof(fn(*args))
        except Exception:
            return None


BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow,
    "&": operator.and_, "|": operator.or_, "^": operator.xor,
    "<<": operator.lshift, ">>": operator.rshift,
}
CMPOPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}
UNOPS: dict[str, Callable[[Any], Any]] = {"-": operator.neg, "+": operator.pos,
                                          "~": operator.invert}


@functools.cache
def binop_type(op: str, a: ScalarT, b: ScalarT) -> ScalarT | None:
    """Result type of ``a op b`` (None: invalid)."""
    fn = BINOPS.get(op) or CMPOPS[op]
    r1 = _try(fn, sample(a), sample(b, 1))
    r2 = _try(fn, sample(a, 1), sample(b, 2))
    return r1 if r1 == r2 else None


@functools.cache
def unop_type(op: str, a: ScalarT) -> ScalarT | None:
    if op == "not":
        return PY_BOOL
    r1 = _try(UNOPS[op], sample(a))
    r2 = _try(UNOPS[op], sample(a, 1))
    return r1 if r1 == r2 else None


def resolve(qualname: str) -> Callable[..., Any]:
    """``"math.sqrt"`` / ``"np.float32"`` / ``"abs"`` / ``"cmath.exp"`` -> the callable."""
    if "." not in qualname:
        return {"abs": abs, "min": min, "max": max, "int": int, "float": float,
                "bool": bool, "round": round, "complex": complex}[qualname]
    mod, name = qualname.split(".", 1)
    return getattr({"math": math, "np": np, "cmath": cmath}[mod], name)


@functools.cache
def call_type(qualname: str, args: tuple[ScalarT, ...]) -> ScalarT | None:
    """Result type of calling ``qualname`` on scalars of ``args``."""
    fn = resolve(qualname)
    r1 = _try(fn, *(sample(t) for t in args))
    r2 = _try(fn, *(sample(t, k + 1) for k, t in enumerate(args)))
    return r1 if r1 == r2 else None


def join(types: list[ScalarT] | tuple[ScalarT, ...]) -> ScalarT:
    """The one static type of a value that may be any of ``types``
    (min/max of mixed types, ``a or b``, ``x if c else y``): NumPy's
    promotion, Python numbers weak (NEP 50); all Python: bool < int < float
    < complex."""
    if all(t.py for t in types):
        return max(types, key=lambda t: PY_ORDER.index(t.name))
    dt = np.result_type(*(sample(t) for t in types))
    return ScalarT(dt.name)


def int_fits(v: int, t: ScalarT) -> bool:
    lo, hi = int_range(t)
    return lo <= v <= hi


def select(types: list[ScalarT] | tuple[ScalarT, ...],
           fits: list[bool] | None = None) -> ScalarT:
    """The one static type of a value *chosen* among values of ``types``
    (``min``/``max``, ``a or b``, ``x if c else y``), as hybridjit's
    ``types.select_type`` decides it: bools chosen among bools stay bools
    (Python's when all are Python's); otherwise NumPy's promotion
    (:func:`join`), except that with NumPy integers and no float among the
    types a Python int counts as int64 unless ``fits[k]``: it is a
    compile-time constant that every NumPy integer type among ``types`` can
    hold (``max(535, np.int8(2))`` is ``np.int64(535)``, ``max(5,
    np.int8(2))`` is ``np.int8(5)``)."""
    if all(t.is_bool for t in types):
        return PY_BOOL if all(t.py for t in types) else ScalarT("bool")
    flags = list(fits) if fits is not None else [False] * len(types)
    strong_ints = [t for t in types if not t.py and t.is_int]
    if strong_ints and not any(t.is_float for t in types):
        types = [ScalarT("int64") if t.py and t.is_int and not ok else t
                 for t, ok in zip(types, flags)]
    return join(types)


def fits_selection(value: Any, is_const: bool, types: list[ScalarT] | tuple[ScalarT, ...]
                   ) -> bool:
    """``value`` (of a selection among ``types``) is a Python int constant
    that every NumPy integer type among ``types`` can hold."""
    if not is_const or type(value) is not int:
        return False
    return all(int_fits(value, t) for t in types if not t.py and t.is_int)


def join_values(values: list[Any]) -> ScalarT | None:
    ts = [_scalar_typeof(v) for v in values]
    if any(t is None for t in ts):
        return None
    return join(ts)  # type: ignore[arg-type]


def convert(v: Any, t: ScalarT) -> Any:
    """``v`` as a value of type ``t`` (raises when it does not fit)."""
    if t.name == "py_bool":
        return bool(v)
    if t.name == "py_int":
        return int(v)
    if t.name == "py_float":
        return float(v)
    if t.name == "py_complex":
        return complex(v)
    if t.is_int and isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        info = np.iinfo(t.dtype)
        if not info.min <= int(v) <= info.max:
            raise OverflowError(f"{v} does not fit in {t}")
    return t.dtype.type(v)


INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def int_range(t: ScalarT) -> tuple[int, int]:
    if t.is_bool:
        return 0, 1
    if t.py:
        return INT64_MIN, INT64_MAX
    info = np.iinfo(t.dtype)
    return int(info.min), int(info.max)
