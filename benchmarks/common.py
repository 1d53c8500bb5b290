"""Helpers shared by the benchmark scripts: paths, timing, machine info, output."""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SRC_DIR = REPO_ROOT / "src"
RESULTS_DIR = BENCH_DIR / "results"


def use_checkout_sources() -> None:
    """Make ``import hybridjit`` load this checkout's ``src/`` (no install needed)."""
    if (SRC_DIR / "hybridjit").is_dir() and str(SRC_DIR) not in sys.path:
        sys.path.insert(0, str(SRC_DIR))


def checkout_pythonpath(env: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``env`` (default: ``os.environ``) with this checkout's ``src/`` on PYTHONPATH."""
    env = dict(os.environ if env is None else env)
    parts = [str(SRC_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


# --------------------------------------------------------------------------
# Timing


def time_call(fn: Callable[..., Any], args: Sequence[Any]) -> float:
    """Wall time of one call ``fn(*args)`` in seconds."""
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def time_repeats(fn: Callable[..., Any], args: Sequence[Any], repeats: int,
                 budget_s: float = float("inf"), min_repeats: int = 3) -> list[float]:
    """Wall times of up to ``repeats`` successive calls ``fn(*args)``.

    Stops early, after at least ``min_repeats`` calls, once the calls have
    taken ``budget_s`` seconds in total (slow NumPy versions of big kernels).
    """
    times: list[float] = []
    while len(times) < repeats:
        times.append(time_call(fn, args))
        if len(times) >= min_repeats and sum(times) > budget_s:
            break
    return times


def summarize(times: Sequence[float]) -> dict[str, float]:
    """Median and minimum of a list of timings."""
    return {"median_s": statistics.median(times), "min_s": min(times)}


# --------------------------------------------------------------------------
# Machine and software description


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or whatever the platform says)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def module_version(name: str) -> str | None:
    """``name.__version__`` if the module imports, else None (never raises)."""
    try:
        module = importlib.import_module(name)
    except Exception:
        return None
    version = getattr(module, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version(name)
        except Exception:
            version = "unknown"
    return str(version)


def _first_line_of(cmd: list[str]) -> str | None:
    """First output line of a command, or None if it cannot run."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    lines = proc.stdout.strip().splitlines()
    return lines[0] if lines else None


def _load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (other work on the machine skews timings)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine_info() -> dict[str, Any]:
    """Everything needed to tell where and with what a result was measured."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = os.cpu_count()
    return {
        "cpu_model": cpu_model(),
        "nproc": affinity,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "c_compiler": _first_line_of([os.environ.get("CC", "cc"), "--version"]),
        "load_average": _load_average(),
        "git_commit": _first_line_of(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"]),
        "env": {
            k: os.environ[k]
            for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "HYBRIDJIT_TARGET", "CC")
            if k in os.environ
        },
        "versions": {
            name: module_version(name) for name in ("numpy", "numba", "scipy", "hybridjit")
        },
    }


def now_iso() -> str:
    """The current time, ISO 8601 with time zone."""
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------
# Output


def read_json(path: str | Path) -> Any:
    """The JSON document at ``path``, or None if it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render rows of strings as an aligned text table (first column left-aligned)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def render(cells: Sequence[str]) -> str:
        out = [cells[0].ljust(widths[0])]
        out += [cell.rjust(w) for cell, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(headers), rule, *(render(r) for r in rows)])


def fmt_ms(seconds: float | None) -> str:
    """Seconds as milliseconds with 3 significant-ish digits ('-' for None)."""
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def fmt_ratio(value: float | None) -> str:
    """A ratio like '0.87x' ('-' for None)."""
    return "-" if value is None else f"{value:.2f}x"


def fmt_bytes(n: int | None) -> str:
    """A byte count as B, kB or MB (decimal units; '-' for None)."""
    if n is None:
        return "-"
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1e3:.1f} kB"
    return f"{n / 1e6:.1f} MB"


def fmt_s(seconds: float | None) -> str:
    """Seconds with two decimals ('-' for None)."""
    return "-" if seconds is None else f"{seconds:.2f}"
