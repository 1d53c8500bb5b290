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
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from ..analysis.dependence import array_alias_roots
from ..analysis.scalars import iter_stmts
from ..errors import InternalError, SourceLoc
from ..ir.arrays import (
    VIEWS,
    ArrayReduce,
    ArrayStore,
    ArrayView,
    BroadcastView,
    Compress,
    Concat,
    Cumulative,
    Fresh,
    Gather,
    IndexDim,
    LibraryCall,
    Map,
    MatMul,
    ReshapeView,
    Scatter,
    Sequence,
    SliceDim,
    TransposeView,
    ViewDim,
    element_name,
)
from ..ir.nodes import (
    Alloc,
    Assign,
    BinOp,
    BoolOp,
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
    Static,
    Stmt,
    Store,
    UnaryOp,
    Var,
    While,
)
from ..ir.visit import rewrite, walk, walk_all
from ..types import BOOL, INT64, PY_BOOL, PY_INT, Array, Scalar, Type
from .fusion import lower_run, run_length
from .windows import Window, apply_view

Shape_ = tuple[Expr, ...]

#: multiply-adds from which a matrix product calls NumPy's (its BLAS): below,
#: the call's fixed cost (wrapping three arrays) outweighs the generated nest
MATMUL_LIBRARY_WORK = 32 * 32 * 32


@dataclass
class ArrayPlan:
    """What one statement's array operations became (explain reads it)."""

    loc: SourceLoc
    #: (outermost loop id, role) of each loop nest: "nest" computes the
    #: statement, "broadcast" is its version for operands of extent 1,
    #: "overlap" the copy through a temporary when memory is shared,
    #: "operand" computes an operand into its own array first
    nests: list[tuple[int, str]] = field(default_factory=list)
    #: every loop id the statement made (nested loops included)
    loops: set[int] = field(default_factory=set)
    #: why each temporary array is kept
    temporaries: list[str] = field(default_factory=list)
    #: the lines of the statements fused into one nest with this one
    fused_lines: list[int] = field(default_factory=list)
    #: arrays of those statements that became scalars (never allocated)
    scalars: list[str] = field(default_factory=list)
    #: library calls made instead of a nest where they pay (and when)
    library: list[str] = field(default_factory=list)
    #: anything else explain should say about the statement
    notes: list[str] = field(default_factory=list)


def lower_arrays(fn: Function, new_loop_id: Callable[[], int], boundscheck: bool = False,
                 plans: list[ArrayPlan] | None = None) -> Function:
    if not any(_is_array_op(n) for n in walk_all(fn.body)):
        return fn
    # views assigned to variables are forwarded (no variable, their uses
    # index the base) unless some use needs the variable itself; checked
    # bounds are those of the view, so then every view keeps its variable
    forward = set() if boundscheck else _forwarding_candidates(fn)
    while True:
        lw = _Lowerer(fn, new_loop_id, forward)
        body = lw.body(fn.body)
        needed = {n.name for n in walk_all(body) if isinstance(n, Var) and n.name in forward}
        if not needed:
            if plans is not None:
                plans += [p for p in lw.plans if p.nests or p.temporaries or p.library]
            return replace(fn, body=body, locals=tuple(sorted(lw.types.items())))
        forward -= needed


def _forwarding_candidates(fn: Function) -> set[str]:
    """Variables assigned a view exactly once, of a base never reassigned:
    their uses read the base through the window computed at the assignment,
    whose scalars are frozen in temporaries there, so they mean what the
    variable meant wherever they are."""
    counts: dict[str, int] = {p.name: 1 for p in fn.params}
    views: dict[str, Expr] = {}
    for st in iter_stmts(fn.body):
        if isinstance(st, Assign):
            counts[st.target] = counts.get(st.target, 0) + 1
            value = _strip_layout_cast(st.value)
            if isinstance(value, (ArrayView, TransposeView)):
                views[st.target] = value
    out = set()
    for name, value in views.items():
        root = value
        while isinstance(root, (ArrayView, TransposeView)):
            root = _strip_layout_cast(root.base)
        if counts.get(name) == 1 and isinstance(root, Var) and counts.get(root.name, 0) <= 1:
            out.add(name)
    return out


