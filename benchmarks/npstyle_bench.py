"""Time the NumPy-style kernels (npstyle.py) with NumPy, Numba and hybridjit.

Usage::

    python benchmarks/npstyle_bench.py [--quick] [--repeats N] [--json PATH]

The same plain function runs under NumPy itself (the reference),
``numba.njit(parallel=True)`` and ``hybridjit.jit``; every implementation's
output is checked against NumPy's before it is timed.  Reported: median and
minimum per call, ratios, and next to them the machine's limits measured in
the same run:

* STREAM triad bandwidth: ``a[i] = b[i] + s * c[i]`` in C with OpenMP
  (``gcc -O3 -march=native -fopenmp``, all cores, 24 bytes per element as
  STREAM counts them), best of the repeats;
* the effective bandwidth of ``out[:] = a * x + b * y * z`` (48 bytes per
  element: five reads and one write) as a fraction of it;
* the loop-style Jacobi (benchmarks/loops.py) against the slice-style one.

hybridjit compiles into a fresh temporary cache directory, so the first call
includes a real compile (reported separately, not in the medians).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
import numpy as np

os.environ.setdefault("HYBRIDJIT_CACHE_DIR", tempfile.mkdtemp(prefix="hj-npbench-"))
common.use_checkout_sources()

import loops  # noqa: E402
import npstyle  # noqa: E402

DEFAULT_JSON = common.RESULTS_DIR / "npstyle-latest.json"

SIZES = {
    "quick": {"n": 200_000, "grid": 128, "grid3": 24, "steps": 4, "rows": 256, "cols": 64,
              "points": 4096, "k": 8, "dim": 4},
    "default": {"n": 10_000_000, "grid": 1024, "grid3": 160, "steps": 50, "rows": 4096,
                "cols": 1000, "points": 400_000, "k": 16, "dim": 4},
}


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def cases(size: dict[str, int]) -> list[tuple[str, Callable[..., Any], Callable[[], tuple], Any]]:
    """(name, function, fresh inputs, which outputs to compare)."""
    n, g, g3, steps = size["n"], size["grid"], size["grid3"], size["steps"]

    def triad_args() -> tuple:
        r = _rng(1)
        return (np.full(n, np.nan), *(r.random(n) for _ in range(5)))

    def jacobi_args() -> tuple:
        r = _rng(2)
        return (r.random((g, g)), r.random((g, g)), steps)

    def heat_args() -> tuple:
        r = _rng(3)
        return (r.random((g3, g3, g3)), r.random((g3, g3, g3)), steps, 0.1)

    def bs_args() -> tuple:
        r = _rng(4)
        m = n // 4
        return (r.uniform(5, 30, m), r.uniform(1, 100, m), r.uniform(0.25, 10, m), 0.02, 0.3,
                np.full(m, np.nan), np.full(m, np.nan))

    def softmax_args() -> tuple:
        return (_rng(5).standard_normal((size["rows"], size["cols"])),)

    def kmeans_args() -> tuple:
        r = _rng(6)
        return (r.random((size["points"], size["dim"])), r.random((size["k"], size["dim"])))

    return [
        ("triad_store", npstyle.triad_store, triad_args, (0,)),
        ("triad_alloc", npstyle.triad_alloc, lambda: triad_args()[1:], "result"),
        ("jacobi_slices", npstyle.jacobi_slices, jacobi_args, (0, 1)),
        ("heat3d_slices", npstyle.heat3d_slices, heat_args, (0, 1)),
        ("blackscholes_ufuncs", npstyle.blackscholes_ufuncs, bs_args, (5, 6)),
        ("softmax_rows", npstyle.softmax_rows, softmax_args, "result"),
        ("kmeans_assign", npstyle.kmeans_assign, kmeans_args, "result"),
    ]


def outputs(result: Any, args: tuple, which: Any) -> list[np.ndarray]:
    if which == "result":
        return [np.asarray(result)]
    return [args[k] for k in which]


def targets() -> dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]]:
    out: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
        "numpy": lambda f: f}
    try:
        import numba
        from loops import with_prange

        # (a kernel's prange is hybridjit's: Numba's own takes its place)
        out["numba"] = lambda f: numba.njit(parallel=True)(with_prange(f, numba.prange))
    except ImportError:
        pass
    import hybridjit

    out["hybridjit"] = lambda f: hybridjit.jit(f)
    return out


def run_case(name: str, fn: Callable[..., Any], make: Callable[[], tuple], which: Any,
             repeats: int) -> dict[str, Any]:
    row: dict[str, Any] = {"kernel": name, "targets": {}}
    ref_args = make()
    ref = outputs(fn(*ref_args), ref_args, which)
    for tname, wrap in targets().items():
        entry: dict[str, Any] = {}
        try:
            compiled = wrap(fn)
            args = make()
            t0 = time.perf_counter()
            got = outputs(compiled(*args), args, which)
            first = time.perf_counter() - t0
            for g, r in zip(got, ref):
                if g.dtype.kind == "f":
                    np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-12)
                else:
                    np.testing.assert_array_equal(g, r)
            times = common.time_repeats(compiled, make(), repeats, budget_s=10.0)
            entry = common.summarize(times)
            entry["first_call_s"] = first
        except Exception as exc:  # a target that cannot run it: an error row
            entry = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
        row["targets"][tname] = entry
    return row


STREAM_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]); int reps = atoi(argv[2]);
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)),
           *c = malloc(n * sizeof(double));
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) { a[i] = 0.0; b[i] = 1.0; c[i] = 2.0; }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = omp_get_wtime();
        #pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
        t = omp_get_wtime() - t;
        if (t < best) best = t;
    }
    printf("%.6f %f\n", best, a[n / 2]);
    return 0;
}
"""


