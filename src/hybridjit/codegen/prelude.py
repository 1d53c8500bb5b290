"""C helper functions giving Python/NumPy semantics to C arithmetic.

Contract: :func:`prelude` returns C99 text (no includes) that defines, for
every supported dtype, the helpers the renderer calls: floor division and
modulo with Python signs, integer powers, shifts, Python ``min``/``max``,
NumPy's NaN-propagating ``minimum``/``maximum``, index wrap-around, and the
status bits that report errors back to Python.  The text is plain C that the
OpenCL and CUDA dialects can include after their own type definitions
(``HJ_FN`` is the function qualifier each dialect sets).
"""

from __future__ import annotations

STATUS_BITS = {
    "HJ_ZERODIV": 1,
    "HJ_NEGPOW": 2,
    "HJ_INDEX": 4,
    "HJ_RANGESTEP": 8,
    "HJ_PYERR": 16,
    "HJ_DOMAIN": 32,
    "HJ_OVERFLOW": 64,
    "HJ_MSG": 128,  # an exception whose type and message the host prelude recorded
    "HJ_INTR": 256,  # interrupted (Ctrl-C): the signal handler decides what to raise
}

#: exception kinds of :func:`host_prelude`'s ``hj_fail_msg`` (the index into
#: the host's exception table)
MSG_KINDS = ("ValueError", "OverflowError", "ZeroDivisionError", "UnboundLocalError",
             "TypeError", "MemoryError", "IndexError")

#: math functions whose infinite result from finite input is an
#: OverflowError in CPython (for the others it is a domain error)
MATH_CAN_OVERFLOW = frozenset(
    {"exp", "exp2", "expm1", "cosh", "sinh", "tgamma", "lgamma", "pow", "hypot"}
)

_SIGNED = [("int8", "int8_t"), ("int16", "int16_t"), ("int32", "int32_t"), ("int64", "int64_t")]
_UNSIGNED = [
    ("uint8", "uint8_t"), ("uint16", "uint16_t"), ("uint32", "uint32_t"), ("uint64", "uint64_t"),
]
_FLOATS = [("float32", "float", "f"), ("float64", "double", "")]


def _signed(name: str, c: str) -> str:
    return f"""
HJ_FN {c} hj_floordiv_{name}({c} a, {c} b) {{
    if (b == 0) return 0;
    if (b == -1) return ({c})(0 - (uint64_t)a);
    {c} q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
    return q;
}}
HJ_FN {c} hj_mod_{name}({c} a, {c} b) {{
    if (b == 0 || b == -1) return 0;
    {c} r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}}
HJ_FN {c} hj_floordiv_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ HJ_SET(st, HJ_ZERODIV); return 0; }}
    return hj_floordiv_{name}(a, b);
}}
HJ_FN {c} hj_mod_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ HJ_SET(st, HJ_ZERODIV); return 0; }}
    return hj_mod_{name}(a, b);
}}
HJ_FN {c} hj_abs_{name}({c} a) {{ return a < 0 ? ({c})(0 - (uint64_t)a) : a; }}
HJ_FN {c} hj_shl_{name}({c} a, {c} b) {{
    if (b < 0 || b >= (int)(8 * sizeof({c}))) return 0;
    return ({c})((uint64_t)a << b);
}}
HJ_FN {c} hj_shr_{name}({c} a, {c} b) {{
    if (b < 0 || b >= (int)(8 * sizeof({c}))) return a < 0 ? -1 : 0;
    return a >> b;
}}
HJ_FN {c} hj_pow_{name}({c} a, {c} b, int *st) {{
    if (b < 0) {{ HJ_SET(st, HJ_NEGPOW); return 0; }}
    uint64_t r = 1, x = (uint64_t)a;
    while (b) {{ if (b & 1) r *= x; x *= x; b >>= 1; }}
    return ({c})r;
}}
"""


def _unsigned(name: str, c: str) -> str:
    return f"""
HJ_FN {c} hj_floordiv_{name}({c} a, {c} b) {{ return b == 0 ? 0 : a / b; }}
HJ_FN {c} hj_mod_{name}({c} a, {c} b) {{ return b == 0 ? 0 : a % b; }}
HJ_FN {c} hj_floordiv_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ HJ_SET(st, HJ_ZERODIV); return 0; }}
    return a / b;
}}
HJ_FN {c} hj_mod_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ HJ_SET(st, HJ_ZERODIV); return 0; }}
    return a % b;
}}
HJ_FN {c} hj_abs_{name}({c} a) {{ return a; }}
HJ_FN {c} hj_shl_{name}({c} a, {c} b) {{
    return b >= 8 * sizeof({c}) ? 0 : ({c})(a << b);
}}
HJ_FN {c} hj_shr_{name}({c} a, {c} b) {{ return b >= 8 * sizeof({c}) ? 0 : a >> b; }}
HJ_FN {c} hj_pow_{name}({c} a, {c} b, int *st) {{
    (void)st;
    uint64_t r = 1, x = a;
    while (b) {{ if (b & 1) r *= x; x *= x; b >>= 1; }}
    return ({c})r;
}}
"""


def _float(name: str, c: str, sfx: str) -> str:
    # Floor division and modulo follow CPython's float_divmod (NumPy's
    # npy_divmod is the same algorithm), so signs and -0.0 match exactly.
    # Powers: float64's pow(a, 2) is a * a; float32's is powf, as NumPy's
    # scalar power, which is not always the correctly rounded a * a.
    square = "if (b == 2) return a * a;\n    " if name == "float64" else ""
    return f"""
HJ_FN {c} hj_mod_{name}({c} a, {c} b) {{
    if (b == 0) return fmod{sfx}(a, b);
    if (isinf(a)) return NAN;  /* (fmod of an infinity: PoCL folds it wrongly) */
    {c} m = fmod{sfx}(a, b);
    if (m != 0) {{ if ((b < 0) != (m < 0)) m += b; }}
    else m = copysign{sfx}(({c})0, b);
    return m;
}}
HJ_FN {c} hj_floordiv_{name}({c} a, {c} b) {{
    if (b == 0) return a / b;
    if (isinf(a)) return NAN;
    {c} m = fmod{sfx}(a, b);
    {c} d = (a - m) / b;
    if (m != 0 && ((b < 0) != (m < 0))) d -= 1;
    {c} f;
    if (d != 0) {{ f = floor{sfx}(d); if (d - f > ({c})0.5) f += 1; }}
    else f = copysign{sfx}(({c})0, a / b);
    return f;
}}
HJ_FN {c} hj_floordiv_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ HJ_SET(st, HJ_ZERODIV); return 0; }}
    return hj_floordiv_{name}(a, b);
}}
HJ_FN {c} hj_mod_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ HJ_SET(st, HJ_ZERODIV); return 0; }}
    return hj_mod_{name}(a, b);
}}
HJ_FN {c} hj_div_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ HJ_SET(st, HJ_ZERODIV); return 0; }}
    return a / b;
}}
HJ_FN {c} hj_sign_{name}({c} a) {{ return a > 0 ? 1 : (a < 0 ? -1 : (a == 0 ? 0 : a)); }}
HJ_FN {c} hj_npmin_{name}({c} a, {c} b) {{ return (a < b || a != a) ? a : b; }}
HJ_FN {c} hj_npmax_{name}({c} a, {c} b) {{ return (a > b || a != a) ? a : b; }}
HJ_FN {c} hj_pow_{name}({c} a, {c} b) {{
    {square}return pow{sfx}(a, b);
}}
"""


def _cmp_int_float() -> str:
    """Exact comparison of a Python int (int64) with a Python float, as
    CPython compares them: -1, 0, 1, or 2 when the float is NaN."""
    return """
HJ_FN int hj_cmp_if(int64_t i, double f) {
    if (f != f) return 2;
    if (f >= 9223372036854775808.0) return -1;
    if (f < -9223372036854775808.0) return 1;
    double t = trunc(f);
    int64_t ti = (int64_t)t;
    if (i != ti) return i < ti ? -1 : 1;
    return f > t ? -1 : (f < t ? 1 : 0);
}
"""


