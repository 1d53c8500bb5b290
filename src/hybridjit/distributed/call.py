"""``fn.dask(*args)``: one call of a compiled function over Dask arrays.

Contract: ``dask_call(disp, args, kwargs) -> tuple of lazy dask arrays``
(the written arrays in argument order, then a 0-d array for a returned
value).  Arguments: Dask arrays (chunked), NumPy arrays (inputs sent whole
to every task), scalars.  The steps, each in its own module:

1. analyse the function for these argument types (``pipeline.analyse``)
   and plan the partition (:mod:`.plan`): errors at the user's line;
2. evaluate what comes before the nest on the client (:mod:`.prelude`):
   the cut loops' ranges, the subscripts' offsets, the footprint's values;
3. make the block version (:mod:`.variant`) and its region footprint;
4. cut the blocks and find each block's boxes (:mod:`.blocks`);
5. build the graph (:mod:`.graph`), which runs :mod:`.runner` per block.

Steps 1 and 3 depend only on the types (and the cut loops' step signs) and
are cached per dispatcher.
"""

from __future__ import annotations

import ast
import hashlib
import math
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis.affine import Sym
from ..analysis.footprint import RegionFootprint, region_footprint, symbol_values
from ..analysis.scalars import classify_loop_scalars, live_after_loop
from ..cache_key import code_fingerprint
from ..errors import HybridJitWarning, InternalError, PartitionError
from ..frontend.source import ParsedFunction, parse_function
from ..ir.nodes import For
from ..types import PY_INT, Type
from . import threads
from .blocks import Layout, Partition, partition
from .plan import Plan, plan_partition
from .prelude import ShapeOnly, loop_range, run_prelude
from .reduction import ReduceSpec
from .runner import CHUNKED, SCALAR, WHOLE, Kernel, Param
from .shipping import ship_globals
from .variant import Variant, make_variant, materialise, region_statement


@dataclass(frozen=True)
class _Analysed:
    """Step 1 for one type signature."""

    plan: Plan
    parsed: ParsedFunction
    index: int  # of the nest's statement in the source's function body
    headers: tuple[ast.For, ...]  # the cut loops' statements in the source
    return_dtype: str | None


@dataclass(frozen=True)
class _BlockVersion:
    """Step 3 for one type signature and step signs."""

    variant: Variant
    footprint: RegionFootprint


_cache: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class PlannedCall:
    """Everything of one call but the Dask graph (steps 1 to 4)."""

    kernel: Kernel
    partition: Partition
    cut_dims: dict[str, dict[int, int]]  # written array -> {cut loop: its dimension}
    reduce: ReduceSpec | None
    chunked: dict[str, Any]
    whole: dict[str, np.ndarray]
    params: tuple[Param, ...]


