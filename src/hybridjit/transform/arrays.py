"""Array operations -> loop nests: IR -> IR, before everything else.

Contract: :func:`lower_arrays` returns the function with every array
operation of :mod:`hybridjit.ir.arrays` (and every array-typed ``BinOp``,
``Cast`` ...) replaced by the structured loop IR that hand-written loops
produce: allocations (``Alloc``), loop nests of ``Store``s of scalar
expressions, reduction loops over scalar accumulators.  What remains of
arrays are views (``Assign`` of an ``ArrayView``/``TransposeView``/
``ReshapeView``/``BroadcastView`` of an array variable, printed as pointer,
shape and stride arithmetic) and element accesses, so the dependence
analysis, parallelisation, device regions, footprints and ``explain`` treat
NumPy-style code as the loops it means.

Fusion: a whole element-wise expression (nested ``Map``s) becomes one loop
nest computing each element from its operands' elements, written straight
into its destination; no temporary for any sub-expression.  Scalar operands
are evaluated once, before the nest.  Temporaries are kept where NumPy's
semantics need them: an array store whose source may share memory with its
destination (``a[1:] = a[:-1] + 1``) first computes the value into a new
array, unless the two are the very same view or a run-time test finds them
apart; an operand that is a reduction along an axis or a sequence is
computed into its own array first.

Shapes: the extents of a result are computed before its nest; where two
operands' extents meet (broadcasting) a run-time check raises NumPy's
ValueError when they are incompatible, and operands whose extent may be 1
are read through a broadcast view (stride 0).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace

from ..analysis.dependence import array_alias_roots
from ..errors import InternalError, SourceLoc
from ..ir.arrays import (
    VIEWS,
    ArrayReduce,
    ArrayStore,
    ArrayView,
    BroadcastView,
    Concat,
    Cumulative,
    Fresh,
    IndexDim,
    Map,
    ReshapeView,
    Sequence,
    SliceDim,
    ViewDim,
    element_name,
)
from ..ir.nodes import (
    Alloc,
    Assign,
    BinOp,
    Break,
    Call,
    Cast,
    Compare,
    Const,
    Expr,
    ExprStmt,
    For,
    Function,
    If,
    IfExp,
    Intrinsic,
    Load,
    MakeTuple,
    Node,
    Reduction,
    Return,
    Shape,
    Stmt,
    Store,
    UnaryOp,
    Var,
    While,
)
from ..ir.visit import rewrite, walk, walk_all
from ..types import BOOL, INT64, PY_INT, Array, Scalar, Type

Shape_ = tuple[Expr, ...]


def lower_arrays(fn: Function, new_loop_id: Callable[[], int]) -> Function:
    if not any(_is_array_op(n) for n in walk_all(fn.body)):
        return fn
    lw = _Lowerer(fn, new_loop_id)
    body = lw.body(fn.body)
    return replace(fn, body=body, locals=tuple(sorted(lw.types.items())))


def loop_id_source(functions: tuple[Function, ...]) -> Callable[[], int]:
    """New loop ids above every id the program uses (ids are program-wide)."""
    top = max((n.loop_id for f in functions for n in walk_all(f.body) if isinstance(n, For)),
              default=0)
    counter = itertools.count(top + 1)
    return lambda: next(counter)


def _is_array_op(n: Node) -> bool:
    if isinstance(n, (Map, ArrayReduce, ArrayStore, Fresh, Sequence, Concat, Cumulative)):
        return True
    if isinstance(n, VIEWS):
        return True
    if isinstance(n, (Load, Store)) and not isinstance(n.array, Var):
        return True
    return isinstance(n, Expr) and isinstance(n.type, Array) and isinstance(
        n, (BinOp, UnaryOp, Compare, Cast, Intrinsic, IfExp))


class _Lowerer:
    def __init__(self, fn: Function, new_loop_id: Callable[[], int]):
        self.fn = fn
        self.types: dict[str, Type] = dict(fn.locals)
        self.new_loop_id = new_loop_id
        self.counter = 0
        roots = array_alias_roots(fn)
        params = {roots[p.name] for p in fn.params if p.name in roots}
        common = min(params) if params else None
        #: alias class of each array variable (parameters may all alias)
        self.root = {n: (common if r in params else r) for n, r in roots.items()}
        #: the extents of array variables made here, as expressions
        self.extents: dict[str, Shape_] = {}
        #: (expression, variable) computed for the statement being lowered
        self.made: dict[int, tuple[Expr, Var]] = {}

    # ------------------------------------------------------------ names

    def temp(self, t: Type, prefix: str = "a") -> str:
        self.counter += 1
        name = f".{prefix}{self.counter}"
        self.types[name] = t
        return name

    def var(self, name: str, loc: SourceLoc) -> Var:
        return Var(name, self.types[name], loc)

    def shape(self, v: Var) -> Shape_:
        t = v.type
        assert isinstance(t, Array)
        known = self.extents.get(v.name)
        return known if known is not None else tuple(
            Shape(v, d, PY_INT, v.loc) for d in range(t.ndim))

    # ------------------------------------------------------------ statements

    def body(self, stmts: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
        out: list[Stmt] = []
        for s in stmts:
            out += self.stmt(s)
        return tuple(out)

    def stmt(self, s: Stmt) -> list[Stmt]:
        # what one statement computes into variables, by expression node:
        # a sub-expression needed twice (its shape, then its elements) is
        # computed once
        saved, self.made = self.made, {}
        try:
            return self.stmt_lowered(s)
        finally:
            self.made = saved

    def stmt_lowered(self, s: Stmt) -> list[Stmt]:
        pre: list[Stmt] = []
        if isinstance(s, If):
            test = self.scalar(s.test, pre)
            return [*pre, replace(s, test=test, body=self.body(s.body),
                                  orelse=self.body(s.orelse))]
        if isinstance(s, While):
            return self.while_loop(s)
        if isinstance(s, For):
            start, stop, step = (self.scalar(e, pre) for e in (s.start, s.stop, s.step))
            return [*pre, replace(s, start=start, stop=stop, step=step,
                                  body=self.body(s.body))]
        if isinstance(s, Assign):
            return self.assign(s)
        if isinstance(s, ArrayStore):
            return self.array_store(s)
        # (each new statement is built before `pre`, which building it fills, is read)
        if isinstance(s, Store):
            array = self.array_var(s.array, pre)
            idx = tuple(self.scalar(i, pre) for i in s.indices)
            new: Stmt = replace(s, array=array, indices=idx, value=self.scalar(s.value, pre))
            return [*pre, new]
        if isinstance(s, Return) and s.value is not None:
            new = replace(s, value=self.returned(s.value, pre))
            return [*pre, new]
        if isinstance(s, ExprStmt):
            new = replace(s, value=self.scalar(s.value, pre))
            return [*pre, new]
        return [s]

    def while_loop(self, s: While) -> list[Stmt]:
        pre: list[Stmt] = []
        test = self.scalar(s.test, pre)
        body = self.body(s.body)
        if not pre:
            return [replace(s, test=test, body=body)]
        # the test needs statements before each evaluation: while True + break
        leave = If(UnaryOp("not", test, BOOL, s.loc), (Break(s.loc),), (), s.loc)
        return [While(Const(True, BOOL, s.loc), (*pre, leave, *body), s.loc)]

    def assign(self, s: Assign) -> list[Stmt]:
        pre: list[Stmt] = []
        t = self.types[s.target]
        value = s.value
        if not isinstance(t, Array):
            new = replace(s, value=self.scalar(value, pre))
            return [*pre, new]
        value = _strip_layout_cast(value)
        if isinstance(value, Var):
            self.extents.pop(s.target, None)
            return [replace(s, value=value)]
        if isinstance(value, IfExp):  # x = a if c else b binds x to a or b
            test = self.scalar(value.test, pre)
            branch = If(test, tuple(self.assign(replace(s, value=value.body))),
                        tuple(self.assign(replace(s, value=value.orelse))), s.loc)
            self.extents.pop(s.target, None)
            return [*pre, branch]
        if isinstance(value, VIEWS):
            view = self.view(value, pre)
            self.extents.pop(s.target, None)
            self.root[s.target] = self.root_of(view)
            return [*pre, replace(s, value=view)]
        if isinstance(value, Alloc):
            shape = tuple(self.scalar(e, pre) for e in value.shape)
            self.extents.pop(s.target, None)
            self.root[s.target] = s.target
            alloc = replace(value, shape=shape)
            return [*pre, replace(s, value=alloc)]
        # a new array: computed straight into the variable unless it reads it
        reads_target = any(isinstance(n, Var) and n.name == s.target for n in walk(value))
        dest = self.temp(t) if reads_target else s.target
        pre += self.materialize(value, dest, s.loc)
        if dest != s.target:
            pre.append(Assign(s.target, self.var(dest, s.loc), s.loc))
            self.extents.pop(s.target, None)
        self.root[s.target] = dest
        return pre

    def returned(self, value: Expr, pre: list[Stmt]) -> Expr:
        if isinstance(value, MakeTuple):
            items = tuple(self.returned(i, pre) for i in value.items)
            return replace(value, items=items)
        if isinstance(value.type, Array):
            return self.array_var(value, pre)
        return self.scalar(value, pre)

    # ------------------------------------------------------------ expressions

    def scalar(self, e: Expr, pre: list[Stmt]) -> Expr:
        """``e`` (a scalar expression) with its array operations done by
        statements appended to ``pre``: reductions into scalar variables,
        arrays it indexes or passes on into array variables."""
        if isinstance(e, ArrayReduce) and not isinstance(e.type, Array):
            return self.reduce_to_scalar(e, pre)
        if isinstance(e, Load):
            array = self.array_var(e.array, pre)
            return replace(e, array=array, indices=tuple(self.scalar(i, pre) for i in e.indices))
        if isinstance(e, Shape):
            return replace(e, array=self.array_var(e.array, pre))
        if isinstance(e, Call):
            return replace(e, args=tuple(self.array_var(a, pre) if isinstance(a.type, Array)
                                         else self.scalar(a, pre) for a in e.args))
        if isinstance(e, MakeTuple):
            return replace(e, items=tuple(self.array_var(i, pre) if isinstance(i.type, Array)
                                          else self.scalar(i, pre) for i in e.items))
        if isinstance(e.type, Array):
            return self.array_var(e, pre)
        return _map_children(e, lambda c: self.scalar(c, pre))

    def array_var(self, e: Expr, pre: list[Stmt]) -> Var:
        """An array variable holding (or viewing) ``e``."""
        e = _strip_layout_cast(e)
        if isinstance(e, Var):
            return e
        known = self.made.get(id(e))
        if known is not None and known[0] is e:
            return known[1]
        v = self.new_array_var(e, pre)
        self.made[id(e)] = (e, v)
        return v

    def new_array_var(self, e: Expr, pre: list[Stmt]) -> Var:
        t = e.type
        assert isinstance(t, Array)
        if isinstance(e, VIEWS):
            view = self.view(e, pre)
            name = self.temp(view.type, "v")
            pre.append(Assign(name, view, e.loc))
            self.root[name] = self.root_of(view)
            return self.var(name, e.loc)
        if isinstance(e, IfExp):
            name = self.temp(t, "v")
            test = self.scalar(e.test, pre)
            pre.append(If(test, tuple(self.assign(Assign(name, e.body, e.loc))),
                          tuple(self.assign(Assign(name, e.orelse, e.loc))), e.loc))
            self.root[name] = name
            return self.var(name, e.loc)
        name = self.temp(Array(t.dtype, t.ndim, "C"))
        if isinstance(e, Alloc):
            pre += self.assign(Assign(name, e, e.loc))
        elif isinstance(e, (Map, ArrayReduce, Fresh, Sequence, Concat, Cumulative, Cast)):
            pre += self.materialize(e, name, e.loc)
        else:
            raise InternalError(f"no array can be made of {type(e).__name__} here")
        self.root[name] = name
        return self.var(name, e.loc)

    def view(self, e: Expr, pre: list[Stmt]) -> Expr:
        """A view expression whose base is an array variable."""
        assert isinstance(e, VIEWS)
        base = self.array_var(e.base, pre)
        if isinstance(e, ArrayView):
            dims = tuple(self.view_dim(d, pre) for d in e.dims)
            return replace(e, base=base, dims=dims)
        if isinstance(e, (BroadcastView, ReshapeView)):
            return replace(e, base=base, shape=tuple(self.scalar(x, pre) for x in e.shape))
        return replace(e, base=base)

    def view_dim(self, d: ViewDim, pre: list[Stmt]) -> ViewDim:
        if isinstance(d, SliceDim):
            start, stop, step = (None if x is None else self.scalar(x, pre)
                                 for x in (d.start, d.stop, d.step))
            return SliceDim(start, stop, step, d.loc)
        if isinstance(d, IndexDim):
            return replace(d, index=self.scalar(d.index, pre))
        return d

    def root_of(self, view: Expr) -> str:
        base = getattr(view, "base", None)
        assert isinstance(base, Var)
        return self.root.get(base.name) or base.name

    # ------------------------------------------------------------ new arrays

    def materialize(self, e: Expr, dest: str, loc: SourceLoc) -> list[Stmt]:
        """Statements making ``dest`` a new array holding ``e``."""
        pre: list[Stmt] = []
        if isinstance(e, ArrayReduce):
            return self.reduce_to_array(e, dest, loc)
        if isinstance(e, Sequence):
            return self.sequence(e, dest, loc)
        if isinstance(e, Concat):
            return self.concat(e, dest, loc)
        if isinstance(e, Cumulative):
            return self.cumulative(e, dest, loc)
        if isinstance(e, Fresh):
            e = e.value
        t = self.types[dest]
        assert isinstance(t, Array)
        shape = self.shape_of(e, pre, loc)
        pre += self.allocate(dest, shape, loc)
        target = self.var(dest, loc)
        pre.append(self.nest(shape, lambda idx: [
            Store(target, idx, self.element(e, idx, shape, pre, t.dtype), (False,) * len(idx),
                  loc)], loc))
        return pre

    def allocate(self, dest: str, shape: Shape_, loc: SourceLoc) -> list[Stmt]:
        t = self.types[dest]
        assert isinstance(t, Array)
        pre: list[Stmt] = []
        dims = []
        for x in shape:  # extents as variables: the nest bounds and checks reuse them
            if isinstance(x, (Const, Var)):
                dims.append(x)
                continue
            n = self.temp(PY_INT, "n")
            pre.append(Assign(n, _as_int(x), loc))
            dims.append(self.var(n, loc))
        pre.append(Assign(dest, Alloc("empty", tuple(_as_int(d, INT64) for d in dims), None,
                                      Array(t.dtype, t.ndim, "C"), loc), loc))
        self.extents[dest] = tuple(dims)
        shape_out = self.extents[dest]
        assert len(shape_out) == t.ndim
        return pre

    def nest(self, shape: Shape_, body: Callable[[tuple[Expr, ...]], list[Stmt]],
             loc: SourceLoc, prange: bool = False, simd: tuple[Reduction, ...] = ()) -> Stmt:
        """``for i0 in range(n0): for i1 ...: body(i)`` (C order); a 0-d
        shape runs ``body(())`` once.  ``simd``: reductions the innermost
        loop may reassociate (see For.simd)."""
        names = [self.temp(PY_INT, "i") for _ in shape]
        idx = tuple(self.var(n, loc) for n in names)
        stmts: tuple[Stmt, ...] = tuple(body(idx))
        for k in reversed(range(len(shape))):
            inner = simd if k == len(shape) - 1 else ()
            stmts = (For(names[k], Const(0, INT64, loc), _as_int(shape[k], INT64),
                         Const(1, INT64, loc), stmts, prange and k == 0,
                         self.new_loop_id(), None, loc, inner),)
        if len(stmts) == 1:
            return stmts[0]
        return If(Const(True, BOOL, loc), stmts, (), loc)

    # ------------------------------------------------------------ elements

    def element(self, e: Expr, idx: tuple[Expr, ...], shape: Shape_, pre: list[Stmt],
                dtype: Scalar | None = None) -> Expr:
        """The scalar expression of the element ``idx`` of array expression
        ``e`` broadcast to ``shape`` (``pre`` gets what is computed once
        before the nest)."""
        e = _strip_layout_cast(e)
        out: Expr
        if isinstance(e, Map):
            out = self.map_element(e, idx, shape, pre)
        elif isinstance(e, Cast) and isinstance(e.type, Array):
            inner = self.element(e.value, idx, shape, pre)
            out = Cast(inner, e.type.dtype, "", e.loc)
        elif isinstance(e, Fresh):
            out = self.element(e.value, idx, shape, pre)
        else:
            v = self.array_var(e, pre)
            b = self.broadcast(v, shape, pre)
            t = b.type
            assert isinstance(t, Array)
            k = len(idx) - t.ndim
            out = Load(b, idx[k:], t.dtype, (False,) * t.ndim, e.loc)
        if dtype is not None and out.type != dtype:
            out = Cast(out, dtype, "", e.loc)
        return out

    def map_element(self, e: Map, idx: tuple[Expr, ...], shape: Shape_,
                    pre: list[Stmt]) -> Expr:
        subst: dict[str, Expr] = {}
        for k, a in enumerate(e.args):
            if isinstance(a.type, Array):
                subst[element_name(k)] = self.element(a, idx, shape, pre)
            else:  # a scalar operand: evaluated once, before the nest
                subst[element_name(k)] = self.hoist(a, pre)

        def put(n: Node) -> Node:
            if isinstance(n, Var) and n.name in subst:
                return subst[n.name]
            return n

        return rewrite(e.template, put)

    def hoist(self, e: Expr, pre: list[Stmt]) -> Expr:
        e = self.scalar(e, pre)
        if isinstance(e, (Const, Var)):
            return e
        name = self.temp(e.type, "s")
        pre.append(Assign(name, e, e.loc))
        return self.var(name, e.loc)

    def broadcast(self, v: Var, shape: Shape_, pre: list[Stmt]) -> Var:
        """``v`` as read for a result of ``shape``: itself where its extents
        are those of the result, else a broadcast view."""
        vs = self.shape(v)
        if len(vs) == len(shape) and all(_same(a, b) for a, b in zip(vs, shape)):
            return v
        t = v.type
        assert isinstance(t, Array)
        view = BroadcastView(v, shape, Array(t.dtype, len(shape), "A"), v.loc)
        name = self.temp(view.type, "v")
        pre.append(Assign(name, view, v.loc))
        self.root[name] = self.root.get(v.name, v.name)
        return self.var(name, v.loc)

    def shape_of(self, e: Expr, pre: list[Stmt], loc: SourceLoc) -> Shape_:
        """The extents of array expression ``e``, broadcasting checked."""
        e = _strip_layout_cast(e)
        if isinstance(e, Map):
            shapes = [self.shape_of(a, pre, loc) for a in e.args if isinstance(a.type, Array)]
            return self.broadcast_shapes(shapes, pre, loc)
        if isinstance(e, (Fresh,)) or (isinstance(e, Cast) and isinstance(e.type, Array)):
            return self.shape_of(e.value, pre, loc)
        return self.shape(self.array_var(e, pre))

    def broadcast_shapes(self, shapes: list[Shape_], pre: list[Stmt],
                         loc: SourceLoc) -> Shape_:
        ndim = max(len(s) for s in shapes)
        out: list[Expr] = []
        for d in range(ndim):
            extents: list[Expr] = []
            for s in shapes:
                k = d - (ndim - len(s))
                if k >= 0 and not any(_same(s[k], x) for x in extents):
                    extents.append(s[k])
            cur = extents[0]
            for x in extents[1:]:
                n = self.temp(PY_INT, "n")
                pre.append(Assign(n, Intrinsic("host.broadcast", (_as_int(cur), _as_int(x)),
                                               PY_INT, loc), loc))
                cur = self.var(n, loc)
            out.append(cur)
        return tuple(out)

    # ------------------------------------------------------------ stores

    def array_store(self, s: ArrayStore) -> list[Stmt]:
        pre: list[Stmt] = []
        target = self.array_var(s.target, pre)
        tt = target.type
        assert isinstance(tt, Array)
        shape = self.shape(target)
        value = _strip_layout_cast(s.value)
        if not isinstance(value.type, Array):
            v = self.hoist(value, pre)
            pre.append(self.nest(shape, lambda idx: [
                Store(target, idx, _cast_to(v, tt.dtype), (False,) * len(idx), s.loc)], s.loc))
            return pre
        vshape = self.shape_of(value, pre, s.loc)
        pre += self.check_store_shape(vshape, shape, s.loc)
        overlapping = [v for v in self.leaves(value)
                       if v.name != target.name and self.may_alias(v.name, target.name)]
        direct = self.copy_nest(target, value, shape, s.loc)
        if not overlapping:
            return [*pre, *direct]
        # NumPy computes the value before storing any of it: through a
        # temporary when the memory is shared at run time
        vt = value.type
        assert isinstance(vt, Array)
        tmp = self.temp(Array(vt.dtype, vt.ndim, "C"))
        staged = self.materialize(value, tmp, s.loc)
        staged += self.copy_nest(target, self.var(tmp, s.loc), shape, s.loc)
        apart: Expr = Const(True, BOOL, s.loc)
        for v in overlapping:
            test = UnaryOp("not", Intrinsic("views_overlap", (target, v), BOOL, s.loc), BOOL,
                           s.loc)
            apart = BinOp("&", apart, test, BOOL, False, s.loc)
        return [*pre, If(apart, tuple(direct), tuple(staged), s.loc)]

    def copy_nest(self, target: Var, value: Expr, shape: Shape_, loc: SourceLoc) -> list[Stmt]:
        tt = target.type
        assert isinstance(tt, Array)
        pre: list[Stmt] = []
        nest = self.nest(shape, lambda idx: [
            Store(target, idx, self.element(value, idx, shape, pre, tt.dtype),
                  (False,) * len(idx), loc)], loc)
        return [*pre, nest]

    def check_store_shape(self, vshape: Shape_, shape: Shape_,
                          loc: SourceLoc) -> list[Stmt]:
        """NumPy's ValueError when a value cannot broadcast into the target."""
        out: list[Stmt] = []
        for d, x in enumerate(vshape):
            y = shape[d + len(shape) - len(vshape)]
            if _same(x, y):
                continue
            out.append(ExprStmt(Intrinsic("host.broadcast_into", (_as_int(x), _as_int(y)),
                                          PY_INT, loc), loc))
        return out

    def leaves(self, e: Expr) -> Iterator[Var]:
        """The array variables an expression reads (views by their base)."""
        for n in walk(e):
            if isinstance(n, Var) and isinstance(n.type, Array):
                yield n

    def may_alias(self, a: str, b: str) -> bool:
        return self.root.get(a, a) == self.root.get(b, b)

    # ------------------------------------------------------------ reductions

    def reduce_to_scalar(self, e: ArrayReduce, pre: list[Stmt]) -> Expr:
        from .reductions import scalar_reduction

        return scalar_reduction(self, e, pre)

    def reduce_to_array(self, e: ArrayReduce, dest: str, loc: SourceLoc) -> list[Stmt]:
        from .reductions import axis_reduction

        return axis_reduction(self, e, dest, loc)

    def sequence(self, e: Sequence, dest: str, loc: SourceLoc) -> list[Stmt]:
        from .reductions import sequence

        return sequence(self, e, dest, loc)

    def concat(self, e: Concat, dest: str, loc: SourceLoc) -> list[Stmt]:
        from .reductions import concat

        return concat(self, e, dest, loc)

    def cumulative(self, e: Cumulative, dest: str, loc: SourceLoc) -> list[Stmt]:
        from .reductions import cumulative

        return cumulative(self, e, dest, loc)