def _np_int_extras(name: str, c: str, signed: bool) -> str:
    """NumPy's integer fmod (C's remainder, 0 for a zero divisor), sign and
    reciprocal (1 / x rounded toward zero; the wrapped minimum for zero)."""
    # (literals: OpenCL C has no INT32_MIN)
    minimum = ("(-9223372036854775807LL - 1)" if c == "int64_t" else "(-2147483647 - 1)") \
        if signed else "0"
    neg1 = "b == -1 ||" if signed else ""
    return f"""
HJ_FN {c} hj_npfmod_{name}({c} a, {c} b) {{ return ({neg1} b == 0) ? 0 : a % b; }}
HJ_FN {c} hj_sign_{name}({c} a) {{ return ({c})((a > 0) - (a < 0)); }}
HJ_FN {c} hj_nprecip_{name}({c} a) {{
    return a == 0 ? ({c}){minimum} : (a == 1 ? 1 : ({"a == -1 ? -1 : " if signed else ""}0));
}}
"""


def _minmax(name: str, c: str) -> str:
    return f"""
HJ_FN {c} hj_min_{name}({c} a, {c} b) {{ return b < a ? b : a; }}
HJ_FN {c} hj_max_{name}({c} a, {c} b) {{ return b > a ? b : a; }}
"""


#: Python's slice normalisation for a nonzero step (transform/windows.py):
#: the first index (meaningful when the length is not 0) and the length
_SLICE = r"""HJ_FN int64_t hj_slice_bound(int64_t n, int64_t has, int64_t v, int64_t step,
                              int64_t omitted) {
    if (!has) return omitted;
    if (v < 0) { v += n; if (v < 0) v = step < 0 ? -1 : 0; }
    else if (v >= n) v = step < 0 ? n - 1 : n;
    return v;
}
HJ_FN int64_t hj_slice_lo(int64_t n, int64_t hs, int64_t start, int64_t ho, int64_t stop,
                          int64_t step) {
    return hj_slice_bound(n, hs, start, step, step < 0 ? n - 1 : 0);
}
HJ_FN int64_t hj_slice_len(int64_t n, int64_t hs, int64_t start, int64_t ho, int64_t stop,
                           int64_t step) {
    if (step == 0) return 0;
    int64_t a = hj_slice_bound(n, hs, start, step, step < 0 ? n - 1 : 0);
    int64_t b = hj_slice_bound(n, ho, stop, step, step < 0 ? -1 : n);
    if (step < 0) return b < a ? (a - b - 1) / (-step) + 1 : 0;
    return a < b ? (b - a - 1) / step + 1 : 0;
}
"""


def prelude(float64: bool = True) -> str:
    """The helpers; ``float64=False`` leaves out double-precision ones for
    devices without fp64."""
    parts = ["#define " + k + " " + str(v) for k, v in STATUS_BITS.items()]
    # a failure sets its status bit; the host redefines this so that the first
    # failure of a call decides the exception (see host_prelude)
    parts.append("#ifndef HJ_SET\n#define HJ_SET(st, bit) (*(st) |= (bit))\n#endif")
    if float64:
        parts.append(
            "HJ_FN double hj_mchk1(double r, double x, int ovf, int *st) {\n"
            "    if (isnan(r) && !isnan(x)) HJ_SET(st, HJ_DOMAIN);\n"
            "    else if (isinf(r) && isfinite(x)) HJ_SET(st, ovf ? HJ_OVERFLOW : HJ_DOMAIN);\n"
            "    return r;\n}\n"
            "HJ_FN double hj_mchk2(double r, double x, double y, int ovf, int *st) {\n"
            "    if (isnan(r) && !isnan(x) && !isnan(y)) HJ_SET(st, HJ_DOMAIN);\n"
            "    else if (isinf(r) && isfinite(x) && isfinite(y))\n"
            "        HJ_SET(st, ovf ? HJ_OVERFLOW : HJ_DOMAIN);\n"
            "    return r;\n}\n"
            # CPython's math.pow: an infinity from 0 ** negative is a domain error
            "HJ_FN double hj_mchk_pow(double r, double x, double y, int *st) {\n"
            "    return hj_mchk2(r, x, y, x != 0.0, st);\n}"
        )
    parts.append(
        "HJ_FN int64_t hj_wrap(int64_t i, int64_t n) { return i < 0 ? i + n : i; }\n"
        + _SLICE +
        "HJ_FN int hj_inb(int64_t i, int64_t n) { return (uint64_t)i < (uint64_t)n; }\n"
        "HJ_FN npy_bool hj_min_bool(npy_bool a, npy_bool b) { return b < a ? b : a; }\n"
        "HJ_FN npy_bool hj_max_bool(npy_bool a, npy_bool b) { return b > a ? b : a; }\n"
        "HJ_FN npy_bool hj_npmin_bool(npy_bool a, npy_bool b) { return a < b ? a : b; }\n"
        "HJ_FN npy_bool hj_npmax_bool(npy_bool a, npy_bool b) { return a > b ? a : b; }\n"
        "HJ_FN npy_bool hj_abs_bool(npy_bool a) { return a; }"
    )
    for name, c in _SIGNED:
        parts.append(_signed(name, c) + _minmax(name, c) + _np_int_extras(name, c, True))
        parts.append(
            f"HJ_FN {c} hj_npmin_{name}({c} a, {c} b) {{ return a < b ? a : b; }}\n"
            f"HJ_FN {c} hj_npmax_{name}({c} a, {c} b) {{ return a > b ? a : b; }}"
        )
    for name, c in _UNSIGNED:
        parts.append(_unsigned(name, c) + _minmax(name, c) + _np_int_extras(name, c, False))
        parts.append(
            f"HJ_FN {c} hj_npmin_{name}({c} a, {c} b) {{ return a < b ? a : b; }}\n"
            f"HJ_FN {c} hj_npmax_{name}({c} a, {c} b) {{ return a > b ? a : b; }}"
        )
    for name, c, sfx in _FLOATS:
        if c == "double" and not float64:
            continue
        parts.append(_float(name, c, sfx) + _minmax(name, c))
    if float64:
        parts.append(_cmp_int_float())
        parts.append(_PY_GAMMA)
    return "\n".join(parts) + "\n"


#: integer dtypes narrower than a Python int (int64 here), with C type and range
_NARROW_INTS = [
    ("int8", "int8_t", "-128", "127"), ("int16", "int16_t", "-32768", "32767"),
    ("int32", "int32_t", "-2147483648LL", "2147483647LL"),
    ("uint8", "uint8_t", "0", "255"), ("uint16", "uint16_t", "0", "65535"),
    ("uint32", "uint32_t", "0", "4294967295LL"),
]


