"""Random programs inside hybridjit's documented subset, one per seed.

Contract: :func:`generate(seed)` returns a :class:`Program`: the source of a
module (imports, module constants, helper functions, the entry function
``f``), the specification of the arguments ``f`` is called with (see
:mod:`fuzz.values`), and the set of features it uses.  Same seed, same
program.  Programs are deterministic by construction: every loop is bounded
(range bounds are constants, array extents or ``e % c``; while loops count),
every array index is in bounds (the generator knows every array's concrete
shape: loop variables over known intervals, constants, ``e % n``,
``-(e % n) - 1``), ``prange`` loops are race-free (arrays they write are
indexed by the loop variable first, everywhere in the loop; outer scalars
are read-only except reductions), each variable keeps one type, and
``np.empty`` arrays are filled before use.

How it works: statements and expressions are chosen from weighted rule
tables (:data:`STMT_RULES`, :data:`EXPR_RULES`); every expression is
generated *for a wanted type*, and which operator or function gives that
type is looked up in tables computed by running NumPy on sample values
(:mod:`fuzz.typesys`), so the type rules are NumPy 2's.  To add a feature
(for example NumPy array expressions: slices, whole-array operations),
write a method returning source lines (a statement rule) or an :class:`E`
(an expression rule; array-valued expressions would carry an ArrayT and a
shape) and register it in a table with a weight and a feature name; the
:class:`Ctx` already knows every visible array with its shape, and
``--no-features`` switches rules off by name.

Complex numbers (feature "complex"): a program is a *complex program* with
probability :data:`COMPLEX_RATE`, drawn from its seed apart from the
generator's random stream (so the other programs are those the seed gave
before complex numbers); only a complex program draws its scalar types
from :data:`~fuzz.typesys.COMPLEX_SCALARS` too (Python ``complex``,
``np.complex64``, ``np.complex128``), has complex arrays and at least one
complex argument, and looks its operations up in
:data:`~fuzz.tables.COMPLEX_TABLES` (hybridjit's complex subset: no
ordering, ``//``, ``%``, ``min``/``max``, no casts of complex numbers to
real types but ``bool()``; the parts through ``.real``/``.imag``/``abs``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .consts import NotConst, const_value
from .tables import (
    BITS,
    CMATH_INEXACT,
    COMPLEX_TABLES,
    DOMAIN_LIMITED,
    NP_UFUNC1,
    NP_UFUNC2,
    REAL_TABLES,
    UFUNC_OPERATOR,
    Tables,
    fits_join,
    np_bool_arith,
    np_int_args,
)
from .typesys import (
    ALL_SCALARS,
    COMPLEX_DTYPES,
    COMPLEX_SCALARS,
    INT64_MAX,
    INT64_MIN,
    NP_DTYPES,
    PY_BOOL,
    PY_COMPLEX,
    PY_FLOAT,
    PY_INT,
    ArrayT,
    ScalarT,
    TupleT,
    binop_type,
    call_type,
    fits_selection,
    float_code,
    int_range,
    join,
    select,
)

ENTRY = "f"
#: the share of programs that use complex numbers (feature "complex")
COMPLEX_RATE = 0.15
#: in a complex program, each complex type counts this many times among the
#: scalar types drawn (a third of the draws are complex)
COMPLEX_WEIGHT = 2


# ------------------------------------------------------------------ model


@dataclass
class E:
    """A generated expression: source, type, built only from constants, free
    of helper calls (safe to evaluate speculatively)."""

    code: str
    t: ScalarT
    const: bool = False
    pure: bool = True


@dataclass
class Arr:
    name: str
    t: ArrayT
    shape: tuple[int, ...]
    group: str  # arrays that may share memory share a group
    shifted: bool = False  # overlaps another argument shifted by one element


@dataclass
class Loop:
    var: str
    lo: int  # interval of the loop variable's values (lo > hi: runs never)
    hi: int
    kind: str  # "for", "prange", "while"


@dataclass
class Prange:
    var: str
    lo: int
    hi: int
    written: set[str]  # array groups the loop may write (first index == var)
    inner: set[str] = field(default_factory=set)  # scalars assigned inside


@dataclass
class Ctx:
    defined: dict[str, ScalarT]
    arrays: dict[str, Arr]
    loops: list[Loop]
    prange: Prange | None = None
    depth: int = 0
    protected: frozenset[str] = frozenset()  # loop variables, while counters
    top: bool = True  # top level of the function body

    def child(self, **kw: Any) -> Ctx:
        c = replace(self, defined=dict(self.defined), loops=list(self.loops), top=False)
        for k, v in kw.items():
            setattr(c, k, v)
        return c


@dataclass
class Helper:
    name: str
    params: list[tuple[str, ScalarT | Arr]]
    ret: ScalarT
    writes: bool = False  # writes an array parameter
    prange_writes: bool = False  # ... inside a prange loop


@dataclass
class Program:
    seed: int
    source: str
    entry: str
    args: list[dict[str, Any]]
    features: set[str]

    @property
    def param_names(self) -> list[str]:
        import ast

        tree = ast.parse(self.source)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == self.entry:
                return [a.arg for a in node.args.args]
        raise ValueError("no entry function")


class Retry(Exception):
    """A rule could not apply here; try another."""


# -------------------------------------------------------------- generator


class FnGen:
    """Generates one function body."""

    def __init__(self, g: ProgramGen, name: str, is_entry: bool, ret: Any,
                 helpers: list[Helper]):
        self.g = g
        self.rng = g.rng
        self.name = name
        self.is_entry = is_entry
        self.ret = ret  # ScalarT, or a tuple of ScalarT / array names
        self.helpers = helpers
        self.var_types: dict[str, ScalarT] = {}
        self.arrays: dict[str, Arr] = {}
        self.budget = self.rng.randint(5, 22)
        self.writes = False
        self.prange_writes = False
        self.prange_private: set[str] = set()  # assigned inside some prange loop
        self.counter = 0

    # small helpers ------------------------------------------------------
    def feat(self, name: str) -> None:
        self.g.features.add(name)

    def on(self, feature: str) -> bool:
        return self.g.enabled(feature)

    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, seq: Any) -> Any:
        return self.rng.choice(list(seq))

    def weighted(self, table: list[tuple[float, Any]]) -> Any:
        total = sum(w for w, _ in table)
        x = self.rng.random() * total
        for w, item in table:
            x -= w
            if x < 0:
                return item
        return table[-1][1]

    # constants ----------------------------------------------------------
    def const(self, t: ScalarT, fit: ScalarT | None = None) -> E:
        r = self.rng
        if t.is_complex:
            return self.complex_const(t)
        if t.is_bool:
            v = self.pick(["True", "False"])
            return E(v if t.py else f"np.bool_({v})", t, True)
        if t.is_float:
            if self.chance(0.04) and self.on("special_floats"):
                self.feat("special_floats")
                code = self.pick(["math.inf", "-math.inf", "math.nan", "-0.0", "1e300",
                                  "5e-324", "np.pi", "math.tau"])
            else:
                code = repr(self.pick([0.5, 1.5, -2.25, 3.375, 0.1, -0.75, 2.0, 1e-3, 10.0,
                                       1e10, -7.5, 0.0, 1.0, 100.25]))
                if self.chance(0.15):
                    code = self.pick(["math.pi", "math.e"])
            return E(code if t.py else f"{t.spelling()}({code})", t, True)
        lo, hi = -12, 12
        # a Python int made to fit the NumPy integer it meets (NEP 50)
        rng_t = fit if t.py and fit is not None and fit.is_int and not fit.py else t
        if not rng_t.py:
            info = np.iinfo(rng_t.dtype)
            lo, hi = max(int(info.min), lo), min(int(info.max), hi)
            if self.chance(0.15):
                lo, hi = int(info.min), int(info.max)
        elif self.chance(0.1):
            lo, hi = -1000, 1000
        elif self.chance(0.03) and self.on("big_ints"):
            self.feat("big_ints")
            lo, hi = -(2 ** 62), 2 ** 62
        v = r.randint(lo, hi)
        if t.py:
            # (constant expressions beyond int64 are a documented
            # compile-time error, even where NumPy would take them)
            if self.on("big_ints") and self.chance(0.01):
                self.feat("big_ints")
                return E(self.pick(["2 ** 62", "-2 ** 63", "9223372036854775807",
                                    "2 ** 62 + 2 ** 61"]), t, True)
            return E(repr(v), t, True)
        if t.kind == "u" and v > 0 and self.chance(0.1):
            # -np.uint8(199): unary minus of an unsigned constant
            return E(f"(-{t.spelling()}({v}))", t, True)
        return E(f"{t.spelling()}({v})", t, True)

    def complex_part(self) -> str:
        """Source of a float constant, a part of a complex constant."""
        if self.chance(0.04) and self.on("special_floats"):
            self.feat("special_floats")
            return self.pick(["math.inf", "-math.inf", "math.nan", "1e300"])
        return repr(self.pick([0.0, -0.0, 0.0, 0.5, 1.0, -1.0, 1.5, -2.25, 2.0, 0.1, -0.75,
                               3.375, 1e-3, 10.0]))

    def complex_const(self, t: ScalarT) -> E:
        """A complex constant of type ``t``: ``1j``, ``(1.5 - 2j)``,
        ``complex(-0.0, math.inf)``, ``np.complex64(0.5j)``..."""
        form = self.rng.randint(0, 5)
        re, im = self.complex_part(), self.complex_part()
        literal = "math" not in re + im
        if form == 0:
            code = self.pick(["1j", "0j", "-1j", "2.5j", "(1 + 1j)", "(-0.5 + 0j)"])
        elif form <= 2 and literal:
            # Python's arithmetic on literals: 1.5 - 0.0j has the imaginary part 0.0
            code = f"({re} + {im}j)" if not im.startswith("-") else f"({re} - {im[1:]}j)"
        elif form == 3 and literal:
            code = f"{im}j" if not im.startswith("-") else f"-{im[1:]}j"
        else:
            code = f"complex({re}, {im})"
        self.feat("complex_const")
        return E(code if t.py else f"{t.spelling()}({code})", t, True)

    def nonzero(self, e: E) -> bool:
        """The constant ``e`` is a complex number neither zero nor NaN."""
        import cmath

        v = eval(e.code, {"np": np, "math": math, "cmath": cmath})
        return bool(v != 0 and not cmath.isnan(complex(v)))

    # indices ------------------------------------------------------------
    def int_expr(self, ctx: Ctx, depth: int, signed: bool = False, pure: bool = False) -> E:
        choices = [PY_INT] * 4 + [ScalarT(n) for n in ("int8", "int16", "int32", "int64",
                                                       "uint8", "uint32", "uint64")]
        if signed:
            choices = [c for c in choices if c.kind != "u"]
        return self.expr(ctx, self.pick(choices), depth, pure=pure)

    def index1(self, ctx: Ctx, arr: Arr, k: int, pure: bool) -> str:
        n = arr.shape[k]
        ext = self.pick([f"{arr.name}.shape[{k}]", str(n)] +
                        ([f"len({arr.name})"] if k == 0 else []))
        opts: list[tuple[float, Callable[[], str]]] = []
        for lp in ctx.loops:
            if lp.lo > lp.hi:
                lo = hi = 0
            else:
                lo, hi = lp.lo, lp.hi
            v = lp.var
            if -n <= lo and hi <= n - 1:
                opts.append((6, lambda v=v: v))
            for c in (1, 2):
                if -n <= lo - c and hi - c <= n - 1:
                    opts.append((2, lambda v=v, c=c: f"{v} - {c}"))
                if -n <= lo + c and hi + c <= n - 1:
                    opts.append((2, lambda v=v, c=c: f"{v} + {c}"))
            if -n <= -hi - 1 and -lo - 1 <= n - 1:
                opts.append((1, lambda v=v: f"-{v} - 1"))
            opts.append((1, lambda v=v: f"({v} * 3 + 1) % {ext}"))
        opts.append((2, lambda: str(self.rng.randint(-n, n - 1))))
        opts.append((1, lambda: str(self.pick([0, -1]))))

        def modulo() -> str:
            e = self.int_expr(ctx, 1, pure=pure)
            return f"({e.code}) % {ext}"

        def neg_modulo() -> str:
            e = self.int_expr(ctx, 1, signed=True, pure=pure)
            self.feat("negative_index")
            return f"-(({e.code}) % {ext}) - 1"

        opts.append((2, modulo))
        opts.append((1, neg_modulo))
        return self.weighted(opts)()

    def index(self, ctx: Ctx, arr: Arr, pure: bool = False) -> str:
        parts = []
        for k in range(arr.t.ndim):
            if k == 0 and ctx.prange is not None and arr.group in ctx.prange.written:
                parts.append(ctx.prange.var)
            else:
                parts.append(self.index1(ctx, arr, k, pure))
        return ", ".join(parts)

    def store_type(self, ctx: Ctx, a: Arr) -> ScalarT:
        """The type of a value stored into an element of ``a`` (when not
        its own): any, but not complex into a real array (refused)."""
        t = self.any_type(ctx)
        return a.t.elem if t.is_complex and not a.t.elem.is_complex else t

    def readable_arrays(self, ctx: Ctx) -> list[Arr]:
        return list(ctx.arrays.values())

    def writable_arrays(self, ctx: Ctx) -> list[Arr]:
        out = []
        for a in ctx.arrays.values():
            if ctx.prange is not None and a.group not in ctx.prange.written:
                continue
            out.append(a)
        return out

    def note_write(self, ctx: Ctx) -> None:
        self.writes = True
        if ctx.prange is not None:
            self.prange_writes = True
            self.feat("prange_store")

    # expressions --------------------------------------------------------
    def expr(self, ctx: Ctx, want: ScalarT | None, depth: int, pure: bool = False,
             fit: ScalarT | None = None) -> E:
        if want is None:
            want = self.any_type(ctx)
        rules = EXPR_RULES if depth > 0 else LEAF_RULES
        table = [(w, fn) for (w, feat, fn) in rules if self.on(feat)]
        for _ in range(12):
            fn = self.weighted(table)
            try:
                e = fn(self, ctx, want, depth, pure, fit)
            except Retry:
                continue
            if e.t != want:
                raise AssertionError(f"{fn.__name__} gave {e.t} for {want}: {e.code}")
            if e.const and e.t.py and not e.t.is_float:
                # a constant expression beyond 64 bits is a compile-time
                # error (README) whose exact extent depends on context
                is_c, v = self.const_of(ctx, e)
                if is_c and type(v) is int and not INT64_MIN <= v <= INT64_MAX:
                    continue
            return e
        return self.const(want, fit)

    def any_type(self, ctx: Ctx) -> ScalarT:
        pool = list(ctx.defined.values()) + [a.t.elem for a in ctx.arrays.values()]
        if pool and self.chance(0.6):
            return self.pick(pool)
        return self.pick(self.g.scalars)

    def sub(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool,
            fit: ScalarT | None = None) -> E:
        return self.expr(ctx, want, max(0, depth - 1 - self.rng.randint(0, 1)), pure, fit)

    def e_var(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        names = [n for n, t in ctx.defined.items() if t == want]
        if want == PY_INT:
            names += [lp.var for lp in ctx.loops if lp.kind != "while"]
        names += [k for k, v in self.g.constants.items() if v == want]
        if not names:
            raise Retry
        return E(self.pick(names), want)

    def e_const(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        return self.const(want, fit)

    def e_elem(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        if want.py:
            raise Retry
        arrs = [a for a in self.readable_arrays(ctx) if a.t.dtype == want.name]
        if not arrs:
            raise Retry
        a = self.pick(arrs)
        return E(f"{a.name}[{self.index(ctx, a, pure)}]", want, pure=pure)

    def e_shape(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        if want != PY_INT or not ctx.arrays:
            raise Retry
        a = self.pick(ctx.arrays.values())
        self.feat("shape_attrs")
        return E(self.pick([f"{a.name}.shape[{self.rng.randrange(a.t.ndim)}]", f"len({a.name})",
                            f"{a.name}.size", f"{a.name}.ndim",
                            f"{a.name}.shape[-1]"]), want)

    def right_operand(self, ctx: Ctx, op: str, left: ScalarT, t2: ScalarT, depth: int,
                      pure: bool, integral: bool = False) -> E:
        """The right operand of ``op``, kept inside the deterministic subset."""
        if op in ("<<", ">>"):
            if t2.is_bool:
                return self.const(t2)
            bits = left.bits if not left.py else 64
            c = self.rng.randint(0, bits + 2 if self.chance(0.1) else min(bits - 1, 7))
            if self.chance(0.7):
                return E(repr(c) if t2.py else f"{t2.spelling()}({c})", t2, True)
            e = self.sub(ctx, t2, depth, pure)
            if binop_type("%", t2, PY_INT) != t2:
                raise Retry
            return E(f"(({e.code}) % {min(bits, 8)})", t2, pure=e.pure)
        if op == "**":
            if t2.is_complex:
                z = self.pick(["(2 + 0j)", "(0.5 + 1j)", "(-1 + 0j)", "0j", "(0.25 - 0.5j)",
                               "1j", "(3 + 0j)"])
                return E(z if t2.py else f"{t2.spelling()}({z})", t2, True)
            if t2.is_float:
                # integral exponents where the base may be negative (a
                # fractional power of a negative Python number is complex)
                c = self.pick([2.0, 3.0, -1.0, 0.0] if integral else
                              [0.5, 2.0, 3.0, -1.0, 1.5, 0.0, -0.5])
                return E(repr(c) if t2.py else f"{t2.spelling()}({c})", t2, True)
            c = self.rng.randint(0, 3)
            if t2.is_bool:
                return self.const(t2)
            return E(repr(c) if t2.py else f"{t2.spelling()}({c})", t2, True)
        if op in ("/", "//", "%") and self.chance(0.75):
            self.feat("safe_divisor")
            if t2.is_bool:
                return E("True" if t2.py else "np.bool_(True)", t2, True)
            if t2.is_int and self.chance(0.5):
                e = self.sub(ctx, t2, depth, pure, fit=left)
                if binop_type("|", t2, PY_INT) == t2:
                    return E(f"(({e.code}) | 1)", t2, pure=e.pure)
            d = self.const(t2, fit=left)
            if t2.is_complex and not self.nonzero(d):
                raise Retry
            if d.code in ("0", "0.0", "-0.0") or d.code.endswith("(0)") \
                    or d.code.endswith("(0.0)") or "nan" in d.code or "5e-324" in d.code:
                raise Retry
            return d
        return self.sub(ctx, t2, depth, pure, fit=left if t2.py else None)

    def e_binop(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        cands = self.g.tab.bin_by.get(want, [])
        cands = [c for c in cands if self.on("bitops") or c[0] not in BITS]
        if not self.on("bool_arith"):
            cands = [c for c in cands if not np_bool_arith(*c)]
        if not cands:
            raise Retry
        op, t1, t2 = self.pick(cands)
        if np_bool_arith(op, t1, t2):
            self.feat("bool_arith")
        if op == "**" and (t1.is_complex or t2.is_complex):
            # any base: a complex power of a negative number is complex
            left = self.sub(ctx, t1, min(depth, 2), pure)
        elif op == "**" and (t1.is_float or t2.is_float):
            # a negative base with a fractional exponent is complex in CPython
            if call_type("abs", (t1,)) != t1:
                raise Retry
            base = self.sub(ctx, t1, min(depth, 2), pure)
            left = E(f"abs({base.code})", t1, pure=base.pure)
        elif op == "**":
            left = self.sub(ctx, t1, min(depth, 1), pure)
        else:
            left = self.sub(ctx, t1, depth, pure, fit=t2 if t1.py else None)
        right = self.right_operand(ctx, op, t1, t2, depth, pure)
        self.feat(f"op{op}")
        if t1.py != t2.py:
            self.feat("mixed_py_np")
        return E(f"({left.code} {op} {right.code})", want, left.const and right.const,
                 left.pure and right.pure)

    def e_unop(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        if want == PY_BOOL and self.chance(0.3):
            x = self.sub(ctx, self.any_type(ctx), depth, pure)
            self.feat("not")
            return E(f"(not {x.code})", want, pure=x.pure)
        cands = [c for c in self.g.tab.un_by.get(want, [])
                 if self.on("bitops") or c[0] != "~"]
        if not cands:
            raise Retry
        op, t = self.pick(cands)
        x = self.sub(ctx, t, depth, pure)
        return E(f"({op}{x.code})", want, x.const, x.pure)

    def e_compare(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        cands = self.g.tab.cmp_by.get(want, [])
        if not cands:
            raise Retry
        op, t1, t2 = self.pick(cands)
        # comparisons take any Python int with any NumPy integer (NEP 50)
        a = self.sub(ctx, t1, depth, pure)
        b = self.sub(ctx, t2, depth, pure)
        code = f"{a.code} {op} {b.code}"
        is_pure = a.pure and b.pure
        if self.chance(0.25):
            # chained: every link must give the same type (else CPython's
            # result type would depend on which link is false)
            links = [(o, x, y) for (o, x, y) in cands if x == t2]
            if links:
                op2, _, t3 = self.pick(links)
                c = self.sub(ctx, t3, depth, pure)
                code += f" {op2} {c.code}"
                is_pure = is_pure and c.pure
                self.feat("chained_compare")
        return E(f"({code})", want, pure=is_pure)

    def joinable(self, want: ScalarT) -> list[ScalarT]:
        return [t for t in self.g.scalars if fits_join(t, want)]

    def mixed_types(self, want: ScalarT, n: int) -> list[ScalarT]:
        """``n`` operand types whose join is ``want`` (mostly ``want`` itself)."""
        if self.chance(0.6) or not self.on("mixed_join"):
            return [want] * n
        opts = self.joinable(want)
        ts = [self.pick(opts) for _ in range(n)]
        ts[self.rng.randrange(n)] = want
        if join(ts) != want:
            return [want] * n
        if len(set(ts)) > 1:
            self.feat("mixed_join")
        return ts

    def const_of(self, ctx: Ctx, e: E) -> tuple[bool, Any]:
        """(is a compile-time constant for hybridjit, its value): see
        :mod:`fuzz.consts`."""
        import ast

        local = set(ctx.defined) | set(ctx.arrays) | {lp.var for lp in ctx.loops}
        try:
            v = const_value(ast.parse(e.code, mode="eval").body, self.g.const_values, local,
                            lambda name: ctx.arrays[name].t.ndim)
        except NotConst:
            return False, None
        return True, v

    def selection(self, ctx: Ctx, want: ScalarT, n: int, depth: int, pure: bool) -> list[E]:
        """``n`` operands of a value chosen among them (min/max, and/or, a
        conditional expression) whose selected type (typesys.select) is
        ``want``: a Python int among NumPy integers keeps their type only
        as a constant that fits them all, so such operands are often made
        fitting constants."""
        ts = self.mixed_types(want, n)
        if self.on("mixed_join") and self.chance(0.15):
            # no operand of the selected type itself: a Python int and an
            # np.int8 select np.int64, a Python int and an np.uint64 float64
            pool = [*self.joinable(want), PY_INT, PY_BOOL]
            for _ in range(10):
                cand = [self.pick(pool) for _ in range(n)]
                if want not in cand and select(cand) == want:
                    ts = cand
                    self.feat("select_without_want")
                    break
        strong_ints = [t for t in ts if not t.py and t.is_int]
        int_ctx = bool(strong_ints) and not any(t.is_float for t in ts)
        parts = []
        for t in ts:
            if int_ctx and t == PY_INT and self.on("fitting_const") and want in ts \
                    and self.chance(0.6):
                lo = max(int_range(u)[0] for u in strong_ints)
                hi = min(min(int_range(u)[1] for u in strong_ints), INT64_MAX)
                if not self.chance(0.2):
                    lo, hi = max(lo, -12), min(hi, 12)
                parts.append(E(repr(self.rng.randint(lo, hi)), PY_INT, True))
                self.feat("fitting_const")
            else:
                parts.append(self.sub(ctx, t, depth, pure))
        consts = [self.const_of(ctx, p) for p in parts]
        fits = [fits_selection(v, c, ts) for c, v in consts]
        if select(ts, fits) != want:
            raise Retry
        return parts

    def e_boolop(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        n = self.pick([2, 2, 3])
        parts = self.selection(ctx, want, n, depth, True)
        op = self.pick(["and", "or"])
        self.feat("boolop")
        return E("(" + f" {op} ".join(p.code for p in parts) + ")", want, pure=True)

    def e_ifexp(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        a, b = self.selection(ctx, want, 2, depth, True)
        c = self.sub(ctx, self.pick([PY_BOOL, ScalarT("bool"), self.any_type(ctx)]), depth,
                     pure)
        self.feat("ifexp")
        return E(f"({a.code} if {c.code} else {b.code})", want, pure=c.pure)

    def e_minmax(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        if want.is_complex:
            raise Retry  # (a TypeError in Python, refused in hybridjit for NumPy's)
        parts = self.selection(ctx, want, self.pick([2, 2, 3]), depth, pure)
        fn = self.pick(["min", "max"])
        self.feat("minmax")
        return E(f"{fn}({', '.join(p.code for p in parts)})", want,
                 pure=all(p.pure for p in parts))

    def e_call(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        cands = self.g.tab.call_by.get(want, [])
        if not self.on("np_ufuncs"):
            cands = [c for c in cands if c[0][3:] not in NP_UFUNC1 + NP_UFUNC2]
        if not self.on("np_int_args"):
            cands = [c for c in cands if not np_int_args(*c)]
        if self.g.complex and self.chance(0.6):
            # (cmath's functions are the C library's, a few ulps from
            # CPython's: a departure, which hides anything else the program does)
            cands = [c for c in cands if not (c[0].startswith("cmath.")
                                              and c[0][6:] in CMATH_INEXACT)]
        if not cands:
            raise Retry
        fname = self.pick(sorted({c[0] for c in cands}))  # each function alike
        name, ts = self.pick([c for c in cands if c[0] == fname])
        if name[3:] in NP_UFUNC1 + NP_UFUNC2:
            self.feat("np_ufuncs")
        if np_int_args(name, ts):
            self.feat("np_int_args")
        args = [self.sub(ctx, t, depth, pure) for t in ts]
        short = name.split(".")[-1]
        op = UFUNC_OPERATOR.get(short) if name.startswith("np.") else None
        if op is not None and op != "**":
            # a divisor, a shift count: as the operator's (NumPy defines
            # division by zero and wide shifts; this keeps them occasional)
            args[1] = self.right_operand(ctx, op, ts[0], ts[1], depth, pure)
        if name == "np.power" and ts[1].is_complex:
            args[1] = self.right_operand(ctx, "**", ts[0], ts[1], depth, pure)
        elif name == "np.power" and not ts[1].is_float:
            # NumPy refuses negative integer powers of integers
            c = self.rng.randint(0, 3)
            args[1] = E(repr(c) if ts[1].py else f"{ts[1].spelling()}({c})", ts[1], True) \
                if not ts[1].is_bool else self.const(ts[1])
        if short in DOMAIN_LIMITED and self.chance(0.7):
            a0 = args[0]
            if name.startswith("math."):
                args[0] = E(f"(abs({a0.code}) + 1.5)",
                            a0.t, pure=a0.pure) if short in ("acosh", "log", "log2",
                                                             "log10", "sqrt", "log1p",
                                                             "gamma", "lgamma") else \
                    E(f"math.sin({a0.code})", a0.t, pure=a0.pure)
                if short in ("asin", "acos", "atanh") and self.chance(0.5):
                    args[0] = E("0.5", PY_FLOAT, True)
            else:
                self.feat("np_domain")
        self.feat(f"call:{name}")
        return E(f"{name}({', '.join(a.code for a in args)})", want,
                 pure=all(a.pure for a in args))

    def e_complex_attr(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        """``(z).real``, ``(z).imag`` (a float of the parts' type: Python's
        for a Python complex), ``(z).conjugate()`` (feature "complex"; the
        functions, ``abs(z)``, ``np.conj(z)``, ``cmath.phase(z)`` ..., are
        :meth:`e_call`'s)."""
        if want.is_complex:
            x = self.sub(ctx, want, depth, pure)
            self.feat("complex_conjugate")
            return E(f"({x.code}).conjugate()", want, pure=x.pure)
        srcs = [t for t in COMPLEX_SCALARS if t.real_type == want]
        if not srcs:
            raise Retry
        x = self.sub(ctx, self.pick(srcs), depth, pure)
        which = self.pick(["real", "imag"])
        self.feat(f"complex_{which}")
        return E(f"({x.code}).{which}", want, pure=x.pure)

    def e_round_nd(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        """``round(x, ndigits)``: same type as ``x``."""
        if call_type("round", (want, PY_INT)) != want:
            raise Retry
        x = self.sub(ctx, want, depth, pure)
        k = self.rng.randint(-2, 3)
        self.feat("round_ndigits")
        return E(f"round({x.code}, {k})", want, x.const, x.pure)

    def e_cast(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        src = self.any_type(ctx)
        if src == want:
            src = self.pick(self.g.scalars)
        if not cast_ok(src, want):
            src = self.pick(ALL_SCALARS)
        x = self.sub(ctx, src, depth, pure, fit=want if src.py else None)
        self.feat("cast")
        if want == PY_INT and src.is_float and self.chance(0.3):
            return E(f"round({x.code})", want, pure=x.pure)
        if want.is_int and not want.py and src.is_float and want.name != "int64" \
                and self.chance(0.7):
            # float -> small or unsigned integer is undefined in C when out
            # of range (a departure): go through int64, then wrap (defined)
            return E(f"{want.spelling()}(np.int64({x.code}))", want, x.const, x.pure)
        return E(f"{want.spelling()}({x.code})", want, x.const, x.pure)

    def e_cast_leaf(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        """A variable or element of another type, cast: ``np.int8(x)``."""
        src = [(n, t) for n, t in ctx.defined.items() if t != want and cast_ok(t, want)]
        if not src:
            raise Retry
        n, t = self.pick(src)
        self.feat("cast")
        if want.is_int and not want.py and t.is_float and want.name != "int64" \
                and self.chance(0.8):
            return E(f"{want.spelling()}(np.int64({n}))", want)
        return E(f"{want.spelling()}({n})", want)

    def e_helper(self, ctx: Ctx, want: ScalarT, depth: int, pure: bool, fit: Any) -> E:
        if pure:
            raise Retry
        hs = [h for h in self.helpers if h.ret == want]
        if ctx.prange is not None:
            hs = [h for h in hs if not h.writes]
        if not hs:
            raise Retry
        h = self.pick(hs)
        args = []
        used: dict[tuple[Any, ...], str] = {}
        for _, pt in h.params:
            if isinstance(pt, ScalarT):
                args.append(self.sub(ctx, pt, depth, False).code)
                continue
            ok = [a for a in ctx.arrays.values() if a.t == pt.t and a.shape == pt.shape
                  and (ctx.prange is None or a.group not in ctx.prange.written)
                  and not (a.shifted and h.prange_writes)]
            if not ok:
                raise Retry
            key = (pt.t, pt.shape)
            if key in used and self.chance(0.4):
                chosen = used[key]
                self.feat("helper_same_array_twice")
            else:
                chosen = self.pick(ok).name
            used[key] = chosen
            args.append(chosen)
        self.feat("helper_call")
        return E(f"{h.name}({', '.join(args)})", want, pure=False)

    def typeerror_stmt(self, ctx: Ctx) -> str:
        """``t = <a construct CPython refuses with a TypeError>`` on
        parameters or constants, to be the first statement (so CPython
        surely raises there): hybridjit must refuse it at compile time, at
        this line, or raise TypeError."""
        table = self.g.tab.typeerror
        groups = sorted({(k, op) for k, op, _ in table})
        kind, op = self.pick(groups)
        ts = self.pick([e[2] for e in table if (e[0], e[1]) == (kind, op)])
        args = []
        for t in ts:
            names = [n for n, u in ctx.defined.items() if u == t]
            args.append(self.pick(names) if names and self.chance(0.7) else self.const(t).code)
        if kind == "unop":
            code = f"{op}{args[0]}"
        elif kind == "op":
            code = f"{args[0]} {op} {args[1]}"
        else:
            code = f"{op}({', '.join(args)})"
        self.feat("typeerror")
        self.feat(f"typeerror:{kind}{op}")
        return f"{self.fresh('t')} = {code}"

    # statements ---------------------------------------------------------
    def block(self, ctx: Ctx, n: int) -> list[str]:
        lines: list[str] = []
        for _ in range(n):
            if self.budget <= 0:
                break
            lines += self.stmt(ctx)
        return lines or ["pass"]

    def stmt(self, ctx: Ctx) -> list[str]:
        self.budget -= 1
        table = [(w, fn) for (w, feat, fn) in STMT_RULES if self.on(feat)]
        for _ in range(20):
            fn = self.weighted(table)
            try:
                return fn(self, ctx)
            except Retry:
                continue
        return ["pass"]

    def assignable(self, ctx: Ctx, name: str) -> bool:
        # a prange loop assigns only its own (private) variables
        return name not in ctx.protected and (ctx.prange is None or name in ctx.prange.inner)

    def define(self, ctx: Ctx, name: str, t: ScalarT) -> None:
        self.var_types[name] = t
        ctx.defined[name] = t
        if ctx.prange is not None:
            ctx.prange.inner.add(name)
            self.prange_private.add(name)

    def s_assign_new(self, ctx: Ctx) -> list[str]:
        e = self.expr(ctx, None, self.rng.randint(1, 3))
        name = self.fresh()
        self.define(ctx, name, e.t)
        return [f"{name} = {e.code}"]

    def s_assign(self, ctx: Ctx) -> list[str]:
        names = [n for n in self.var_types if self.assignable(ctx, n)]
        if not names:
            raise Retry
        n = self.pick(names)
        e = self.expr(ctx, self.var_types[n], self.rng.randint(0, 3))
        self.define(ctx, n, self.var_types[n])
        return [f"{n} = {e.code}"]

    def aug_op(self, t: ScalarT) -> tuple[str, ScalarT]:
        cands = [(op, b) for (op, a, b) in self.g.tab.bin_by.get(t, []) if a == t
                 and (self.on("bitops") or op not in BITS)]
        if not cands:
            raise Retry
        return self.pick(cands)

    def s_augassign(self, ctx: Ctx) -> list[str]:
        names = [n for n in ctx.defined if self.assignable(ctx, n)]
        if not names:
            raise Retry
        n = self.pick(names)
        t = ctx.defined[n]
        op, t2 = self.aug_op(t)
        e = self.right_operand(ctx, op, t, t2, self.rng.randint(1, 3), False, integral=True)
        self.feat("augassign")
        return [f"{n} {op}= {e.code}"]

    def s_tuple(self, ctx: Ctx) -> list[str]:
        form = self.rng.randint(0, 2)
        if form == 0:
            arrs = [a for a in ctx.arrays.values() if a.t.ndim >= 2]
            if not arrs:
                raise Retry
            a = self.pick(arrs)
            names = [self.fresh() for _ in range(a.t.ndim)]
            for nm in names:
                self.define(ctx, nm, PY_INT)
            self.feat("shape_unpack")
            return [f"{', '.join(names)} = {a.name}.shape"]
        if form == 1:
            by_t: dict[ScalarT, list[str]] = {}
            for n, t in ctx.defined.items():
                if self.assignable(ctx, n):
                    by_t.setdefault(t, []).append(n)
            pairs = [v for v in by_t.values() if len(v) >= 2]
            if not pairs:
                raise Retry
            x, y = self.rng.sample(self.pick(pairs), 2)
            self.feat("swap")
            return [f"{x}, {y} = {y}, {x}"]
        e1 = self.expr(ctx, None, 2)
        e2 = self.expr(ctx, None, 2)
        names = []
        for e in (e1, e2):
            same = [n for n, t in self.var_types.items() if t == e.t and self.assignable(ctx, n)
                    and n not in names]
            nm = self.pick(same) if same and self.chance(0.5) else self.fresh()
            names.append(nm)
        for nm, e in zip(names, (e1, e2)):
            self.define(ctx, nm, e.t)
        self.feat("tuple_assign")
        return [f"{names[0]}, {names[1]} = {e1.code}, {e2.code}"]

    def s_store(self, ctx: Ctx) -> list[str]:
        arrs = self.writable_arrays(ctx)
        if not arrs:
            raise Retry
        a = self.pick(arrs)
        own = self.chance(0.6)
        depth = self.rng.randint(1, 3)
        e = self.expr(ctx, a.t.elem if own else self.store_type(ctx, a), depth)
        self.note_write(ctx)
        if self.chance(0.08) and a.t.ndim == 1 and ctx.prange is None:
            i, j = self.index(ctx, a), self.index(ctx, a)
            self.feat("element_swap")
            return [f"{a.name}[{i}], {a.name}[{j}] = {a.name}[{j}], {a.name}[{i}]"]
        return [f"{a.name}[{self.index(ctx, a)}] = {e.code}"]

    def s_augstore(self, ctx: Ctx) -> list[str]:
        arrs = self.writable_arrays(ctx)
        if not arrs:
            raise Retry
        a = self.pick(arrs)
        # (a complex value is not stored into a real array: refused)
        cands = [(op, b) for res, rows in self.g.tab.bin_by.items() for (op, x, b) in rows
                 if x == a.t.elem and (self.on("bitops") or op not in BITS)
                 and (a.t.elem.is_complex or not res.is_complex)]
        if not cands:
            raise Retry
        op, t2 = self.pick(cands)
        e = self.right_operand(ctx, op, a.t.elem, t2, self.rng.randint(1, 2), False,
                               integral=True)
        self.note_write(ctx)
        self.feat("augstore")
        return [f"{a.name}[{self.index(ctx, a)}] {op}= {e.code}"]

    def cond(self, ctx: Ctx) -> E:
        t = self.pick([PY_BOOL, PY_BOOL, ScalarT("bool"), self.any_type(ctx)])
        return self.expr(ctx, t, self.rng.randint(1, 3))

    def s_if(self, ctx: Ctx) -> list[str]:
        if ctx.depth >= 3:
            raise Retry
        c = self.cond(ctx)
        branches: list[tuple[str, Ctx, list[str]]] = []
        sub = ctx.child(depth=ctx.depth + 1)
        branches.append((f"if {c.code}:", sub, self.block(sub, self.rng.randint(1, 3))))
        while self.chance(0.25) and len(branches) < 3:
            c2 = self.cond(ctx)
            sub = ctx.child(depth=ctx.depth + 1)
            branches.append((f"elif {c2.code}:", sub, self.block(sub, self.rng.randint(1, 2))))
            self.feat("elif")
        has_else = self.chance(0.45)
        if has_else:
            sub = ctx.child(depth=ctx.depth + 1)
            branches.append(("else:", sub, self.block(sub, self.rng.randint(1, 3))))
        if has_else:
            common = set.intersection(*(set(b[1].defined) for b in branches))
            for n in common - set(ctx.defined):
                ctx.defined[n] = self.var_types[n]
        lines: list[str] = []
        for head, _, body in branches:
            lines.append(head)
            lines += ["    " + ln for ln in body]
        return lines

    def range_args(self, ctx: Ctx, parallel: bool) -> tuple[str, int, int, bool, Arr | None]:
        """(args, lo, hi, known trip count > 0, array driving it)."""
        arrs = list(ctx.arrays.values())
        r = self.rng
        form = r.randint(0, 9)
        if "n" in self.g.size_param and "n" in ctx.defined and r.random() < 0.3:
            n = self.g.size_param["n"]
            sub = r.randint(0, 3)
            self.feat("range_param")
            if sub <= 1:
                return "n", 0, n - 1, n > 0, None
            if sub == 2:
                return "1, n", 1, n - 1, n > 1, None
            return "n - 1, -1, -1", 0, n - 1, n > 0, None
        if arrs and form <= 4:
            a = self.pick(arrs)
            k = r.randrange(a.t.ndim)
            n = a.shape[k]
            ext = f"{a.name}.shape[{k}]" if k or self.chance(0.6) else f"len({a.name})"
            sub = r.randint(0, 4)
            if sub <= 1:
                return ext, 0, n - 1, n > 0, a if k == 0 else None
            if sub == 2:
                return f"1, {ext}", 1, n - 1, n > 1, a if k == 0 else None
            if sub == 3:
                self.feat("negative_step")
                return f"{ext} - 1, -1, -1", 0, n - 1, n > 0, a if k == 0 else None
            return f"0, {ext}, 2", 0, n - 1, n > 0, a if k == 0 else None
        if form <= 7:
            lo = r.randint(-3, 6)
            hi = r.randint(-2, 12)
            step = self.pick([1, 1, 1, 2, 3, -1, -2])
            vals = list(range(lo, hi, step))
            if step < 0:
                lo, hi = hi, lo
                vals = list(range(hi, lo, step))
            if not vals:
                self.feat("zero_trip")
            args = ", ".join(map(str, (lo, hi) if step == 1 else (lo, hi, step)))
            if step == 1 and lo == 0 and self.chance(0.5):
                args = str(hi)
            if step < 0:
                args = f"{hi}, {lo}, {step}"
            if parallel and self.chance(0.3):
                self.feat("prange_any_step")
            return args, (min(vals) if vals else 1), (max(vals) if vals else 0), bool(vals), None
        c = r.randint(1, 9)
        e = self.int_expr(ctx, 1)
        self.feat("range_dynamic")
        return f"({e.code}) % {c}", 0, c - 1, False, None

    def s_for(self, ctx: Ctx) -> list[str]:
        if ctx.depth >= 3 or len(ctx.loops) >= 3:
            raise Retry
        args, lo, hi, runs, _ = self.range_args(ctx, False)
        v = self.fresh("i")
        # now and then the loop binds a variable assigned before it (k = i;
        # for k in range(m)): the assignment's value does not hold inside
        reuse = [n for n, t in ctx.defined.items() if t == PY_INT and self.assignable(ctx, n)
                 and all(lp.var != n for lp in ctx.loops)]
        if reuse and self.chance(0.1):
            v = self.pick(reuse)
            self.feat("loop_var_rebound")
        sub = ctx.child(depth=ctx.depth + 1, loops=[*ctx.loops, Loop(v, lo, hi, "for")],
                        protected=ctx.protected | {v})
        body = self.block(sub, self.rng.randint(1, 4))
        self.feat("for")
        if runs and ctx.prange is None:
            ctx.defined[v] = PY_INT
            self.var_types[v] = PY_INT
        return [f"for {v} in range({args}):"] + ["    " + ln for ln in body]

    def s_map_nest(self, ctx: Ctx) -> list[str]:
        """A loop nest over every element of an array: the shape parallel
        loops (and device kernels) come from."""
        if ctx.depth >= 2 or ctx.loops:
            raise Retry
        arrs = self.writable_arrays(ctx)
        if not arrs:
            raise Retry
        a = self.pick(arrs)
        parallel = self.on("prange") and not a.shifted and self.chance(0.35)
        vs = [self.fresh("i") for _ in range(a.t.ndim)]
        lines = []
        loops = list(ctx.loops)
        sub = ctx.child(depth=ctx.depth + a.t.ndim)
        written = {a.group}
        if parallel:
            for b in ctx.arrays.values():
                if b.shape[0] == a.shape[0] and b.group != a.group and not b.shifted \
                        and self.chance(0.3):
                    written.add(b.group)
            sub.prange = Prange(vs[0], 0, a.shape[0] - 1, written)
            self.feat("prange")
        for k, v in enumerate(vs):
            rng = "prange" if (parallel and k == 0) else "range"
            lines.append("    " * k + f"for {v} in {rng}({a.name}.shape[{k}]):")
            loops.append(Loop(v, 0, a.shape[k] - 1, "prange" if rng == "prange" else "for"))
        sub.loops = loops
        sub.protected = ctx.protected | set(vs)
        ind = "    " * len(vs)
        body: list[str] = []
        for _ in range(self.rng.randint(0, 2)):
            body += self.stmt(sub)
        own = self.chance(0.7)
        depth = self.rng.randint(1, 3)
        e = self.expr(sub, a.t.elem if own else self.store_type(sub, a), depth)
        body.append(f"{a.name}[{', '.join(vs)}] = {e.code}")
        self.note_write(sub)
        self.feat("map_nest")
        return lines + [ind + ln for ln in body]

    def s_prange(self, ctx: Ctx) -> list[str]:
        if ctx.prange is not None or ctx.depth >= 3 or len(ctx.loops) >= 2:
            raise Retry
        args, lo, hi, _, _ = self.range_args(ctx, True)
        v = self.fresh("i")
        written: set[str] = set()
        if lo <= hi:
            for a in ctx.arrays.values():
                if lo >= 0 and hi <= a.shape[0] - 1 and not a.shifted and self.chance(0.6):
                    written.add(a.group)
        pr = Prange(v, lo, hi, written)
        sub = ctx.child(depth=ctx.depth + 1, loops=[*ctx.loops, Loop(v, lo, hi, "prange")],
                        prange=pr, protected=ctx.protected | {v})
        # reductions: outer scalars updated once per iteration, read nowhere else
        reds: list[str] = []
        cands = [n for n, t in ctx.defined.items() if n not in ctx.protected
                 and (t.is_int or (t.is_float and self.on("float_minmax_reduction"))
                      or t.is_complex)]
        for n in self.rng.sample(cands, min(len(cands), self.rng.randint(0, 2))):
            del sub.defined[n]
            reds.append(n)
        outer_only = sub.child(defined={n: t for n, t in sub.defined.items()
                                        if n in ctx.defined})
        body = self.block(sub, self.rng.randint(1, 3))
        body = [ln for ln in body if ln != "pass"]
        sub = outer_only
        for n in reds:
            t = ctx.defined[n]
            ops = ["min", "max"] + (["+", "*", "+", "+"] if t.is_int else [])
            op = "+" if t.is_complex else self.pick(ops)
            if t.is_complex:
                line = self.complex_sum_term(sub, n)
            elif op in ("min", "max"):
                e = self.expr(sub, t, 2)
                line = f"{n} = {op}({n}, {e.code})"
            else:
                cands2 = [b for (o, x, b) in self.g.tab.bin_by.get(t, []) if o == op and x == t]
                if not cands2:
                    continue
                e = self.expr(sub, self.pick(cands2), 2)
                line = f"{n} {op}= {e.code}"
            self.feat(f"reduction:{op}")
            spots = [k for k in range(len(body) + 1) if k == len(body) or
                     not (body[k].startswith((" ", "elif", "else")))]
            body.insert(self.pick(spots), line)
        body = body or ["pass"]
        self.feat("prange")
        return [f"for {v} in prange({args}):"] + ["    " + ln for ln in body]

    def complex_sum_term(self, ctx: Ctx, n: str) -> str:
        """``n += complex((e1) % 97, (e2) % 89)``: a complex sum in a
        ``prange`` loop whose terms are small whole numbers, so that the
        parallel sum is exact in any order (as the float sums are not:
        the generator makes none)."""
        e1 = self.int_expr(ctx, 2)
        e2 = self.int_expr(ctx, 2)
        self.feat("complex_prange_sum")
        return f"{n} += complex(({e1.code}) % 97, ({e2.code}) % 89)"

    def s_reduce_loop(self, ctx: Ctx) -> list[str]:
        """``s = 0; for i in range(n): s += a[i]``: a reduction the compiler
        may parallelise on its own."""
        arrs = [a for a in ctx.arrays.values()
                if ctx.prange is None or a.group not in ctx.prange.written]
        if ctx.depth >= 3 or not arrs:
            raise Retry
        a = self.pick(arrs)
        t = a.t.elem if not a.t.elem.is_bool else PY_INT
        if not (t.is_int or t.is_float or t.is_complex):
            raise Retry
        acc = self.fresh("s")
        op = self.pick(["+", "+", "*", "min", "max"] if t.is_int else ["+", "+", "*"]
                       if t.is_complex else ["+", "min", "max"])
        init = self.const(t) if op in ("min", "max") else \
            E(("0" if op == "+" else "1") if t.py else f"{t.spelling()}({int(op == '*')})", t)
        self.define(ctx, acc, t)
        vs = [self.fresh("i") for _ in range(a.t.ndim)]
        lines = [f"{acc} = {init.code}"]
        for k, v in enumerate(vs):
            lines.append("    " * k + f"for {v} in range({a.name}.shape[{k}]):")
        elem = f"{a.name}[{', '.join(vs)}]"
        if a.t.elem != t:
            elem = f"{t.spelling()}({elem})"
        if op in ("min", "max"):
            upd = f"{acc} = {op}({acc}, {elem})"
        else:
            upd = f"{acc} {op}= {elem}"
        self.feat(f"auto_reduction:{op}")
        return [*lines, "    " * len(vs) + upd]

    def s_while(self, ctx: Ctx) -> list[str]:
        if ctx.depth >= 3 or len(ctx.loops) >= 3:
            raise Retry
        k = self.fresh("k")
        n = self.rng.randint(0, 12)
        self.var_types[k] = PY_INT
        inner = ctx.child(depth=ctx.depth + 1, protected=ctx.protected | {k})
        inner.defined[k] = PY_INT
        test = f"{k} < {n}"
        if self.chance(0.4):
            c = self.cond(inner)
            test = f"{k} < {n} and {c.code}"
        inner.loops = [*ctx.loops, Loop(k, 0, n, "while")]
        if ctx.prange is not None:
            ctx.prange.inner.add(k)
            self.prange_private.add(k)
        body = self.block(inner, self.rng.randint(1, 3))
        ctx.defined[k] = PY_INT
        self.feat("while")
        return [f"{k} = 0", f"while {test}:", f"    {k} += 1"] + ["    " + ln for ln in body]

    def s_break(self, ctx: Ctx) -> list[str]:
        if not ctx.loops or ctx.loops[-1].kind == "prange":
            raise Retry
        word = self.pick(["break", "continue"])
        self.feat(word)
        if self.chance(0.8):
            c = self.cond(ctx)
            return [f"if {c.code}:", f"    {word}"]
        return [word]

    def s_continue_prange(self, ctx: Ctx) -> list[str]:
        if not ctx.loops or ctx.loops[-1].kind != "prange":
            raise Retry
        c = self.cond(ctx)
        self.feat("prange_continue")
        return [f"if {c.code}:", "    continue"]

    def s_return(self, ctx: Ctx) -> list[str]:
        if ctx.prange is not None or ctx.top:
            raise Retry
        c = self.cond(ctx)
        self.feat("early_return")
        return [f"if {c.code}:", f"    return {self.ret_expr(ctx)}"]

    def s_alloc(self, ctx: Ctx) -> list[str]:
        if not (self.is_entry and ctx.top) or len(self.arrays) > 5:
            raise Retry
        lines, arr = self.alloc(ctx)
        ctx.arrays[arr.name] = arr
        self.arrays[arr.name] = arr
        return lines

    def alloc(self, ctx: Ctx, dtype: str | None = None) -> tuple[list[str], Arr]:
        name = self.fresh("b")
        protos = list(ctx.arrays.values())
        dt = dtype or self.pick(self.g.dtypes)
        spelled = ScalarT(dt).spelling()
        kind = self.pick(["zeros", "ones", "empty", "full"])
        like = protos and self.chance(0.3)
        if like:
            p = self.pick(protos)
            shape = p.shape
            if kind == "full":
                fill = self.const(ScalarT(dt))
                call = f"np.full_like({p.name}, {fill.code}, dtype={spelled})"
            else:
                call = f"np.{kind}_like({p.name}, dtype={spelled})"
            self.feat(f"alloc:{kind}_like")
        else:
            ndim = self.pick([1, 1, 2, 2, 3])
            dims: list[tuple[str, int]] = []
            for _ in range(ndim):
                src = [(f"{p.name}.shape[{k}]", p.shape[k]) for p in protos
                       for k in range(p.t.ndim)]
                if src and self.chance(0.6):
                    dims.append(self.pick(src))
                else:
                    c = self.rng.randint(1, 6)
                    dims.append((str(c), c))
            shape = tuple(d[1] for d in dims)
            shape_code = dims[0][0] if ndim == 1 and self.chance(0.5) else \
                "(" + ", ".join(d[0] for d in dims) + ("," if ndim == 1 else "") + ")"
            dtype_kw = self.pick([f", dtype={spelled}", f", dtype={spelled}", ""])
            if dtype_kw == "" and kind != "full":
                dt = "float64"
            if dt in ("float64", "int64", "bool", "complex128") and self.chance(0.3) \
                    and dtype_kw:
                dtype_kw = ", dtype=" + {"float64": "float", "int64": "int",
                                         "bool": "bool", "complex128": "complex"}[dt]
            if kind == "full":
                fills = [PY_INT, PY_FLOAT, PY_BOOL, ScalarT("float32")] + (
                    [PY_COMPLEX, ScalarT("complex64")] if self.g.complex else [])
                fill = self.const(ScalarT(dt)) if dtype_kw else self.const(self.pick(fills))
                if not dtype_kw:
                    dt = {"py_int": "int64", "py_float": "float64", "py_bool": "bool",
                          "py_complex": "complex128"}.get(fill.t.name, fill.t.name)
                call = f"np.full({shape_code}, {fill.code}{dtype_kw})"
            else:
                call = f"np.{kind}({shape_code}{dtype_kw})"
            self.feat(f"alloc:{kind}")
        arr = Arr(name, ArrayT(dt, len(shape)), shape, name)
        lines = [f"{name} = {call}"]
        if kind == "empty":
            vs = [self.fresh("i") for _ in shape]
            sub = ctx.child(loops=[*ctx.loops, *(Loop(v, 0, n - 1, "for")
                                                 for v, n in zip(vs, shape))])
            e = self.expr(sub, arr.t.elem, 2)
            for k, v in enumerate(vs):
                lines.append("    " * k + f"for {v} in range({name}.shape[{k}]):")
            lines.append("    " * len(vs) + f"{name}[{', '.join(vs)}] = {e.code}")
        return lines, arr

    def s_pass(self, ctx: Ctx) -> list[str]:
        return ["pass"]

    # returns ------------------------------------------------------------
    def ret_expr(self, ctx: Ctx, final: bool = False) -> str:
        if isinstance(self.ret, ScalarT):
            if final and self.on("maybe_unbound") and self.chance(0.08):
                maybe = [n for n, t in self.var_types.items()
                         if t == self.ret and n not in ctx.defined
                         and n not in self.prange_private]
                if maybe:
                    self.feat("maybe_unbound")
                    return self.pick(maybe)
            return self.expr(ctx, self.ret, self.rng.randint(1, 3)).code
        parts = []
        for item in self.ret:
            if isinstance(item, ScalarT):
                parts.append(self.expr(ctx, item, self.rng.randint(0, 2)).code)
            else:
                parts.append(item)
        return ", ".join(parts) if len(parts) > 1 else parts[0]


# rule tables: (weight, feature, method)
EXPR_RULES: list[tuple[float, str, Callable[..., E]]] = [
    (7, "core", FnGen.e_var), (1.5, "core", FnGen.e_const), (6, "arrays", FnGen.e_elem),
    (1, "shape_attrs", FnGen.e_shape), (14, "core", FnGen.e_binop), (2, "core", FnGen.e_unop),
    (4, "core", FnGen.e_compare), (1.5, "boolop", FnGen.e_boolop),
    (1.5, "ifexp", FnGen.e_ifexp), (2, "minmax", FnGen.e_minmax), (3, "calls", FnGen.e_call),
    (2, "cast", FnGen.e_cast), (2, "helpers", FnGen.e_helper),
    (0.5, "round_ndigits", FnGen.e_round_nd), (2, "complex", FnGen.e_complex_attr),
]
LEAF_RULES: list[tuple[float, str, Callable[..., E]]] = [
    (8, "core", FnGen.e_var), (3, "core", FnGen.e_const), (6, "arrays", FnGen.e_elem),
    (1, "shape_attrs", FnGen.e_shape), (2, "cast", FnGen.e_cast_leaf),
]
STMT_RULES: list[tuple[float, str, Callable[..., list[str]]]] = [
    (12, "core", FnGen.s_assign_new), (7, "core", FnGen.s_assign),
    (7, "core", FnGen.s_augassign), (3, "core", FnGen.s_tuple),
    (11, "arrays", FnGen.s_store), (5, "arrays", FnGen.s_augstore),
    (8, "core", FnGen.s_if), (7, "core", FnGen.s_for), (5, "arrays", FnGen.s_map_nest),
    (4, "prange", FnGen.s_prange), (3, "arrays", FnGen.s_reduce_loop),
    (3, "while", FnGen.s_while), (5, "core", FnGen.s_break),
    (2, "prange", FnGen.s_continue_prange), (2, "core", FnGen.s_return),
    (3, "alloc", FnGen.s_alloc), (0.5, "core", FnGen.s_pass),
]

#: every feature name a rule or a constant choice can be switched off by
FEATURES = sorted({f for (_, f, _) in EXPR_RULES + LEAF_RULES + STMT_RULES}
                  | {"bitops", "mixed_join", "np_ufuncs", "typeerror", "fitting_const",
                     "bool_arith", "np_int_args",
                     "special_floats", "big_ints", "maybe_unbound", "float_minmax_reduction",
                     "views", "aliasing", "size_param", "module_constants", "wide_values",
                     "complex"})


def cast_ok(src: ScalarT, want: ScalarT) -> bool:
    """``want(x)`` of an ``x`` of type ``src`` is in hybridjit's subset: of
    a complex number, only ``bool()`` and the complex types (``int(z)``,
    ``float(z)`` raise TypeError; NumPy's real types of a NumPy complex
    discard the imaginary part with a warning; ``np.bool_(z)`` is refused)."""
    return not src.is_complex or want.is_complex or want == PY_BOOL


class ProgramGen:
    def __init__(self, seed: int, disabled: frozenset[str] = frozenset()):
        self.seed = seed
        self.rng = random.Random(seed)
        self.disabled = disabled
        self.features: set[str] = set()
        self.constants: dict[str, ScalarT] = {}
        self.const_values: dict[str, Any] = {}  # module constants' values
        self.size_param: dict[str, int] = {}  # "n" -> its value (never reassigned)
        # (drawn apart from self.rng: the other programs stay what they were)
        self.complex = "complex" not in disabled and \
            random.Random(f"complex/{seed}").random() < COMPLEX_RATE
        self.scalars: tuple[ScalarT, ...] = ALL_SCALARS + COMPLEX_SCALARS * COMPLEX_WEIGHT \
            if self.complex else ALL_SCALARS
        self.dtypes: tuple[str, ...] = NP_DTYPES + COMPLEX_DTYPES * COMPLEX_WEIGHT \
            if self.complex else NP_DTYPES
        self.tab: Tables = COMPLEX_TABLES if self.complex else REAL_TABLES

    def enabled(self, feature: str) -> bool:
        """``feature`` may be used ("complex": in a complex program only)."""
        if feature == "complex":
            return self.complex
        return feature not in self.disabled

    # arguments ----------------------------------------------------------
    def complex_arg(self, t: ScalarT) -> str:
        """``complex(re, im)`` (see :mod:`fuzz.values`): edge cases often,
        signed zeros, a part zero, now and then inf or nan."""
        r = self.rng
        parts = []
        for _ in range(2):
            x = r.random()
            if x < 0.2:
                v = r.choice([0.0, -0.0])
            elif x < 0.25:
                v = r.choice([1.0, -1.0, 0.5])
            elif x < 0.29 and self.enabled("special_floats"):
                self.features.add("special_floats")
                v = r.choice([math.inf, -math.inf, math.nan, 1e300, 5e-324])
            else:
                v = round(r.uniform(-4, 4), r.choice([0, 1, 2, 6]))
            parts.append(v)
        z = complex(*parts)
        if not t.py:
            with np.errstate(all="ignore"):
                z = complex(t.dtype.type(z))
        return f"complex({float_code(z.real)}, {float_code(z.imag)})"

    def scalar_arg(self, t: ScalarT) -> str:
        r = self.rng
        if t.is_complex:
            return self.complex_arg(t)
        if t.is_bool:
            return repr(r.random() < 0.5)
        if t.is_float:
            if r.random() < 0.06 and self.enabled("special_floats"):
                self.features.add("special_floats")
                return self.rng.choice(["nan", "inf", "-inf", "-0.0", "1e300", "5e-324"])
            v = round(r.uniform(-4, 4), r.choice([0, 1, 2, 6]))
            if not t.py:
                v = float(t.dtype.type(v))
            return repr(v)
        if t.py:
            lo, hi = (-20, 20) if r.random() < 0.8 else (-3000, 3000)
            if r.random() < 0.03 and self.enabled("big_ints"):
                self.features.add("big_ints")
                lo, hi = -(2 ** 62), 2 ** 62
        else:
            info = np.iinfo(t.dtype)
            lo, hi = max(int(info.min), -20), min(int(info.max), 40)
            if r.random() < 0.2:
                lo, hi = int(info.min), int(info.max)
        return repr(r.randint(lo, hi))

    def array_spec(self, k: int, complex_dtype: bool = False
                   ) -> tuple[dict[str, Any], ArrayT, tuple[int, ...]]:
        r = self.rng
        ndim = r.choice([1, 1, 1, 2, 2, 3])
        shape = tuple(r.randint(1, {1: 12, 2: 6, 3: 4}[ndim]) for _ in range(ndim))
        dt = r.choice(COMPLEX_DTYPES if complex_dtype else self.dtypes)
        views = ["C", "C", "strided", "sliced", "transposed", "negative"] \
            if self.enabled("views") else ["C"]
        view = r.choice(views)
        if view != "C":
            self.features.add(f"view:{view}")
        rng = "wide" if r.random() < 0.15 and self.enabled("wide_values") else "small"
        spec = {"kind": "array", "dtype": dt, "shape": list(shape), "view": view,
                "seed": r.randrange(2 ** 31), "range": rng}
        if dt in COMPLEX_DTYPES and r.random() < 0.5:
            spec["edges"] = True
            self.features.add("complex_edges")
        self.features.add(f"dtype:{dt}")
        return spec, ArrayT(dt, ndim), shape

    # the program --------------------------------------------------------
    def generate(self) -> Program:
        r = self.rng
        specs: list[dict[str, Any]] = []
        params: list[tuple[str, ScalarT | Arr]] = []
        n_arr = r.choice([1, 1, 2, 2, 3]) if self.enabled("arrays") else 0
        n_sc = r.choice([1, 2, 2, 3, 4])
        order = ["a"] * n_arr + ["s"] * n_sc
        r.shuffle(order)
        # a complex program has a complex argument (this one)
        forced = r.randrange(len(order)) if self.complex else -1
        ka = ks = 0
        for pos, what in enumerate(order):
            if what == "a":
                spec, at, shape = self.array_spec(ka, pos == forced)
                name = "abcdgh"[ka]
                ka += 1
                if at.ndim == 1 and self.enabled("aliasing") and r.random() < 0.08:
                    spec["view"] = "head"
                    specs.append(spec)
                    params.append((name, Arr(name, at, shape, name, True)))
                    specs.append({"kind": "tail", "of": len(specs) - 1})
                    params.append((name * 2, Arr(name * 2, at, shape, name, True)))
                    self.features.add("aliasing:overlap")
                    continue
                specs.append(spec)
                params.append((name, Arr(name, at, shape, name)))
                if self.enabled("aliasing") and r.random() < 0.06:
                    specs.append({"kind": "same", "of": len(specs) - 1})
                    params.append((name * 2, Arr(name * 2, at, shape, name)))
                    self.features.add("aliasing:same")
            else:
                t = r.choice(COMPLEX_SCALARS if pos == forced else self.scalars)
                name = "xyzwuv"[ks]
                ks += 1
                specs.append({"kind": "scalar", "type": t.name, "value": self.scalar_arg(t)})
                params.append((name, t))
                self.features.add(f"arg:{t}")
        if self.enabled("size_param") and r.random() < 0.35:
            arr_dims = [p.shape[0] for _, p in params if isinstance(p, Arr)]
            n = r.choice(arr_dims) if arr_dims and r.random() < 0.5 else r.choice(
                [0, 0, 1, 2, 3, 5, 8, -1])
            if arr_dims and r.random() < 0.5:
                n = min(n, min(arr_dims))
            specs.append({"kind": "scalar", "type": "py_int", "value": repr(n)})
            params.append(("n", PY_INT))
            self.size_param["n"] = n
            self.features.add("size_param")
        lines = ["import math", "", "import numpy as np", "", "from hybridjit import prange", ""]
        if self.complex:
            lines.insert(0, "import cmath")
            self.features.add("complex")
        if self.enabled("module_constants"):
            for k in range(r.choice([0, 0, 1, 2])):
                t = r.choice([PY_INT, PY_FLOAT, PY_BOOL])
                name = f"K{k}"
                val = {"py_int": repr(r.randint(-9, 50)), "py_float": repr(r.choice(
                    [0.25, 1.5, -3.0, 2.5e-3])), "py_bool": repr(r.random() < 0.5)}[t.name]
                self.constants[name] = t
                self.const_values[name] = eval(val)
                lines.append(f"{name} = {val}")
                self.features.add("module_constants")
        helpers: list[Helper] = []
        arrays = [p for _, p in params if isinstance(p, Arr)]
        if self.enabled("helpers"):
            for k in range(r.choice([0, 0, 1, 1, 2])):
                h, src = self.helper(f"h{k}", arrays, list(helpers))
                helpers.append(h)
                lines += ["", "", *src]
        entry_ret = self.entry_ret(params)
        fg = FnGen(self, ENTRY, True, entry_ret, helpers)
        ctx = Ctx({}, {}, [], protected=frozenset(self.size_param))
        for name, p in params:
            if isinstance(p, Arr):
                ctx.arrays[name] = p
                fg.arrays[name] = p
            else:
                ctx.defined[name] = p
                fg.var_types[name] = p
        body: list[str] = []
        if r.random() < 0.1:
            body.append('"""A generated function."""')
            self.features.add("docstring")
        if self.enabled("typeerror") and r.random() < 0.02:
            body.append(fg.typeerror_stmt(ctx))
        if not isinstance(entry_ret, ScalarT) and "@alloc" in entry_ret:
            alloc_lines, arr = fg.alloc(ctx)
            ctx.arrays[arr.name] = arr
            fg.arrays[arr.name] = arr
            body += alloc_lines
            fg.ret = tuple(arr.name if x == "@alloc" else x for x in entry_ret)
            self.features.add("return_allocated")
        body += fg.block(ctx, 40)
        body.append(f"return {fg.ret_expr(ctx, final=True)}")
        lines += ["", "", f"def {ENTRY}({', '.join(n for n, _ in params)}):"]
        lines += ["    " + ln for ln in body]
        import ast

        source = ast.unparse(ast.parse("\n".join(lines) + "\n")) + "\n"
        source = source.replace("from hybridjit import prange\n",
                                "from hybridjit import prange\n\n", 1)
        return Program(self.seed, source, ENTRY, specs, set(self.features))

    def entry_ret(self, params: list[tuple[str, Any]]) -> Any:
        r = self.rng
        arrays = [n for n, p in params if isinstance(p, Arr)]
        if self.enabled("alloc") and r.random() < 0.12:
            arrays.append("@alloc")
        x = r.random()
        if x < 0.6 or not arrays:
            return r.choice(self.scalars)
        if x < 0.9:
            items: list[Any] = [r.choice(self.scalars) for _ in range(r.randint(1, 2))]
            if arrays and r.random() < 0.4:
                items.append(r.choice(arrays))
                self.features.add("return_array_in_tuple")
            self.features.add("return_tuple")
            return tuple(items) if len(items) > 1 else (items[0], items[0])
        self.features.add("return_array")
        return (r.choice(arrays),)

    def helper(self, name: str, arrays: list[Arr],
               earlier: list[Helper]) -> tuple[Helper, list[str]]:
        r = self.rng
        params: list[tuple[str, ScalarT | Arr]] = []
        for k in range(r.randint(1, 3)):
            params.append((f"p{k}", r.choice(self.scalars)))
        protos = r.sample(arrays, min(len(arrays), r.randint(0, 2)))
        for k, a in enumerate(protos):
            params.append((f"q{k}", Arr(f"q{k}", a.t, a.shape, f"g{a.t}{a.shape}")))
        if len(protos) == 1 and r.random() < 0.4:
            a = protos[0]
            params.append(("q1", Arr("q1", a.t, a.shape, f"g{a.t}{a.shape}")))
        ret = r.choice(self.scalars)
        fg = FnGen(self, name, False, ret, earlier)
        fg.budget = r.randint(2, 10)
        ctx = Ctx({}, {}, [])
        for pname, p in params:
            if isinstance(p, Arr):
                ctx.arrays[pname] = p
            else:
                ctx.defined[pname] = p
                fg.var_types[pname] = p
        body = fg.block(ctx, 12)
        body.append(f"return {fg.ret_expr(ctx, final=True)}")
        h = Helper(name, params, ret, fg.writes, fg.prange_writes)
        self.features.add("helper")
        src = [f"def {name}({', '.join(n for n, _ in params)}):"] + ["    " + ln for ln in body]
        return h, src


def generate(seed: int, disabled: frozenset[str] = frozenset()) -> Program:
    """The program for ``seed`` (see the module docstring)."""
    return ProgramGen(seed, disabled).generate()


def type_of_ret(ret: Any) -> Any:  # pragma: no cover - documentation aid
    return ret if isinstance(ret, ScalarT) else TupleT(tuple(ret))
