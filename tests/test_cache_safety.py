"""The compile cache under hostile conditions: damaged entries, directories
other users can write, symlinks where logs go, a half-written OpenMP probe,
bad ``HYBRIDJIT_CFLAGS``.

Anything that could crash the interpreter (a truncated shared library gives
SIGBUS when loaded) runs in a subprocess, with its own cache directory and,
where it matters, a compiler wrapper that logs each invocation to
``$HJ_CC_LOG`` and refuses to compile when ``HJ_CC_FAIL=1`` (everything) or
``HJ_CC_FAIL=gen`` (generated code only: commands with ``-I``).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from difftest import run_python
from hybridjit import BuildError, HybridJitWarning, InternalError, jit
from hybridjit.runtime import cache, files, registry

KERNEL = """
from hybridjit import prange


def kern(a):
    s = 0.0
    for i in prange(a.shape[0]):
        s += a[i] * 2.0 + 1.0
    return s
"""

RUNNER = """
import json, sys, warnings
sys.path.insert(0, {moddir!r})
import numpy as np
from hybridjit import jit
import kern
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    f = jit(kern.kern, target={target!r})
    r = f(np.arange(10.0))
print(json.dumps({{"result": float(r), "compiles": f.compile_count,
                  "warnings": [str(w.message) for w in caught]}}))
"""

EXPECTED = float(np.sum(np.arange(10.0) * 2.0 + 1.0))


@pytest.fixture
def cc_wrapper(tmp_path: Path) -> Path:
    real = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if real is None:
        pytest.skip("no C compiler")
    script = tmp_path / "cc-wrap.sh"
    script.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo "$*" >> "${{HJ_CC_LOG:-/dev/null}}"
        if [ "$HJ_CC_FAIL" = "1" ]; then echo "cc-wrap: refusing" >&2; exit 1; fi
        case "$HJ_CC_FAIL $*" in gen*" -I"*) echo "cc-wrap: refusing" >&2; exit 1;; esac
        exec {real} "$@"
    """))
    script.chmod(0o755)
    return script


class Project:
    """A module with a kernel, a cache directory and a logging compiler."""

    def __init__(self, tmp_path: Path, cc: Path) -> None:
        self.moddir = tmp_path / "mod"
        self.moddir.mkdir()
        (self.moddir / "kern.py").write_text(KERNEL)
        self.cache = tmp_path / "cache"
        self.cc = cc
        self.log = tmp_path / "cc.log"
        self.runs = 0

    def run(self, fail: str = "0", target: str = "cpu") -> subprocess.CompletedProcess[str]:
        self.runs += 1
        self.log = self.log.with_name(f"cc{self.runs}.log")
        env = {"HYBRIDJIT_CACHE_DIR": str(self.cache), "CC": str(self.cc),
               "HJ_CC_LOG": str(self.log), "HJ_CC_FAIL": fail,
               "PYTHONDONTWRITEBYTECODE": "1"}
        return run_python(RUNNER.format(moddir=str(self.moddir), target=target),
                          env=env, timeout=180)

    def result(self, fail: str = "0", target: str = "cpu") -> dict[str, Any]:
        proc = self.run(fail, target)
        assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stdout}{proc.stderr}"
        out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        assert out["result"] == EXPECTED
        return out

    def compiler_lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def one(self, pattern: str) -> Path:
        (path,) = sorted(self.cache.glob(pattern))
        return path


@pytest.fixture
def project(tmp_path: Path, cc_wrapper: Path) -> Project:
    return Project(tmp_path, cc_wrapper)


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 3])
    else:  # garbage of the same size
        path.write_bytes(bytes((b * 7 + 13) & 0xFF for b in data))


def _damaged_warning(out: dict[str, Any]) -> list[str]:
    return [w for w in out["warnings"] if "damaged" in w and "rebuilt" in w]


# ------------------------------------------------------------ 1. damaged entries


@pytest.mark.parametrize("how", ["truncate", "garbage"])
def test_damaged_module_is_rebuilt_with_one_warning(project: Project, how: str) -> None:
    assert project.result()["compiles"] == 1
    _damage(project.one("cpu/*/*.so"), how)
    second = project.result()
    assert second["compiles"] == 1 and len(_damaged_warning(second)) == 1, second
    # the rebuilt entry is whole again: no compiler, no warning
    third = project.result(fail="1")
    assert third["compiles"] == 0 and not third["warnings"], third


@pytest.mark.parametrize("content", [b"", b"{\"module\": ", b"[1, 2]", b"\xff\xfe garbage"])
def test_unreadable_metadata_is_a_damaged_entry(project: Project, content: bytes) -> None:
    project.result()
    project.one("cpu/*/*.json").write_bytes(content)
    second = project.result()
    assert second["compiles"] == 1 and len(_damaged_warning(second)) == 1, second
    assert project.result(fail="1")["compiles"] == 0