def host_prelude() -> str:
    """Host-only helpers (after :func:`prelude`): errors whose message names
    a value (recorded for the host to raise), and conversions that raise as
    CPython and NumPy do.  Device kernels never call these: a region that
    may raise runs on the host."""
    kinds = "\n".join(f"#define HJ_E_{k.upper()} {i}" for i, k in enumerate(MSG_KINDS))
    parts = [kinds, """
static int hj_msg_claimed, hj_msg_kind;
static char hj_msg_text[256];
/* the iteration of the parallel loop this thread runs (-1: none), and the
   one whose failure holds the message */
static __thread int64_t hj_cur_iter = -1;
static int64_t hj_msg_iter;
static pthread_mutex_t hj_msg_lock = PTHREAD_MUTEX_INITIALIZER;
/* The first failure of a call records its exception, as in Python, where
   the first failure ends the call.  Inside a parallel loop "first" is by
   iteration, not by time: a failure of an earlier iteration replaces one of
   a later iteration (another thread's, or this thread's after it went on),
   so the exception is the one the loop run serially raises. */
static void hj_fail_msg(int *st, int kind, const char *fmt, ...) {
    pthread_mutex_lock(&hj_msg_lock);
    if (!hj_msg_claimed || (hj_cur_iter >= 0 && hj_cur_iter < hj_msg_iter)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(hj_msg_text, sizeof hj_msg_text, fmt, ap);
        va_end(ap);
        hj_msg_kind = kind;
        hj_msg_iter = hj_cur_iter;
        hj_msg_claimed = 1;
    }
    pthread_mutex_unlock(&hj_msg_lock);
    HJ_SET(st, HJ_MSG);
}
/* A failure known by its status bit only: the first failure of a call still
   decides the exception (math.log(0) before a store that then overflows). */
static void hj_set_first(int *st, int bit) {
    static const struct { int bit, kind; const char *text; } known[] = {
        {HJ_INDEX, HJ_E_INDEXERROR, "index out of bounds"},
        {HJ_ZERODIV, HJ_E_ZERODIVISIONERROR, "division by zero"},
        {HJ_NEGPOW, HJ_E_VALUEERROR, "Integers to negative integer powers are not allowed."},
        {HJ_RANGESTEP, HJ_E_VALUEERROR, "range() arg 3 must not be zero"},
        {HJ_DOMAIN, HJ_E_VALUEERROR, "math domain error"},
        {HJ_OVERFLOW, HJ_E_OVERFLOWERROR, "math range error"},
    };
    for (unsigned k = 0; k < sizeof known / sizeof known[0]; k++)
        if (known[k].bit == bit) { hj_fail_msg(st, known[k].kind, "%s", known[k].text); break; }
    *st |= bit;
}
static void hj_unbound(int *st, const char *name) {
    hj_fail_msg(st, HJ_E_UNBOUNDLOCALERROR,
                "cannot access local variable '%s' where it is not associated with a value",
                name);
}
/* Python's slice normalisation (PySlice_AdjustIndices): the first index
   and the length of start:stop:step over n elements. */
static int64_t hj_slice_step(int64_t step, int *st) {
    if (step == 0) hj_fail_msg(st, HJ_E_VALUEERROR, "slice step cannot be zero");
    return step;
}
static void hj_slice(int64_t n, int has_start, int64_t start, int has_stop, int64_t stop,
                     int64_t step, int64_t *lo, int64_t *len, int *st) {
    if (step == 0) {
        hj_fail_msg(st, HJ_E_VALUEERROR, "slice step cannot be zero");
        *lo = 0; *len = 0; return;
    }
    if (!has_start) start = step < 0 ? n - 1 : 0;
    else if (start < 0) { start += n; if (start < 0) start = step < 0 ? -1 : 0; }
    else if (start >= n) start = step < 0 ? n - 1 : n;
    if (!has_stop) stop = step < 0 ? -1 : n;
    else if (stop < 0) { stop += n; if (stop < 0) stop = step < 0 ? -1 : 0; }
    else if (stop >= n) stop = step < 0 ? n - 1 : n;
    if (step < 0) *len = stop < start ? (start - stop - 1) / (-step) + 1 : 0;
    else *len = start < stop ? (stop - start - 1) / step + 1 : 0;
    *lo = *len > 0 ? start : 0;
}
/* a.reshape(e): resolve one -1 extent, check the number of elements */
static void hj_reshape(int nd, int64_t *e, int64_t size, int *st) {
    int unknown = -1;
    int64_t known = 1;
    for (int k = 0; k < nd; k++) {
        if (e[k] == -1 && unknown < 0) { unknown = k; continue; }
        if (e[k] < 0) {
            hj_fail_msg(st, HJ_E_VALUEERROR, e[k] == -1 ? "can only specify one unknown "
                        "dimension" : "negative dimensions not allowed");
            return;
        }
        known *= e[k];
    }
    if (unknown >= 0) {
        if (known == 0 || size % known) {
            hj_fail_msg(st, HJ_E_VALUEERROR, "cannot reshape array of size %lld into that shape",
                        (long long)size);
            return;
        }
        e[unknown] = size / known;
        known = size;
    }
    if (known != size)
        hj_fail_msg(st, HJ_E_VALUEERROR, "cannot reshape array of size %lld into that shape",
                    (long long)size);
}
/* broadcasting: the extent two operands' extents make (NumPy's rules) */
static int64_t hj_broadcast(int64_t a, int64_t b, int *st) {
    if (a == b || b == 1) return a;
    if (a == 1) return b;
    hj_fail_msg(st, HJ_E_VALUEERROR, "operands could not be broadcast together (extents %lld "
                "and %lld)", (long long)a, (long long)b);
    return a;
}
static int64_t hj_broadcast_into(int64_t a, int64_t b, int *st) {
    if (a == b || a == 1) return b;
    hj_fail_msg(st, HJ_E_VALUEERROR, "could not broadcast input array from extent %lld into "
                "extent %lld", (long long)a, (long long)b);
    return b;
}
/* the contracted extents of a matrix product (NumPy's messages) */
static int64_t hj_core_match(int64_t a, int64_t b, int64_t fn, int *st) {
    if (a == b) return b;
    if (fn == 0)
        hj_fail_msg(st, HJ_E_VALUEERROR, "matmul: Input operand 1 has a mismatch in its core "
                    "dimension 0, with gufunc signature (n?,k),(k,m?)->(n?,m?) (size %lld is "
                    "different from %lld)", (long long)b, (long long)a);
    else
        hj_fail_msg(st, HJ_E_VALUEERROR, "shapes not aligned: %lld (contracted dimension of "
                    "the first operand) != %lld (of the second)", (long long)a, (long long)b);
    return b;
}
/* whether the dispatch hook would run region rid, of work iterations, on a
   device (a matrix product then runs as its region's kernel, not BLAS) */
static int hj_device_takes(PyObject *hook, int rid, int64_t work) {
    if (hook == Py_None) return 0;
    PyObject *r = PyObject_CallMethod(hook, "takes", "iL", rid, (long long)work);
    if (r == NULL) { PyErr_Clear(); return 0; }
    int v = PyObject_IsTrue(r);
    Py_DECREF(r);
    if (v < 0) PyErr_Clear();
    return v > 0;
}
/* C = A @ B by NumPy's own matrix product (its BLAS; it releases the GIL
   while it computes), on arrays wrapping the windows' memory: A is
   an0 x an1, B an1 x bn1, C a new C-contiguous an0 x bn1 array. */
static int64_t hj_matmul_into(int typenum, char *a, int64_t an0, int64_t an1, int64_t as0,
                              int64_t as1, char *b, int64_t bn0, int64_t bn1, int64_t bs0,
                              int64_t bs1, char *c, int *st) {
    npy_intp ad[2] = {an0, an1}, ast[2] = {as0, as1}, bd[2] = {bn0, bn1}, bst[2] = {bs0, bs1};
    npy_intp cd[2] = {an0, bn1};
    PyObject *A = PyArray_New(&PyArray_Type, 2, ad, typenum, ast, a, 0, NPY_ARRAY_ALIGNED, NULL);
    PyObject *B = PyArray_New(&PyArray_Type, 2, bd, typenum, bst, b, 0, NPY_ARRAY_ALIGNED, NULL);
    PyObject *C = PyArray_New(&PyArray_Type, 2, cd, typenum, NULL, c, 0, NPY_ARRAY_CARRAY, NULL);
    PyObject *r = (A && B && C) ? PyArray_MatrixProduct2(A, B, (PyArrayObject *)C) : NULL;
    Py_XDECREF(r); Py_XDECREF(A); Py_XDECREF(B); Py_XDECREF(C);
    if (!r) *st |= HJ_PYERR;
    return 0;
}
/* module.name, imported on first use (the caller keeps the reference) */
static PyObject *hj_import_attr(const char *module, const char *name) {
    PyObject *m = PyImport_ImportModule(module);
    if (!m) return NULL;
    PyObject *f = PyObject_GetAttrString(m, name);
    Py_DECREF(m);
    return f;
}
/* a tuple of n new references (stolen; NULL if any is NULL) */
static PyObject *hj_tuple_of(int n, ...) {
    va_list ap;
    va_start(ap, n);
    PyObject *t = PyTuple_New(n);
    int ok = t != NULL;
    for (int k = 0; k < n; k++) {
        PyObject *v = va_arg(ap, PyObject *);
        if (!v) ok = 0;
        if (t && v) PyTuple_SET_ITEM(t, k, v);
        else Py_XDECREF(v);
    }
    va_end(ap);
    if (!ok) { Py_XDECREF(t); return NULL; }
    return t;
}
/* One item of a NumPy function's result as the array variable receiving it
   holds it: a new reference to a C-contiguous, writeable array of typenum
   with ndim dimensions (the item itself when it is one: it may be an
   operand, as np.histogram's given bin edges are, and the alias analysis
   says so); a scalar item as a 1-element 1-D array. */
static PyObject *hj_library_result(PyObject *item, int typenum, int ndim, int scalar) {
    int flags = NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | NPY_ARRAY_WRITEABLE;
    int nd = scalar ? 0 : ndim;
    PyObject *a = PyArray_FromAny(item, PyArray_DescrFromType(typenum), nd, nd, flags, NULL);
    if (!a || !scalar) return a;
    PyObject *r = PyArray_Ravel((PyArrayObject *)a, NPY_CORDER);
    Py_DECREF(a);
    return r;
}
/* an element of an index array as a row of an array of n rows (NumPy's
   integer array indexing): wrapped when negative, IndexError out of range */
static int64_t hj_fancy_index(int64_t k, int64_t n, int *st) {
    if (k < -n || k >= n) {
        hj_fail_msg(st, HJ_E_INDEXERROR, "index %lld is out of bounds for axis 0 with size "
                    "%lld", (long long)k, (long long)n);
        return 0;
    }
    return k < 0 ? k + n : k;
}
/* out= must have the result's shape (NumPy's ValueError) */
static int64_t hj_out_match(int64_t got, int64_t want, int64_t d, int *st) {
    if (got != want)
        hj_fail_msg(st, HJ_E_VALUEERROR, "out has extent %lld along axis %lld, the result %lld",
                    (long long)got, (long long)d, (long long)want);
    return got;
}
/* a boolean mask's extent along axis d must be the indexed array's */
static int64_t hj_mask_match(int64_t a, int64_t m, int64_t d, int *st) {
    if (a != m)
        hj_fail_msg(st, HJ_E_INDEXERROR, "boolean index did not match indexed array along "
                    "axis %lld; size of axis is %lld but size of corresponding boolean axis "
                    "is %lld", (long long)d, (long long)a, (long long)m);
    return a;
}
static int64_t hj_concat_check(int64_t a, int64_t b, int *st) {
    if (a != b)
        hj_fail_msg(st, HJ_E_VALUEERROR, "all the input array dimensions except for the "
                    "concatenation axis must match exactly (extents %lld and %lld)",
                    (long long)a, (long long)b);
    return a;
}
/* len(np.arange(start, stop, step)) */
static int64_t hj_arange_length_int64(int64_t start, int64_t stop, int64_t step, int *st) {
    if (step == 0) { hj_fail_msg(st, HJ_E_ZERODIVISIONERROR, "division by zero"); return 0; }
    if (step > 0) return stop > start ? (stop - start - 1) / step + 1 : 0;
    return start > stop ? (start - stop - 1) / (-step) + 1 : 0;
}
static int64_t hj_arange_length_float64(double start, double stop, double step, int *st) {
    if (step == 0) { hj_fail_msg(st, HJ_E_ZERODIVISIONERROR, "division by zero"); return 0; }
    double n = ceil((stop - start) / step);
    if (n != n || n > 9.2e18) {
        hj_fail_msg(st, HJ_E_VALUEERROR, "arange: cannot compute length"); return 0;
    }
    return n > 0 ? (int64_t)n : 0;
}
static int64_t hj_empty_reduction(int64_t size, int64_t kind, int *st) {
    static const char *const names[] = {"minimum", "maximum", "argmin", "argmax", "min", "max"};
    if (size == 0) {
        if (kind >= 4)
            hj_fail_msg(st, HJ_E_VALUEERROR, "%s() arg is an empty sequence", names[kind]);
        else if (kind < 2)
            hj_fail_msg(st, HJ_E_VALUEERROR, "zero-size array to reduction operation %s which "
                        "has no identity", names[kind]);
        else
            hj_fail_msg(st, HJ_E_VALUEERROR, "attempt to get %s of an empty sequence",
                        names[kind]);
    }
    return size;
}
/* Python's float ** float (ints ** ints where the result may be a float) */
static double hj_pypow_float64(double a, double b, int *st) {
    if (a == 0.0 && b < 0.0) {
        hj_fail_msg(st, HJ_E_ZERODIVISIONERROR, "0.0 cannot be raised to a negative power");
        return 0.0;
    }
    if (a < 0.0 && isfinite(a) && isfinite(b) && b != floor(b)) {
        hj_fail_msg(st, HJ_E_VALUEERROR, "(%.17g) ** %.17g is a complex number in Python, "
                    "and hybridjit computes with real numbers", a, b);
        return 0.0;
    }
    double r = hj_pow_float64(a, b);
    if (isinf(r) && isfinite(a) && isfinite(b)) {
        hj_fail_msg(st, HJ_E_OVERFLOWERROR, "(34, 'Numerical result out of range')");
        return 0.0;
    }
    return r;
}
static int64_t hj_pypow_int64(int64_t a, int64_t b, int *st) {
    if (b < 0) {
        hj_fail_msg(st, HJ_E_VALUEERROR, "%lld ** %lld is a float in Python; hybridjit gives "
                    "one type per expression: write float(x) ** n for a float result",
                    (long long)a, (long long)b);
        return 0;
    }
    return hj_pow_int64(a, b, st);
}
static int64_t hj_pyshl_int64(int64_t a, int64_t b, int *st) {
    if (b < 0) { hj_fail_msg(st, HJ_E_VALUEERROR, "negative shift count"); return 0; }
    return hj_shl_int64(a, b);
}
static int64_t hj_pyshr_int64(int64_t a, int64_t b, int *st) {
    if (b < 0) { hj_fail_msg(st, HJ_E_VALUEERROR, "negative shift count"); return 0; }
    return hj_shr_int64(a, b);
}
/* Python's int() of a float, as an int64 (a Python int beyond 64 bits is
   an OverflowError here: hybridjit's ints are 64-bit). */
static int64_t hj_f2i_int64(double x, int *st) {
    if (x != x) {
        hj_fail_msg(st, HJ_E_VALUEERROR, "cannot convert float NaN to integer"); return 0;
    }
    if (isinf(x)) {
        hj_fail_msg(st, HJ_E_OVERFLOWERROR, "cannot convert float infinity to integer");
        return 0;
    }
    double t = trunc(x);
    if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0)) {
        hj_fail_msg(st, HJ_E_OVERFLOWERROR, "int(%.17g) does not fit in 64 bits", x);
        return 0;
    }
    return (int64_t)t;
}
static uint64_t hj_f2i_uint64(double x, int *st) {
    if (x != x || isinf(x)) return (uint64_t)hj_f2i_int64(x, st);
    double t = trunc(x);
    if (t < 0 && t >= -9223372036854775808.0) {
        hj_fail_msg(st, HJ_E_OVERFLOWERROR, "Python integer %lld out of bounds for uint64",
                    (long long)t);
        return 0;
    }
    if (!(t >= 0 && t < 18446744073709551616.0)) {
        hj_fail_msg(st, HJ_E_OVERFLOWERROR, "int(%.17g) does not fit in 64 bits", x);
        return 0;
    }
    return (uint64_t)t;
}
static int64_t hj_ck_u64(uint64_t v, int *st) {
    if (v > (uint64_t)INT64_MAX) {
        hj_fail_msg(st, HJ_E_OVERFLOWERROR, "the Python int %llu does not fit in 64 bits",
                    (unsigned long long)v);
        return 0;
    }
    return (int64_t)v;
}
static uint64_t hj_ck_uint64(int64_t v, int *st) {
    if (v < 0) {
        hj_fail_msg(st, HJ_E_OVERFLOWERROR, "Python integer %lld out of bounds for uint64",
                    (long long)v);
        return 0;
    }
    return (uint64_t)v;
}
"""]
    parts.append(_MATH_HOST)
    parts += [_host_complex(name, c, r, sfx) for name, c, r, sfx in _COMPLEX]
    parts.append(_PY_COMPLEX)
    for name, c, lo, hi in _NARROW_INTS:
        parts.append(f"""
static {c} hj_ck_{name}(int64_t v, int *st) {{
    if (v < {lo} || v > {hi}) {{
        hj_fail_msg(st, HJ_E_OVERFLOWERROR, "Python integer %lld out of bounds for {name}",
                    (long long)v);
        return 0;
    }}
    return ({c})v;
}}
static {c} hj_f2i_{name}(double x, int *st) {{
    int64_t v = hj_f2i_int64(x, st);
    return *st & HJ_MSG ? 0 : hj_ck_{name}(v, st);
}}""")
    return "\n".join(parts) + "\n"


