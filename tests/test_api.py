"""The public API: ``jit`` forms and options, ``prange`` in CPython,
``py_func``/``signatures``/``inspect_source``, ``HYBRIDJIT_DUMP``, ``fastmath``
and ``boundscheck`` (IndexError on out-of-bounds)."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

import hybridjit
from difftest import check, random_array, run_python
from hybridjit import jit, prange


def psum(a):
    s = 0.0
    for i in prange(a.shape[0]):
        s += a[i]
    return s


def serial_sum(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s


def test_public_names():
    for name in ("jit", "prange", "HybridJitError", "UnsupportedError", "NameResolutionError",
                 "TypingError", "BuildError"):
        assert hasattr(hybridjit, name), name
    assert hybridjit.HybridJitError is hybridjit.errors.HybridJitError


def test_prange_is_range_in_cpython():
    assert list(prange(4)) == [0, 1, 2, 3]
    assert list(prange(2, 11, 3)) == list(range(2, 11, 3))
    assert list(prange(5, -1, -2)) == [5, 3, 1]
    a = np.arange(10.0)
    assert psum(a) == 45.0  # the undecorated function runs in plain Python


def test_bare_and_parametrised_decorator():
    f1 = jit(psum)
    f2 = jit()(psum) if _accepts_no_args() else jit(parallel=True)(psum)
    f3 = jit(parallel=True, fastmath=False, boundscheck=False, cache=True, target="cpu")(psum)
    a = np.arange(100.0)
    for f in (f1, f2, f3):
        assert f(a) == 4950.0
        assert f.py_func is psum


def _accepts_no_args() -> bool:
    try:
        jit()
    except TypeError:
        return False
    return True


def test_decorator_syntax():
    @jit
    def add(x, y):
        return x + y

    @jit(parallel=False)
    def mul(x, y):
        return x * y

    assert add(2, 3) == 5 and mul(2.5, 2.0) == 5.0
    assert callable(add.py_func) and add.py_func(1, 1) == 2


def test_signatures_lists_compiled_specialisations():
    fn = jit(serial_sum)
    assert len(fn.signatures) == 0
    fn(np.arange(3.0))
    assert len(fn.signatures) == 1
    fn(np.arange(3, dtype=np.float32))
    assert len(fn.signatures) == 2


def test_inspect_source_has_omp_pragma_for_prange():
    a = np.arange(10.0)
    for fn in (jit(psum), jit(parallel=True)(psum)):
        src = fn.inspect_source(a)
        assert isinstance(src, str)
        assert "#pragma omp" in src
    assert jit(psum)(a) == 45.0


def test_inspect_source_of_serial_loop_is_c():
    src = jit(serial_sum).inspect_source(np.arange(10.0))
    assert isinstance(src, str) and "for" in src and "double" in src


def test_dump_writes_each_stage(tmp_path):
    mod = tmp_path / "dumpmod.py"
    mod.write_text(textwrap.dedent("""
        from hybridjit import prange

        def k(a):
            s = 0.0
            for i in prange(a.shape[0]):
                s += a[i] * 2.0
            return s
    """))
    dump = tmp_path / "dump"
    proc = run_python(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        from hybridjit import jit
        import dumpmod
        print(jit(dumpmod.k)(np.arange(4.0)))
    """, env={"HYBRIDJIT_DUMP": str(dump), "HYBRIDJIT_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("12.0")
    files = [p for p in dump.rglob("*") if p.is_file()]
    assert len(files) >= 2, files  # more than one stage
    texts = [p.read_text(errors="replace") for p in files]
    assert any("#pragma omp" in t for t in texts), [p.name for p in files]


def fma_candidate(a, b, c):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i] + c[i]
    return s


def test_fastmath_option_accepted_and_close():
    a, b, c = (random_array(1000, "float64", seed=k) for k in range(3))
    expected = fma_candidate(a, b, c)
    assert math.isclose(jit(fastmath=True)(fma_candidate)(a, b, c), expected, rel_tol=1e-9,
                        abs_tol=1e-9)
    check(fma_candidate, a, b, c, jit_options={"fastmath": False})  # exact without FMA


def test_no_fma_contraction_by_default():
    # a*b - p with p = fl(a*b): exactly 0 without FMA, the rounding error of
    # a*b with a fused multiply-subtract
    a = np.array([1.0 + 2.0**-30])
    b = np.array([1.0 - 2.0**-29])
    p = np.array([float(a[0] * b[0])])

    def residual(a, b, p):
        return a[0] * b[0] - p[0]

    assert residual(a, b, p) == 0.0
    assert jit(residual)(a, b, p) == 0.0


def bounds(a, i):
    return a[i]


def bounds2(a, i, j):
    a[i, j] = 1.0
    return a[i, j]


@pytest.mark.parametrize("i", [5, 100, -6, -100])
def test_boundscheck_raises_index_error(i):
    check(bounds, np.arange(5.0), i, jit_options={"boundscheck": True}, raises=IndexError)


@pytest.mark.parametrize(("i", "j"), [(0, 4), (3, 0), (-4, 1), (1, -5)])
def test_boundscheck_2d(i, j):
    check(bounds2, np.zeros((3, 4)), i, j, jit_options={"boundscheck": True}, raises=IndexError)


@pytest.mark.parametrize("i", [0, 4, -1, -5])
def test_boundscheck_in_bounds_ok(i):
    check(bounds, np.arange(5.0), i, jit_options={"boundscheck": True})


def test_boundscheck_false_accepted():
    check(bounds, np.arange(5.0), 2, jit_options={"boundscheck": False})


def bounds_loop(a, n):
    s = 0.0
    for i in range(n):
        s += a[i]
    return s


def test_boundscheck_in_loop_and_view():
    check(bounds_loop, np.arange(10.0)[::2], 6, jit_options={"boundscheck": True},
          raises=IndexError)
    check(bounds_loop, np.arange(10.0)[::2], 5, jit_options={"boundscheck": True})


def test_target_cpu_accepted(target):
    assert jit(target=target)(serial_sum)(np.arange(4.0)) == 6.0


def _two(a, x):
    return a[0] + x


@pytest.mark.parametrize("target", ["cpu", "opencl"])
def test_argument_count_is_checked_on_every_call(target):
    """After the first call too: an extra argument used to be taken for the
    offload session and ignored."""
    if target == "opencl":
        pytest.importorskip("pyopencl")
    f = jit(target=target)(_two)
    a = np.ones(3)
    assert f(a, 1.0) == 2.0
    with pytest.raises(TypeError, match="takes 2 positional arguments but 3 were given"):
        f(a, 1.0, "x")
    with pytest.raises(TypeError, match="takes 2 positional arguments but 1 were given"):
        f(a)
    assert f(a, 2.0) == 3.0
