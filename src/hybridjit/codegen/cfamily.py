"""The C-family renderer: typed IR -> C-like source text.

Contract: :class:`CFamilyRenderer` prints one function's statements and
expressions.  It makes no decisions: parallel loops, reductions, wrap-around
of indices and bounds checks arrive as IR annotations or options.  Dialects
(OpenMP C here, OpenCL C and CUDA C for devices) subclass it and override the
small hooks at the bottom (math function spellings, loop pragmas, how a
parallel loop is printed).  Output is deterministic.

Naming scheme in the generated code, chosen so no Python name can collide:
scalar ``x`` -> ``v_x``; frontend temporary ``.t3`` -> ``h_t3``; array ``a``
-> ``A1_a_d`` (data), ``A1_a_n0`` (extent), ``A1_a_s0`` (stride in elements),
``A1_a_o`` (owning PyObject, host entry only), the digit being ``len(name)``.
"""

from __future__ import annotations

import math

from ..errors import InternalError
from ..ir.arrays import VIEWS, ArrayView, ReshapeView
from ..ir.nodes import (
    Alloc,
    Assign,
    BinOp,
    BoolOp,
    BoundCheck,
    Break,
    Call,
    Cast,
    Compare,
    Const,
    Continue,
    Expr,
    ExprStmt,
    For,
    Function,
    If,
    IfExp,
    Intrinsic,
    Let,
    Load,
    MakeTuple,
    Return,
    Shape,
    Stmt,
    Store,
    TupleItem,
    UnaryOp,
    Var,
    While,
    binop_may_raise,
)
from ..ir.visit import walk
from ..types import BOOL, Array, NoneType, Scalar, Tuple, Type
from .prelude import MATH_CAN_OVERFLOW

_C_MATH = {
    "sqrt", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sin", "cos", "tan",
    "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "erf", "erfc",
    "tgamma", "lgamma", "cbrt", "floor", "ceil", "trunc", "rint", "fabs", "atan2", "hypot",
    "copysign", "fmod", "pow", "fmin", "fmax", "nextafter",
}


#: host helpers with one version per float type (of their first argument)
_TYPED_HOST = frozenset({"host.round_np", "host.arange_length"})

#: complex.<name> intrinsics -> C99's functions (float versions end in f)
_COMPLEX_FUNCTIONS = {
    "real": "creal", "imag": "cimag", "conj": "conj", "abs": "cabs", "angle": "carg",
    **{f: "c" + f for f in ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh",
                            "asin", "acos", "atan", "asinh", "acosh", "atanh")},
}

#: hj_cmp_if's result (-1, 0, 1; 2 for NaN) tested for each comparison
_PYCMP = {"<": "{r} == -1", "<=": "{r} <= 0", ">": "{r} == 1", ">=": "(unsigned)({r}) <= 1u",
          "==": "{r} == 0", "!=": "{r} != 0"}


def combine_partials(op: str, t: Scalar, a: str, b: str) -> str:
    """C expression joining two partial results of a reduction ``op`` on
    type ``t`` (a ``-=`` reduction's partials are sums of what it subtracts
    from the start value, so they add)."""
    if op in ("min", "max"):
        return f"hj_{op}_{t.name}({a}, {b})"
    if t.is_complex:  # (helpers on the host and on devices alike)
        return f"hj_c{'mul' if op == '*' else 'add'}_{t.name}({a}, {b})"
    return f"{a} {'*' if op == '*' else '+'} {b}"


def const_step_trip(lo: str, hi: str, step: int) -> str:
    """C for the number of iterations of ``range(lo, hi, step)``, ``step`` a
    nonzero constant."""
    if step > 0:
        return f"({hi} > {lo} ? ({hi} - {lo} + {step - 1}) / {step} : 0)"
    return f"({lo} > {hi} ? ({lo} - {hi} + {-step - 1}) / {-step} : 0)"


def scalar_name(name: str) -> str:
    return "h_" + name[1:] if name.startswith(".") else "v_" + name


def array_part(name: str, part: str) -> str:
    clean = "t" + name[1:] if name.startswith(".") else name
    return f"A{len(name)}_{clean}_{part}"


def tuple_struct(t: Tuple) -> str:
    key = "_".join(_type_tag(i) for i in t.items)
    return f"hj_tup_{key}"


def _type_tag(t: Type) -> str:
    if isinstance(t, Scalar):
        return t.name
    if isinstance(t, Tuple):
        return "T" + "_".join(_type_tag(i) for i in t.items) + "E"
    raise InternalError(f"no C representation for {t} inside a tuple")


