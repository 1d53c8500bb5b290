"""The compile cache: in-memory specialisations, the disk cache across
processes, cache keys that follow the source, degraded (unwritable) caches and
concurrent compiles.

Whether the C compiler runs is observed through ``CC``: a wrapper script that
logs each invocation to ``$HJ_CC_LOG`` and either runs the real compiler or
fails (``HJ_CC_FAIL=1``).  The wrapper file never changes, so the compiler
identity in the cache key stays the same whether it fails or not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from difftest import package_path, run_python
from hybridjit import HybridJitError, jit, prange

KERNEL_SOURCE = """
import numpy as np
from hybridjit import prange

SCALE = {scale}


def helper(x):
    return x * SCALE + {offset}


def kern(a):
    s = 0.0
    for i in prange(a.shape[0]):
        s += helper(a[i])
    return s
"""

RUNNER = """
import json, sys, time, warnings
from pathlib import Path
sys.path.insert(0, {moddir!r})
import numpy as np
from hybridjit import jit
import kern
go = {go!r}
if go:
    Path(go + ".ready." + str({tag!r})).write_text("1")
    while not Path(go).exists():
        time.sleep(0.005)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    f = jit(kern.kern)
    r = f(np.arange(10.0))
print(json.dumps({{"result": float(r), "compiles": getattr(f, "compile_count", None),
                  "warnings": [str(w.category.__name__) + ": " + str(w.message)
                               for w in caught]}}))
"""


def _expected(scale: int, offset: int) -> float:
    return float(np.sum(np.arange(10.0) * scale + offset))


@pytest.fixture
def cc_wrapper(tmp_path: Path) -> Path:
    real = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if real is None:
        pytest.skip("no C compiler")
    real = os.environ.get("CC", real)
    script = tmp_path / "cc-wrap.sh"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo "$*" >> "${{HJ_CC_LOG:-/dev/null}}"
        if [ "$HJ_CC_FAIL" = "1" ]; then echo "cc-wrap: refusing" >&2; exit 1; fi
        exec {real} "$@"
    """))
    script.chmod(0o755)
    return script


def _write_kernel(moddir: Path, scale: int = 2, offset: int = 1) -> None:
    moddir.mkdir(parents=True, exist_ok=True)
    (moddir / "kern.py").write_text(KERNEL_SOURCE.format(scale=scale, offset=offset))
    # a rewritten module must be re-read even within the same second
    for p in moddir.glob("__pycache__/*"):
        p.unlink()