def loop_id_source(functions: tuple[Function, ...]) -> Callable[[], int]:
    """New loop ids above every id the program uses (ids are program-wide)."""
    top = max((n.loop_id for f in functions for n in walk_all(f.body) if isinstance(n, For)),
              default=0)
    counter = itertools.count(top + 1)
    return lambda: next(counter)


def _is_array_op(n: Node) -> bool:
    if isinstance(n, (Map, ArrayReduce, ArrayStore, Fresh, Sequence, Concat, Cumulative,
                      Compress, Gather, Scatter, LibraryCall)):
        return True
    if isinstance(n, VIEWS):
        return True
    if isinstance(n, (Load, Store, Shape)) and not isinstance(n.array, Var):
        return True
    if isinstance(n, Alloc):  # (one not assigned to a variable needs one)
        return True
    return isinstance(n, Expr) and isinstance(n.type, Array) and isinstance(
        n, (BinOp, UnaryOp, Compare, Cast, Intrinsic, IfExp))


class _Lowerer:
    def __init__(self, fn: Function, new_loop_id: Callable[[], int],
                 forward: set[str] | None = None):
        self.fn = fn
        #: view variables to forward, and their windows once assigned
        self.forward = forward or set()
        self.forwarded: dict[str, Window] = {}
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
        #: (expression, what it was made into) for the statement being
        #: lowered: array variables, windows, hoisted scalars
        self.made: dict[int, tuple[Expr, object]] = {}
        #: extents assumed equal by the nest being built (its fast version,
        #: see nest); None while building the general version
        self.assumed: list[tuple[Expr, Expr]] | None = None
        #: the windows the nest being built reads (see array_store)
        self.reads: list[Window] | None = None
        #: the parameters; how often each variable is read in the function
        self.param_names = {p.name for p in fn.params}
        self.var_uses = Counter(n.name for n in walk_all(fn.body) if isinstance(n, Var))
        #: the element of each array a fused run made, in the body being built
        self.run_values: dict[str, Var] = {}
        #: one plan per statement; the role of the nests being built and
        #: why a temporary allocated now is needed
        self.plans: list[ArrayPlan] = []
        self.plan = ArrayPlan(fn.loc)
        self.role = "nest"
        self.temp_why = ""
        self.nest_depth = 0
        #: loops around the statement being lowered (a library call, which
        #: needs the GIL, is made only outside them)
        self.loop_depth = 0

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
        k = 0
        while k < len(stmts):
            n = run_length(self, stmts, k)
            fused = self.run(stmts[k:k + n]) if n else []
            if fused:
                out += fused
                k += n
            else:
                out += self.stmt(stmts[k])
                k += 1
        return tuple(out)

    def run(self, stmts: tuple[Stmt, ...]) -> list[Stmt]:
        """Consecutive element-wise statements as one nest (fusion.py); []
        when they cannot be (their shapes have different ranks)."""
        saved, self.made = self.made, {}
        saved_plan, self.plan = self.plan, ArrayPlan(stmts[0].loc)
        try:
            out = lower_run(self, stmts)
            if out:
                self.plans.append(self.plan)
            return out
        finally:
            self.made = saved
            self.plan = saved_plan

    def stmt(self, s: Stmt, keep_plan: bool = False) -> list[Stmt]:
        # what one statement computes into variables, by expression node:
        # a sub-expression needed twice (its shape, then its elements) is
        # computed once
        saved, self.made = self.made, {}
        saved_plan = self.plan
        if not keep_plan:
            self.plan = ArrayPlan(s.loc)
            self.plans.append(self.plan)
        try:
            return self.stmt_lowered(s)
        finally:
            self.made = saved
            self.plan = saved_plan

    def needed_after(self, name: str, run: tuple[Stmt, ...]) -> bool:
        """Whether the array ``name`` made by a run is read outside it."""
        inside = sum(1 for n in walk_all(run) if isinstance(n, Var) and n.name == name)
        return self.var_uses[name] > inside

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
            self.loop_depth += 1
            try:
                body = self.body(s.body)
            finally:
                self.loop_depth -= 1
            return [*pre, replace(s, start=start, stop=stop, step=step, body=body)]
        if isinstance(s, Assign):
            return self.assign(s)
        if isinstance(s, ArrayStore):
            return self.array_store(s)
        # (each new statement is built before `pre`, which building it fills, is read)
        if isinstance(s, Store):
            idx = tuple(self.scalar(i, pre) for i in s.indices)
            fw = self.forwarded.get(s.array.name) if isinstance(s.array, Var) else None
            if fw is not None:
                base_idx, wraps = self.through_window(fw, idx, s.wrap)
                new: Stmt = Store(fw.base, base_idx, self.scalar(s.value, pre), wraps, s.loc)
                return [*pre, new]
            array = self.array_var(s.array, pre)
            new = replace(s, array=array, indices=idx, value=self.scalar(s.value, pre))
            return [*pre, new]
        if isinstance(s, Return) and s.value is not None:
            new = replace(s, value=self.returned(s.value, pre))
            return [*pre, new]
        if isinstance(s, ExprStmt):
            new = replace(s, value=self.scalar(s.value, pre))
            return [*pre, new]
        if isinstance(s, LibraryCall):
            return self.library_call(s)
        if isinstance(s, Scatter):
            return self.scatter(s)
        return [s]

    def library_call(self, s: LibraryCall) -> list[Stmt]:
        """A NumPy call: its array operands become array variables (a view
        one of its own, with a NumPy object), its scalars plain values; each
        target is a new array."""
        pre: list[Stmt] = []

        def operand(e: Expr) -> Expr:
            if isinstance(e.type, Array):
                return self.array_var(e, pre)
            if isinstance(e, MakeTuple):
                return replace(e, items=tuple(operand(i) for i in e.items))
            return e if isinstance(e, Static) else self.scalar(e, pre)

        new = replace(s, args=tuple(operand(a) for a in s.args),
                      option_values=tuple(operand(v) for v in s.option_values))
        for t in s.targets:  # (their alias class is the operands': array_alias_roots)
            self.extents.pop(t, None)
        self.plan.library.append(f"NumPy's {s.shown_name} (called by the host code: it needs "
                                 "the interpreter, so a loop around it stays serial)")
        return [*pre, new]

    def while_loop(self, s: While) -> list[Stmt]:
        pre: list[Stmt] = []
        test = self.scalar(s.test, pre)
        self.loop_depth += 1
        try:
            body = self.body(s.body)
        finally:
            self.loop_depth -= 1
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
        if s.target in self.forward and isinstance(value, (ArrayView, TransposeView)):
            # the window is computed here, its scalars frozen in temporaries
            self.forwarded[s.target] = self.window(value, pre, freeze=True)
            return pre
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
        why, self.temp_why = self.temp_why, "-"  # (then the new array is made under a new name)
        try:
            pre += self.materialize(value, dest, s.loc)
        finally:
            self.temp_why = why
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
            idx = tuple(self.scalar(i, pre) for i in e.indices)
            fw = self.forwarded.get(e.array.name) if isinstance(e.array, Var) else None
            if fw is not None:
                base_idx, wraps = self.through_window(fw, idx, e.wrap)
                return replace(e, array=fw.base, indices=base_idx, wrap=wraps)
            return replace(e, array=self.array_var(e.array, pre), indices=idx)
        if isinstance(e, Shape):
            fw = self.forwarded.get(e.array.name) if isinstance(e.array, Var) else None
            if fw is not None:
                return _as_int(fw.shape[e.dim], e.type)  # type: ignore[arg-type]
            if isinstance(e.array, (ArrayView, TransposeView)):
                # the extent of a view is index arithmetic: no view variable
                # (nor its Python object) is made for it
                w = self.window(e.array, pre)
                return _as_int(self.hoist(w.shape[e.dim], pre), e.type)
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
        if known is not None and known[0] is e and isinstance(known[1], Var):
            return known[1]
        v = self.new_array_var(e, pre)
        self.made[id(e)] = (e, v)
        return v

    def window(self, e: Expr, pre: list[Stmt], freeze: bool = False) -> Window:
        """``e`` as index arithmetic on an array variable (windows.py):
        slices, integer indices, new axes and transposes of a variable are
        composed; anything else is first made into a variable."""
        e = _strip_layout_cast(e)
        if isinstance(e, Var):
            fw = self.forwarded.get(e.name)
            return fw if fw is not None else Window.whole(e, self.shape(e))
        known = self.made.get(id(e))
        if known is not None and known[0] is e and isinstance(known[1], Window):
            return known[1]
        if isinstance(e, ArrayView):
            inner = self.window(e.base, pre, freeze)
            view = replace(e, dims=tuple(self.view_dim(d, pre) for d in e.dims))
            hoist = (lambda x: self.frozen(x, pre)) if freeze else (lambda x: self.hoist(x, pre))
            w = apply_view(inner, view, hoist, pre)
        elif isinstance(e, TransposeView):
            w = self.window(e.base, pre, freeze).transposed(e.perm)
        else:
            v = self.array_var(e, pre)
            w = Window.whole(v, self.shape(v))
        self.made[id(e)] = (e, w)
        return w

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
        elif isinstance(e, (Map, ArrayReduce, MatMul, Compress, Fresh, Sequence, Concat,
                            Cumulative, Cast, Gather)):
            role, why, self.role = self.role, self.temp_why, "operand"
            self.temp_why = f"{_described(e)} computed into an array of its own first"
            try:
                pre += self.materialize(e, name, e.loc)
            finally:
                self.role, self.temp_why = role, why
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
        if isinstance(e, MatMul):
            return self.matmul(e, dest, loc)
        if isinstance(e, Compress):
            return self.compress(e, dest, loc)
        if isinstance(e, Gather):
            return self.gather(e, dest, loc)
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

    def matmul(self, e: MatMul, dest: str, loc: SourceLoc) -> list[Stmt]:
        """``a @ b`` into ``dest``: NumPy's own matrix product (its BLAS) when
        the product has at least MATMUL_LIBRARY_WORK multiply-adds, the nest
        otherwise.  Inside a loop, and in a helper (which a parallel loop may
        call), always the nest: the library call needs the GIL, which the
        threads of a parallel loop do not hold."""
        if self.loop_depth or self.fn.symbol != "hj_entry":
            return self.materialize(e.nest, dest, loc)
        pre: list[Stmt] = []
        wa, wb = self.window(e.a, pre), self.window(e.b, pre)
        n, k = (self.hoist(_as_int(x), pre) for x in wa.shape)
        kb, m = (self.hoist(_as_int(x), pre) for x in wb.shape)
        pre.append(ExprStmt(Intrinsic("host.core_match", (k, kb, Const(0, INT64, loc)), PY_INT,
                                      loc), loc))
        library = self.allocate(dest, (n, m), loc)
        call = Intrinsic("matmul_into", (*_window_args(wa), *_window_args(wb),
                                         self.var(dest, loc)), PY_INT, loc)
        library.append(ExprStmt(call, loc))
        nest = self.materialize(e.nest, dest, loc)
        self.extents[dest] = (n, m)  # (either branch made it so)
        nm = BinOp("*", _as_int(n), _as_int(m), PY_INT, False, loc)
        work = BinOp("*", nm, _as_int(k), PY_INT, False, loc)
        pays = Compare(">=", work, Const(MATMUL_LIBRARY_WORK, PY_INT, loc), PY_BOOL, loc)
        # a device that runs the nest runs it as a tiled kernel (transform/tiling.py):
        # better there than BLAS on the host
        outer = next(s for s in walk_all(nest) if isinstance(s, For))
        device = Intrinsic("host.device_takes", (Const(outer.loop_id, INT64, loc), nm),
                           PY_BOOL, loc)
        library_pays = BoolOp("and", (pays, UnaryOp("not", device, PY_BOOL, loc)), PY_BOOL, loc)
        self.plan.library.append(
            f"NumPy's matrix product (its BLAS) when n*k*m >= {MATMUL_LIBRARY_WORK} and no "
            "device runs this loop nest, this loop nest otherwise")
        return [*pre, If(library_pays, tuple(library), tuple(nest), loc)]

    def compress(self, e: Compress, dest: str, loc: SourceLoc) -> list[Stmt]:
        """``value[mask]`` into ``dest``: one nest counts the elements where
        the mask holds (a sum, parallel when long), the array is allocated,
        a second nest stores them in C order (serial: each store's position
        is the count before it)."""
        pre: list[Stmt] = []
        shape = self.shape_of(e.value, pre, loc)
        count, at = self.temp(PY_INT, "c"), self.temp(PY_INT, "k")
        c, k = self.var(count, loc), self.var(at, loc)
        pre.append(Assign(count, Const(0, PY_INT, loc), loc))

        def counted(idx: tuple[Expr, ...]) -> list[Stmt]:
            m = self.element(e.mask, idx, shape, pre, BOOL)
            return [Assign(count, BinOp("+", c, Cast(m, PY_INT, "", loc), PY_INT, False, loc),
                           loc)]

        pre.append(self.nest(shape, counted, loc))
        pre += self.allocate(dest, (c,), loc)
        target = self.var(dest, loc)
        t = self.types[dest]
        assert isinstance(t, Array)
        pre.append(Assign(at, Const(0, PY_INT, loc), loc))

        def stored(idx: tuple[Expr, ...]) -> list[Stmt]:
            m = self.element(e.mask, idx, shape, pre, BOOL)
            v = self.element(e.value, idx, shape, pre, t.dtype)
            return [If(m, (Store(target, (_as_int(k, INT64),), v, (False,), loc),
                           Assign(at, BinOp("+", k, Const(1, PY_INT, loc), PY_INT, False, loc),
                                  loc)), (), loc)]

        pre.append(self.nest(shape, stored, loc))
        return pre

    def gather(self, e: Gather, dest: str, loc: SourceLoc) -> list[Stmt]:
        """``value[index]`` into ``dest``: one nest over the result, each
        element read from the row its index names (checked, wrapped)."""
        pre: list[Stmt] = []
        ishape = self.shape_of(e.index, pre, loc)
        w = self.window(e.value, pre)
        shape = (*ishape, *w.shape[1:])
        pre += self.allocate(dest, shape, loc)
        target = self.var(dest, loc)
        t = self.types[dest]
        assert isinstance(t, Array)
        k = len(ishape)

        def body(idx: tuple[Expr, ...]) -> list[Stmt]:
            row = self.fancy_index(e.index, idx[:k], ishape, w.shape[0], pre, loc)
            v = Load(w.base, w.at((row, *idx[k:])), t.dtype, w.wraps, loc)
            return [Store(target, idx, v, (False,) * len(idx), loc)]

        pre.append(self.nest(shape, body, loc))
        return pre

    def fancy_index(self, index: Expr, idx: tuple[Expr, ...], ishape: Shape_, extent: Expr,
                    pre: list[Stmt], loc: SourceLoc) -> Expr:
        """Element ``idx`` of an index array as a row of an array of
        ``extent`` rows: wrapped when negative, NumPy's IndexError when out
        of range."""
        raw = self.element(index, idx, ishape, pre, INT64)
        return Intrinsic("host.fancy_index", (_as_int(raw, INT64), _as_int(extent, INT64)),
                         INT64, loc)

    def scatter(self, s: Scatter) -> list[Stmt]:
        """``target[index] = value``: the value, and an index sharing memory
        with the target, are computed into arrays of their own first; one
        nest checks every index (nothing is stored when one is out of
        range, as in NumPy), then a nest stores in index order.  The store's
        subscript is data, so the dependence analysis keeps that nest
        serial (indices may repeat)."""
        pre: list[Stmt] = []
        target = self.window(s.target, pre)
        tt = target.base.type
        assert isinstance(tt, Array)
        index = s.index
        if any(self.may_alias(v.name, target.base.name) for v in self.leaves(index)):
            index = self.array_var(Fresh(index, Array(_dtype_of(index), _ndim_of(index), "C"),
                                         s.loc), pre)
        ishape = self.shape_of(index, pre, s.loc)
        shape = (*ishape, *target.shape[1:])
        value = _strip_layout_cast(s.value)
        if isinstance(value.type, Array):
            if any(self.may_alias(v.name, target.base.name) for v in self.leaves(value)) \
                    or not isinstance(value, (Var, *VIEWS)):
                why, self.temp_why = self.temp_why, \
                    "the value of a store through an index array, computed first"
                try:
                    value = self.array_var(Fresh(value, Array(_dtype_of(value),
                                                              _ndim_of(value), "C"), s.loc), pre)
                finally:
                    self.temp_why = why
            pre += self.check_store_shape(self.shape_of(value, pre, s.loc), shape, s.loc)
        else:
            value = self.hoist(value, pre)
        k = len(ishape)
        pre.append(self.nest(ishape, lambda idx: [ExprStmt(self.fancy_index(
            index, idx, ishape, target.shape[0], pre, s.loc), s.loc)], s.loc))

        def body(idx: tuple[Expr, ...]) -> list[Stmt]:
            # (every index was checked by the nest before: only wrapped here)
            raw = _as_int(self.element(index, idx[:k], ishape, pre, INT64), INT64)
            negative = Compare("<", raw, Const(0, INT64, s.loc), BOOL, s.loc)
            row = IfExp(negative, BinOp("+", raw, _as_int(target.shape[0], INT64), INT64, False,
                                        s.loc), raw, INT64, s.loc)
            v = self.element(value, idx, shape, pre, tt.dtype) \
                if isinstance(value.type, Array) else _cast_to(value, tt.dtype)
            return [Store(target.base, target.at((row, *idx[k:])), v, target.wraps, s.loc)]

        pre.append(self.nest(shape, body, s.loc))
        self.plan.notes.append("the stores through the index array run serially, in index "
                               "order: indices may repeat, and the last store wins, as in NumPy")
        return pre

    def allocate(self, dest: str, shape: Shape_, loc: SourceLoc) -> list[Stmt]:
        t = self.types[dest]
        assert isinstance(t, Array)
        if dest.startswith(".") and self.temp_why != "-":  # not the user's own new array
            self.plan.temporaries.append(self.temp_why or "an intermediate array")
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
        loop may reassociate (see For.simd).

        Operands whose extents are not known to equal the result's (they
        were checked to broadcast) make two versions: one indexing them as
        if equal, run when they are (the common case: plain affine
        subscripts), and one reading an extent of 1 at index 0."""
        saved, self.assumed = self.assumed, []
        try:
            fast = self.one_nest(shape, body, loc, prange, simd)
            assumed, self.assumed = self.assumed, None
            if not assumed:
                return fast
            role, self.role = self.role, "broadcast"
            try:
                general = self.one_nest(shape, body, loc, prange, simd)
            finally:
                self.role = role
        finally:
            self.assumed = saved
        equal: Expr = Const(True, BOOL, loc)
        seen: list[tuple[Expr, Expr]] = []
        for x, y in assumed:
            if (x, y) in seen:
                continue
            seen.append((x, y))
            test = Compare("==", _as_int(x), _as_int(y), BOOL, loc)
            equal = test if len(seen) == 1 else BinOp("&", equal, test, BOOL, False, loc)
        return If(equal, (fast,), (general,), loc)

    def one_nest(self, shape: Shape_, body: Callable[[tuple[Expr, ...]], list[Stmt]],
                 loc: SourceLoc, prange: bool, simd: tuple[Reduction, ...]) -> Stmt:
        names = [self.temp(PY_INT, "i") for _ in shape]
        idx = tuple(self.var(n, loc) for n in names)
        self.nest_depth += 1
        try:
            stmts: tuple[Stmt, ...] = tuple(body(idx))
        finally:
            self.nest_depth -= 1
        for k in reversed(range(len(shape))):
            inner = simd if k == len(shape) - 1 else ()
            loop_id = self.new_loop_id()
            self.plan.loops.add(loop_id)
            stmts = (For(names[k], Const(0, INT64, loc), _as_int(_loop_bound(shape[k]), INT64),
                         Const(1, INT64, loc), stmts, prange and k == 0,
                         loop_id, None, loc, inner),)
            if k == 0 and not self.nest_depth:  # (not one inside another's body)
                self.plan.nests.append((loop_id, self.role))
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
        if isinstance(e, Var) and e.name in self.run_values:
            out = self.run_values[e.name]  # made by an earlier statement of a fused run
        elif isinstance(e, Map):
            out = self.map_element(e, idx, shape, pre)
        elif isinstance(e, Cast) and isinstance(e.type, Array):
            inner = self.element(e.value, idx, shape, pre)
            out = Cast(inner, e.type.dtype, "", e.loc)
        elif isinstance(e, Fresh):
            out = self.element(e.value, idx, shape, pre)
        else:
            w = self.window(e, pre)
            if self.reads is not None:
                self.reads.append(w)
            et = w.base.type
            assert isinstance(et, Array)
            out = Load(w.base, w.at(self.broadcast_index(w.shape, idx, shape)), et.dtype,
                       w.wraps, e.loc)
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

    def hoisted(self, e: Expr, pre: list[Stmt]) -> Expr:
        e = self.scalar(e, pre)
        if _cheap(e):  # (an index such as i or i + 1 stays affine where it is used)
            return e
        name = self.temp(e.type, "s")
        pre.append(Assign(name, e, e.loc))
        return self.var(name, e.loc)

    def hoist(self, e: Expr, pre: list[Stmt]) -> Expr:
        known = self.made.get(id(e))
        if known is not None and known[0] is e and isinstance(known[1], Expr):
            return known[1]
        v = self.hoisted(e, pre)
        self.made[id(e)] = (e, v)
        return v

    def frozen(self, e: Expr, pre: list[Stmt]) -> Expr:
        """``e`` in a new temporary (a constant stays): its value now."""
        e = self.scalar(e, pre)
        if isinstance(e, Const):
            return e
        name = self.temp(e.type, "s")
        pre.append(Assign(name, e, e.loc))
        return self.var(name, e.loc)

    def through_window(self, w: Window, idx: tuple[Expr, ...],
                       wrap: tuple[bool, ...]) -> tuple[tuple[Expr, ...], tuple[bool, ...]]:
        """Indices (and wrap flags) into a forwarded view as indices into its
        base: a negative index is counted from the end of the view."""
        view_idx: list[Expr] = []
        passed: set[int] = set()
        for d, (i, wr) in enumerate(zip(idx, wrap)):
            if wr and w.is_identity(d):
                passed.add(d)  # the base's extent is the view's: its wrap flag
                view_idx.append(i)
            elif wr:
                n = _as_int(w.shape[d])
                neg = Compare("<", i, Const(0, PY_INT, i.loc), BOOL, i.loc)
                view_idx.append(IfExp(neg, BinOp("+", i, n, PY_INT, False, i.loc), i, PY_INT,
                                      i.loc))
            else:
                view_idx.append(i)
        wraps = tuple(bd.wrap or (bd.view is not None and bd.view in passed) for bd in w.dims)
        return w.at(tuple(view_idx)), wraps

    def broadcast_index(self, own: Shape_, idx: tuple[Expr, ...],
                        shape: Shape_) -> tuple[Expr, ...]:
        """The index into an operand of extents ``own`` of the element ``idx``
        of a result of ``shape`` (NumPy's broadcasting: an extent of 1 is
        read at 0).  Where the extents are not known to be equal, the fast
        version of the nest assumes they are (see nest); the general one
        tests for an extent of 1."""
        k = len(idx) - len(own)
        out: list[Expr] = []
        for x, y, j in zip(own, shape[k:], idx[k:]):
            if _same(x, y):
                out.append(j)
            elif isinstance(x, Const) and int(x.value) == 1:
                out.append(Const(0, PY_INT, j.loc))
            elif self.assumed is not None:
                self.assumed.append((x, y))
                out.append(j)
            else:
                one = Compare("==", _as_int(x), Const(1, PY_INT, j.loc), BOOL, j.loc)
                out.append(IfExp(one, Const(0, PY_INT, j.loc), j, PY_INT, j.loc))
        return tuple(out)

    def shape_of(self, e: Expr, pre: list[Stmt], loc: SourceLoc) -> Shape_:
        """The extents of array expression ``e``, broadcasting checked."""
        e = _strip_layout_cast(e)
        if isinstance(e, Map):
            shapes = [self.shape_of(a, pre, loc) for a in e.args if isinstance(a.type, Array)]
            return self.broadcast_shapes(shapes, pre, loc)
        if isinstance(e, (Fresh,)) or (isinstance(e, Cast) and isinstance(e.type, Array)):
            return self.shape_of(e.value, pre, loc)
        return self.window(e, pre).shape

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
        target = self.window(s.target, pre)
        tt = target.base.type
        assert isinstance(tt, Array)
        shape = target.shape
        value = _strip_layout_cast(s.value)
        if not isinstance(value.type, Array):
            v = self.hoist(value, pre)
            pre.append(self.nest(shape, lambda idx: [
                Store(target.base, target.at(idx), _cast_to(v, tt.dtype), target.wraps,
                      s.loc)], s.loc))
            return pre
        vshape = self.shape_of(value, pre, s.loc)
        pre += self.check_store_shape(vshape, shape, s.loc)
        saved, self.reads = self.reads, []
        try:
            direct = [self.copy_nest(target, value, shape, s.loc, pre)]
            reads = self.reads
        finally:
            self.reads = saved
        overlapping: list[Window] = []
        for w in reads:
            # the very same window is read element by element where it is
            # written: no temporary needed
            if w != target and w not in overlapping and self.may_alias(w.base.name,
                                                                       target.base.name):
                overlapping.append(w)
        if not overlapping:
            return [*pre, *direct]
        # NumPy computes the value before storing any of it: through a
        # temporary when the memory is shared at run time
        vt = value.type
        assert isinstance(vt, Array)
        tmp = self.temp(Array(vt.dtype, vt.ndim, "C"))
        names = ", ".join(sorted({f"'{w.base.name}'" for w in overlapping}))
        role, why, self.role = self.role, self.temp_why, "overlap"
        self.temp_why = (f"a copy of the value, made only when the destination shares memory "
                         f"with {names} at run time (NumPy computes the whole value before "
                         "storing any of it)")
        try:
            staged = self.materialize(value, tmp, s.loc)
            staged.append(self.copy_nest(target, self.var(tmp, s.loc), shape, s.loc, staged))
        finally:
            self.role, self.temp_why = role, why
        apart: Expr = Const(True, BOOL, s.loc)
        for w in overlapping:
            test = UnaryOp("not", _overlap_test(target, w, s.loc), BOOL, s.loc)
            apart = test if apart == Const(True, BOOL) else BinOp("&", apart, test, BOOL, False,
                                                                   s.loc)
        return [*pre, If(apart, tuple(direct), tuple(staged), s.loc)]

    def copy_nest(self, target: Window, value: Expr, shape: Shape_, loc: SourceLoc,
                  pre: list[Stmt]) -> Stmt:
        """The nest storing ``value`` into ``target``; what it evaluates
        once goes to ``pre``, the statement's (so another version of the
        statement built later finds it computed, whichever branch runs)."""
        tt = target.base.type
        assert isinstance(tt, Array)
        return self.nest(shape, lambda idx: [
            Store(target.base, target.at(idx), self.element(value, idx, shape, pre, tt.dtype),
                  target.wraps, loc)], loc)

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


def _dtype_of(e: Expr) -> Scalar:
    t = e.type
    assert isinstance(t, Array)
    return t.dtype


def _ndim_of(e: Expr) -> int:
    t = e.type
    assert isinstance(t, Array)
    return t.ndim


def _described(e: Expr) -> str:
    """An array operation in words (for explain)."""
    if isinstance(e, ArrayReduce):
        return f"the {e.kind} along an axis"
    if isinstance(e, Cumulative):
        return f"the cumulative {e.kind}"
    if isinstance(e, Concat):
        return "the concatenation"
    if isinstance(e, Sequence):
        return "the sequence"
    if isinstance(e, Gather):
        return "the rows an index array picks"
    return "an operand"


def _window_args(w: Window) -> tuple[Expr, ...]:
    """A 2-D window as intrinsic arguments: base, offset, extents, strides."""
    offset, strides = w.offset_and_strides()
    return (w.base, offset, *(_as_int(x) for x in w.shape), *strides)


def _overlap_test(a: Window, b: Window, loc: SourceLoc) -> Expr:
    """Whether two windows share memory now (run-time: their spans)."""
    args: list[Expr] = []
    for w in (a, b):
        offset, strides = w.offset_and_strides()
        args += [w.base, offset, Const(len(w.shape), PY_INT, loc), *(_as_int(x) for x in w.shape),
                 *strides]
    return Intrinsic("windows_overlap", tuple(args), BOOL, loc)


def _cheap(e: Expr, depth: int = 0) -> bool:
    """A variable, a constant, or a small sum/product/conversion of those:
    as cheap to evaluate where it is used as to read a temporary."""
    if isinstance(e, (Const, Var)):
        return True
    if depth >= 2:
        return False
    if isinstance(e, Cast) and isinstance(e.type, Scalar) and e.type.is_int and not e.check:
        return _cheap(e.value, depth + 1)
    if isinstance(e, BinOp) and e.op in ("+", "-", "*") and isinstance(e.type, Scalar) \
            and e.type.is_int:
        return _cheap(e.left, depth + 1) and _cheap(e.right, depth + 1)
    return False


def _loop_bound(extent: Expr) -> Expr:
    """An extent as the stop of the loop over it: ``max(n - 2, 0)`` (a
    slice's length) is ``n - 2`` there, as a loop whose stop is below its
    start runs no iteration; the affine form is what the footprint and
    dependence analyses understand."""
    if isinstance(extent, Intrinsic) and extent.name == "max" and len(extent.args) == 2 \
            and isinstance(extent.args[1], Const) and int(extent.args[1].value) == 0:
        return extent.args[0]
    return extent


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