def test_damaged_payload_is_rebuilt(project: Project) -> None:
    if not registry.availability("opencl").available:
        pytest.skip("needs an OpenCL device (the payload is the region table)")
    assert project.result(target="opencl")["compiles"] == 1
    _damage(project.one("cpu/*/*.pkl"), "truncate")
    second = project.result(target="opencl")
    assert second["compiles"] == 1 and len(_damaged_warning(second)) == 1, second


def test_damaged_opencl_binary_is_rebuilt(project: Project) -> None:
    if not registry.availability("opencl").available:
        pytest.skip("no OpenCL device")
    project.result(target="opencl")
    binary = project.one("opencl/*.bin")
    _damage(binary, "truncate")
    second = project.result(target="opencl")
    assert second["compiles"] == 0 and len(_damaged_warning(second)) == 1, second
    third = project.result(target="opencl")
    assert not third["warnings"], third


def test_damaged_nvrtc_binary_is_recompiled(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from hybridjit.runtime import nvrtc

    if not nvrtc.nvrtc_available().available:
        pytest.skip("NVRTC unavailable")
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(tmp_path / "cache"))
    source = 'extern "C" __global__ void k(float* a) { a[threadIdx.x] *= 2.0f; }'
    ptx = nvrtc.compile_to_ptx(source, "k.cu")
    (binary,) = (tmp_path / "cache" / "nvrtc").glob("*.bin")
    _damage(binary, "truncate")
    with pytest.warns(HybridJitWarning, match="damaged"):
        assert nvrtc.compile_to_ptx(source, "k.cu") == ptx


def _twice(a: Any) -> Any:
    return a[0] * 2


def test_an_entry_whose_module_does_not_load_is_discarded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cache.load: a verified module that fails to load (ImportError: say a
    library it needs was removed) is a damaged entry, discarded with the
    warning, so the caller rebuilds it."""
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(tmp_path / "cache"))
    jit(_twice)(np.arange(3.0))
    (meta,) = (tmp_path / "cache" / "cpu").glob("*/*.json")
    key = meta.stem
    entry = cache.lookup(key, lambda a: True)
    assert entry is not None

    def broken(path: Path, name: str) -> Any:
        raise ImportError(f"{path}: libgone.so: cannot open shared object file")

    with pytest.warns(HybridJitWarning, match="damaged.*libgone"):
        assert cache.load(entry, broken) is None
    assert cache.lookup(key, lambda a: True) is None and not meta.exists()


def test_a_module_that_does_not_load_is_rebuilt(project: Project) -> None:
    """A module that matches its record but does not load (as when a library
    it links has gone) is rebuilt, not an ImportError on every run."""
    project.result()
    so = project.one("cpu/*/*.so")
    so.write_bytes(b"\x7fELF but not really a shared library" * 10)
    meta = project.one("cpu/*/*.json")
    data = json.loads(meta.read_text())
    data["files"]["so"].update(files.digest(so.read_bytes()))
    meta.write_text(json.dumps(data))
    second = project.result()
    assert second["compiles"] == 1 and len(_damaged_warning(second)) == 1, second


# ------------------------------------------------------------ 2. cache clear


def test_cache_clear_refuses_a_directory_hybridjit_did_not_create(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from hybridjit.cli import main

    proj = tmp_path / "proj"
    (proj / "cpu").mkdir(parents=True)
    (proj / "main.py").write_text("print('mine')\n")
    (proj / "cpu" / "notes.txt").write_text("mine too\n")
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(proj))
    assert main(["cache", "clear"]) != 0
    assert "refusing" in capsys.readouterr().err
    assert (proj / "main.py").exists() and (proj / "cpu" / "notes.txt").exists()


def test_cache_clear_deletes_only_what_hybridjit_made(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hybridjit.cli import main

    root = tmp_path / "made-by-hybridjit"
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(root))
    jit(_twice)(np.arange(2.0))
    assert (root / files.MARKER).exists() and list(root.glob("cpu/*/*.so"))
    (root / "mine.txt").write_text("put here by the user")
    assert main(["cache", "clear"]) == 0
    assert sorted(p.name for p in root.iterdir()) == ["mine.txt"]


# ------------------------------------------------------------ 3. compiler logs


def _fresh_failing(a: Any) -> Any:
    return a[0] + 40


def test_compiler_logs_go_to_the_private_cache_never_through_symlinks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cc_wrapper: Path) -> None:
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("CC", str(cc_wrapper))
    monkeypatch.setenv("HJ_CC_FAIL", "gen")
    with pytest.raises(InternalError) as info:
        jit(_fresh_failing)(np.arange(2.0))
    log = Path(str(info.value.hint).rsplit(" ", 1)[-1])
    assert log.parent == cache_dir / "logs", info.value.hint
    assert "cc-wrap: refusing" in log.read_text()
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(log.stat().st_mode) & 0o077 == 0
    # a symlink planted where the next log goes is replaced, not followed
    victim = tmp_path / "victim"
    victim.write_text("precious")
    log.unlink()
    log.symlink_to(victim)
    with pytest.raises(InternalError):
        jit(_fresh_failing)(np.arange(2.0))
    assert victim.read_text() == "precious"
    assert not log.is_symlink() and "cc-wrap: refusing" in log.read_text()


# ------------------------------------------------------------ 4. untrusted directories


def test_directories_hybridjit_creates_are_private(project: Project) -> None:
    project.result()
    made = [project.cache, *(p for p in project.cache.rglob("*") if p.is_dir())]
    assert {p.name for p in made} >= {"cache", "cpu", "probes"}
    for d in made:
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d


def _plant_module(project: Project, marker: Path) -> None:
    """Replace the cached module with one that leaves ``marker`` when loaded
    (and its metadata's record too, as whoever can write there could)."""
    so = project.one("cpu/*/*.so")
    src = so.parent / "planted.c"
    src.write_text('#include <stdio.h>\n__attribute__((constructor)) static void p(void)'
                   f'{{ FILE* f = fopen("{marker}", "w"); if (f) fclose(f); }}\n')
    subprocess.run([str(project.cc), "-shared", "-fPIC", str(src), "-o", str(so)], check=True)
    meta = project.one("cpu/*/*.json")
    data = json.loads(meta.read_text())
    if "files" in data:
        data["files"]["so"].update(files.digest(so.read_bytes()))
        meta.write_text(json.dumps(data))


def test_a_cache_directory_others_can_write_is_not_trusted(project: Project,
                                                           tmp_path: Path) -> None:
    project.result()
    marker = tmp_path / "planted-code-ran"
    _plant_module(project, marker)
    project.cache.chmod(0o777)
    second = project.result()
    assert not marker.exists(), "a module from a world-writable cache was loaded"
    assert any("does not trust" in w and "writable by other users" in w
               for w in second["warnings"]), second
    assert second["compiles"] == 1


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="only root can give a directory to another user")
def test_a_cache_directory_of_another_user_is_not_trusted(project: Project,
                                                          tmp_path: Path) -> None:
    project.result()
    marker = tmp_path / "planted-code-ran"
    _plant_module(project, marker)
    os.chown(project.cache, 65534, 65534)
    second = project.result()
    assert not marker.exists(), "a module from another user's cache was loaded"
    assert any("owned by another user" in w for w in second["warnings"]), second


