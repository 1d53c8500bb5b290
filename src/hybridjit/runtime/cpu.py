"""The CPU device: the system C compiler building extension modules.

Contract: :func:`toolchain` describes the C compiler (command, identity for
cache keys, flags, OpenMP support) without running it unless asked;
:func:`build_extension` compiles C source into a shared library at an exact
path, atomically (a concurrent reader sees either no file or a whole one).
A missing compiler or missing Python headers is a :class:`BuildError` saying
what to install, and so is a compile that fails only because of the user's
``HYBRIDJIT_CFLAGS``; a compiler that rejects generated code is an
:class:`InternalError` (our bug) with the log saved to a file in the cache's
private ``logs/`` directory, never printed at the user.  Whether OpenMP
works is probed once per compiler and recorded (atomically) in the cache;
``Toolchain.build_key`` includes the answer, so cache keys follow it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .. import config
from ..errors import BuildError, HybridJitWarning, InternalError
from . import files
from .files import atomic_write

#: changes when the way a module is built changes (flags, linking), so that
#: cached modules built the old way are built again: 2 added
#: -fno-trapping-math, the complex functions' -fno-builtin-*, the rebuild of
#: fused libraries and the separate link of fastmath ones
BUILD_RECIPE = 2

#: -fno-trapping-math: no generated code reads the floating-point exception
#: flags, and without it GCC may not hoist a loop-invariant division out of a
#: branch (CPython's complex division by ``n`` in a DFT ran three divisions
#: per element instead of two: 1.5x the time of Numba's, whose LLVM assumes
#: no traps).  It changes no value.
_BASE_FLAGS = ["-O3", "-march=native", "-fPIC", "-shared", "-fwrapv", "-fno-math-errno",
               "-fno-trapping-math", "-fno-semantic-interposition", "-std=gnu11", "-w"]


#: libm functions that are not correctly rounded: GCC folds them on constant
#: arguments with MPFR (correctly rounded), which can differ by an ulp from
#: the library call CPython makes at run time (math.cosh(3.375)).  Keeping
#: them calls makes compiled code agree with CPython; fastmath allows folding.
_INEXACT_LIBM = (
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "asinh",
    "acosh", "atanh", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "pow",
    "hypot", "cbrt", "erf", "erfc", "tgamma", "lgamma",
)
#: the same for C99's complex functions (GCC folds them with MPC)
_INEXACT_COMPLEX = ("cexp", "clog", "csqrt", "csin", "ccos", "ctan", "csinh", "ccosh",
                    "ctanh", "casin", "cacos", "catan", "casinh", "cacosh", "catanh", "cpow",
                    "cabs", "carg")
_NO_FOLDING = [f"-fno-builtin-{f}{sfx}" for f in (*_INEXACT_LIBM, *_INEXACT_COMPLEX)
               for sfx in ("", "f")]


@dataclass(frozen=True)
class Toolchain:
    compiler: str
    identity: str  # changes when the compiler binary changes

    def flags(self, fastmath: bool, openmp: bool) -> list[str]:
        flags = list(_BASE_FLAGS)
        # Contraction into FMA changes results; only fastmath allows it.
        flags += ["-ffast-math"] if fastmath else ["-ffp-contract=off", *_NO_FOLDING]
        if openmp:
            flags.append("-fopenmp")
        return flags + config.extra_cflags()

    @property
    def build_key(self) -> str:
        """What a compiled module depends on besides its source and flags:
        the compiler and CPU (``identity``), whether OpenMP is used, and how
        modules are built (:data:`BUILD_RECIPE`)."""
        return f"{self.identity}:openmp={int(openmp_supported(self))}:recipe={BUILD_RECIPE}"


def _which(cmd: str) -> str | None:
    import shutil

    return shutil.which(cmd.split()[0])


def toolchain() -> Toolchain:
    cc = config.c_compiler()
    if cc is None:
        raise BuildError(
            "no C compiler found",
            hint="install one (Debian/Ubuntu: apt-get install -y gcc) or set CC",
        )
    path = _which(cc) or cc
    try:
        st = os.stat(path)
        ident = f"{path}:{st.st_size}:{int(st.st_mtime)}"
    except OSError:
        ident = path
    return Toolchain(cc, ident + ":" + _cpu_identity())


@lru_cache(maxsize=1)
def _cpu_identity() -> str:
    """-march=native code is only valid on the same CPU model."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags"))][:2]
        return hashlib.sha256("".join(lines).encode()).hexdigest()[:16]
    except OSError:
        import platform

        return platform.machine()


def include_dirs() -> list[str]:
    py = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(py, "Python.h")):
        raise BuildError(
            "the Python development headers (Python.h) are missing",
            hint="install them, e.g. apt-get install -y python3-dev",
        )
    import numpy

    return [py, numpy.get_include()]


def openmp_supported(tc: Toolchain) -> bool:
    """Probe once per compiler; the answer is remembered on disk too."""
    return _openmp_probe(tc.compiler, tc.identity)


@lru_cache(maxsize=4)
def _openmp_probe(compiler: str, identity: str) -> bool:
    name = "openmp-" + hashlib.sha256(identity.encode()).hexdigest()[:16]
    root = files.cache_root()
    try:
        recorded = files.read_checked(root / "probes" / name).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        recorded = ""  # none yet, or unreadable: probe again
    if recorded in ("0", "1"):
        ok = recorded == "1"
    else:
        ok = _probe_openmp(compiler)
        with contextlib.suppress(OSError):  # unwritable: probe again next time
            files.atomic_write(files.cache_subdir(root, "probes") / name,
                               b"1\n" if ok else b"0\n")
    if not ok:
        warnings.warn(
            "the C compiler does not support OpenMP: parallel loops will run serially "
            "(install libgomp, e.g. apt-get install -y gcc, or use a compiler with -fopenmp)",
            HybridJitWarning, stacklevel=4,
        )
    return ok


