"""NumPy functions with no good loop form, called from the compiled code.

Contract: :data:`HANDLERS` maps ``np.sort``, ``np.unique``,
``np.histogram``, ``np.linalg.solve`` ... (and :data:`METHODS` the array
methods ``argsort``, ``trace``, and ``sort``, which stores NumPy's sorted
copy back into the array) to handlers ``(CallSite) -> Expr`` that
bind the call's arguments by name, ask NumPy itself what the call returns
for these argument types (one call on small sample arrays of the same
dtypes and ranks: NumPy's own dtype rules, no table of ours to drift from
them), and hand the call to ``site.library``, which emits a
:class:`~hybridjit.ir.arrays.LibraryCall` statement before the current one
and returns the expression standing for its result (a new array, a
scalar, or a tuple display of those).

Why NumPy and not a loop nest: sorting, unique, histograms and LAPACK's
factorisations are library code in every tool of this kind; the result is
then exactly NumPy's, errors included (``LinAlgError`` for a singular
matrix).  The price: the call needs the interpreter, so it runs only in
the entry's host code: in a ``prange`` loop it is refused, and a loop
around it stays serial and on the host (``explain`` says so).

Arguments that decide the kind of result (``axis``, ``return_counts``,
``compute_uv``, ``side`` ...) must be compile-time constants; the others
(``bins``, ``range``, ``weights``, ``k`` ...) may be run-time values.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TypingError, UnsupportedError
from ..ir.arrays import ArrayStore
from ..ir.nodes import Const, Expr, MakeTuple, Static
from ..types import SUPPORTED_DTYPES, Array, Scalar, Tuple, Type

if TYPE_CHECKING:
    from .builtins import CallSite

Handler = Callable[["CallSite"], Expr]

#: per function: its parameters in order; a name ending in "!" must be a
#: compile-time constant (it decides the kind of result)
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "numpy.sort": ("a", "axis!", "kind!", "stable!"),
    "numpy.argsort": ("a", "axis!", "kind!", "stable!"),
    "numpy.unique": ("ar", "return_index!", "return_inverse!", "return_counts!", "axis!",
                     "equal_nan!"),
    "numpy.searchsorted": ("a", "v", "side!", "sorter"),
    "numpy.histogram": ("a", "bins", "range", "density!", "weights"),
    "numpy.bincount": ("x", "weights", "minlength"),
    "numpy.cov": ("m", "y", "rowvar!", "bias!", "ddof!"),
    "numpy.corrcoef": ("x", "y", "rowvar!"),
    "numpy.trace": ("a", "offset", "axis1!", "axis2!"),
    "numpy.diag": ("v", "k"),
    "numpy.triu": ("m", "k"),
    "numpy.tril": ("m", "k"),
    "numpy.linalg.solve": ("a", "b"),
    "numpy.linalg.inv": ("a",),
    "numpy.linalg.pinv": ("a", "rcond", "hermitian!"),
    "numpy.linalg.det": ("a",),
    "numpy.linalg.slogdet": ("a",),
    "numpy.linalg.cholesky": ("a", "upper!"),
    "numpy.linalg.qr": ("a", "mode!"),
    "numpy.linalg.eigh": ("a", "UPLO!"),
    "numpy.linalg.eigvalsh": ("a", "UPLO!"),
    "numpy.linalg.svd": ("a", "full_matrices!", "compute_uv!", "hermitian!"),
    "numpy.linalg.norm": ("x", "ord!", "axis!", "keepdims!"),
    "numpy.linalg.lstsq": ("a", "b", "rcond"),
    "numpy.linalg.matrix_rank": ("A", "tol", "hermitian!"),
    "numpy.linalg.matrix_power": ("a", "n"),
}

#: methods: name -> the function the method is (the array is its first argument)
_METHODS = {"argsort": "numpy.argsort", "trace": "numpy.trace"}


def _resolve(dotted: str) -> Any:
    obj: Any = np
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def shown(dotted: str) -> str:
    return "np." + dotted.removeprefix("numpy.")


# ------------------------------------------------------------------ binding


def _bind(site: CallSite, dotted: str) -> list[tuple[str, Expr]]:
    """The call's arguments by parameter name, in the signature's order;
    compile-time ones as :class:`Static` constants."""
    params = _SIGNATURES[dotted]
    names = [p.rstrip("!") for p in params]
    if len(site.args) > len(params):
        raise TypingError(f"{shown(dotted)}() takes at most {len(params)} positional arguments "
                          f"here, got {len(site.args)}", site.loc)
    given: dict[str, Any] = dict(zip(names, site.args))
    for k, v in site.keywords.items():
        if k not in names:
            raise TypingError(f"{shown(dotted)}() got an unexpected keyword argument '{k}'",
                              site.loc, hint="the README lists the supported arguments")
        if k in given:
            raise TypingError(f"{shown(dotted)}() got multiple values for argument '{k}'",
                              site.loc)
        given[k] = v
    if names[0] not in given:
        raise TypingError(f"{shown(dotted)}() missing required argument '{names[0]}'", site.loc)
    out: list[tuple[str, Expr]] = []
    for p, name in zip(params, names):
        if name not in given:
            continue
        value = given[name]
        if p.endswith("!"):
            out.append((name, Static(_constant(site, value, name), loc=site.loc)))
            continue
        if isinstance(value, ast.expr):
            value = site.lower(value)
        if isinstance(value, Static):
            raise TypingError(f"{shown(dotted)}(): {name} cannot be {value.value!r}", site.loc)
        out.append((name, value))
    return out


def _constant(site: CallSite, value: Any, name: str) -> Any:
    if isinstance(value, Static):
        return value.value
    if isinstance(value, ast.expr):
        try:
            return ast.literal_eval(value)
        except ValueError:
            pass
        value = site.lower(value)
    if isinstance(value, Const):
        return value.value
    if isinstance(value, Static):
        return value.value
    if isinstance(value, MakeTuple) and all(isinstance(i, Const) for i in value.items):
        return tuple(i.value for i in value.items)  # type: ignore[attr-defined]
    raise TypingError(f"{site.name}(): {name} must be a constant here", site.loc,
                      hint=f"write {name} as a literal (it decides what the call returns)")


# ------------------------------------------------------------------ probing


def _sample(e: Expr) -> Any:
    """A value of ``e``'s type for asking NumPy what the call returns:
    small, well-conditioned, symmetric positive definite where 2-D,
    increasing and positive where 1-D (valid bins, counts, sorted arrays)."""
    if isinstance(e, Static):
        return e.value
    t = e.type
    if isinstance(t, Array):
        if t.ndim == 1:
            return np.arange(1, 4).astype(t.dtype.dtype)
        if t.ndim == 2:
            return (np.eye(3) * 4 + 1).astype(t.dtype.dtype)
        return np.ones((3,) * t.ndim, dtype=t.dtype.dtype)
    if isinstance(e, MakeTuple):
        return tuple(_sample(i) for i in e.items)
    if isinstance(t, Scalar):
        if t.weak:
            return {"bool": True, "int64": 1}.get(t.name, 1.0)
        return t.dtype.type(1)
    raise TypingError(f"an argument of type {t} cannot be passed here", e.loc)


def _result_type(value: Any, dotted: str, site: CallSite) -> Type:
    if isinstance(value, np.ndarray):
        if value.dtype.name not in SUPPORTED_DTYPES:
            raise UnsupportedError(f"{shown(dotted)}() returns a {value.dtype} array here, and "
                                   f"{value.dtype} is not supported yet", site.loc,
                                   hint="pass real (float32/float64) arrays")
        if value.ndim == 0:
            raise UnsupportedError(f"{shown(dotted)}() returns a 0-d array here, which is not "
                                   "supported", site.loc,
                                   hint="pass 2-D operands, or compute the value with a loop")
        return Array(Scalar(value.dtype.name), value.ndim, "C")
    if isinstance(value, np.generic) and value.dtype.name in SUPPORTED_DTYPES:
        return Scalar(value.dtype.name)
    if isinstance(value, bool):
        return Scalar("bool", weak=True)
    if isinstance(value, int):
        return Scalar("int64", weak=True)
    if isinstance(value, float):
        return Scalar("float64", weak=True)
    raise UnsupportedError(f"{shown(dotted)}() returns a {type(value).__name__} here, which is "
                           "not supported", site.loc)


def _probe(site: CallSite, dotted: str, bound: list[tuple[str, Expr]]) -> tuple[Type, ...]:
    """The types of the call's result items, as NumPy gives them for
    arguments of these types (a tuple result: one per item)."""
    fn = _resolve(dotted)
    values = {name: _sample(e) for name, e in bound}
    first = bound[0][0]
    try:
        result = fn(values.pop(first), **values)
    except Exception as exc:  # NumPy's own refusal of these types
        raise TypingError(f"{shown(dotted)}() refuses arguments of these types: {exc}",
                          site.loc) from None
    if isinstance(result, tuple):
        return tuple(_result_type(v, dotted, site) for v in result)
    return (_result_type(result, dotted, site),)


# ------------------------------------------------------------------ handlers


def _check_operands(site: CallSite, dotted: str, bound: list[tuple[str, Expr]]) -> None:
    for name, e in bound:
        if isinstance(e, MakeTuple):
            items = e.items
        else:
            items = (e,)
        for it in items:
            if isinstance(it.type, Tuple):
                raise TypingError(f"{shown(dotted)}(): {name} cannot be a tuple here", site.loc)


def _handler(dotted: str) -> Handler:
    def handler(site: CallSite) -> Expr:
        if site.library is None:
            raise UnsupportedError(f"{shown(dotted)}() cannot be called here", site.loc)
        bound = _bind(site, dotted)
        _check_operands(site, dotted, bound)
        if not isinstance(bound[0][1].type, Array):
            raise TypingError(f"{shown(dotted)}() expects an array as its first argument, got "
                              f"{bound[0][1].type}", site.loc,
                              hint="pass a NumPy array (np.asarray is not needed for arrays)")
        items = _probe(site, dotted, bound)
        return site.library(dotted, tuple(e for _, e in bound), tuple(n for n, _ in bound),
                            items, site.loc)
    return handler


def _sort_in_place(site: CallSite) -> Expr:
    """``a.sort(axis=-1, kind=None)``: NumPy's sort of ``a``, stored back
    into it before the statement; the call's value is None."""
    if site.emit is None:
        raise UnsupportedError("a.sort() cannot be called here", site.loc)
    result = _handler("numpy.sort")(site)
    site.emit(ArrayStore(site.args[0], result, site.loc))
    return Static(None, loc=site.loc)


HANDLERS: dict[object, Handler] = {_resolve(d): _handler(d) for d in _SIGNATURES}
METHODS: dict[str, Handler] = {m: _handler(d) for m, d in _METHODS.items()}
METHODS["sort"] = _sort_in_place
