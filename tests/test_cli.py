"""The ``hybridjit`` command: explain, cache; and kernel reduction identities."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from hybridjit.cli import main
from hybridjit.codegen.kernel import reduction_identity
from hybridjit.ir.nodes import Reduction
from hybridjit.types import Scalar

MODULE = textwrap.dedent("""
    def shift(a):
        for i in range(1, a.shape[0]):
            a[i] = a[i - 1]

    def scale(a, out, k):
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                out[i, j] = a[i, j] * k
""")


@pytest.fixture
def module_file(tmp_path):
    path = tmp_path / "kernels.py"
    path.write_text(MODULE)
    return path


def test_explain_command_reports_each_loop(module_file, capsys):
    assert main(["explain", f"{module_file}:shift"]) == 0
    out = capsys.readouterr().out
    assert "line 3:" in out and "serial" in out and "a[i - 1]" in out


def test_explain_command_with_explicit_types(module_file, capsys):
    assert main(["explain", f"{module_file}:scale", "--types",
                 "float32[:,:], float32[:,:], float"]) == 0
    out = capsys.readouterr().out
    assert "line 7:" in out and "PARALLEL" in out


def test_explain_command_rejects_a_missing_function(module_file, capsys):
    assert main(["explain", f"{module_file}:nope"]) == 2
    assert "no function nope" in capsys.readouterr().err


def test_cache_info_and_clear(tmp_path, monkeypatch, capsys):
    from hybridjit.runtime import files

    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(tmp_path / "c"))
    files.cache_subdir(tmp_path / "c", "cpu")  # as hybridjit makes it: tagged
    (tmp_path / "c" / "cpu" / "x.so").write_bytes(b"12345")
    assert main(["cache", "info"]) == 0
    assert "size" in capsys.readouterr().out
    assert main(["cache", "clear"]) == 0
    assert not (tmp_path / "c").exists()


def test_explain_command_on_a_missing_file_is_one_clear_line(tmp_path, capsys):
    missing = tmp_path / "nowhere.py"
    assert main(["explain", f"{missing}:f"]) != 0
    err = capsys.readouterr().err
    assert str(missing) in err and "no such file" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_explain_command_on_a_module_that_fails_to_import(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("def f(a):\n    return a[\n")
    assert main(["explain", f"{broken}:f"]) != 0
    err = capsys.readouterr().err
    assert "SyntaxError" in err and len(err.strip().splitlines()) == 1


PARALLEL_MODULE = textwrap.dedent("""
    from hybridjit import prange

    def double(a, out):
        for i in prange(a.shape[0]):
            out[i] = 2.0 * a[i]
""")


def test_explain_says_regions_run_on_the_cpu_without_an_accelerator(tmp_path, monkeypatch,
                                                                    capsys):
    from hybridjit.runtime import registry

    monkeypatch.setattr(registry, "accelerator_may_exist", lambda: False)
    path = tmp_path / "par.py"
    path.write_text(PARALLEL_MODULE)
    assert main(["explain", f"{path}:double"]) == 0
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "device:" in ln]
    assert "runs on the CPU cores" in line and "no GPU" in line, line
    assert "may run on a GPU" not in line


@pytest.mark.parametrize("name", ["bool", "int8", "uint16", "int64", "float32", "float64"])
@pytest.mark.parametrize("op", ["+", "*", "min", "max"])
def test_reduction_identity_is_neutral(name, op):
    t = Scalar(name)
    ident = reduction_identity(Reduction("s", op), t)
    samples = [0, 1] if t.is_bool else [-3, 0, 7] if t.is_signed else [0, 5]
    combine = {"+": lambda a, b: a + b, "*": lambda a, b: a * b,
               "min": min, "max": max}[op]
    for x in samples:
        assert combine(ident, x) == x
    if not t.is_float:  # it is stored in the C type: it must fit
        lo, hi = (0, 1) if t.is_bool else (np.iinfo(t.dtype).min, np.iinfo(t.dtype).max)
        assert lo <= ident <= hi
    if t.is_float and op in ("min", "max"):
        assert math.isinf(ident)


def test_explain_names_the_device_an_explicit_target_uses(tmp_path, capsys):
    from hybridjit.runtime import registry

    if not registry.availability("opencl").available:
        pytest.skip("no OpenCL device")
    path = tmp_path / "par.py"
    path.write_text(PARALLEL_MODULE.replace("def double", "from hybridjit import jit\n\n"
                                            "@jit(target='opencl')\ndef double"))
    assert main(["explain", f"{path}:double"]) == 0
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "device:" in ln]
    device = registry.get_device("opencl")
    assert device is not None and f"runs on the opencl device {device.name}" in line, line
    if not device.is_accelerator:
        assert "host CPU" in line
