"""Call overhead of a compiled function taking two small arrays.

Usage::

    python benchmarks/overhead.py [--calls 100000] [--repeats 7] [--json PATH]

Times ``f(a, b)`` where ``f`` does ``a[0] = b[0]``: as plain CPython, as
``numba.njit`` and as ``hybridjit.jit`` (both compiled once before timing).
Each repeat times ``--calls`` calls in a Python ``for`` loop; the report gives
the median and minimum over repeats in nanoseconds per call, including the
cost of the ``for`` loop itself, which is also reported (an empty loop body)
so it can be subtracted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import common
import numpy as np

DEFAULT_JSON = common.RESULTS_DIR / "overhead-latest.json"


def copy_first(a, b):
    """The measured kernel: one element copied between two arrays."""
    a[0] = b[0]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=100_000, help="calls per timed repeat")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats")
    p.add_argument("--json", default=str(DEFAULT_JSON), metavar="PATH",
                   help=f"where to write the JSON report (default: {DEFAULT_JSON}); '' for none")
    return p.parse_args(argv)


def build_numba() -> Callable[..., Any]:
    """``numba.njit(copy_first)``."""
    import numba

    return numba.njit(copy_first)


def build_hybridjit() -> Callable[..., Any]:
    """``hybridjit.jit(copy_first)``."""
    from hybridjit import jit

    return jit(copy_first)


def per_call_ns(fn: Callable[..., Any], a: np.ndarray, b: np.ndarray, calls: int) -> float:
    """Nanoseconds per call of ``fn(a, b)`` over ``calls`` calls in a loop."""
    t0 = time.perf_counter()
    for _ in range(calls):
        fn(a, b)
    return (time.perf_counter() - t0) / calls * 1e9


def empty_loop_ns(calls: int) -> float:
    """Nanoseconds per iteration of the timing loop with nothing in its body."""
    t0 = time.perf_counter()
    for _ in range(calls):
        pass
    return (time.perf_counter() - t0) / calls * 1e9


def measure(fn: Callable[..., Any], calls: int, repeats: int) -> dict[str, Any]:
    """Compile/warm up, check the result, then time ``repeats`` loops of ``calls`` calls."""
    a, b = np.zeros(8), np.arange(1.0, 9.0)
    fn(a, b)
    if a[0] != 1.0:
        raise AssertionError(f"wrong result: a[0] = {a[0]}, expected 1.0")
    samples = [per_call_ns(fn, a, b, calls) for _ in range(repeats)]
    return {"status": "ok", "median_ns": statistics.median(samples), "min_ns": min(samples),
            "samples_ns": samples}


def run_all(calls: int, repeats: int) -> dict[str, dict[str, Any]]:
    """Every implementation; a failing one gets an error entry."""
    builders: dict[str, Callable[[], Callable[..., Any]]] = {
        "python": lambda: copy_first, "numba": build_numba, "hybridjit": build_hybridjit}
    results: dict[str, dict[str, Any]] = {}
    loop = [empty_loop_ns(calls) for _ in range(repeats)]
    results["empty loop"] = {"status": "ok", "median_ns": statistics.median(loop),
                             "min_ns": min(loop), "samples_ns": loop}
    for name, build in builders.items():
        try:
            results[name] = measure(build(), calls, repeats)
        except Exception as exc:
            results[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    return results


def render(results: dict[str, dict[str, Any]], calls: int, repeats: int) -> str:
    """The human-readable table."""
    rows = []
    for name, r in results.items():
        if r["status"] != "ok":
            rows.append([name, "ERR", "-"])
        else:
            rows.append([name, f"{r['median_ns']:.0f}", f"{r['min_ns']:.0f}"])
    lines = [f"f(a, b): a[0] = b[0]; {calls} calls per repeat, {repeats} repeats",
             "", common.format_table(["implementation", "median ns/call", "min ns/call"], rows)]
    for name, r in results.items():
        if r["status"] != "ok":
            lines.append(f"{name}: {r['error']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = parse_args(argv)
    common.use_checkout_sources()
    with tempfile.TemporaryDirectory(prefix="hybridjit-overhead-cache-") as cache_dir:
        os.environ["HYBRIDJIT_CACHE_DIR"] = cache_dir  # before hybridjit is imported
        results = run_all(args.calls, args.repeats)
    print(render(results, args.calls, args.repeats))
    if args.json:
        report = {"schema": 1, "suite": "overhead", "created": common.now_iso(),
                  "calls": args.calls, "repeats": args.repeats,
                  "machine": common.machine_info(), "results": results}
        print(f"\nJSON report: {common.write_json(args.json, report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