def may_fail(node: object, boundscheck: bool) -> bool:
    """Whether evaluating this node can set an error status bit."""
    for n in walk(node):  # type: ignore[arg-type]
        if isinstance(n, BinOp):
            if binop_may_raise(n):
                return True
        elif _raises(n, boundscheck):
            return True
    return False


def _raises(n: object, boundscheck: bool) -> bool:
    """Non-arithmetic nodes that can set an error status bit."""
    if isinstance(n, (Call, Alloc)):
        return True  # a helper may fail; an allocation may run out of memory
    if isinstance(n, Cast):
        return bool(n.check)
    if isinstance(n, BoundCheck):
        return True
    if isinstance(n, (ArrayView, ReshapeView)):
        return True  # a zero slice step, an impossible shape
    if isinstance(n, Intrinsic):
        return n.name.startswith(("math.", "host.")) and n.name != "math.fabs"
    if isinstance(n, (Load, Store)):
        return boundscheck
    return isinstance(n, For) and not isinstance(n.step, Const)


def _has_loop(body: tuple[Stmt, ...]) -> bool:
    return any(isinstance(n, (For, While)) for s in body for n in walk(s))


def polls_inside(node: object) -> bool:
    """Whether host code for ``node`` polls for Ctrl-C (and so may stop with
    a status): every while loop, and for loops with a loop inside."""
    return any(isinstance(n, While) or (isinstance(n, For) and _has_loop(n.body))
               for n in walk(node))  # type: ignore[arg-type]


def _assigns(body: tuple[Stmt, ...], name: str) -> bool:
    return any(isinstance(n, Assign) and n.target == name for s in body for n in walk(s))


