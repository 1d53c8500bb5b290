"""Compile-time errors and argument-type errors.

A user mistake raises a :class:`hybridjit.HybridJitError` subclass whose
``str()`` is ``file:line:col: message``, then the source line, a caret under
the offending column and a ``hint:`` line; never a C compiler log or a
traceback from inside hybridjit.  The expected line is the one carrying the
``# ERR`` marker comment (``# ERR-ALT`` marks an acceptable alternative).
Unsupported argument types raise ``TypeError`` naming the parameter and type.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest

import hybridjit
from hybridjit import (
    BuildError,
    HybridJitError,
    NameResolutionError,
    TypingError,
    UnsupportedError,
    jit,
)

# --------------------------------------------------------------------------
# functions with one mistake each
# --------------------------------------------------------------------------


def uses_with(n):
    s = 0
    with open("x") as f:  # ERR
        s += len(f.read())
    return s


def uses_try(n):
    s = 0
    try:  # ERR
        s = 10 // n
    except ZeroDivisionError:
        s = -1
    return s


def uses_listcomp(n):
    s = 0
    xs = [i * i for i in range(n)]  # ERR
    for x in xs:
        s += x
    return s


def uses_dictcomp(n):
    d = {i: i for i in range(n)}  # ERR
    return d[0]


def uses_genexp(n):
    return sum(i for i in range(n))  # ERR


def uses_yield(n):
    for i in range(n):
        yield i * 2  # ERR


def uses_lambda(n):
    f = lambda x: x + 1  # ERR
    return f(n)


def uses_unknown_name(n):
    s = 0
    for i in range(n):
        s += i * undefined_thing  # ERR  # noqa: F821
    return s


def uses_unknown_module_attr(x):
    return math.not_a_function(x)  # ERR


def array_and_float(a, n):
    v = a  # ERR-ALT
    if n > 0:
        v = 1.5  # ERR
    return v


def calls_print(x):
    y = x + 1
    print(y)  # ERR
    return y


def calls_linalg(a):
    b = np.linalg.eigvals(a)  # ERR
    return b


def uses_string(n):
    s = "abc"  # ERR
    return n + len(s)


def uses_global(n):
    global _COUNTER  # ERR
    return n


def uses_nested_def(n):
    def inner(x):  # ERR
        return x + 1
    return inner(n)


def uses_dict_literal(n):
    d = {"a": n}  # ERR
    return d["a"]


def uses_method_call(a):
    return a.tolist()  # ERR


def uses_matmul(a):
    a @= a  # ERR


def uses_is(x):
    return x is None  # ERR


def uses_star_params(*args):  # ERR
    return 1


def _make_closure():
    k = 3

    def closure(x):
        return x + k  # ERR

    return closure


uses_closure = _make_closure()


def _helper_with_error(x):
    return x + undefined_in_helper  # ERR  # noqa: F821


def calls_bad_helper(x):
    return _helper_with_error(x) * 2


def _marker_lines(func: object, tag: str) -> set[int]:
    """Absolute line numbers of ``func``'s lines whose comment carries ``tag``."""
    lines, start = inspect.getsourcelines(func)  # type: ignore[arg-type]
    return {start + k for k, text in enumerate(lines)
            if tag in re.findall(r"#\s*(ERR(?:-ALT)?)\b", text)}


ARGS_INT = (5,)
ARGS_ARR = (np.eye(3),)

CASES = [
    # (function, args, expected exception class, where the marker is)
    (uses_with, ARGS_INT, UnsupportedError, uses_with),
    (uses_try, ARGS_INT, UnsupportedError, uses_try),
    (uses_listcomp, ARGS_INT, UnsupportedError, uses_listcomp),
    (uses_dictcomp, ARGS_INT, UnsupportedError, uses_dictcomp),
    (uses_genexp, ARGS_INT, UnsupportedError, uses_genexp),
    (uses_yield, ARGS_INT, UnsupportedError, uses_yield),
    (uses_lambda, ARGS_INT, UnsupportedError, uses_lambda),
    (uses_unknown_name, ARGS_INT, NameResolutionError, uses_unknown_name),
    (uses_unknown_module_attr, (1.0,), HybridJitError, uses_unknown_module_attr),
    (array_and_float, (np.zeros(3), 1), TypingError, array_and_float),
    (calls_print, ARGS_INT, UnsupportedError, calls_print),
    (calls_linalg, ARGS_ARR, UnsupportedError, calls_linalg),
    (uses_string, ARGS_INT, HybridJitError, uses_string),
    (uses_global, ARGS_INT, UnsupportedError, uses_global),
    (uses_nested_def, ARGS_INT, UnsupportedError, uses_nested_def),
    (uses_dict_literal, ARGS_INT, UnsupportedError, uses_dict_literal),
    (calls_bad_helper, (1.0,), NameResolutionError, _helper_with_error),
    (uses_method_call, ARGS_ARR, UnsupportedError, uses_method_call),
    (uses_matmul, ARGS_ARR, UnsupportedError, uses_matmul),
    (uses_is, ARGS_INT, UnsupportedError, uses_is),
    (uses_star_params, ARGS_INT, UnsupportedError, uses_star_params),
    (uses_closure, ARGS_INT, UnsupportedError, uses_closure),
]