# ------------------------------------------------------------ 5. the OpenMP probe


def _build_lines(project: Project) -> list[str]:
    return [ln for ln in project.compiler_lines() if " -I" in ln]


def test_a_half_written_openmp_probe_is_probed_again(project: Project) -> None:
    project.result()
    probe = project.one("probes/openmp-*")
    assert probe.read_text().strip() == "1"
    probe.write_text("")  # what a process killed while writing it leaves
    shutil.rmtree(project.cache / "cpu")
    project.result()
    (build,) = _build_lines(project)
    assert "-fopenmp" in build, build
    assert probe.read_text().strip() == "1"


def test_builds_are_keyed_on_the_openmp_probe(project: Project) -> None:
    project.result()
    probe = project.one("probes/openmp-*")
    probe.write_text("0\n")  # as if this compiler had no OpenMP
    serial = project.result()
    assert serial["compiles"] == 1, "a module built with OpenMP was reused without it"
    assert "-fopenmp" not in _build_lines(project)[0]
    assert any("does not support OpenMP" in w for w in serial["warnings"]), serial
    probe.write_text("1\n")
    assert project.result(fail="1")["compiles"] == 0  # the OpenMP build is still there


# ------------------------------------------------------------ 6. HYBRIDJIT_CFLAGS


def _flags_victim(a: Any) -> Any:
    return a[0] - 1


def test_bad_extra_cflags_are_the_users_build_error(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HYBRIDJIT_CFLAGS", "-fno-such-option-hj")
    with pytest.raises(BuildError) as info:
        jit(_flags_victim)(np.arange(2.0))
    assert type(info.value) is BuildError
    assert "HYBRIDJIT_CFLAGS" in str(info.value) and "-fno-such-option-hj" in str(info.value)
    monkeypatch.setenv("HYBRIDJIT_CFLAGS", "-O2")  # good flags still work
    assert jit(_flags_victim)(np.arange(2.0)) == -1.0