#: math.gcd/lcm/comb/perm/factorial/isqrt/ldexp/frexp/modf/ulp/isclose and
#: round(x, ndigits) with CPython's results and exceptions (a result beyond
#: 64 bits is an OverflowError: hybridjit's ints are 64-bit).
_MATH_HOST = r"""
static int64_t hj_too_big(const char *fn, int *st) {
    hj_fail_msg(st, HJ_E_OVERFLOWERROR, "math.%s() result does not fit in 64 bits", fn);
    return 0;
}
/* Floats to unsigned integers as NumPy's (baseline x86-64) C conversions
   give them, out of range too (AVX-512's unsigned conversions, which
   -march=native would pick, saturate instead: np.uint32(-3.0) is
   4294967293): through int64, which is INT64_MIN outside its range. */
static inline int64_t hj_cvt_i64(double x) {
    return (x >= -9223372036854775808.0 && x < 9223372036854775808.0) ? (int64_t)x : INT64_MIN;
}
static inline uint64_t hj_f2u_uint64(double x) {
    return x >= 9223372036854775808.0
        ? (uint64_t)hj_cvt_i64(x - 9223372036854775808.0) ^ 0x8000000000000000ULL
        : (uint64_t)hj_cvt_i64(x);
}
static inline uint32_t hj_f2u_uint32(double x) { return (uint32_t)hj_cvt_i64(x); }
/* and to the narrower integers through int32 (INT32_MIN outside its range),
   as NumPy's loops convert them: np.uint16(np.float32(-1.82)) is 65535,
   np.int8(1e10) is 0.  A plain C conversion of an out-of-range value is
   undefined: GCC folded (float)(uint16_t)x into -1.0 for x = -1.82. */
static inline int32_t hj_cvt_i32(double x) {
    return (x > -2147483649.0 && x < 2147483648.0) ? (int32_t)x : INT32_MIN;
}
static inline int8_t hj_fcvt_int8(double x) { return (int8_t)hj_cvt_i32(x); }
static inline int16_t hj_fcvt_int16(double x) { return (int16_t)hj_cvt_i32(x); }
static inline uint8_t hj_fcvt_uint8(double x) { return (uint8_t)hj_cvt_i32(x); }
static inline uint16_t hj_fcvt_uint16(double x) { return (uint16_t)hj_cvt_i32(x); }
static inline int32_t hj_fcvt_int32(double x) { return hj_cvt_i32(x); }
static inline int64_t hj_fcvt_int64(double x) { return hj_cvt_i64(x); }
/* a - b through a function where a is a constant expression: GCC (12, even
   at -O0) folds 0.0 - (double)i, 0.0 - fabs(x) and 0.0 - (double)u to the
   negation, which is -0.0 for a zero (Python: 0.0), also when a only folds
   to 0.0, as (0 ? 0.1 : 0.0) does.  Inlined after folding: no cost. */
static inline double hj_fsub_float64(double a, double b) { return a - b; }
static inline float hj_fsub_float32(float a, float b) { return a - b; }
static uint64_t hj_uabs(int64_t a) { return a < 0 ? 0 - (uint64_t)a : (uint64_t)a; }
static uint64_t hj_ugcd(uint64_t x, uint64_t y) {
    while (y) { uint64_t t = x % y; x = y; y = t; }
    return x;
}
static int64_t hj_gcd(int64_t a, int64_t b, int *st) {
    uint64_t g = hj_ugcd(hj_uabs(a), hj_uabs(b));
    return g > INT64_MAX ? hj_too_big("gcd", st) : (int64_t)g;
}
static int64_t hj_lcm(int64_t a, int64_t b, int *st) {
    if (a == 0 || b == 0) return 0;
    uint64_t x = hj_uabs(a), y = hj_uabs(b), r;
    if (__builtin_mul_overflow(x / hj_ugcd(x, y), y, &r) || r > INT64_MAX)
        return hj_too_big("lcm", st);
    return (int64_t)r;
}
static int hj_nonneg(int64_t v, const char *what, int *st) {
    if (v >= 0) return 1;
    hj_fail_msg(st, HJ_E_VALUEERROR, "%s must be a non-negative integer", what);
    return 0;
}
static int64_t hj_comb(int64_t n, int64_t k, int *st) {
    if (!hj_nonneg(n, "n", st) || !hj_nonneg(k, "k", st)) return 0;
    if (k > n) return 0;
    if (k > n - k) k = n - k;
    /* r_i = C(n - k + i, i) grows with i: if the last fits, every one does */
    unsigned __int128 r = 1;
    for (int64_t i = 1; i <= k; i++) {
        r = r * (unsigned __int128)(n - k + i) / (unsigned __int128)i;
        if (r > INT64_MAX) return hj_too_big("comb", st);
    }
    return (int64_t)r;
}
static int64_t hj_perm(int64_t n, int64_t k, int *st) {
    if (!hj_nonneg(n, "n", st) || !hj_nonneg(k, "k", st)) return 0;
    if (k > n) return 0;
    int64_t r = 1;
    for (int64_t i = 0; i < k; i++)
        if (__builtin_mul_overflow(r, n - i, &r)) return hj_too_big("perm", st);
    return r;
}
static int64_t hj_factorial(int64_t n, int *st) {
    if (n < 0) {
        hj_fail_msg(st, HJ_E_VALUEERROR, "factorial() not defined for negative values");
        return 0;
    }
    int64_t r = 1;
    for (int64_t i = 2; i <= n; i++)
        if (__builtin_mul_overflow(r, i, &r)) return hj_too_big("factorial", st);
    return r;
}
static int64_t hj_isqrt(int64_t n, int *st) {
    if (n < 0) {
        hj_fail_msg(st, HJ_E_VALUEERROR, "isqrt() argument must be nonnegative");
        return 0;
    }
    uint64_t r = (uint64_t)sqrt((double)n);
    while (r * r > (uint64_t)n) r--;
    while ((r + 1) * (r + 1) <= (uint64_t)n) r++;
    return (int64_t)r;
}
static double hj_ldexp(double x, int64_t i, int *st) {
    if (x == 0.0 || !isfinite(x)) return x;
    if (i > INT_MAX) {
        hj_fail_msg(st, HJ_E_OVERFLOWERROR, "math range error"); return 0.0;
    }
    if (i < INT_MIN) return copysign(0.0, x);
    double r = ldexp(x, (int)i);
    if (isinf(r)) { hj_fail_msg(st, HJ_E_OVERFLOWERROR, "math range error"); return 0.0; }
    return r;
}
static double hj_frexp_m(double x, int *st) {
    (void)st;
    if (x == 0.0 || !isfinite(x)) return x;
    int e;
    return frexp(x, &e);
}
static int64_t hj_frexp_e(double x, int *st) {
    (void)st;
    if (x == 0.0 || !isfinite(x)) return 0;
    int e;
    frexp(x, &e);
    return e;
}
static double hj_modf_frac(double x, int *st) {
    (void)st;
    if (isinf(x)) return copysign(0.0, x);
    double ip;
    return modf(x, &ip);
}
static double hj_modf_int(double x, int *st) {
    (void)st;
    double ip;
    if (isinf(x)) return x;
    modf(x, &ip);
    return ip;
}
static double hj_ulp(double x, int *st) {
    (void)st;
    if (x != x) return x;
    x = fabs(x);
    if (isinf(x)) return x;
    double up = nextafter(x, INFINITY);
    if (isinf(up)) return x - nextafter(x, -INFINITY);
    return up - x;
}
static npy_bool hj_isclose(double a, double b, double rel, double abs_tol, int *st) {
    if (rel < 0.0 || abs_tol < 0.0) {
        hj_fail_msg(st, HJ_E_VALUEERROR, "tolerances must be non-negative"); return 0;
    }
    if (a == b) return 1;
    if (isinf(a) || isinf(b)) return 0;
    double diff = fabs(b - a);
    return diff <= fabs(rel * b) || diff <= fabs(rel * a) || diff <= abs_tol;
}
/* round(x, nd) of a Python float: the exact binary value rounded to nd
   decimals, half to even (as CPython's correctly rounded dtoa does). */
static double hj_round_py(double x, int64_t nd, int *st) {
    if (!isfinite(x) || x == 0.0 || nd > 323) return x;
    if (nd < -308) return 0.0 * x;
    char buf[832], out[840];
    double ax = fabs(x);
    snprintf(buf, sizeof buf, "%.20e", ax);
    int e10 = atoi(strchr(buf, 'e') + 1);
    int64_t keep = e10 + 1 + nd;  /* significant digits kept */
    if (keep > 767) return x;  /* every digit of a double is kept */
    if (keep < 0) return copysign(0.0, x);
    int prec = (int)(keep + 24 > 767 ? 767 : keep + 24);
    for (int pass = 0; pass < 2; pass++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, ax);
        char digits[800];
        int nd_ = 0;
        for (const char *p = buf; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9') digits[nd_++] = *p;
        int e = atoi(strchr(buf, 'e') + 1);
        if (e != e10) { e10 = e; keep = e10 + 1 + nd; }  /* (cannot happen for doubles) */
        int next = keep < nd_ ? digits[keep] - '0' : 0;
        int rest = 0;  /* any non-zero digit after the next one */
        for (int i = (int)keep + 1; i < nd_; i++) if (digits[i] != '0') { rest = 1; break; }
        if (prec < 767 && next == 5 && !rest) {
            prec = 767;  /* a tie at this precision may not be exact: all digits */
            continue;
        }
        int up = next > 5 || (next == 5 && (rest || (keep > 0 && (digits[keep - 1] - '0') % 2)));
        if (keep == 0) {
            if (!up) return copysign(0.0, x);
            snprintf(out, sizeof out, "1e%d", e10 + 1);
        } else {
            int i = (int)keep - 1;
            while (up && i >= 0) {
                if (digits[i] == '9') { digits[i] = '0'; i--; }
                else { digits[i]++; up = 0; }
            }
            digits[keep] = 0;
            snprintf(out, sizeof out, "%s%se%d", up ? "1" : "", digits,
                     (int)(e10 + 1 - keep));
        }
        double r = strtod(out, NULL);
        if (isinf(r)) {
            hj_fail_msg(st, HJ_E_OVERFLOWERROR, "rounded value too large to represent");
            return 0.0;
        }
        return copysign(r, x);
    }
    return x;
}
/* NumPy's round of a float: scale by a power of ten, rint, scale back. */
static double hj_pow10_np(int64_t n) {
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    if (n < 9) return p10[n];
    double r = 1e9;
    while (n-- > 9) r *= 10.0;
    return r;
}
static double hj_round_np_float64(double x, int64_t nd, int *st) {
    (void)st;
    if (nd >= 0) { double f = hj_pow10_np(nd); return rint(x * f) / f; }
    double f = hj_pow10_np(-nd);
    return rint(x / f) * f;
}
static float hj_round_np_float32(float x, int64_t nd, int *st) {
    (void)st;
    if (nd >= 0) { float f = (float)hj_pow10_np(nd); return rintf(x * f) / f; }
    float f = (float)hj_pow10_np(-nd);
    return rintf(x / f) * f;
}
/* round(n, nd) of an integer: to a multiple of 10**-nd, half to even. */
static int64_t hj_round_int(int64_t x, int64_t nd, int *st) {
    if (nd >= 0) return x;
    if (nd < -19) return 0;
    uint64_t p = 1;
    for (int64_t i = 0; i < -nd; i++) p *= 10;
    uint64_t ax = hj_uabs(x), q = ax / p, r = ax % p;
    if (r > p - r || (r == p - r && (q & 1))) q++;
    unsigned __int128 v = (unsigned __int128)q * p;
    if (v > (x < 0 ? (unsigned __int128)INT64_MAX + 1 : (unsigned __int128)INT64_MAX)) {
        hj_fail_msg(st, HJ_E_OVERFLOWERROR, "round() result does not fit in 64 bits");
        return 0;
    }
    return x < 0 ? (int64_t)(0 - (uint64_t)v) : (int64_t)v;
}
"""