def dask_call(disp: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    try:
        import dask.array as da
    except ImportError:
        raise ImportError("fn.dask needs Dask: pip install 'hybridjit[dask]' (or "
                          "'dask[array,distributed]')") from None
    if kwargs:
        args = disp._bind(args, kwargs)
    args = disp._complete(args)
    from .graph import build

    call = plan_call(disp, args, lambda a: isinstance(a, da.Array))
    token = _graph_token(call.kernel.token, call.params, call.chunked, call.whole)
    return build(call.kernel, call.partition, call.cut_dims, call.chunked, call.whole,
                 call.reduce, token)


def plan_call(disp: Any, args: tuple[Any, ...], is_chunked: Any) -> PlannedCall:
    """Steps 1 to 4 for ``args`` (every parameter's); ``is_chunked(a)`` says
    which are chunked arrays (objects with ``shape``, ``dtype``, ``chunks``)."""
    names = disp._param_names()
    params = _classify(disp, names, args, is_chunked)
    chunked = {p.name: a for p, a in zip(params, args, strict=True) if p.kind == CHUNKED}
    whole = {p.name: a for p, a in zip(params, args, strict=True) if p.kind == WHOLE}
    standins = tuple(np.empty((0,) * len(a.shape), a.dtype) if p.kind == CHUNKED else a
                     for p, a in zip(params, args, strict=True))
    types = disp.arg_types(standins)
    found = _analysed(disp, types, frozenset(chunked))
    plan = found.plan

    arguments = {p.name: ShapeOnly(a.shape, a.dtype) if p.kind == CHUNKED else a
                 for p, a in zip(params, args, strict=True)}
    namespace = run_prelude(found.parsed, found.index, arguments)
    ranges = tuple(loop_range(found.parsed, h, namespace) for h in found.headers)
    identities = _identities(plan, namespace)
    version = _block_version(disp, found, tuple(1 if r.step > 0 else -1 for r in ranges),
                             types, identities)

    shapes = {n: tuple(int(x) for x in a.shape) for n, a in {**chunked, **whole}.items()}
    values = {k: int(v) for k, v in namespace.items()
              if isinstance(v, int | np.integer) and not isinstance(v, bool)}
    env = symbol_values({**values}, shapes)  # type: ignore[dict-item]
    offsets = tuple({m.array: (m.dim, _evaluate(m.offset, env, split.loop)) for m in split.maps}
                    for split in plan.splits)
    layout = Layout(ranges, offsets, shapes, {n: _chunks(a) for n, a in chunked.items()},
                    {n: np.dtype(a.dtype).itemsize for n, a in chunked.items()}, values)
    part = partition(plan, layout, version.footprint)

    written = tuple(n for n in names if n in plan.written)
    shipped = ship_globals(disp.py_func)
    kernel = Kernel(_kernel_token(disp, version.variant), disp.py_func.__qualname__, shipped,
                    version.variant, disp.options, params, written, identities,
                    threads.threads_by_host())
    cut_dims = {n: {s: offsets[s][n][0] for s in range(len(offsets)) if n in offsets[s]}
                for n in written}
    return PlannedCall(kernel, part, cut_dims, _reduce_spec(found, plan, namespace, shipped),
                       chunked, whole, params)


# ---------------------------------------------------------------- arguments


def _classify(disp: Any, names: list[str], args: tuple[Any, ...],
              is_chunked: Any) -> tuple[Param, ...]:
    out = []
    for name, a in zip(names, args, strict=True):
        if is_chunked(a):
            if any(math.isnan(c) for dim in a.chunks for c in dim):
                raise ValueError(f"{disp.py_func.__qualname__}(): argument '{name}' has "
                                 "unknown chunk sizes; call .compute_chunk_sizes() first")
            out.append(Param(name, CHUNKED, shape=tuple(int(n) for n in a.shape),
                             dtype=np.dtype(a.dtype).str))
        elif type(a) is np.ndarray:
            out.append(Param(name, WHOLE))
        elif isinstance(a, bool | int | float | np.generic):
            out.append(Param(name, SCALAR, value=a))
        else:
            raise TypeError(f"{disp.py_func.__qualname__}.dask(): argument '{name}' is a "
                            f"{type(a).__name__}; fn.dask takes Dask arrays, NumPy arrays "
                            "and numbers")
    return tuple(out)


def _chunks(a: Any) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(c) for c in dim) for dim in a.chunks)


# ---------------------------------------------------------------- analysis


def _analysed(disp: Any, types: tuple[Type, ...], chunked: frozenset[str]) -> _Analysed:
    per_disp = _cache.setdefault(disp, {})
    key = ("plan", types, chunked)
    found = per_disp.get(key)
    if found is None:
        from ..pipeline import analyse

        program, _, decisions = analyse(disp.py_func, types, disp.options)
        plan = plan_partition(program, decisions, chunked)
        parsed = parse_function(disp.py_func)
        k = region_statement(parsed, plan.loop)
        region = parsed.tree.body[k]
        assert isinstance(region, ast.For)
        headers = tuple(region if s == 0 else _header(parsed, region, split.loop)
                        for s, split in enumerate(plan.splits))
        ret = program.entry.return_type
        dtype = np.dtype(ret.name).str if plan.result is not None and hasattr(ret, "name") \
            else None
        found = _Analysed(plan, parsed, k, headers, dtype)
        per_disp[key] = found
    return found


def _header(parsed: ParsedFunction, region: ast.For, loop: For) -> ast.For:
    for node in ast.walk(region):
        if isinstance(node, ast.For):
            loc = parsed.loc(node)
            if (loc.line, loc.col) == (loop.loc.line, loop.loc.col):
                return node
    raise InternalError(f"no source statement for the loop at line {loop.loc.line}")