def _run_kernel(moddir: Path, cache: Path, cc: Path, log: Path, fail: bool = False,
                timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {"HYBRIDJIT_CACHE_DIR": str(cache), "CC": str(cc), "HJ_CC_LOG": str(log),
           "HJ_CC_FAIL": "1" if fail else "0", "PYTHONDONTWRITEBYTECODE": "1"}
    return run_python(RUNNER.format(moddir=str(moddir), go="", tag=""), env=env,
                      timeout=timeout)


def _result(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# in-process
# --------------------------------------------------------------------------


def _sum_scaled(a, k):
    s = 0
    for i in range(a.shape[0]):
        s += a[i] * k
    return s


def test_same_types_do_not_recompile():
    fn = jit(_sum_scaled)
    assert fn(np.arange(5.0), 2) == 20.0
    n_sig = len(fn.signatures)
    count = getattr(fn, "compile_count", None)
    assert n_sig == 1
    for k in range(5):
        assert fn(np.arange(float(k)), 3) == _sum_scaled(np.arange(float(k)), 3)
    assert len(fn.signatures) == 1
    if count is not None:
        assert fn.compile_count == count


def test_new_types_compile_new_specialisations():
    fn = jit(_sum_scaled)
    a32 = np.arange(6, dtype=np.float32)
    r32 = fn(a32, 2)
    assert isinstance(r32, np.float32) and r32 == _sum_scaled(a32, 2)
    r64 = fn(np.arange(6.0), 2)
    assert len(fn.signatures) == 2
    assert not isinstance(r64, np.float32) and r64 == 30.0
    fn(np.arange(6.0), 2.5)  # int -> float parameter
    assert len(fn.signatures) == 3
    ri = fn(np.arange(6, dtype=np.int32), 2)
    assert isinstance(ri, np.int32) and ri == 30
    assert len(fn.signatures) == 4
    fn(np.arange(6, dtype=np.float32), 7)  # seen before
    assert len(fn.signatures) == 4


def _cached_twice(a):
    t = 0.0
    for i in range(a.shape[0]):
        t += a[i] * a[i]
    return t


def test_fresh_dispatcher_loads_from_disk_without_compiler(cc_wrapper, tmp_path, monkeypatch):
    log = tmp_path / "cc.log"
    monkeypatch.setenv("CC", str(cc_wrapper))
    monkeypatch.setenv("HJ_CC_LOG", str(log))
    monkeypatch.setenv("HJ_CC_FAIL", "0")
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(tmp_path / "cache"))
    a = np.arange(7.0)
    assert jit(_cached_twice)(a) == 91.0
    assert log.exists(), "CC was not used to compile (the compiler must honour CC)"
    log.unlink()
    monkeypatch.setenv("HJ_CC_FAIL", "1")
    fresh = jit(_cached_twice)
    assert fresh(a) == 91.0
    assert not log.exists(), f"C compiler invoked on a cached function: {log.read_text()}"
    assert getattr(fresh, "compile_count", 0) == 0
    # control: a new specialisation does need the (now failing) compiler
    # (a refusing compiler reads as BuildError or InternalError: both hybridjit's)
    with pytest.raises(HybridJitError):
        fresh(np.arange(7, dtype=np.int16))
    assert log.exists()


def test_unwritable_cache_dir_warns_and_still_works(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(blocker / "cache"))

    def fresh_function(a):
        s = 0
        for i in range(a.shape[0]):
            s += a[i] + 3
        return s

    with pytest.warns(Warning):
        got = jit(fresh_function)(np.arange(4))
    assert got == 18


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_read_only_cache_dir_warns_and_still_works(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(ro / "cache"))

    def another_fresh_function(a):
        return a[0] * 7

    try:
        with pytest.warns(Warning):
            assert jit(another_fresh_function)(np.arange(1, 3)) == 7
    finally:
        ro.chmod(0o700)


# --------------------------------------------------------------------------
# across processes
# --------------------------------------------------------------------------


def test_second_process_does_not_invoke_compiler(cc_wrapper, tmp_path):
    moddir, cache = tmp_path / "mod", tmp_path / "cache"
    _write_kernel(moddir)
    first = _result(_run_kernel(moddir, cache, cc_wrapper, tmp_path / "log1"))
    assert first["result"] == _expected(2, 1)
    assert (tmp_path / "log1").exists(), "the first process did not run CC"
    second = _result(_run_kernel(moddir, cache, cc_wrapper, tmp_path / "log2", fail=True))
    assert second["result"] == _expected(2, 1)
    assert not (tmp_path / "log2").exists(), (tmp_path / "log2").read_text()
    if second["compiles"] is not None:
        assert second["compiles"] == 0


def test_failing_compiler_with_empty_cache_fails_cleanly(cc_wrapper, tmp_path):
    """Control for the test above: with nothing cached the failing CC is run and
    the error is a hybridjit error (BuildError), not a crash."""
    moddir = tmp_path / "mod"
    _write_kernel(moddir)
    proc = _run_kernel(moddir, tmp_path / "cache", cc_wrapper, tmp_path / "log", fail=True)
    assert proc.returncode != 0
    assert (tmp_path / "log").exists()
    assert "BuildError" in proc.stderr or "InternalError" in proc.stderr, proc.stderr
    assert "Segmentation" not in proc.stderr


@pytest.mark.slow
def test_cache_key_follows_helper_source_and_constants(cc_wrapper, tmp_path):
    moddir, cache = tmp_path / "mod", tmp_path / "cache"
    _write_kernel(moddir, scale=2, offset=1)
    assert _result(_run_kernel(moddir, cache, cc_wrapper, tmp_path / "l1"))["result"] == \
        _expected(2, 1)
    time.sleep(1.1)  # distinct mtimes for anything keyed on them
    _write_kernel(moddir, scale=2, offset=5)  # the helper's source changes
    assert _result(_run_kernel(moddir, cache, cc_wrapper, tmp_path / "l2"))["result"] == \
        _expected(2, 5)
    time.sleep(1.1)
    _write_kernel(moddir, scale=3, offset=5)  # a module constant changes
    assert _result(_run_kernel(moddir, cache, cc_wrapper, tmp_path / "l3"))["result"] == \
        _expected(3, 5)


def test_concurrent_compiles_into_one_fresh_cache(cc_wrapper, tmp_path):
    moddir, cache = tmp_path / "mod", tmp_path / "cache"
    _write_kernel(moddir)
    go = tmp_path / "go"
    env = dict(os.environ)
    env.update({"HYBRIDJIT_CACHE_DIR": str(cache), "CC": str(cc_wrapper),
                "HJ_CC_LOG": str(tmp_path / "logc"), "HJ_CC_FAIL": "0",
                "PYTHONPATH": os.pathsep.join([package_path(), env.get("PYTHONPATH", "")])})
    procs = [subprocess.Popen([sys.executable, "-c", RUNNER.format(moddir=str(moddir),
                                                                  go=str(go), tag=k)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for k in range(2)]
    deadline = time.time() + 120
    while time.time() < deadline and not all(
            Path(f"{go}.ready.{k}").exists() for k in range(2)):
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.01)
    go.write_text("go")  # both start compiling at the same moment
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, out + err
        assert json.loads(out.strip().splitlines()[-1])["result"] == _expected(2, 1)
    # whatever landed in the cache is complete: a third process loads it
    # without the compiler
    third = _result(_run_kernel(moddir, cache, cc_wrapper, tmp_path / "log3", fail=True))
    assert third["result"] == _expected(2, 1)
    assert not (tmp_path / "log3").exists()


def test_unwritable_cache_dir_in_fresh_process(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    moddir = tmp_path / "mod"
    _write_kernel(moddir)
    proc = run_python(RUNNER.format(moddir=str(moddir), go="", tag=""),
                      env={"HYBRIDJIT_CACHE_DIR": str(blocker / "sub")})
    res = _result(proc)
    assert res["result"] == _expected(2, 1)
    assert res["warnings"], "an unusable cache directory should warn"


def _fill(a):
    for i in prange(a.shape[0]):
        a[i] = i


def test_a_copy_with_other_globals_is_not_served_the_cached_original():
    """Same code and name, different globals (prange bound to range): the
    cache key matches, so the recorded globals must be checked against the
    function's own __globals__, not its module's."""
    import builtins
    import types

    ns = dict(_fill.__globals__, prange=builtins.range)
    serial = types.FunctionType(_fill.__code__, ns, _fill.__name__)
    serial.__qualname__, serial.__module__ = _fill.__qualname__, _fill.__module__
    a = np.zeros(50)
    assert "#pragma omp parallel" in jit(_fill, parallel=True).inspect_source(a)
    assert "#pragma omp parallel" not in jit(serial, parallel=True).inspect_source(a)


def test_same_source_in_two_modules_with_other_globals(tmp_path, monkeypatch):
    """The second module's function must not reuse the first one's code."""
    import importlib

    src = "K = {k}\n\ndef f(x):\n    return x + K\n"
    for name, k in (("hj_mod_k1", 1), ("hj_mod_k2", 2)):
        (tmp_path / f"{name}.py").write_text(src.format(k=k))
    monkeypatch.syspath_prepend(str(tmp_path))
    m1 = importlib.import_module("hj_mod_k1")
    m2 = importlib.import_module("hj_mod_k2")
    assert jit(m1.f)(10) == 11
    assert jit(m2.f)(10) == 12