#: CPython's math.gamma and math.lgamma, which are its own (Lanczos, N = 13,
#: g = 6.024680040776729583740234375, the coefficients Boost publishes, a
#: reflection formula through an exact sin(pi x)), not the C library's: the
#: same arithmetic in the same order gives the same bits.  hj_mchk_pole turns
#: their nan/inf into CPython's exceptions (a pole is a domain error).
_PY_GAMMA = r"""
HJ_FN double hj_sin_pi(double x) {
    double y = fmod(fabs(x), 2.0), r;
    switch ((int)round(2.0 * y)) {
    case 0: r = sin(3.141592653589793 * y); break;
    case 1: r = cos(3.141592653589793 * (y - 0.5)); break;
    case 2: r = sin(3.141592653589793 * (1.0 - y)); break;
    case 3: r = -cos(3.141592653589793 * (y - 1.5)); break;
    default: r = sin(3.141592653589793 * (y - 2.0)); break;
    }
    return copysign(1.0, x) * r;
}
HJ_FN double hj_lanczos_sum(double x) {
    const double num_c[13] = {
        23531376880.410759688572007674451636754734846804940,
        42919803642.649098768957899047001988850926355848959,
        35711959237.355668049440185451547166705960488635843,
        17921034426.037209699919755754458931112671403265390,
        6039542586.3520280050642916443072979210699388420708,
        1439720407.3117216736632230727949123939715485786772,
        248874557.86205415651146038641322942321632125127801,
        31426415.585400194380614231628318205362874684987640,
        2876370.6289353724412254090516208496135991145378768,
        186056.26539522349504029498971604569928220784236328,
        8071.6720023658162106380029022722506138218516325024,
        210.82427775157934587250973392071336271166969580291,
        2.5066282746310002701649081771338373386264310793408};
    const double den_c[13] = {0.0, 39916800.0, 120543840.0, 150917976.0, 105258076.0,
                              45995730.0, 13339535.0, 2637558.0, 357423.0, 32670.0, 1925.0,
                              66.0, 1.0};
    double num = 0.0, den = 0.0;
    if (x < 5.0) {
        for (int i = 12; i >= 0; i--) { num = num * x + num_c[i]; den = den * x + den_c[i]; }
    } else {
        for (int i = 0; i < 13; i++) { num = num / x + num_c[i]; den = den / x + den_c[i]; }
    }
    return num / den;
}
HJ_FN double hj_pygamma(double x) {
    const double g = 6.024680040776729583740234375, g_half = 5.524680040776729583740234375;
    if (!isfinite(x)) return (isnan(x) || x > 0.0) ? x : NAN;
    if (x == 0.0) return copysign((double)INFINITY, x);
    if (x == floor(x)) {
        if (x < 0.0) return NAN;
        if (x <= 23.0) {
            double f = 1.0;  /* (x-1)! exactly, as doubles hold it */
            for (int k = 2; k < (int)x; k++) f *= k;
            return f;
        }
    }
    double ax = fabs(x);
    if (ax < 1e-20) return 1.0 / x;
    if (ax > 200.0) return x < 0.0 ? 0.0 / hj_sin_pi(x) : INFINITY;
    double y = ax + g_half, z;
    if (ax > g_half) { double q = y - ax; z = q - g_half; }
    else { double q = y - g_half; z = q - ax; }
    z = z * g / y;
    double r;
    if (x < 0.0) {
        r = -3.141592653589793 / hj_sin_pi(ax) / ax * exp(y) / hj_lanczos_sum(ax);
        r -= z * r;
        if (ax < 140.0) r /= pow(y, ax - 0.5);
        else { double sp = pow(y, ax / 2.0 - 0.25); r /= sp; r /= sp; }
    } else {
        r = hj_lanczos_sum(ax) / exp(y);
        r += z * r;
        if (ax < 140.0) r *= pow(y, ax - 0.5);
        else { double sp = pow(y, ax / 2.0 - 0.25); r *= sp; r *= sp; }
    }
    return r;
}
HJ_FN double hj_pylgamma(double x) {
    const double g = 6.024680040776729583740234375;
    if (!isfinite(x)) return isnan(x) ? x : INFINITY;
    if (x == floor(x) && x <= 2.0) return x <= 0.0 ? INFINITY : 0.0;
    double ax = fabs(x);
    if (ax < 1e-20) return -log(ax);
    double r = log(hj_lanczos_sum(ax)) - g;
    r += (ax - 0.5) * (log(ax + g - 0.5) - 1);
    if (x < 0.0) r = 1.1447298858494002 - log(fabs(hj_sin_pi(ax))) - log(ax) - r;
    return r;
}
/* CPython's math.hypot of two values: scaled by a power of two, squares
   and their sum kept in double length (fma, fast two-sum), the square
   root corrected once: correctly rounded nearly always, as CPython's. */
HJ_FN double hj_pyhypot(double a, double b) {
    double v0 = fabs(a), v1 = fabs(b);
    double mx = v0 > v1 ? v0 : v1;
    if (isinf(v0) || isinf(v1)) return INFINITY;
    if (isnan(v0) || isnan(v1)) return NAN;
    if (mx == 0.0) return 0.0;
    int e;
    frexp(mx, &e);
    if (e < -1023) {  /* subnormal: scaling by 2**-e would overflow */
        const double m = 2.2250738585072014e-308;
        return m * hj_pyhypot(v0 / m, v1 / m);
    }
    double scale = ldexp(1.0, -e), csum = 1.0, frac1 = 0.0, frac2 = 0.0;
    double xs[2] = {v0 * scale, v1 * scale};
    for (int i = 0; i < 2; i++) {
        double sq = xs[i] * xs[i], sq_lo = fma(xs[i], xs[i], -sq);
        double sum = csum + sq, sum_lo = (csum - sum) + sq;
        csum = sum; frac1 += sq_lo; frac2 += sum_lo;
    }
    double h = sqrt(csum - 1.0 + (frac1 + frac2));
    double sq = -h * h, sq_lo = fma(-h, h, -sq);
    double sum = csum + sq, sum_lo = (csum - sum) + sq;
    csum = sum; frac1 += sq_lo; frac2 += sum_lo;
    double x = csum - 1.0 + (frac1 + frac2);
    h += x / (2.0 * h);
    return h / scale;
}
HJ_FN double hj_mchk_pole(double r, double x, int *st) {
    if (isnan(r) && !isnan(x)) HJ_SET(st, HJ_DOMAIN);
    else if (isinf(r) && isfinite(x))
        HJ_SET(st, (x == floor(x) && x <= 0.0) ? HJ_DOMAIN : HJ_OVERFLOW);
    return r;
}
"""