class CFamilyRenderer:
    """Prints one :class:`Function`; subclasses choose the dialect."""

    #: qualifier placed before helper and callee definitions
    fn_qualifier = "static inline"

    def __init__(self, fn: Function, boundscheck: bool = False, fastmath: bool = False):
        self.fn = fn
        self.types = fn.local_types()
        self.boundscheck = boundscheck
        self.fastmath = fastmath
        self.parallel_depth = 0
        self.loop_counter = 0
        self.tuple_types: set[Tuple] = set()

    # ------------------------------------------------------------ types

    def c_type(self, t: Type) -> str:
        if isinstance(t, Scalar):
            return t.c_name
        if isinstance(t, Tuple):
            self.tuple_types.add(t)
            return tuple_struct(t)
        if isinstance(t, NoneType):
            return "void"
        raise InternalError(f"type {t} has no scalar C type")

    def zero_value(self, t: Type) -> str:
        if isinstance(t, Tuple):
            return f"({self.c_type(t)}){{0}}"
        return "0"

    # ------------------------------------------------------------ expressions

    def expr(self, e: Expr) -> str:
        method = getattr(self, "e_" + type(e).__name__, None)
        if method is None:
            raise InternalError(f"cannot render expression {type(e).__name__}")
        return method(e)

    def e_Const(self, e: Const) -> str:
        t = e.type
        assert isinstance(t, Scalar)
        if t.is_bool:
            return "1" if e.value else "0"
        if t.is_float:
            return self.float_literal(float(e.value), t)
        if t.is_complex:
            z, rt = complex(e.value), t.real_type
            return self.complex_make(self.float_literal(z.real, rt),
                                     self.float_literal(z.imag, rt), t)
        v = int(e.value)
        # a literal of the constant's own C type: 4 * 1072093415 would be
        # computed in C's int, not in the int64 or uint32 of the IR
        if t.name == "uint64":
            return f"{v}ULL"
        if t.name == "int64":
            return "(-9223372036854775807LL - 1)" if v == -(2**63) else f"{v}LL"
        if t.name == "uint32":
            return f"{v}U"
        return str(v)  # int32 and narrower: C's int holds them

    def float_literal(self, v: float, t: Scalar) -> str:
        if math.isnan(v):
            return "((double)NAN)" if t.name == "float64" else "NAN"
        if math.isinf(v):
            return ("-" if v < 0 else "") + ("((double)INFINITY)" if t.name == "float64"
                                             else "INFINITY")
        text = repr(float(v))
        if "e" not in text and "." not in text and "inf" not in text:
            text += ".0"
        return text + ("f" if t.name == "float32" else "")

    def e_Var(self, e: Var) -> str:
        if isinstance(e.type, Array):
            raise InternalError("array variable used as a scalar value")
        return scalar_name(e.name)

    def e_Cast(self, e: Cast) -> str:
        inner = self.expr(e.value)
        src, dst = e.value.type, e.type
        if isinstance(src, Scalar) and isinstance(dst, Scalar) and not e.check \
                and (src.is_complex or dst.is_complex) and src.c_name != dst.c_name:
            return self.complex_cast(inner, src, dst)
        if e.check == "u64":
            return f"hj_ck_u64({inner}, &hj_st)"
        if e.check:
            assert isinstance(dst, Scalar)
            fn = "hj_ck" if e.check == "pyint" else "hj_f2i"
            name = "int64" if dst.weak else dst.name
            return f"{fn}_{name}({inner}, &hj_st)"
        if isinstance(dst, Scalar) and dst.is_bool and isinstance(src, Scalar) and not src.is_bool:
            return f"(({inner}) != 0)"
        if isinstance(src, Scalar) and isinstance(dst, Scalar) and src.c_name == dst.c_name:
            return inner
        return f"(({self.c_type(dst)})({inner}))"

    def e_BinOp(self, e: BinOp) -> str:
        t = e.type
        assert isinstance(t, Scalar)
        a, b = self.expr(e.left), self.expr(e.right)
        op = e.op
        if t.is_complex:
            return self.complex_binop(op, a, b, t, e.python_zero_div)
        if op in ("+", "-", "*", "&", "|", "^"):
            if t.is_int and t.bits < 32 and op in ("+", "-", "*"):
                # C promotes narrow ints to int; cast back so they wrap like NumPy.
                return f"(({t.c_name})({a} {op} {b}))"
            return f"({a} {op} {b})"
        if op == "/":
            if e.python_zero_div:
                return f"hj_div_{t.name}_z({a}, {b}, &hj_st)"
            return f"({a} / {b})"
        if op in ("//", "%"):
            fn = "floordiv" if op == "//" else "mod"
            if e.python_zero_div:
                return f"hj_{fn}_{t.name}_z({a}, {b}, &hj_st)"
            return f"hj_{fn}_{t.name}({a}, {b})"
        if op == "**":
            if e.python_zero_div:  # Python's own rules (host helpers)
                return f"hj_pypow_{'int64' if t.is_int else 'float64'}({a}, {b}, &hj_st)"
            if t.is_int:
                return f"hj_pow_{t.name}({a}, {b}, &hj_st)"
            return f"hj_pow_{t.name}({a}, {b})"
        if op in ("<<", ">>"):
            name = "shl" if op == "<<" else "shr"
            if e.python_zero_div:
                return f"hj_py{name}_int64({a}, {b}, &hj_st)"
            return f"hj_{name}_{t.name}({a}, {b})"
        raise InternalError(f"unknown binary operator {op}")

    # ---- complex numbers: C99's on the host (KernelRenderer spells them out)

    def complex_make(self, re: str, im: str, t: Scalar) -> str:
        return f"__builtin_complex({re}, {im})"

    def complex_cast(self, inner: str, src: Scalar, dst: Scalar) -> str:
        if dst.is_bool:
            return f"(({inner}) != 0)"
        return f"(({dst.c_name})({inner}))"

    def complex_neg(self, inner: str, t: Scalar) -> str:
        return f"(-({inner}))"

    def complex_compare(self, op: str, a: str, b: str, t: Scalar) -> str:
        return f"({a} {op} {b})"

    def complex_binop(self, op: str, a: str, b: str, t: Scalar, python: bool) -> str:
        """Complex arithmetic (prelude): NumPy's, or Python's when both
        operands are Python numbers (``python``)."""
        if op in ("+", "-"):
            return f"({a} {op} {b})"
        if op == "*":
            return f"hj_cmul_{t.name}({a}, {b})"
        if op == "/":
            return f"hj_pycdiv({a}, {b}, &hj_st)" if python else f"hj_cdiv_{t.name}({a}, {b})"
        if op == "**":
            return f"hj_pycpow({a}, {b}, &hj_st)" if python else f"hj_cpow_{t.name}({a}, {b})"
        raise InternalError(f"operator {op} of complex numbers reached codegen")

    def e_UnaryOp(self, e: UnaryOp) -> str:
        inner = self.expr(e.operand)
        t = e.type
        if e.op == "not":
            return f"(!{inner})"
        if e.op == "pos":
            return inner
        if e.op == "neg":
            if isinstance(t, Scalar) and t.is_complex:
                return self.complex_neg(inner, t)
            if isinstance(t, Scalar) and t.is_int:
                return f"(({t.c_name})(0 - (uint64_t)({inner})))"
            return f"(-({inner}))"  # (never --7.5)
        if e.op == "invert":
            if isinstance(t, Scalar) and t.is_bool:
                return f"(!{inner})"
            return f"(({self.c_type(t)})(~{inner}))"
        raise InternalError(f"unknown unary operator {e.op}")

    def e_Compare(self, e: Compare) -> str:
        lt = e.left.type
        if isinstance(lt, Scalar) and lt.is_complex:
            return self.complex_compare(e.op, self.expr(e.left), self.expr(e.right), lt)
        return f"({self.expr(e.left)} {e.op} {self.expr(e.right)})"

    def e_BoolOp(self, e: BoolOp) -> str:
        parts = [self.expr(v) for v in e.values]
        if e.type == BOOL or (isinstance(e.type, Scalar) and e.type.is_bool):
            joiner = " && " if e.op == "and" else " || "
            return "(" + joiner.join(parts) + ")"
        # Python value semantics: a and b -> b if a else a; a or b -> a if a else b.
        acc = parts[-1]
        for p in reversed(parts[:-1]):
            acc = f"(({p}) ? {acc} : {p})" if e.op == "and" else f"(({p}) ? {p} : {acc})"
        return acc

    def e_BoundCheck(self, e: BoundCheck) -> str:
        value = self.expr(e.value)
        return f"({self.expr(e.flag)} ? {value} : (hj_unbound(&hj_st, \"{e.name}\"), {value}))"

    def e_Let(self, e: Let) -> str:
        # a GNU statement expression: its variable is local to it, so it is
        # private to each thread of a parallel loop without any clause
        name = scalar_name(e.name)
        return (f"({{ {self.c_type(e.value.type)} {name} = {self.expr(e.value)}; "
                f"{self.expr(e.body)}; }})")

    def e_IfExp(self, e: IfExp) -> str:
        return f"({self.expr(e.test)} ? {self.expr(e.body)} : {self.expr(e.orelse)})"

    def e_Load(self, e: Load) -> str:
        ref = self.element(e.array, e.indices, e.wrap)
        if not self.boundscheck:
            return ref
        t = e.type
        assert isinstance(t, Scalar)
        return f"({self.inbounds(e.array, e.indices, e.wrap)} ? {ref} : " \
               f"(HJ_SET(&hj_st, HJ_INDEX), ({t.c_name})0))"

    def e_Shape(self, e: Shape) -> str:
        return array_part(e.array.name, f"n{e.dim}")

    #: whether math.* calls check for CPython's ValueError/OverflowError
    checked_math = True

    def e_Intrinsic(self, e: Intrinsic) -> str:
        if e.name == "views_overlap":  # of two array variables
            a, b = e.args
            assert isinstance(a, Var) and isinstance(b, Var)
            return f"({self.overlap_expr(a.name, b.name)})"
        if e.name == "windows_overlap":  # see transform/arrays._overlap_test
            return f"({self.windows_overlap(e.args)})"
        if e.name == "stride":  # an array variable's element stride
            a, d = e.args
            assert isinstance(a, Var) and isinstance(d, Const)
            return array_part(a.name, f"s{int(d.value)}")
        if e.name in ("slice_lo", "slice_len"):
            return f"hj_{e.name}({', '.join(self.expr(a) for a in e.args)})"
        if e.name == "is_contiguous":  # of an array variable
            (a,) = e.args
            assert isinstance(a, Var) and isinstance(a.type, Array)
            return f"({self.contiguous_expr(a.name, a.type)})"
        args = [self.expr(a) for a in e.args]
        t = e.args[0].type if e.args else e.type
        assert isinstance(t, Scalar)
        name = e.name
        if name.startswith("complex."):
            return self.complex_intrinsic(name[len("complex."):], e, args)
        if name.startswith("host."):
            # host-only helpers that may raise (see prelude.host_prelude)
            fn = name[5:] + (f"_{t.name}" if name in _TYPED_HOST else "")
            return f"hj_{fn}({', '.join(args)}, &hj_st)"
        if name.startswith("math."):
            name = name[5:]
            if name in ("pygamma", "pylgamma"):
                # CPython's own gamma and lgamma (prelude), not the C library's
                call = f"hj_{name}({args[0]})"
                return f"hj_mchk_pole({call}, {args[0]}, &hj_st)" if self.checked_math else call
            if name == "pyhypot":  # CPython's own too; it never raises
                return f"hj_pyhypot({args[0]}, {args[1]})"
            call = self.math_call(name, t, args)
            if not self.checked_math or name == "fabs":
                return call
            if name == "pow":
                return f"hj_mchk_pow({call}, {args[0]}, {args[1]}, &hj_st)"
            ovf = int(name in MATH_CAN_OVERFLOW)
            if len(args) == 1:
                return f"hj_mchk1({call}, {args[0]}, {ovf}, &hj_st)"
            return f"hj_mchk2({call}, {args[0]}, {args[1]}, {ovf}, &hj_st)"
        if name in ("min", "max"):
            return f"hj_{name}_{t.name}({args[0]}, {args[1]})"
        if name in ("np_min", "np_max"):
            return f"hj_np{name[3:]}_{t.name}({args[0]}, {args[1]})"
        if name in ("np_fmod", "np_reciprocal", "sign"):
            fn = {"np_fmod": "npfmod", "np_reciprocal": "nprecip", "sign": "sign"}[name]
            return f"hj_{fn}_{t.name}({', '.join(args)})"
        if name == "abs":
            if t.is_float:
                return self.math_call("fabs", t, args)
            return f"hj_abs_{t.name}({args[0]})"
        if name in ("isnan", "isinf", "isfinite"):
            return f"({name}({args[0]}) != 0)"
        if name.startswith("pycmp"):
            return "(" + _PYCMP[name[5:]].format(r=f"hj_cmp_if({args[0]}, {args[1]})") + ")"
        if name in _C_MATH:
            return self.math_call(name, t, args)
        raise InternalError(f"unknown intrinsic {name}")

    def complex_intrinsic(self, fn: str, e: Intrinsic, args: list[str]) -> str:
        """``complex.<fn>``: C99's complex functions (``complex.make`` builds
        one from its parts)."""
        if fn == "make":
            rt = e.type
            assert isinstance(rt, Scalar)
            r = rt.real_type.c_name
            return self.complex_make(f"({r})({args[0]})", f"({r})({args[1]})", rt)
        t = e.args[0].type
        assert isinstance(t, Scalar)
        sfx = "f" if t.name == "complex64" else ""
        if fn in ("isnan", "isinf"):  # (either part)
            return f"({fn}(creal{sfx}({args[0]})) || {fn}(cimag{sfx}({args[0]})))"
        if fn == "isfinite":
            return f"(isfinite(creal{sfx}({args[0]})) && isfinite(cimag{sfx}({args[0]})))"
        if fn == "reciprocal":  # (prelude.complex_arithmetic)
            return f"hj_creciprocal_{t.name}({args[0]})"
        c = "hj_cexp" if fn == "exp" else _COMPLEX_FUNCTIONS.get(fn)  # (prelude._cexp)
        if c is None:
            raise InternalError(f"unknown complex function {fn}")
        return f"{c}{sfx}({', '.join(args)})"

    def e_Call(self, e: Call) -> str:
        args = ["&hj_st"]
        for a in e.args:
            args.extend(self.call_args(a))
        return f"{e.func}({', '.join(args)})"

    def call_args(self, a: Expr) -> list[str]:
        if isinstance(a.type, Array):
            if not isinstance(a, Var):
                raise InternalError("array arguments must be variables")
            return self.array_fields(a.name, a.type)
        return [self.expr(a)]

    def array_fields(self, name: str, t: Array) -> list[str]:
        fields = [array_part(name, "d")]
        fields += [array_part(name, f"n{d}") for d in range(t.ndim)]
        fields += [array_part(name, f"s{d}") for d in range(t.ndim)]
        return fields

    def e_MakeTuple(self, e: MakeTuple) -> str:
        assert isinstance(e.type, Tuple)
        items = ", ".join(self.expr(i) for i in e.items)
        return f"(({self.c_type(e.type)}){{{items}}})"

    def e_TupleItem(self, e: TupleItem) -> str:
        if isinstance(e.value, MakeTuple):
            return self.expr(e.value.items[e.index])
        return f"({self.expr(e.value)}).f{e.index}"

    # ------------------------------------------------------------ indexing

    def index_terms(self, arr: Var, indices: tuple[Expr, ...], wrap: tuple[bool, ...]) -> list[str]:
        out = []
        for d, ix in enumerate(indices):
            s = self.expr(ix)
            if not wrap or wrap[d]:
                s = f"hj_wrap({s}, {array_part(arr.name, f'n{d}')})"
            out.append(s)
        return out

    def element(self, arr: Var, indices: tuple[Expr, ...], wrap: tuple[bool, ...]) -> str:
        t = arr.type
        assert isinstance(t, Array)
        terms = self.index_terms(arr, indices, wrap)
        offs = []
        for d, s in enumerate(terms):
            if d == t.ndim - 1 and t.layout == "C":
                offs.append(s)
            else:
                offs.append(f"({s}) * {array_part(arr.name, f's{d}')}")
        return f"{array_part(arr.name, 'd')}[{' + '.join(offs) if offs else '0'}]"

    def inbounds(self, arr: Var, indices: tuple[Expr, ...], wrap: tuple[bool, ...]) -> str:
        terms = self.index_terms(arr, indices, wrap)
        checks = [f"hj_inb({s}, {array_part(arr.name, f'n{d}')})" for d, s in enumerate(terms)]
        return "(" + " && ".join(checks) + ")"

    # ------------------------------------------------------------ statements

    def body(self, stmts: tuple[Stmt, ...], ind: str) -> list[str]:
        lines: list[str] = []
        for s in stmts:
            lines.extend(self.stmt(s, ind))
            # After loops and ifs too: a parallel loop inside reports its
            # errors only once it has finished.
            if self.parallel_depth == 0 and (may_fail(s, self.boundscheck)
                                             or (self.interruptible and polls_inside(s))):
                lines.append(f"{ind}if (hj_st) goto hj_fail;")
        return lines

    def stmt(self, s: Stmt, ind: str) -> list[str]:
        method = getattr(self, "s_" + type(s).__name__, None)
        if method is None:
            raise InternalError(f"cannot render statement {type(s).__name__}")
        return method(s, ind)

    def s_Assign(self, s: Assign, ind: str) -> list[str]:
        t = self.types[s.target]
        if isinstance(t, Array):
            return self.assign_array(s.target, t, s.value, ind)
        return [f"{ind}{scalar_name(s.target)} = {self.expr(s.value)};"]

    def assign_array(self, target: str, t: Array, value: Expr, ind: str) -> list[str]:
        if isinstance(value, Var):
            src = value.type
            assert isinstance(src, Array)
            lines = [f"{ind}{array_part(target, 'd')} = {array_part(value.name, 'd')};"]
            for d in range(t.ndim):
                for p in ("n", "s"):
                    lines.append(
                        f"{ind}{array_part(target, f'{p}{d}')} = "
                        f"{array_part(value.name, f'{p}{d}')};"
                    )
            return self.retain_array(target, value.name, ind) + lines
        if isinstance(value, Alloc):
            return self.alloc_array(target, value, ind)
        if isinstance(value, VIEWS):
            from .views import view_lines

            return view_lines(self, target, t, value, ind) + self.view_object(target, value, ind)
        raise InternalError(f"cannot assign {type(value).__name__} to an array variable")

    def overlap_expr(self, a: str, b: str) -> str:
        """C test that array variables ``a`` and ``b`` share memory now."""
        args = []
        for name in (a, b):
            t = self.types[name]
            assert isinstance(t, Array)
            ns = ", ".join(array_part(name, f"n{d}") for d in range(t.ndim))
            ss = ", ".join(array_part(name, f"s{d}") for d in range(t.ndim))
            args.append(f"(const char *){array_part(name, 'd')}, {t.ndim}, (int64_t[]){{{ns}}}, "
                        f"(int64_t[]){{{ss}}}, sizeof({t.dtype.c_name})")
        return f"hj_views_overlap({args[0]}, {args[1]})"

    def windows_overlap(self, args: tuple[Expr, ...]) -> str:
        """C test that two windows (base, offset, ndim, extents, strides)
        share memory now."""
        parts = []
        k = 0
        for _ in range(2):
            base, offset, nd = args[k], args[k + 1], args[k + 2]
            assert isinstance(base, Var) and isinstance(base.type, Array)
            assert isinstance(nd, Const)
            n = int(nd.value)
            exts = ", ".join(self.expr(x) for x in args[k + 3:k + 3 + n]) or "0"
            strides = ", ".join(self.expr(x) for x in args[k + 3 + n:k + 3 + 2 * n]) or "0"
            c = base.type.dtype.c_name
            parts.append(f"(const char *)({array_part(base.name, 'd')} + ({self.expr(offset)})), "
                         f"{n}, (int64_t[]){{{exts}}}, (int64_t[]){{{strides}}}, sizeof({c})")
            k += 3 + 2 * n
        return f"hj_views_overlap({parts[0]}, {parts[1]})"

    def contiguous_expr(self, name: str, t: Array) -> str:
        """C test that array variable ``name`` is C-contiguous now (extent-1
        dimensions' strides do not matter)."""
        conds = []
        stride = "1"
        for d in reversed(range(t.ndim)):
            n, s = array_part(name, f"n{d}"), array_part(name, f"s{d}")
            conds.append(f"({n} <= 1 || {s} == {stride})")
            stride = f"{stride} * {n}"
        return " && ".join(conds) or "1"

    def view_object(self, target: str, value: Expr, ind: str) -> list[str]:
        """Hook: the host entry gives a view a NumPy object of its own."""
        return []

    def retain_array(self, target: str, source: str, ind: str) -> list[str]:
        """Hook: the host entry keeps PyObject references; devices do not."""
        return []

    def alloc_array(self, target: str, value: Alloc, ind: str) -> list[str]:
        raise InternalError("array allocation is only supported in host code")

    def s_Store(self, s: Store, ind: str) -> list[str]:
        ref = self.element(s.array, s.indices, s.wrap)
        line = f"{ref} = {self.expr(s.value)};"
        if not self.boundscheck:
            return [ind + line]
        return [f"{ind}if {self.inbounds(s.array, s.indices, s.wrap)} {{ {line} }}"
                f" else HJ_SET(&hj_st, HJ_INDEX);"]

    def s_ExprStmt(self, s: ExprStmt, ind: str) -> list[str]:
        return [f"{ind}(void)({self.expr(s.value)});"]

    def s_If(self, s: If, ind: str) -> list[str]:
        lines = [f"{ind}if ({self.expr(s.test)}) {{"]
        lines += self._fail_check_for(s.test, ind + "    ")
        lines += self.body(s.body, ind + "    ")
        if s.orelse:
            lines.append(f"{ind}}} else {{")
            lines += self._fail_check_for(s.test, ind + "    ")
            lines += self.body(s.orelse, ind + "    ")
        lines.append(f"{ind}}}")
        if not s.orelse and self._test_may_fail(s.test):
            lines.append(f"{ind}if (hj_st) goto hj_fail;")
        return lines

    def _test_may_fail(self, test: Expr) -> bool:
        return self.parallel_depth == 0 and may_fail(test, self.boundscheck)

    def _fail_check_for(self, test: Expr, ind: str) -> list[str]:
        return [f"{ind}if (hj_st) goto hj_fail;"] if self._test_may_fail(test) else []

    def s_While(self, s: While, ind: str) -> list[str]:
        self.loop_counter += 1
        k = self.loop_counter
        counted = self.interruptible and not _has_loop(s.body)
        lines = [f"{ind}{{ unsigned hj_pc{k} = 0; (void)hj_pc{k};"] if counted else []
        lines.append(f"{ind}while ({self.expr(s.test)}) {{")
        lines += self._fail_check_for(s.test, ind + "    ")
        # a short body polls every 1024 iterations, one with loops every time
        lines += self.poll(ind + "    ", f"!(++hj_pc{k} & 1023)" if counted else "")
        lines += self.body(s.body, ind + "    ")
        lines.append(f"{ind}}}")
        if counted:
            lines.append(f"{ind}}}")
        lines += self._fail_check_for(s.test, ind)
        return lines

    def s_Break(self, s: Break, ind: str) -> list[str]:
        return [f"{ind}break;"]

    def s_Continue(self, s: Continue, ind: str) -> list[str]:
        return [f"{ind}continue;"]

    def s_Return(self, s: Return, ind: str) -> list[str]:
        if s.value is None:
            return [f"{ind}return;"]
        return [f"{ind}return {self.expr(s.value)};"]

    def s_For(self, s: For, ind: str) -> list[str]:
        self.loop_counter += 1
        k = self.loop_counter
        lo, hi, st = f"hj_lo{k}", f"hj_hi{k}", f"hj_step{k}"
        cnt = f"hj_i{k}"
        var = scalar_name(s.var)
        lines = [f"{ind}{{"]
        inner = ind + "    "
        lines.append(f"{inner}const int64_t {lo} = {self.expr(s.start)};")
        lines.append(f"{inner}const int64_t {hi} = {self.expr(s.stop)};")
        step_const = isinstance(s.step, Const)
        if step_const:
            step = int(s.step.value)  # type: ignore[attr-defined]
            if step == 0:
                lines.append(f"{inner}HJ_SET(&hj_st, HJ_RANGESTEP); goto hj_fail;")
                return [*lines, f"{ind}}}"]
            cmp = "<" if step > 0 else ">"
            header = f"for (int64_t {cnt} = {lo}; {cnt} {cmp} {hi}; {cnt} += {step})"
            trip = const_step_trip(lo, hi, step)
            first = cnt
        else:
            lines.append(f"{inner}const int64_t {st} = {self.expr(s.step)};")
            if self.parallel_depth == 0:
                lines.append(f"{inner}if ({st} == 0) "
                             "{ HJ_SET(&hj_st, HJ_RANGESTEP); goto hj_fail; }")
            trip = (f"({st} > 0 ? ({hi} > {lo} ? ({hi} - {lo} + {st} - 1) / {st} : 0) : "
                    f"({lo} > {hi} ? ({lo} - {hi} - {st} - 1) / (-{st}) : 0))")
            lines.append(f"{inner}const int64_t hj_trip{k} = {st} == 0 ? 0 : {trip};")
            trip = f"hj_trip{k}"
            header = f"for (int64_t {cnt} = 0; {cnt} < {trip}; {cnt}++)"
            first = f"{lo} + {cnt} * {st}"
        if s.parallel is not None:
            lines += self.parallel_loop(s, header, var, first, inner)
            step_expr = str(s.step.value) if step_const else st  # type: ignore[attr-defined]
            if not _assigns(s.body, s.var):
                # Python leaves the loop variable at its last value (a body
                # that assigns it is lastprivate instead).
                lines.append(
                    f"{inner}if ({trip} > 0) {var} = {lo} + ({trip} - 1) * {step_expr};"
                )
        else:
            # an innermost loop runs its bounded course; one with loops inside
            # polls every 16th iteration (a poll costs ~30 ns: per iteration
            # it was most of a bit-reversal loop's time)
            polls = self.interruptible and _has_loop(s.body)
            if polls:
                lines.append(f"{inner}unsigned hj_pc{k} = 0;")
            lines += self.simd_pragma(s, inner)
            lines.append(f"{inner}{header} {{")
            lines.append(f"{inner}    {var} = {first};")
            if polls:
                lines += self.poll(inner + "    ", f"!(++hj_pc{k} & 15)")
            lines += self.body(s.body, inner + "    ")
            lines.append(f"{inner}}}")
        lines.append(f"{ind}}}")
        return lines

    # ------------------------------------------------------------ dialect hooks

    #: whether loops poll for Ctrl-C (host code; device kernels cannot)
    interruptible = False

    def simd_pragma(self, s: For, ind: str) -> list[str]:
        """Hook: a vectorising pragma for a loop whose reductions may be
        reassociated (``For.simd``); none by default."""
        return []

    def poll(self, ind: str, when: str = "", leave: str = "") -> list[str]:
        """Lines at the top of a loop iteration that stop the call on Ctrl-C:
        out of the function in serial code, out of this loop inside a
        parallel one (``leave``: how to skip an iteration of the parallel
        loop itself, whose iterations then end quickly one by one)."""
        if not self.interruptible:
            return []
        cond = f"{when} && hj_poll()" if when else "hj_poll()"
        leave = leave or ("goto hj_fail;" if self.parallel_depth == 0 else "break;")
        return [f"{ind}if ({cond}) {{ hj_st |= HJ_INTR; {leave} }}"]

    def parallel_loop(self, s: For, header: str, var: str, first: str, ind: str) -> list[str]:
        """Print a loop annotated parallel; the base prints it serially."""
        lines = [f"{ind}{header} {{", f"{ind}    {var} = {first};"]
        lines += self.body(s.body, ind + "    ")
        return [*lines, f"{ind}}}"]

    def math_call(self, name: str, t: Scalar, args: list[str]) -> str:
        suffix = "f" if t.name == "float32" else ""
        return f"{name}{suffix}({', '.join(args)})"

    # ------------------------------------------------------------ declarations

    def local_declarations(self, ind: str, skip: set[str]) -> list[str]:
        lines = []
        for name, t in sorted(self.types.items()):
            if name in skip:
                continue
            if isinstance(t, Array):
                lines += self.declare_array(name, t, ind)
            elif isinstance(t, (Scalar, Tuple)):
                lines.append(f"{ind}{self.c_type(t)} {scalar_name(name)} = {self.zero_value(t)};")
        return lines

    def declare_array(self, name: str, t: Array, ind: str) -> list[str]:
        lines = [f"{ind}{t.dtype.c_name} *{array_part(name, 'd')} = 0;"]
        dims = ", ".join(
            f"{array_part(name, f'{p}{d}')} = 0" for p in ("n", "s") for d in range(t.ndim)
        )
        lines.append(f"{ind}int64_t {dims};")
        return lines

    def tuple_typedefs(self) -> list[str]:
        out = []
        done: set[str] = set()
        for t in sorted(self.tuple_types, key=tuple_struct):
            out += self._typedef(t, done)
        return out

    def _typedef(self, t: Tuple, done: set[str]) -> list[str]:
        name = tuple_struct(t)
        if name in done:
            return []
        done.add(name)
        out: list[str] = []
        fields = []
        for k, item in enumerate(t.items):
            if isinstance(item, Tuple):
                out += self._typedef(item, done)
            fields.append(f"{self.c_type(item)} f{k};")
        out.append(f"typedef struct {{ {' '.join(fields)} }} {name};")
        return out