def _probe_openmp(compiler: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="hybridjit-probe-") as tmp:
        src = Path(tmp) / "p.c"
        src.write_text("#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n")
        cmd = [*compiler.split(), "-fopenmp", str(src), "-o", str(Path(tmp) / "p")]
        return _run(cmd).returncode == 0


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BuildError(
            f"cannot run the C compiler {cmd[0]!r}: {exc}",
            hint="install gcc (apt-get install -y gcc) or point CC at a working compiler",
        ) from exc


def build_extension(source: str, out_path: Path, fastmath: bool) -> None:
    """Compile ``source`` to the shared library ``out_path`` (atomic replace)."""
    tc = toolchain()
    flags = tc.flags(fastmath, openmp_supported(tc))
    incs = [f"-I{d}" for d in include_dirs()]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hybridjit-build-") as tmp:
        src = Path(tmp) / (out_path.stem + ".c")
        src.write_text(source)
        tmp_out = Path(tmp) / out_path.name
        cc = tc.compiler.split()
        if fastmath:
            # compiled and linked apart: linking with -ffast-math adds
            # crtfastmath.o, whose constructor turns on flush-to-zero for the
            # whole process when the library loads (after one fastmath
            # function, NumPy's and CPython's subnormals became 0)
            obj = Path(tmp) / (out_path.stem + ".o")
            cmd = [*cc, *flags, *incs, "-c", str(src), "-o", str(obj)]
            proc = _run(cmd)
            if proc.returncode == 0:
                omp = ["-fopenmp"] if "-fopenmp" in flags else []
                cmd = [*cc, "-shared", *omp, str(obj), "-o", str(tmp_out), "-lm"]
                proc = _run(cmd)
        else:
            cmd = [*cc, *flags, *incs, str(src), "-o", str(tmp_out), "-lm"]
            proc = _run(cmd)
        if proc.returncode == 0 and not fastmath and _fuses(tmp_out):
            # vectorised without contraction this time (see _fuses)
            cmd[len(cc):len(cc)] = _NO_VECTOR_PATTERNS
            proc = _run(cmd)
        if proc.returncode != 0:
            _blame_extra_cflags(cmd, proc.stderr)
            try:
                log = _save_log(source, proc.stderr, out_path.stem)
                where = f"the source and compiler log are in {log}"
            except OSError as exc:
                where = f"the compiler log could not be saved ({exc})"
            raise InternalError(
                "the C compiler rejected the generated code",
                hint=f"this is a hybridjit bug; {where}",
            )
        atomic_write(out_path, tmp_out.read_bytes())


#: fused multiply-add instructions (x86 FMA3/AVX-512, AArch64)
_FUSED = re.compile(r"\s(vfn?m(add|sub|addsub|subadd)\w*|fn?m(add|sub)|fml[as])\s")
#: what keeps GCC from them: its vectorisers only
_NO_VECTOR_PATTERNS = ["-fno-tree-loop-vectorize", "-fno-tree-slp-vectorize"]


def _fuses(library: Path) -> bool:
    """Whether a library built with -ffp-contract=off holds fused
    multiply-adds anyway.  GCC 12's vectoriser turns products that look
    like a complex product (``c*x[2i] - s*x[2i+1], s*x[2i] + c*x[2i+1]``, a
    rotation) into vfmaddsub whatever -ffp-contract says, which rounds
    differently from CPython.  The generated code means no fused operation
    outside fastmath, so any is that pattern; the caller then builds again
    without the vectorisers.  Without objdump: not checked."""
    import shutil

    objdump = shutil.which("objdump")
    if objdump is None:
        return False
    try:
        out = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(library)],
                             capture_output=True, text=True, check=False).stdout
    except OSError:
        return False
    return _FUSED.search(out) is not None


def _blame_extra_cflags(cmd: list[str], log: str) -> None:
    """A compile that fails only with the user's ``HYBRIDJIT_CFLAGS`` is the
    user's to fix: raise a BuildError naming the variable."""
    extra = config.extra_cflags()
    if not extra:
        return
    base = list(cmd)
    for flag in extra:  # the extra flags come last among the flags
        base.remove(flag)
    if _run(base).returncode != 0:
        return  # fails without them too: not their fault
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    said = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else "")
    raise BuildError(
        f"the C compiler rejects the flags in HYBRIDJIT_CFLAGS={' '.join(extra)!r}"
        + (f": {said}" if said else ""),
        hint="fix or unset HYBRIDJIT_CFLAGS (extra flags for the C compiler)",
    )


def _save_log(source: str, log: str, stem: str) -> Path:
    """Keep the source and log of a failed compile in the cache's private
    ``logs/`` (mode 0700; new files, never written through a symlink)."""
    try:
        d = files.cache_subdir(files.cache_root(), "logs")
    except OSError:
        d = files.cache_subdir(files.private_dir(), "logs")
    files.atomic_write(d / f"{stem}.c", source.encode())
    files.atomic_write(d / f"{stem}.log", log.encode())
    return d / f"{stem}.log"


def python_tag() -> str:
    return f"{sys.implementation.cache_tag}-{sysconfig.get_platform()}"
