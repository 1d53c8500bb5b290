"""Start-up cost of a cached jitted function in a fresh process.

Usage::

    python benchmarks/startup.py [--runs 7] [--json PATH]

Measured in fresh subprocesses, each timing itself from before ``import numpy``
until the measured work is done:

* ``numpy``: ``import numpy`` alone (the baseline),
* ``hybridjit-import``: ``import numpy`` + ``import hybridjit``,
* ``hybridjit``: ``import numpy``, ``import hybridjit``, import a module with a
  ``@jit(parallel=True, cache=True)`` function, and its first call, which loads
  the compiled library from a disk cache populated by an earlier process,
* ``numba``: the same with ``@numba.njit(parallel=True, cache=True)``.

The runs of the four measurements are interleaved; medians and minima are
reported, with their differences to the NumPy baseline (target for hybridjit:
median difference < 50 ms; the difference of minima is the less noisy figure
on a busy machine).  The cache directory is checked to be unchanged by the timed runs,
i.e. they were real cache hits.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common

DEFAULT_JSON = common.RESULTS_DIR / "startup-latest.json"
TARGET_MS = 50.0

KERNEL_SOURCE = '''\
import numpy as np
{import_line}


@{decorator}
def kernel(x, y):
    for i in prange(x.shape[0]):
        y[i] = 2.0 * x[i] + 1.0
'''

KERNEL_MODULES = {
    "hybridjit": ("from hybridjit import jit, prange", "jit(parallel=True, cache=True)"),
    "numba": ("from numba import njit, prange", "njit(parallel=True, cache=True)"),
}

# Runs in the child: times imports (and the first call) from before `import numpy`.
CHILD_CODE = '''\
import sys, time
t0 = time.perf_counter()
import numpy as np
what = sys.argv[1]
if what == "hybridjit-import":
    import hybridjit
elif what != "numpy":
    import importlib
    mod = importlib.import_module("startup_kernel_" + what)
    x = np.arange(1000.0); y = np.zeros(1000)
    mod.kernel(x, y)
    assert y[10] == 21.0, y[10]
t1 = time.perf_counter()
print(repr(t1 - t0))
'''

MEASUREMENTS = ("numpy", "hybridjit-import", "hybridjit", "numba")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=7, help="subprocesses per measurement")
    p.add_argument("--json", default=str(DEFAULT_JSON), metavar="PATH",
                   help=f"where to write the JSON report (default: {DEFAULT_JSON}); '' for none")
    return p.parse_args(argv)


def write_kernel_modules(directory: Path) -> None:
    """Write ``startup_kernel_<name>.py`` for each jit in KERNEL_MODULES."""
    for name, (import_line, decorator) in KERNEL_MODULES.items():
        source = KERNEL_SOURCE.format(import_line=import_line, decorator=decorator)
        (directory / f"startup_kernel_{name}.py").write_text(source, encoding="utf-8")


def child_env(workdir: Path) -> dict[str, str]:
    """Environment of the children: checkout sources, kernel modules, private caches."""
    env = common.checkout_pythonpath()
    env["PYTHONPATH"] = os.pathsep.join([str(workdir), env["PYTHONPATH"]])
    env["HYBRIDJIT_CACHE_DIR"] = str(workdir / "hybridjit-cache")
    env["NUMBA_CACHE_DIR"] = str(workdir / "numba-cache")
    return env


def run_child(what: str, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """One fresh process measuring ``what``: in-process time and total wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD_CODE, what], env=env, cwd=cwd,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return {"ok": False, "error": tail or f"exit status {proc.returncode}"}
    return {"ok": True, "inner_s": float(proc.stdout.strip().splitlines()[-1]), "wall_s": wall}


def tree_snapshot(path: Path) -> dict[str, int]:
    """Relative path -> size of every file under ``path`` (to detect cache writes)."""
    if not path.is_dir():
        return {}
    return {str(p.relative_to(path)): p.stat().st_size for p in path.rglob("*") if p.is_file()}


