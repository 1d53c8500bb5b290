"""Test session setup: a private disk cache, the package path, the ``target`` fixture.

``HYBRIDJIT_CACHE_DIR`` is set here, at import of this conftest, before any test
module imports hybridjit, to a fresh per-session directory (removed at the end),
so runs never reuse or pollute the user's cache.

``HYBRIDJIT_TEST_TARGETS`` (comma-separated, default ``cpu,opencl,cuda,cuda-emu``)
lists the targets the parallel tests run on.  ``cuda-emu`` is the CUDA device
driven by :mod:`cuda_emulator` (the generated CUDA C run on the CPU, the host
side of the CUDA path for real); it needs NVRTC and g++, not a GPU.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_CACHE_DIR = tempfile.mkdtemp(prefix="hybridjit-test-cache-")
os.environ["HYBRIDJIT_CACHE_DIR"] = _CACHE_DIR
os.environ.pop("HYBRIDJIT_DUMP", None)

_SRC = Path(__file__).resolve().parents[1] / "src"
if importlib.util.find_spec("hybridjit") is None and _SRC.is_dir():
    sys.path.insert(0, str(_SRC))

TARGETS = [t.strip() for t in
           os.environ.get("HYBRIDJIT_TEST_TARGETS", "cpu,opencl,cuda,cuda-emu").split(",")
           if t.strip()]
_MARKS = {"opencl": pytest.mark.opencl, "cuda": pytest.mark.cuda}


@pytest.fixture(autouse=True)
def _kernels_always_build() -> Iterator[None]:
    """Every test: a generated kernel a device fails to build is a failure,
    even where the CPU fallback gave the right answer (injected build faults
    are not recorded)."""
    from hybridjit.runtime import offload

    offload.BUILD_FAILURES.clear()
    yield
    failures = list(offload.BUILD_FAILURES)
    offload.BUILD_FAILURES.clear()
    assert not failures, f"a device failed to build generated kernels: {failures}"


@pytest.fixture(params=[pytest.param(t, marks=_MARKS[t]) if t in _MARKS else t
                        for t in TARGETS])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The execution target of parallel tests: "cpu", and each device that is
    available ("opencl" on PoCL in CI; "cuda" with a GPU, selected by -m cuda;
    "cuda-emu", which tests get as "cuda", on the emulated driver).
    Device buffers are poisoned, and a region that falls back to the CPU after
    a device error fails the test (a fallback would hide a broken kernel)."""
    name = str(request.param)
    if name == "cpu":
        yield name
        return
    from hybridjit.runtime import offload, registry

    name = fresh_device(name, monkeypatch)
    cuda_kernels = _record_cuda_kernels(monkeypatch)
    yield name
    fallbacks = list(offload.FALLBACKS)
    registry.reset()
    assert not fallbacks, f"regions fell back to the CPU on {name}: {fallbacks}"
    _compile_to_ptx(cuda_kernels)


def fresh_device(kind: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Prepare a fresh device of ``kind`` ("opencl", "cuda", or "cuda-emu": CUDA
    on the emulated driver) for a test: buffers poisoned with 0xFF bytes (NaN
    for floats, so a missing transfer is a wrong answer), no injected faults,
    no target override, no device made yet (so no programs built), no
    recorded fallbacks.  Returns the target name; skips if unavailable."""
    if kind == "cuda-emu":
        kind = install_cuda_emulator(monkeypatch)
    from hybridjit.runtime import offload, registry

    monkeypatch.setenv("HYBRIDJIT_POISON", "1")
    monkeypatch.delenv("HYBRIDJIT_FAULT", raising=False)
    monkeypatch.delenv("HYBRIDJIT_TARGET", raising=False)
    registry.reset()
    offload.FALLBACKS.clear()
    avail = registry.availability(kind)
    if not avail.available:
        pytest.skip(f"{kind} unavailable: {avail.reason}")
    return kind


def install_cuda_emulator(monkeypatch: pytest.MonkeyPatch) -> str:
    """Put the emulated CUDA driver in place for this test (before any CUDA
    device is made); returns "cuda".  Skips where it cannot work: no NVRTC to
    compile the kernels, no g++."""
    from hybridjit.runtime import nvrtc

    if not nvrtc.nvrtc_available().available and not os.environ.get("CI"):
        pytest.skip(f"cuda-emu needs NVRTC: {nvrtc.nvrtc_available().reason}")
    if shutil.which("g++") is None:
        pytest.skip("cuda-emu needs g++ to run the kernels")
    import cuda_emulator

    cuda_emulator.install(monkeypatch, Path(_CACHE_DIR) / "cuda-emu")
    return "cuda"


def _record_cuda_kernels(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Collect the CUDA C of every region compiled during the test (each
    offloading compile renders all dialects, whatever device runs it)."""
    from hybridjit import pipeline

    found: list[tuple[str, str]] = []
    original = pipeline.outline_regions

    def spy(*args: object, **kwargs: object) -> object:
        fn, regions = original(*args, **kwargs)  # type: ignore[arg-type]
        found.extend((r.kernel_name, r.kernels["cuda"]) for r in regions if r.kernels)
        return fn, regions

    monkeypatch.setattr(pipeline, "outline_regions", spy)
    return found


def _compile_to_ptx(kernels: list[tuple[str, str]]) -> None:
    """Generated CUDA C that NVRTC rejects fails the test, GPU or not."""
    if not kernels:
        return
    from hybridjit.runtime import nvrtc

    if not nvrtc.nvrtc_available().available:
        if os.environ.get("CI"):
            pytest.fail(f"NVRTC unavailable in CI: {nvrtc.nvrtc_available().reason}")
        return
    for name, source in kernels:
        ptx = nvrtc.compile_to_ptx(source, name)
        assert f".entry {name}" in ptx, f"{name}: no entry point in the PTX"


@pytest.fixture(params=[pytest.param(t, marks=_MARKS[t]) if t in _MARKS else t
                        for t in ("opencl", "cuda", "cuda-emu") if t in TARGETS])
def offload_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each device kind tests offload to (a target name: "opencl" or "cuda"),
    prepared by :func:`fresh_device`; skipped where the device is unavailable."""
    from hybridjit.runtime import registry

    yield fresh_device(str(request.param), monkeypatch)
    registry.reset()


@pytest.fixture
def poisoned_opencl(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The OpenCL device, prepared by :func:`fresh_device` (buffers filled
    with 0xFF)."""
    from hybridjit.runtime import registry

    fresh_device("opencl", monkeypatch)
    device = registry.get_device("opencl")
    assert device is not None and device.poison_byte == 0xFF
    yield device
    registry.reset()


@pytest.fixture(scope="session")
def session_cache_dir() -> str:
    return _CACHE_DIR


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    difftest = sys.modules.get("difftest")
    if difftest is not None:
        terminalreporter.write_line(
            f"hybridjit differential suite: {difftest.compiled_count()} specialisations "
            "compiled through difftest")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)