def _block_version(disp: Any, found: _Analysed, signs: tuple[int, ...],
                   types: tuple[Type, ...], identities: tuple[Any, ...]) -> _BlockVersion:
    per_disp = _cache.setdefault(disp, {})
    key = ("block", types, found.plan.chunked, signs, tuple(type(i) for i in identities))
    version = per_disp.get(key)
    if version is None:
        from ..dispatcher import Dispatcher
        from ..pipeline import analyse

        variant = make_variant(found.parsed, found.plan, signs)
        fn = materialise(variant, disp.py_func.__globals__)
        extra_types = (PY_INT,) * (2 * len(signs)) + \
            Dispatcher(fn, disp.options).arg_types(identities)
        program, _, _ = analyse(fn, types + extra_types, disp.options)
        body = program.entry.body
        loop = next((s for s in body if isinstance(s, For) and s.loc.line == variant.region_line),
                    None)
        if loop is None:
            raise InternalError(f"the block version of {disp.py_func.__qualname__} lost its "
                                "loop nest")
        if loop.parallel is None and found.plan.loop.parallel is not None:
            warnings.warn(f"{disp.py_func.__qualname__}: the analysis does not prove the block "
                          "version's loop parallel; each block runs it serially",
                          HybridJitWarning, stacklevel=4)
        live = live_after_loop(body, loop.loop_id)
        # one read box per access: a block is sent the parts they cover, no stencil corners
        footprint = region_footprint(loop, classify_loop_scalars(loop, live), merge_reads=False)
        version = _BlockVersion(variant, footprint)
        per_disp[key] = version
    return version


def _identities(plan: Plan, namespace: dict[str, Any]) -> tuple[Any, ...]:
    """The identity of each ``+``/``*`` reduction, of its initial value's type."""
    out = []
    for red in plan.reductions:
        if red.var not in namespace:
            raise PartitionError(f"the reduction variable '{red.var}' has no value before the "
                                 "loop nest", plan.loop.loc)
        if red.op in ("+", "*"):
            out.append(type(namespace[red.var])(0 if red.op == "+" else 1))
    return tuple(out)


def _evaluate(offset: Any, env: dict[Sym, int], loop: For) -> int:
    try:
        return int(offset.evaluate(env))
    except KeyError as exc:
        raise PartitionError(f"fn.dask cannot evaluate {exc.args[0]}, which the subscripts of "
                             "this loop nest use, on the client", loop.loc) from None


def _reduce_spec(found: _Analysed, plan: Plan, namespace: dict[str, Any],
                 shipped: dict[str, Any]) -> ReduceSpec | None:
    if plan.result is None or found.return_dtype is None:
        return None
    node = next(s for s in found.parsed.tree.body[found.index + 1:] if isinstance(s, ast.Return))
    assert node.value is not None
    expression = ast.unparse(node.value)
    used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
    names = tuple(r.var for r in plan.reductions)
    scalars = {k: v for k, v in namespace.items() if k in used and k not in names}
    return ReduceSpec(tuple(r.op for r in plan.reductions), names,
                      tuple(namespace[n] for n in names), expression,
                      found.parsed.file, found.parsed.loc(node).line, scalars, shipped,
                      found.return_dtype)


# ---------------------------------------------------------------- tokens


def _kernel_token(disp: Any, variant: Variant) -> str:
    h = hashlib.sha256()
    for part in (variant.source, disp.options.key(), disp.py_func.__module__,
                 disp.py_func.__qualname__, code_fingerprint(disp.py_func)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


def _graph_token(kernel_token: str, params: tuple[Param, ...], chunked: dict[str, Any],
                 whole: dict[str, np.ndarray]) -> str:
    from dask.base import tokenize

    scalars = [(p.name, type(p.value).__name__, repr(p.value)) for p in params
               if p.kind == SCALAR]
    return tokenize(kernel_token, [(n, a.name, a.chunks) for n, a in chunked.items()],
                    scalars, {n: tokenize(a) for n, a in whole.items()})
