"""The type lattice: scalars, arrays, tuples, and NumPy's promotion rules.

Contract: types are frozen, hashable values.  A :class:`Scalar` is a NumPy
dtype plus a ``weak`` flag: Python ``int``/``float``/``bool`` values are
*weak* (NEP 50) so that ``float32_value * 0.5`` stays float32 exactly as
NumPy 2 computes it in CPython.  :func:`promote` gives the result type of a
binary arithmetic operation; :func:`unify` the type of a variable assigned
values of two types (the same rule, so a variable evolves as in CPython).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# dtype name -> (C type, NumPy type number name used by the C API)
_C_NAMES = {
    "bool": "npy_bool",
    "int8": "int8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "uint8": "uint8_t",
    "uint16": "uint16_t",
    "uint32": "uint32_t",
    "uint64": "uint64_t",
    "float32": "float",
    "float64": "double",
    # (typedefs: C99's float/double _Complex on the host, float2/double2 on
    # devices, where the generated code spells out the arithmetic)
    "complex64": "hj_complex64",
    "complex128": "hj_complex128",
}


@dataclass(frozen=True, slots=True)
class Type:
    """Base of all hybridjit types."""


@dataclass(frozen=True, slots=True)
class Scalar(Type):
    name: str  # a NumPy dtype name, e.g. "float32"
    weak: bool = False  # a Python int/float/bool rather than a NumPy scalar

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.name)

    @property
    def is_float(self) -> bool:
        return self.name.startswith("float")

    @property
    def is_complex(self) -> bool:
        return self.name.startswith("complex")

    @property
    def is_inexact(self) -> bool:
        """A float or a complex number."""
        return self.is_float or self.is_complex

    @property
    def real_type(self) -> Scalar:
        """The type of a complex number's parts (of a real number: itself)."""
        if not self.is_complex:
            return self
        return Scalar("float32" if self.name == "complex64" else "float64", self.weak)

    @property
    def is_int(self) -> bool:
        return "int" in self.name

    @property
    def is_signed(self) -> bool:
        return self.name.startswith("int") or self.is_float

    @property
    def is_bool(self) -> bool:
        return self.name == "bool"

    @property
    def bits(self) -> int:
        return 8 if self.is_bool else self.dtype.itemsize * 8

    @property
    def c_name(self) -> str:
        return _C_NAMES[self.name]

    def strong(self) -> Scalar:
        return Scalar(self.name)

    def __str__(self) -> str:
        if self.weak:
            return {"int64": "int", "float64": "float", "bool": "bool",
                    "complex128": "complex"}.get(self.name, self.name)
        return self.name


@dataclass(frozen=True, slots=True)
class Array(Type):
    dtype: Scalar  # always strong
    ndim: int
    layout: str = "A"  # "C": C-contiguous fast path; "A": any strides

    def __str__(self) -> str:
        return f"array({self.dtype}, {self.ndim}d, {self.layout})"


@dataclass(frozen=True, slots=True)
class Tuple(Type):
    items: tuple[Type, ...]

    def __str__(self) -> str:
        return "(" + ", ".join(map(str, self.items)) + ("," if len(self.items) == 1 else "") + ")"


@dataclass(frozen=True, slots=True)
class NoneType(Type):
    def __str__(self) -> str:
        return "None"


BOOL = Scalar("bool")
INT8, INT16, INT32, INT64 = (Scalar(f"int{b}") for b in (8, 16, 32, 64))
UINT8, UINT16, UINT32, UINT64 = (Scalar(f"uint{b}") for b in (8, 16, 32, 64))
FLOAT32, FLOAT64 = Scalar("float32"), Scalar("float64")
PY_INT = Scalar("int64", weak=True)
PY_FLOAT = Scalar("float64", weak=True)
PY_BOOL = Scalar("bool", weak=True)
COMPLEX64, COMPLEX128 = Scalar("complex64"), Scalar("complex128")
PY_COMPLEX = Scalar("complex128", weak=True)
NONE = NoneType()

SUPPORTED_DTYPES = frozenset(_C_NAMES)


def scalar_of_dtype(dtype: np.dtype) -> Scalar:
    name = np.dtype(dtype).name
    if name not in SUPPORTED_DTYPES:
        raise TypeError(f"dtype {name} is not supported by hybridjit")
    return Scalar(name)


def _kind_rank(t: Scalar) -> int:
    return 0 if t.is_bool else (1 if t.is_int else (3 if t.is_complex else 2))