#: what each message must say (and AST class names it must not)
WORDING = {
    uses_method_call: "method calls such as a.tolist()",
    uses_matmul: "matrix product operator @",
    uses_is: "'is' comparisons", uses_star_params: "*args",
    uses_closure: "enclosing function (a closure)", uses_try: "'try' statements",
    uses_listcomp: "list comprehensions", uses_lambda: "lambdas",
    uses_genexp: "generator expressions", uses_dict_literal: "dicts",
}
_AST_NAMES = re.compile(r"\b(ListComp|DictComp|GeneratorExp|MatMult|Lambda|With|Try|Dict|"
                        r"IsNot|Is|Starred|NamedExpr|JoinedStr|Attribute|Subscript)\b")


@pytest.mark.parametrize("func", list(WORDING), ids=[f.__name__ for f in WORDING])
def test_error_messages_speak_python_not_ast(func):
    args = ARGS_ARR if func in (uses_method_call, uses_matmul) else ARGS_INT
    msg = str(_error_of(func, args))
    assert WORDING[func] in msg, msg
    assert not _AST_NAMES.search(msg.splitlines()[0]), msg

_HEADER = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$")


def _error_of(func, args):
    with pytest.raises(HybridJitError) as info:
        jit(func)(*args)
    return info.value


@pytest.mark.parametrize(("func", "args", "exc_type", "where"), CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_compile_error_message(func, args, exc_type, where):
    err = _error_of(func, args)
    assert isinstance(err, exc_type), f"{type(err).__name__}: {err}"
    assert not isinstance(err, hybridjit.InternalError), str(err)
    msg = str(err)
    lines = msg.splitlines()
    m = _HEADER.match(lines[0])
    assert m, f"first line is not file:line:col: message\n{msg}"
    assert m.group("file").endswith("test_errors.py"), msg
    want = _marker_lines(where, "ERR")
    alt = _marker_lines(where, "ERR-ALT")
    line = int(m.group("line"))
    assert line in want | alt, f"error at line {line}, expected {sorted(want | alt)}\n{msg}"
    # the source line, then a caret under the column of the header
    src_lines, start = inspect.getsourcelines(where)
    src = src_lines[line - start].rstrip("\n")
    text = src.strip()
    indent = len(src) - len(src.lstrip())
    src_idx = next((k for k, ln in enumerate(lines[1:], 1) if text in ln), None)
    assert src_idx is not None, f"source line {text!r} not shown\n{msg}"
    assert src_idx + 1 < len(lines) and "^" in lines[src_idx + 1], f"no caret line\n{msg}"
    code_pos = lines[src_idx].index(text)  # where the code (sans indentation) is printed
    caret_col = lines[src_idx + 1].index("^")
    col0 = int(m.group("col")) - 1
    assert caret_col - code_pos == col0 - indent, f"caret not under column {col0 + 1}\n{msg}"
    assert indent <= col0 < len(src), f"column {col0 + 1} outside the code\n{msg}"
    assert any(ln.startswith("hint:") or ln.lstrip().startswith("hint:") for ln in lines), msg
    # nothing from a C compiler or from inside hybridjit
    assert "gcc" not in msg and "cc1" not in msg, msg
    assert not re.search(r"\.(c|h):\d+:\d+: (fatal )?error:", msg), msg
    assert "Traceback" not in msg and "hybridjit/" not in msg, msg


def test_compile_error_hides_compiler_internals():
    """No chained exception and at most a few dispatcher frames: the user sees
    their line, not a traceback through the compiler."""
    err = _error_of(uses_with, ARGS_INT)
    assert err.__cause__ is None
    assert err.__context__ is None or err.__suppress_context__
    frames = []
    tb = err.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename.replace("\\", "/"))
        tb = tb.tb_next
    inside = [f for f in frames if "/hybridjit/" in f and "/tests/" not in f]
    assert len(inside) <= 3, frames


def test_error_classes_hierarchy():
    for cls in (UnsupportedError, NameResolutionError, TypingError, BuildError):
        assert issubclass(cls, HybridJitError)
        assert cls is getattr(hybridjit.errors, cls.__name__)
    assert issubclass(HybridJitError, Exception)


def test_error_raised_again_on_second_call():
    fn = jit(calls_print)
    for _ in range(2):
        with pytest.raises(UnsupportedError):
            fn(1)