def stream_triad_gbs(n: int, reps: int = 10) -> float | None:
    """The machine's STREAM triad bandwidth (GB/s, 24 bytes per element)."""
    with tempfile.TemporaryDirectory() as d:
        src, exe = Path(d) / "stream.c", Path(d) / "stream"
        src.write_text(STREAM_C)
        try:
            subprocess.run(["gcc", "-O3", "-march=native", "-fopenmp", str(src), "-o", str(exe)],
                           check=True, capture_output=True)
            out = subprocess.run([str(exe), str(n), str(reps)], check=True, capture_output=True,
                                 text=True).stdout.split()
        except (OSError, subprocess.CalledProcessError):
            return None
    return 24 * n / float(out[0]) / 1e9


def jacobi_loop_vs_slices(size: dict[str, int], repeats: int) -> dict[str, Any]:
    import hybridjit

    g, steps = size["grid"], size["steps"]
    loop = hybridjit.jit(loops.with_prange(loops.jacobi, hybridjit.prange))
    sl = hybridjit.jit(npstyle.jacobi_slices)
    out: dict[str, Any] = {}
    for name, f in (("loops", loop), ("slices", sl)):
        r = _rng(2)
        args = (r.random((g, g)), r.random((g, g)), steps)
        f(*args)
        out[name] = common.summarize(common.time_repeats(f, args, repeats, budget_s=10.0))
    out["slices_over_loops"] = out["slices"]["median_s"] / out["loops"]["median_s"]
    return out


def kernel_table(rows: list[dict[str, Any]]) -> str:
    """Medians per target and the hybridjit ratios, one row per kernel, then
    the error of each target that could not run a kernel."""
    headers = ["kernel", "numpy ms", "numba ms", "hybridjit ms", "hj/numba", "hj/numpy"]
    table = []
    for r in rows:
        t = r["targets"]

        def ms(k: str, t: dict[str, Any] = t) -> str:
            e = t.get(k, {})
            return common.fmt_ms(e.get("median_s")) if "median_s" in e else (
                "error" if e else "-")

        def ratio(a: str, b: str, t: dict[str, Any] = t) -> str:
            x, y = t.get(a, {}).get("median_s"), t.get(b, {}).get("median_s")
            return common.fmt_ratio(x / y) if x and y else "-"

        table.append([r["kernel"], ms("numpy"), ms("numba"), ms("hybridjit"),
                      ratio("hybridjit", "numba"), ratio("hybridjit", "numpy")])
    lines = [common.format_table(headers, table)]
    lines += [f"  {r['kernel']} / {tname}: {e['error']}" for r in rows
              for tname, e in r["targets"].items() if "error" in e]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--json", default=str(DEFAULT_JSON), help="report path ('' for none)")
    args = p.parse_args(argv)
    mode = "quick" if args.quick else "default"
    size = SIZES[mode]
    repeats = args.repeats or (3 if args.quick else 9)
    rows = [run_case(name, fn, make, which, repeats) for name, fn, make, which in cases(size)]
    stream = stream_triad_gbs(size["n"])
    triad = next(r for r in rows if r["kernel"] == "triad_store")["targets"].get("hybridjit", {})
    triad_gbs = 48 * size["n"] / triad["median_s"] / 1e9 if "median_s" in triad else None
    jac = jacobi_loop_vs_slices(size, repeats)
    print(kernel_table(rows))
    if stream is not None:
        print(f"STREAM triad (C, OpenMP): {stream:.2f} GB/s")
    if triad_gbs is not None:
        frac = f" = {triad_gbs / stream:.0%} of STREAM" if stream else ""
        print(f"out[:] = a*x + b*y*z with hybridjit: {triad_gbs:.2f} GB/s (48 B/element){frac}")
    print(f"Jacobi {size['grid']}^2 x {size['steps']} steps: loops "
          f"{common.fmt_ms(jac['loops']['median_s'])} ms, slices "
          f"{common.fmt_ms(jac['slices']['median_s'])} ms "
          f"(slices/loops = {jac['slices_over_loops']:.2f})")
    report = {"mode": mode, "sizes": size, "machine": common.machine_info(),
              "date": common.now_iso(), "kernels": rows, "stream_triad_gbs": stream,
              "triad_store_gbs": triad_gbs, "jacobi_loops_vs_slices": jac}
    if args.json:
        path = common.write_json(args.json, report)
        print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
