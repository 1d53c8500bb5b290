"""``hybridjit doctor``: what this machine can run, what is missing, how to get it.

Contract: :func:`main` inspects the environment - Python and NumPy, the C
compiler and its OpenMP support, Python and NumPy headers, OpenCL platforms
and devices (pyopencl), the CUDA driver, GPU and NVRTC, which device
``target="auto"`` uses here and why, and the hybridjit cache directory
(writable, and trusted: not writable by other users) - and prints one
readable report to stdout, one line per finding, with a ``fix:`` line under
every missing piece.  It returns 0 when
the CPU path works (a C compiler builds a shared library), else 1.  Nothing
here raises for a missing toolkit: every probe turns failure into a finding.
Probes are side-effect free apart from compiling in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config

#: Seconds any single compiler invocation may take before we call it broken.
COMPILE_TIMEOUT = 60

FIX_CC = "apt-get install -y gcc   (or set CC to your C compiler)"
FIX_OPENMP = "use gcc (apt-get install -y gcc), or for clang: apt-get install -y libomp-dev"
FIX_PY_HEADERS = "apt-get install -y python3-dev   (headers for this Python)"
FIX_OPENCL = "apt-get install -y pocl-opencl-icd && pip install 'hybridjit[opencl]'"
FIX_OPENCL_DEVICE = "apt-get install -y pocl-opencl-icd   (an OpenCL device on the CPU)"
FIX_CUDA = "pip install 'hybridjit[cuda]'   (cuda-bindings and nvidia-cuda-nvrtc)"
FIX_DRIVER = "install the NVIDIA driver for your GPU (none needed without a GPU)"


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report; ``ok`` None is plain information."""

    label: str
    detail: str
    ok: bool | None = None
    fix: str | None = None

    def render(self) -> str:
        mark = {True: "ok", False: "MISSING", None: "info"}[self.ok]
        text = f"  [{mark:>7}] {self.label}: {self.detail}"
        if self.fix and self.ok is False:
            text += f"\n            fix: {self.fix}"
        return text


# --------------------------------------------------------------------------- C toolchain


def find_c_compiler() -> list[str] | None:
    """The C compiler command the CPU device uses (see :func:`config.c_compiler`)."""
    cc = config.c_compiler()
    if cc is None:
        return None
    argv = shlex.split(cc)
    return argv if shutil.which(argv[0]) else None


