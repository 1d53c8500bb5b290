"""``hybridjit doctor``: the report's sections, fix hints, and exit status."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from hybridjit import doctor


def test_doctor_reports_every_section_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    status = doctor.main([])
    out = capsys.readouterr().out
    for section in ("Python", "C compiler (CPU path)", "OpenCL", "CUDA", "Target", "Cache"):
        assert f"\n{section}\n" in out
    for label in ("NumPy:", "C compiler:", "OpenMP:", "Python headers:", "NVRTC:", "cache dir:"):
        assert label in out
    assert status == 0 and "CPU path: works" in out


def test_no_compiler_fails_with_a_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(doctor, "find_c_compiler", lambda: None)
    assert doctor.main([]) == 1
    out = capsys.readouterr().out
    assert "fix: apt-get install -y gcc" in out and "CPU path: BROKEN" in out


def test_cc_environment_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", f"{sys.executable} -O0")
    assert doctor.find_c_compiler() == [sys.executable, "-O0"]
    monkeypatch.setenv("CC", "/nonexistent/compiler")
    assert doctor.find_c_compiler() is None


def test_missing_pyopencl_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyopencl", None)  # makes the import fail
    (finding,) = doctor.check_opencl()
    assert finding.ok is False and "pocl-opencl-icd" in (finding.fix or "")
    assert "hybridjit[opencl]" in finding.render()


def test_cuda_section_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    from hybridjit.runtime import cuda

    def broken(ordinal: int = 0) -> Any:
        raise RuntimeError("driver exploded")

    monkeypatch.setattr(cuda, "gpu_info", broken)
    gpu, nvrtc_line = doctor.check_cuda()
    assert "driver exploded" in gpu.detail and gpu.ok is False
    assert nvrtc_line.label == "NVRTC"


def test_unwritable_cache_dir_is_reported(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(blocker / "cache"))
    (finding,) = doctor.check_cache()
    assert finding.ok is False and "HYBRIDJIT_CACHE_DIR" in (finding.fix or "")
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(tmp_path / "new" / "cache"))
    (finding,) = doctor.check_cache()
    assert finding.ok is True


def test_doctor_says_which_target_auto_uses_and_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hybridjit.runtime import registry

    monkeypatch.setattr(registry, "accelerator_may_exist", lambda: False)
    doctor.main([])
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if 'target="auto"' in ln]
    assert "CPU cores" in line and "no GPU" in line, line


def test_doctor_names_the_accelerator_auto_would_use(monkeypatch: pytest.MonkeyPatch) -> None:
    from hybridjit.runtime import registry

    class FakeGPU:
        name = "Example GPU 9000"
        is_accelerator = True

    monkeypatch.setattr(registry, "accelerator_may_exist", lambda: True)
    monkeypatch.setattr(registry, "preferred_kind", lambda: "cuda")
    monkeypatch.setattr(registry, "get_device", lambda kind: FakeGPU())
    (finding, *_) = doctor.check_target()
    assert "cuda device Example GPU 9000" in finding.detail, finding.detail


def test_a_cache_dir_others_can_write_is_reported(tmp_path: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("HYBRIDJIT_CACHE_DIR", str(shared))
    (finding,) = doctor.check_cache()
    assert finding.ok is False and "writable by other users" in finding.detail