def promote(a: Scalar, b: Scalar) -> Scalar:
    """Result type of ``a op b`` for arithmetic, following NumPy 2 (NEP 50)."""
    if a.weak and b.weak:
        # Python semantics: bool+bool -> int, int+float -> float.
        rank = max(_kind_rank(a), _kind_rank(b), 1)
        return {1: PY_INT, 2: PY_FLOAT}.get(rank, PY_COMPLEX)
    if a.weak or b.weak:
        weak, strong = (a, b) if a.weak else (b, a)
        if _kind_rank(weak) <= _kind_rank(strong):
            return strong
        if weak.is_complex:  # a Python complex takes a NumPy float's precision
            return COMPLEX64 if strong.name == "float32" else COMPLEX128
        if weak.is_float:
            return FLOAT64 if not strong.is_float else strong
        # weak int with strong bool -> default int
        return INT64
    return scalar_of_dtype(np.result_type(a.dtype, b.dtype))


def promote_all(types: list[Scalar]) -> Scalar:
    """The promoted type of several values at once, as NumPy's
    ``result_type`` finds it (NEP 50): the NumPy types decide among
    themselves, and a Python number only matters where it is of a higher
    kind (``np.bool_(0) or 0 or np.uint16(0)`` is uint16, not the int64
    of promoting pairwise)."""
    strong = [t for t in types if not t.weak]
    if not strong:
        out = types[0]
        for t in types[1:]:
            out = promote(out, t)
        return out
    out = scalar_of_dtype(np.result_type(*(t.dtype for t in strong)))
    for t in types:
        if t.weak:
            out = promote(t, out)
    return out


def select_type(types: list[Scalar], fits: list[bool] | None = None) -> Scalar:
    """The type of a value chosen among several (``min``, ``max``, ``or``):
    like :func:`promote_all`, except that bools chosen among bools stay
    bools (no arithmetic happens), Python's when all are Python's, and that a
    Python int that may not fit the NumPy integers it is chosen among counts
    as an int64 (``max(535, np.int8(2))`` is 535; CPython returns that int
    itself).  ``fits[k]``: the k-th value is known to fit (a constant)."""
    if all(t.is_bool for t in types):
        return PY_BOOL if all(t.weak for t in types) else BOOL
    fits = fits or [False] * len(types)
    strong_ints = [t for t in types if not t.weak and t.is_int]
    if strong_ints and not any(t.is_float for t in types):
        types = [INT64 if t.weak and t.is_int and not ok else t
                 for t, ok in zip(types, fits)]
    return promote_all(types)


def unify(a: Type, b: Type) -> Type | None:
    """Type of a variable assigned values of types ``a`` and ``b``, or None."""
    if a == b:
        return a
    if isinstance(a, Scalar) and isinstance(b, Scalar):
        return promote(a, b)
    if isinstance(a, Array) and isinstance(b, Array):
        if a.dtype == b.dtype and a.ndim == b.ndim:
            return Array(a.dtype, a.ndim, "C" if a.layout == b.layout == "C" else "A")
        return None
    if isinstance(a, Tuple) and isinstance(b, Tuple) and len(a.items) == len(b.items):
        items = [unify(x, y) for x, y in zip(a.items, b.items)]
        if any(i is None for i in items):
            return None
        return Tuple(tuple(i for i in items if i is not None))
    return None


def true_divide_type(a: Scalar, b: Scalar) -> Scalar:
    """Result type of ``a / b``: integers divide to float64, as in NumPy."""
    t = promote(a, b)
    if t.is_inexact:
        return t
    return PY_FLOAT if t.weak else FLOAT64


def is_masked(a: np.ndarray) -> bool:
    """A numpy.ma array (a MaskedArray exists only once numpy.ma is imported)."""
    import sys

    ma = sys.modules.get("numpy.ma")
    return type(a) is not np.ndarray and ma is not None and isinstance(a, ma.MaskedArray)


def typeof_value(value: object) -> Type:
    """Type of a Python value passed as an argument (arrays must be supported dtypes)."""
    if isinstance(value, np.generic):  # before float: np.float64 subclasses float
        return scalar_of_dtype(value.dtype)
    if isinstance(value, bool):
        return PY_BOOL
    if isinstance(value, int):
        return PY_INT
    if isinstance(value, float):
        return PY_FLOAT
    if isinstance(value, complex):
        return PY_COMPLEX
    if isinstance(value, np.ndarray):
        if is_masked(value):
            raise TypeError("masked arrays are not supported (their mask would be ignored); "
                            "pass a.filled(value) or a.data")
        layout = "C" if value.flags.c_contiguous else "A"
        return Array(scalar_of_dtype(value.dtype), value.ndim, layout)
    if isinstance(value, tuple):
        return Tuple(tuple(typeof_value(v) for v in value))
    raise TypeError(f"values of type {type(value).__name__} are not supported")