#: (dtype, C type, C type of the parts, libm suffix) of the complex types
_COMPLEX = [("complex64", "hj_complex64", "float", "f"),
            ("complex128", "hj_complex128", "double", "")]


def complex_arithmetic(name: str, c: str, r: str, fn: str, part: str, make: str,
                       sfx: str, general_pow: str, pin: str = "") -> str:
    """NumPy's complex arithmetic, one text for the host and the devices:
    the textbook sum and product (C's operator follows Annex G, which gives
    other results with infinities), NumPy's scaled division and its power
    (repeated products for small integer exponents, ``general_pow``
    otherwise).  ``part`` reads a part (``creal({z})``/``{z}.x``, with
    ``{z}`` and ``{p}`` for the part: ``real``/``imag``), ``make`` builds a
    value from two parts, ``fn`` qualifies the functions, ``sfx`` ends the
    float functions' names on the host, ``pin`` (with ``{v}``) keeps each
    product of a complex product a rounded value of its own (see
    ``_HOST_PIN``)."""
    def parts(*zs: str) -> str:
        return ", ".join(f"{z}{q[0]} = {part.format(z=z, p=q, xy=xy)}"
                         for z in zs for q, xy in (("real", "x"), ("imag", "y")))

    one, zero = f"({r})1", f"({r})0"
    return f"""
{fn} {c} hj_cadd_{name}({c} a, {c} b) {{
    {r} {parts("a", "b")};
    return {make}(ar + br, ai + bi);
}}
{fn} {c} hj_cmul_{name}({c} a, {c} b) {{
    {r} {parts("a", "b")};
    {r} rr = ar * br, ii = ai * bi, ri = ar * bi, ir = ai * br;
    {"".join(pin.format(v=v) for v in ("rr", "ii", "ri", "ir"))}
    return {make}(({r})(rr - ii), ({r})(ri + ir));
}}
{fn} {c} hj_cdiv_{name}({c} a, {c} b) {{
    {r} {parts("a", "b")};
    {r} abr = fabs{sfx}(br), abi = fabs{sfx}(bi);
    if (abr >= abi) {{
        if (abr == {zero} && abi == {zero}) return {make}(({r})(ar / abr), ({r})(ai / abr));
        {r} rat = bi / br, scl = {one} / (br + bi * rat);
        return {make}(({r})((ar + ai * rat) * scl), ({r})((ai - ar * rat) * scl));
    }}
    {r} rat = br / bi, scl = {one} / (bi + br * rat);
    return {make}(({r})((ar * rat + ai) * scl), ({r})((ai * rat - ar) * scl));
}}
{fn} {c} hj_creciprocal_{name}({c} a) {{  /* np.reciprocal's: Smith's, 1/d and -r/d */
    {r} {parts("a")};
    if (fabs{sfx}(ai) <= fabs{sfx}(ar)) {{
        {r} rat = ai / ar, d = ar + ai * rat;
        return {make}(({r})({one} / d), ({r})(-rat / d));
    }}
    {r} rat = ar / ai, d = ar * rat + ai;
    return {make}(({r})(rat / d), ({r})(-{one} / d));
}}
{fn} {c} hj_cpow_{name}({c} a, {c} b) {{
    {r} {parts("a", "b")};
    if (br == {zero} && bi == {zero}) return {make}({one}, {zero});
    if (ar == {zero} && ai == {zero})  /* (NumPy 2: 0 for any Re b > 0) */
        return br > {zero} ? {make}({zero}, {zero}) : {make}(({r})NAN, ({r})NAN);
    if (bi == {zero} && br == ({r})(int64_t)br && br > -100 && br < 100) {{
        int64_t n = (int64_t)br, mask = 1;
        if (n == 1) return a;
        if (n == 2) return hj_cmul_{name}(a, a);
        if (n == 3) return hj_cmul_{name}(a, hj_cmul_{name}(a, a));
        {c} acc = {make}({one}, {zero}), p = a;
        if (n < 0) n = -n;
        for (;;) {{
            if (n & mask) acc = hj_cmul_{name}(acc, p);
            mask <<= 1;
            if (n < mask || mask <= 0) break;
            p = hj_cmul_{name}(p, p);
        }}
        return br < {zero} ? hj_cdiv_{name}({make}({one}, {zero}), acc) : acc;
    }}
    return {general_pow};
}}
"""