# --------------------------------------------------------------------------
# unsupported argument types: TypeError naming the parameter and the type
# --------------------------------------------------------------------------


def takes_array(values, scale):
    s = 0.0
    for i in range(values.shape[0]):
        s += values[i] * scale
    return s


@pytest.mark.parametrize(("bad", "type_words"), [
    ([1.0, 2.0], ["list"]),
    ("abc", ["str"]),
    (np.zeros(3, np.float16), ["float16"]),
    (np.zeros(3, np.clongdouble), ["complex256"]),
    (np.array(["a", "b"], dtype=object), ["object"]),
    ({"a": 1}, ["dict"]),
    (None, ["None"]),
], ids=["list", "str", "float16", "complex256", "object", "dict", "None"])
def test_bad_argument_type_raises_type_error(bad, type_words):
    fn = jit(takes_array)
    with pytest.raises(TypeError) as info:
        fn(bad, 2.0)
    msg = str(info.value)
    assert "values" in msg, msg
    assert any(w in msg for w in type_words), msg
    assert not isinstance(info.value, HybridJitError)


def test_bad_scalar_argument_names_second_parameter():
    with pytest.raises(TypeError) as info:
        jit(takes_array)(np.zeros(3), "2.0")
    assert "scale" in str(info.value) and "str" in str(info.value)


def test_complex_scalar_argument_rejected_or_supported():
    # complex is optional ("if it falls out naturally"): either it works like
    # CPython or it is a TypeError naming the parameter
    fn = jit(takes_array)
    try:
        got = fn(np.ones(2), 1j)
    except TypeError as exc:
        assert "scale" in str(exc) and "complex" in str(exc)
    else:
        assert got == takes_array(np.ones(2), 1j)


def test_wrong_number_of_arguments_is_type_error():
    fn = jit(takes_array)
    with pytest.raises(TypeError):
        fn(np.zeros(3))
    with pytest.raises(TypeError):
        fn(np.zeros(3), 1.0, 2.0)



def test_user_errors_show_one_dispatcher_frame_at_most():
    import traceback

    with pytest.raises(UnsupportedError) as info:
        jit(uses_with)(5)
    frames = [f for f in traceback.extract_tb(info.value.__traceback__)
              if "hybridjit" in f.filename.replace("\\", "/").split("/tests/")[0]
              and "/src/hybridjit/" in f.filename.replace("\\", "/")]
    assert len(frames) <= 1, frames
    with pytest.raises(ZeroDivisionError) as info2:
        jit(_divide)(1, 0)
    assert len([f for f in traceback.extract_tb(info2.value.__traceback__)
                if "/src/hybridjit/" in f.filename.replace("\\", "/")]) <= 1


def _divide(x, y):
    return x // y


def _with_defaults(a, n=3, scale=2.0):
    return a[0] * scale + n + _helper_kw(n, y=2)


def _helper_kw(x, y=5, z=1):
    return x + y + z


def test_defaults_and_keyword_arguments_to_helpers():
    a = np.ones(2)
    f = jit(_with_defaults)
    for args in ((a,), (a, 5), (a, 5, 1.0)):
        assert f(*args) == _with_defaults(*args)
    with pytest.raises(TypeError, match="takes 3 positional arguments but 4 were given"):
        f(a, 1, 2.0, 3)


def _float_of_strings(x):
    return x + float("nan"), float("-inf"), float("1e3"), float("Infinity")


def test_float_of_a_string_constant():
    got = jit(_float_of_strings)(1.0)
    want = _float_of_strings(1.0)
    assert math.isnan(got[0]) and got[1:] == want[1:]


def _axis_out_of_range(a):
    return a.sum(axis=3)


def _too_many_indices(a):
    return a[1, 2, 3]


def _concat_ranks(a):
    return np.concatenate((a, a[None]))


def _bool_minus(a):
    return np.True_ - a[0]


@pytest.mark.parametrize(("fn", "py_types"), [
    (_axis_out_of_range, (np.exceptions.AxisError, ValueError, IndexError)),
    (_too_many_indices, (IndexError,)),
    (_concat_ranks, (ValueError,)),
])
def test_shape_errors_found_when_compiling_are_numpys_exception_types(fn, py_types):
    """Found at compile time, at the user's line; still the exception type
    NumPy raises for it at run time, so ``except ValueError`` code works."""
    with pytest.raises(HybridJitError) as info:
        jit(fn)(np.arange(6.0))
    for t in py_types:
        assert isinstance(info.value, t), (type(info.value), t)
    assert info.value.loc is not None and info.value.loc.line > 0


def test_typing_errors_are_type_errors():
    with pytest.raises(TypeError):
        jit(_bool_minus)(np.array([True]))