def _run(argv: Sequence[str], cwd: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            list(argv), cwd=cwd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _compiler_version(cc: list[str]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        done = _run([*cc, "--version"], tmp)
    if done is None or done.returncode != 0 or not done.stdout:
        return "version unknown"
    return done.stdout.splitlines()[0].strip()


_SHARED_SRC = "int hj_answer(void) { return 42; }\n"
_OPENMP_SRC = """#include <omp.h>
#include <stdio.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    printf("%d\\n", n);
    return n == omp_get_max_threads() ? 0 : 1;
}
"""


def _builds_shared_library(cc: list[str]) -> bool:
    """Can ``cc`` build the kind of shared library the CPU path loads?"""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "t.c").write_text(_SHARED_SRC)
        done = _run([*cc, "-O2", "-fPIC", "-shared", "t.c", "-o", "t.so"], tmp)
    return done is not None and done.returncode == 0


def _openmp_threads(cc: list[str]) -> int | None:
    """Threads an OpenMP program built with ``-fopenmp`` runs, or None if it cannot."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "omp.c").write_text(_OPENMP_SRC)
        done = _run([*cc, "-fopenmp", "omp.c", "-o", "omp"], tmp)
        if done is None or done.returncode != 0:
            return None
        ran = _run([os.path.join(tmp, "omp")], tmp)
    if ran is None or ran.returncode != 0:
        return None
    try:
        return int(ran.stdout.strip())
    except ValueError:
        return None


def check_c_toolchain() -> tuple[list[Finding], bool]:
    """Findings about the CPU path, and whether it works."""
    cc = find_c_compiler()
    if cc is None:
        return [Finding("C compiler", "none found ($CC, cc, gcc, clang)", False, FIX_CC)], False
    works = _builds_shared_library(cc)
    findings = [
        Finding(
            "C compiler",
            f"{shlex.join(cc)} ({_compiler_version(cc)})"
            + ("" if works else " - cannot build a shared library"),
            works,
            FIX_CC,
        )
    ]
    threads = _openmp_threads(cc) if works else None
    if threads is not None:
        findings.append(Finding("OpenMP", f"-fopenmp works ({threads} threads)", True))
    else:
        findings.append(
            Finding("OpenMP", "not usable: loops will run serially", False, FIX_OPENMP)
        )
    return findings, works


def check_headers() -> list[Finding]:
    include = Path(sysconfig.get_paths()["include"])
    python_h = include / "Python.h"
    found = python_h.is_file()
    detail = str(python_h) if found else f"no Python.h in {include} (ctypes entry points used)"
    np_h = Path(np.get_include()) / "numpy" / "arrayobject.h"
    return [
        Finding("Python headers", detail, found, FIX_PY_HEADERS),
        Finding("NumPy headers", str(np_h.parent), np_h.is_file(), "pip install --force numpy"),
    ]


# --------------------------------------------------------------------------- accelerators


def check_opencl() -> list[Finding]:
    try:
        import pyopencl as cl
    except Exception as exc:  # ImportError, or a broken ICD loader raising on import
        return [Finding("pyopencl", f"not importable ({exc})", False, FIX_OPENCL)]
    findings = [Finding("pyopencl", getattr(cl, "VERSION_TEXT", "installed"), True)]
    try:
        platforms = cl.get_platforms()
    except Exception as exc:  # no ICD installed raises a pyopencl LogicError
        platforms = []
        findings.append(Finding("OpenCL platforms", f"none ({exc})", False, FIX_OPENCL_DEVICE))
    for plat in platforms:
        findings.append(Finding("OpenCL platform", f"{plat.name} ({plat.version})"))
        findings.extend(_opencl_devices(cl, plat))
    if platforms and not any(f.label == "OpenCL device" for f in findings):
        findings.append(Finding("OpenCL device", "none", False, FIX_OPENCL_DEVICE))
    return findings


def _opencl_devices(cl: object, plat: object) -> list[Finding]:
    try:
        devices = plat.get_devices()  # type: ignore[attr-defined]
    except Exception as exc:  # a platform without devices raises DEVICE_NOT_FOUND
        return [Finding("OpenCL device", f"none on this platform ({exc})")]
    out = []
    for dev in devices:
        kind = _opencl_kind(cl, dev.type)
        fp64 = "cl_khr_fp64" in dev.extensions or getattr(dev, "double_fp_config", 0) != 0
        detail = f"{dev.name.strip()} [{kind}], float64 {'yes' if fp64 else 'no'}"
        out.append(Finding("OpenCL device", detail, True))
    return out


def _opencl_kind(cl: object, bits: int) -> str:
    # drivers set several bits (PoCL: ALL | CPU); name the one that matters
    types = cl.device_type  # type: ignore[attr-defined]
    for name in ("GPU", "ACCELERATOR", "CPU"):
        if bits & getattr(types, name):
            return name
    return "other"


def check_cuda() -> list[Finding]:
    # imported here so a broken CUDA install can never stop the rest of the report
    from .runtime import cuda, nvrtc

    findings: list[Finding] = []
    try:
        info = cuda.gpu_info(0)
        findings.append(Finding("CUDA GPU", info.describe(), True))
    except Exception as exc:
        reason = getattr(exc, "message", str(exc))
        fix: str | None = FIX_DRIVER if "driver" in reason else FIX_CUDA
        if "no CUDA device" in reason:
            fix = None  # a driver without a GPU: nothing to install
        findings.append(Finding("CUDA GPU", reason, False if fix else None, fix))
    compiler = nvrtc.nvrtc_available()
    findings.append(Finding("NVRTC", compiler.reason, compiler.available, FIX_CUDA))
    return findings


# --------------------------------------------------------------------------- target


def auto_target() -> tuple[str, str]:
    """The device kind ``target="auto"`` uses on this machine (``"cpu"``,
    ``"cuda"`` or ``"opencl"``) and why, in words: the dispatcher's choice
    (an accelerator driver is installed) and the offload session's (the
    preferred available device is an accelerator, not the host CPU)."""
    from .runtime import registry

    if not registry.accelerator_may_exist():
        return "cpu", ("this machine has no GPU or accelerator (no NVIDIA driver, "
                       "no OpenCL driver other than PoCL's CPU device)")
    kind = registry.preferred_kind()
    device = registry.get_device(kind) if kind is not None else None
    if kind is None or device is None:
        reasons = "; ".join(f"{k}: {registry.availability(k).reason}" for k in registry.KINDS)
        return "cpu", f"an accelerator driver is installed but no device is usable ({reasons})"
    if not device.is_accelerator:
        return "cpu", f"the only {kind} device ({device.name}) is the host CPU"
    return kind, f"{kind} device {device.name}"


def check_target() -> list[Finding]:
    from .runtime.offload import AUTO_MIN_TRIP

    kind, why = auto_target()
    if kind == "cpu":
        detail = f"parallel loops run on the CPU cores (OpenMP): {why}"
    else:
        detail = (f"parallel loops of at least {AUTO_MIN_TRIP} iterations run on the {why}; "
                  "smaller ones, and any the device cannot take, on the CPU cores")
    findings = [Finding('target="auto"', detail)]
    default = config.default_target()
    if default != "auto":
        findings.append(Finding("HYBRIDJIT_TARGET",
                                f"{default}: functions without target= use {default!r}"))
    return findings


# --------------------------------------------------------------------------- cache


def check_cache() -> list[Finding]:
    path = config.cache_dir()
    # an absent cache dir is created on first use: ask the nearest existing ancestor
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    writable = probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)
    state = "writable" if writable else "NOT writable (compiled code will not be cached)"
    fix = "set HYBRIDJIT_CACHE_DIR to a writable directory"
    from .runtime.files import directory_problem

    distrust = directory_problem(path)
    if writable and distrust:
        state = f"NOT trusted: {distrust} (compiled code will not be cached)"
        fix = f"chmod 700 {path}, or set HYBRIDJIT_CACHE_DIR to a directory of your own"
    ok = writable and not distrust
    return [Finding("cache dir", f"{path} ({state})", ok, fix)]


# --------------------------------------------------------------------------- report


def _section(title: str, findings: Sequence[Finding]) -> str:
    return "\n".join([title, *(f.render() for f in findings)])


def report() -> tuple[str, bool]:
    """The full report text, and whether the CPU path works."""
    python = [
        Finding("Python", f"{platform.python_version()} ({sys.executable})"),
        Finding("NumPy", np.__version__),
        Finding("platform", platform.platform()),
    ]
    toolchain, cpu_ok = check_c_toolchain()
    sections = [
        _section("Python", python),
        _section("C compiler (CPU path)", [*toolchain, *check_headers()]),
        _section("OpenCL", check_opencl()),
        _section("CUDA", check_cuda()),
        _section("Target", check_target()),
        _section("Cache", check_cache()),
    ]
    verdict = "CPU path: works" if cpu_ok else "CPU path: BROKEN (no working C compiler)"
    return "\n\n".join(["hybridjit doctor", *sections, verdict]), cpu_ok


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report; exit status 0 when the CPU path works, else 1."""
    parser = argparse.ArgumentParser(
        prog="hybridjit doctor",
        description="Report which hybridjit targets this machine supports and how to add more.",
    )
    parser.parse_args(argv)
    text, cpu_ok = report()
    print(text)
    return 0 if cpu_ok else 1


if __name__ == "__main__":
    sys.exit(main())