#: GCC (12) turns ``ar * br - ai * bi, ar * bi + ai * br`` in a loop into
#: fused multiply-adds (vfmaddsub) even under -ffp-contract=off, which
#: rounds differently from CPython and NumPy's scalars; an empty asm that
#: claims to change each product keeps it a value of its own
_HOST_PIN = r"""
#ifndef HJ_PIN
#if defined(__x86_64__) || defined(__i386__)
#define HJ_PIN(v) __asm__("" : "+x"(v))
#elif defined(__aarch64__)
#define HJ_PIN(v) __asm__("" : "+w"(v))
#else
#define HJ_PIN(v) __asm__("" : "+m"(v))
#endif
#endif
"""


def _host_complex(name: str, c: str, r: str, sfx: str) -> str:
    """The host's: C99's complex types, their other functions the C library's."""
    return _HOST_PIN + complex_arithmetic(
        name, c, r, "static inline", "c{p}" + sfx + "({z})", "__builtin_complex", sfx,
        f"cpow{sfx}(a, b)", pin="HJ_PIN({v}); ") + _cexp(c, r, sfx)


def _cexp(c: str, r: str, sfx: str) -> str:
    """``hj_cexp``: the C library's ``cexp`` with its common case inline.
    For finite parts and a real part below the overflow threshold (709 for
    doubles, 88 for floats) glibc's cexp is ``exp(re)`` times ``sincos(im)``
    (``im`` itself and 1 for |im| <= the smallest normal); the same formula
    here gives its bits without its classification and call (a fifth of a
    DFT's time); other values go to cexp itself."""
    big, tiny = ("709", "DBL_MIN") if r == "double" else ("88", "FLT_MIN")
    return f"""
static inline {c} hj_cexp{sfx}({c} z) {{
    {r} x = creal{sfx}(z), y = cimag{sfx}(z);
    if (__builtin_expect(!(isfinite(x) && isfinite(y) && x <= {big}), 0)) return cexp{sfx}(z);
    {r} s = y, co = 1, e = exp{sfx}(x);
    if (fabs{sfx}(y) > {tiny}) sincos{sfx}(y, &s, &co);  /* (GNU: Python.h asks for it) */
    return __builtin_complex(({r})(e * co), ({r})(e * s));
}}
"""


