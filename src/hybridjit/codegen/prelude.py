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
}

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
    if (b == 0) {{ *st |= HJ_ZERODIV; return 0; }}
    return hj_floordiv_{name}(a, b);
}}
HJ_FN {c} hj_mod_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ *st |= HJ_ZERODIV; return 0; }}
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
    if (b < 0) {{ *st |= HJ_NEGPOW; return 0; }}
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
    if (b == 0) {{ *st |= HJ_ZERODIV; return 0; }}
    return a / b;
}}
HJ_FN {c} hj_mod_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ *st |= HJ_ZERODIV; return 0; }}
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
    return f"""
HJ_FN {c} hj_mod_{name}({c} a, {c} b) {{
    if (b == 0) return fmod{sfx}(a, b);
    {c} m = fmod{sfx}(a, b);
    if (m != 0) {{ if ((b < 0) != (m < 0)) m += b; }}
    else m = copysign{sfx}(({c})0, b);
    return m;
}}
HJ_FN {c} hj_floordiv_{name}({c} a, {c} b) {{
    if (b == 0) return a / b;
    {c} m = fmod{sfx}(a, b);
    {c} d = (a - m) / b;
    if (m != 0 && ((b < 0) != (m < 0))) d -= 1;
    {c} f;
    if (d != 0) {{ f = floor{sfx}(d); if (d - f > ({c})0.5) f += 1; }}
    else f = copysign{sfx}(({c})0, a / b);
    return f;
}}
HJ_FN {c} hj_floordiv_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ *st |= HJ_ZERODIV; return 0; }}
    return hj_floordiv_{name}(a, b);
}}
HJ_FN {c} hj_mod_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ *st |= HJ_ZERODIV; return 0; }}
    return hj_mod_{name}(a, b);
}}
HJ_FN {c} hj_div_{name}_z({c} a, {c} b, int *st) {{
    if (b == 0) {{ *st |= HJ_ZERODIV; return 0; }}
    return a / b;
}}
HJ_FN {c} hj_npmin_{name}({c} a, {c} b) {{ return (a < b || a != a) ? a : b; }}
HJ_FN {c} hj_npmax_{name}({c} a, {c} b) {{ return (a > b || a != a) ? a : b; }}
HJ_FN {c} hj_pow_{name}({c} a, {c} b) {{
    if (b == 2) return a * a;
    return pow{sfx}(a, b);
}}
"""


def _minmax(name: str, c: str) -> str:
    return f"""
HJ_FN {c} hj_min_{name}({c} a, {c} b) {{ return b < a ? b : a; }}
HJ_FN {c} hj_max_{name}({c} a, {c} b) {{ return b > a ? b : a; }}
"""


def prelude(float64: bool = True) -> str:
    """The helpers; ``float64=False`` leaves out double-precision ones for
    devices without fp64."""
    parts = ["#define " + k + " " + str(v) for k, v in STATUS_BITS.items()]
    if float64:
        parts.append(
            "HJ_FN double hj_mchk1(double r, double x, int ovf, int *st) {\n"
            "    if (isnan(r) && !isnan(x)) *st |= HJ_DOMAIN;\n"
            "    else if (isinf(r) && isfinite(x)) *st |= ovf ? HJ_OVERFLOW : HJ_DOMAIN;\n"
            "    return r;\n}\n"
            "HJ_FN double hj_mchk2(double r, double x, double y, int ovf, int *st) {\n"
            "    if (isnan(r) && !isnan(x) && !isnan(y)) *st |= HJ_DOMAIN;\n"
            "    else if (isinf(r) && isfinite(x) && isfinite(y))\n"
            "        *st |= ovf ? HJ_OVERFLOW : HJ_DOMAIN;\n"
            "    return r;\n}"
        )
    parts.append(
        "HJ_FN int64_t hj_wrap(int64_t i, int64_t n) { return i < 0 ? i + n : i; }\n"
        "HJ_FN int hj_inb(int64_t i, int64_t n) { return (uint64_t)i < (uint64_t)n; }\n"
        "HJ_FN npy_bool hj_min_bool(npy_bool a, npy_bool b) { return b < a ? b : a; }\n"
        "HJ_FN npy_bool hj_max_bool(npy_bool a, npy_bool b) { return b > a ? b : a; }\n"
        "HJ_FN npy_bool hj_npmin_bool(npy_bool a, npy_bool b) { return a < b ? a : b; }\n"
        "HJ_FN npy_bool hj_npmax_bool(npy_bool a, npy_bool b) { return a > b ? a : b; }\n"
        "HJ_FN npy_bool hj_abs_bool(npy_bool a) { return a; }"
    )
    for name, c in _SIGNED:
        parts.append(_signed(name, c) + _minmax(name, c))
        parts.append(
            f"HJ_FN {c} hj_npmin_{name}({c} a, {c} b) {{ return a < b ? a : b; }}\n"
            f"HJ_FN {c} hj_npmax_{name}({c} a, {c} b) {{ return a > b ? a : b; }}"
        )
    for name, c in _UNSIGNED:
        parts.append(_unsigned(name, c) + _minmax(name, c))
        parts.append(
            f"HJ_FN {c} hj_npmin_{name}({c} a, {c} b) {{ return a < b ? a : b; }}\n"
            f"HJ_FN {c} hj_npmax_{name}({c} a, {c} b) {{ return a > b ? a : b; }}"
        )
    for name, c, sfx in _FLOATS:
        if c == "double" and not float64:
            continue
        parts.append(_float(name, c, sfx) + _minmax(name, c))
    return "\n".join(parts) + "\n"