# ---------------------------------------------------------------- helpers


def _map_children(e: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """``e`` with ``fn`` applied to each direct child expression."""
    import dataclasses

    changes: dict[str, object] = {}
    for f in dataclasses.fields(e):  # type: ignore[arg-type]
        v = getattr(e, f.name)
        if isinstance(v, Expr):
            new = fn(v)
            if new is not v:
                changes[f.name] = new
        elif isinstance(v, tuple) and any(isinstance(x, Expr) for x in v):
            items = tuple(fn(x) if isinstance(x, Expr) else x for x in v)
            if any(a is not b for a, b in zip(items, v)):
                changes[f.name] = items
    return dataclasses.replace(e, **changes) if changes else e  # type: ignore[type-var]


def _strip_layout_cast(e: Expr) -> Expr:
    """A conversion between array types of one dtype (C to any layout) is
    the array itself."""
    while isinstance(e, Cast) and isinstance(e.type, Array) and isinstance(e.value.type, Array) \
            and e.type.dtype == e.value.type.dtype:
        e = e.value
    return e


def _as_int(e: Expr, t: Scalar = PY_INT) -> Expr:
    if e.type == t:
        return e
    if isinstance(e, Const):
        return Const(int(e.value), t, e.loc)
    return Cast(e, t, "", e.loc)


def _cast_to(e: Expr, t: Scalar) -> Expr:
    return e if e.type == t else Cast(e, t, "", e.loc)


def _same(a: Expr, b: Expr) -> bool:
    """Extents that are surely equal: the same expression."""
    if isinstance(a, Const) and isinstance(b, Const):
        return int(a.value) == int(b.value)
    return a == b