#: Python's complex arithmetic (CPython's own algorithms): its division and
#: power raise ZeroDivisionError where NumPy's give infinities or NaN
_PY_COMPLEX = r"""
/* CPython's cmath errors for the result r of cmath.<fn>(z): ValueError
   ("math domain error") where its special-value rules set EDOM (log(0),
   atanh(+-1), atan(+-1j), an infinite part the function turns into NaN),
   OverflowError ("math range error") where finite parts overflow.  fn: 0 exp,
   1 cosh, 2 sinh, 3 tanh, 4 cos, 5 sin, 6 tan, 7 log, 8 atanh, 9 atan,
   10 the others (sqrt, asin, acos, asinh, acosh: never an error). */
static double _Complex hj_cmath_check(double _Complex r, double _Complex z, int64_t fn,
                                      int *st) {
    double x = creal(z), y = cimag(z);
    int domain = 0;
    switch (fn) {
    case 0: domain = isinf(y) && (isfinite(x) || (isinf(x) && x > 0)); break;
    case 1: case 2: domain = isinf(y) && !isnan(x); break;
    case 3: domain = isinf(y) && isfinite(x); break;
    case 4: case 5: domain = isinf(x) && !isnan(y); break;   /* cosh/sinh of i*z */
    case 6: domain = isinf(x) && isfinite(y); break;         /* tanh of i*z */
    case 7: domain = x == 0.0 && y == 0.0; break;
    case 8: domain = y == 0.0 && fabs(x) == 1.0; break;
    case 9: domain = x == 0.0 && fabs(y) == 1.0; break;
    }
    if (domain)
        hj_set_first(st, HJ_DOMAIN);
    else if (fn <= 5 && isfinite(x) && isfinite(y) && !(isfinite(creal(r)) && isfinite(cimag(r))))
        hj_set_first(st, HJ_OVERFLOW);
    return r;
}
static double _Complex hj_pycdiv(double _Complex a, double _Complex b, int *st) {
    double ar = creal(a), ai = cimag(a), br = creal(b), bi = cimag(b);
    double abr = fabs(br), abi = fabs(bi);
    if (abr >= abi) {
        if (abr == 0.0) {
            hj_fail_msg(st, HJ_E_ZERODIVISIONERROR, "complex division by zero");
            return 0;
        }
        double ratio = bi / br, denom = br + bi * ratio;
        return __builtin_complex((ar + ai * ratio) / denom, (ai - ar * ratio) / denom);
    }
    if (abi >= abr) {
        double ratio = br / bi, denom = br * ratio + bi;
        return __builtin_complex((ar * ratio + ai) / denom, (ai * ratio - ar) / denom);
    }
    return __builtin_complex(NAN, NAN);  /* a NaN in the divisor */
}
static double _Complex hj_pycpowu(double _Complex x, int64_t n) {
    double _Complex r = __builtin_complex(1.0, 0.0), p = x;
    int64_t mask = 1;
    while (mask > 0 && n >= mask) {
        if (n & mask) r = hj_cmul_complex128(r, p);
        mask <<= 1;
        p = hj_cmul_complex128(p, p);
    }
    return r;
}
static double _Complex hj_pycpow(double _Complex a, double _Complex b, int *st) {
    double ar = creal(a), ai = cimag(a), br = creal(b), bi = cimag(b);
    double _Complex r;
    if (bi == 0.0 && br == floor(br) && fabs(br) <= 100.0) {
        int64_t n = (int64_t)br;
        if (n >= 0) {
            r = hj_pycpowu(a, n);
        } else {
            double _Complex d = hj_pycpowu(a, -n);
            if (creal(d) == 0.0 && cimag(d) == 0.0) {
                hj_fail_msg(st, HJ_E_ZERODIVISIONERROR, "0.0 to a negative or complex power");
                return 0;
            }
            r = hj_pycdiv(__builtin_complex(1.0, 0.0), d, st);
        }
    } else if (br == 0.0 && bi == 0.0) {
        r = __builtin_complex(1.0, 0.0);
    } else if (ar == 0.0 && ai == 0.0) {
        if (bi != 0.0 || br < 0.0)
            hj_fail_msg(st, HJ_E_ZERODIVISIONERROR, "0.0 to a negative or complex power");
        return 0;
    } else {
        double vabs = hypot(ar, ai), len = pow(vabs, br), at = atan2(ai, ar), phase = at * br;
        if (bi != 0.0) {
            len /= exp(at * bi);
            phase += bi * log(vabs);
        }
        r = __builtin_complex(len * cos(phase), len * sin(phase));
    }
    if (isinf(creal(r)) || isinf(cimag(r)))  /* CPython's _Py_ADJUST_ERANGE2 */
        hj_fail_msg(st, HJ_E_OVERFLOWERROR, "complex exponentiation");
    return r;
}
static PyObject *hj_box_pycomplex(double _Complex z) {
    return PyComplex_FromDoubles(creal(z), cimag(z));
}
/* a device reduction's combined partial (a Python complex) */
static double _Complex hj_complex_of(PyObject *o) {
    Py_complex c = PyComplex_AsCComplex(o);
    return __builtin_complex(c.real, c.imag);
}
"""


#: the complex functions kernels have (others keep a region on the host)
DEVICE_COMPLEX_FUNCTIONS = frozenset({
    "make", "real", "imag", "conj", "abs", "angle", "exp", "log", "sqrt", "sin", "cos",
    "isnan", "isinf", "isfinite", "reciprocal"})


def device_complex(name: str, r: str, vector: str, make: str) -> str:
    """A complex type for a device (OpenCL C and CUDA have none): the
    ``vector`` type (float2/double2) holding the parts, built by ``make``
    (``(double2)`` or ``make_double2``); the host's arithmetic
    (:func:`complex_arithmetic`), and exp, log, sqrt, sin and cos by their
    textbook formulas (the C library's special cases for infinities are not
    repeated)."""
    zero, half = f"({r})0", f"({r})0.5"
    c = f"hj_{name}"
    return f"""
typedef {vector} {c};
HJ_FN {c} hj_cmk_{name}({r} re, {r} im) {{ return {make}(re, im); }}
HJ_FN {c} hj_csub_{name}({c} a, {c} b) {{ return hj_cmk_{name}(a.x - b.x, a.y - b.y); }}
HJ_FN {c} hj_cneg_{name}({c} a) {{ return hj_cmk_{name}(-a.x, -a.y); }}
HJ_FN {c} hj_cconj_{name}({c} a) {{ return hj_cmk_{name}(a.x, -a.y); }}
HJ_FN int hj_ceq_{name}({c} a, {c} b) {{ return a.x == b.x && a.y == b.y; }}
HJ_FN {c} hj_cexp_{name}({c} a) {{
    {r} e = exp(a.x);
    return a.y == {zero} ? hj_cmk_{name}(e, a.y) : hj_cmk_{name}(e * cos(a.y), e * sin(a.y));
}}
HJ_FN {c} hj_clog_{name}({c} a) {{
    return hj_cmk_{name}(log(hypot(a.x, a.y)), atan2(a.y, a.x));
}}
HJ_FN {c} hj_csqrt_{name}({c} a) {{
    if (a.x == {zero} && a.y == {zero}) return hj_cmk_{name}({zero}, a.y);
    {r} t = sqrt((fabs(a.x) + hypot(a.x, a.y)) * {half});
    if (a.x >= {zero}) return hj_cmk_{name}(t, a.y / (t + t));
    return hj_cmk_{name}(fabs(a.y) / (t + t), copysign(t, a.y));
}}
HJ_FN {c} hj_csin_{name}({c} a) {{
    return hj_cmk_{name}(sin(a.x) * cosh(a.y), cos(a.x) * sinh(a.y));
}}
HJ_FN {c} hj_ccos_{name}({c} a) {{
    return hj_cmk_{name}(cos(a.x) * cosh(a.y), -(sin(a.x) * sinh(a.y)));
}}
""" + complex_arithmetic(name, c, r, "HJ_FN", "{z}.{xy}", f"hj_cmk_{name}", "",
                         f"hj_cexp_{name}(hj_cmul_{name}(b, hj_clog_{name}(a)))")