def measure_all(runs: int, workdir: Path) -> dict[str, dict[str, Any]]:
    """Populate the caches, then time ``runs`` interleaved rounds of every measurement."""
    env = child_env(workdir)
    results: dict[str, dict[str, Any]] = {m: {"inner_s": [], "wall_s": []} for m in MEASUREMENTS}
    for what in MEASUREMENTS:  # first run: populates the disk caches, not timed
        first = run_child(what, env, workdir)
        if not first["ok"]:
            results[what]["error"] = first["error"]
    caches = {m: workdir / f"{m}-cache" for m in KERNEL_MODULES}
    before = {m: tree_snapshot(p) for m, p in caches.items()}
    for _ in range(runs):
        for what in MEASUREMENTS:
            if "error" in results[what]:
                continue
            r = run_child(what, env, workdir)
            if not r["ok"]:
                results[what]["error"] = r["error"]
                continue
            results[what]["inner_s"].append(r["inner_s"])
            results[what]["wall_s"].append(r["wall_s"])
    for m, path in caches.items():
        results[m]["cache_changes"] = tree_diff(before[m], tree_snapshot(path))
        results[m]["cache_unchanged"] = not results[m]["cache_changes"]
    return results


def tree_diff(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """Files added (+), removed (-) or resized (~) between two snapshots."""
    changes = [f"+ {p}" for p in sorted(after.keys() - before.keys())]
    changes += [f"- {p}" for p in sorted(before.keys() - after.keys())]
    changes += [f"~ {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]]
    return changes


def summarize(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Medians, minima and the difference of medians to the NumPy baseline."""
    base = results["numpy"]["inner_s"]
    base_med = statistics.median(base) if base else None
    base_min = min(base) if base else None
    out = {}
    for what, r in results.items():
        row = dict(r)
        if r["inner_s"]:
            row["median_s"] = statistics.median(r["inner_s"])
            row["min_s"] = min(r["inner_s"])
            row["wall_median_s"] = statistics.median(r["wall_s"])
            if base_med is not None and base_min is not None:
                row["over_numpy_s"] = row["median_s"] - base_med
                row["min_over_numpy_s"] = row["min_s"] - base_min
        out[what] = row
    return out


def render(summary: dict[str, dict[str, Any]], runs: int) -> str:
    """The human-readable table and the verdict on the 50 ms target."""
    headers = ["fresh process does", "median ms", "min ms", "median - numpy", "min - numpy",
               "process wall ms"]
    labels = {"numpy": "import numpy", "hybridjit-import": "+ import hybridjit",
              "hybridjit": "+ hybridjit cached 1st call", "numba": "+ numba cached 1st call"}
    rows = []
    for what, r in summary.items():
        if "error" in r:
            rows.append([labels[what], "ERR", "-", "-", "-", "-"])
            continue
        rows.append([labels[what], common.fmt_ms(r.get("median_s")), common.fmt_ms(r.get("min_s")),
                     common.fmt_ms(r.get("over_numpy_s")), common.fmt_ms(r.get("min_over_numpy_s")),
                     common.fmt_ms(r.get("wall_median_s"))])
    lines = [f"median of {runs} fresh processes per row (times measured inside each process)",
             "", common.format_table(headers, rows), ""]
    lines += verdict(summary["hybridjit"])
    for what, r in summary.items():
        if "error" in r:
            lines.append(f"{what} failed:")
            lines += [f"    {line}" for line in r["error"].splitlines()]
        if r.get("cache_unchanged") is False:
            lines.append(f"warning: {what}'s cache changed during timed runs (not a pure hit):")
            lines += [f"    {c}" for c in r["cache_changes"][:10]]
    return "\n".join(lines)


def verdict(row: dict[str, Any]) -> list[str]:
    """Whether hybridjit's cached first call meets the start-up target."""
    over = row.get("over_numpy_s")
    if over is None:
        return ["hybridjit cached first call: not measured"]
    ok = over * 1e3 < TARGET_MS
    return [f"hybridjit cached first call costs {over * 1e3:.1f} ms (median; "
            f"{row['min_over_numpy_s'] * 1e3:.1f} ms by minima) over import numpy "
            f"(target < {TARGET_MS:.0f} ms): {'met' if ok else 'MISSED'}"]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = parse_args(argv)
    common.use_checkout_sources()
    with tempfile.TemporaryDirectory(prefix="hybridjit-startup-") as tmp:
        workdir = Path(tmp)
        write_kernel_modules(workdir)
        summary = summarize(measure_all(args.runs, workdir))
    print(render(summary, args.runs))
    if args.json:
        report = {"schema": 1, "suite": "startup", "created": common.now_iso(),
                  "runs": args.runs, "target_ms": TARGET_MS,
                  "machine": common.machine_info(), "results": summary}
        print(f"\nJSON report: {common.write_json(args.json, report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
