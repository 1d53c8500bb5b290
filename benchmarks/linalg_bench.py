"""Time matrix products and textbook linear algebra written with ``@`` on row
slices (issue 12, item 5) with NumPy, Numba and hybridjit.

Usage::

    python benchmarks/linalg_bench.py [--quick] [--repeats N] [--json PATH]

The same plain function runs under NumPy itself (the reference),
``numba.njit(parallel=True)`` and ``hybridjit.jit``; each output is checked
against NumPy's (float32 with a float32 tolerance) before it is timed.
Reported: medians and ratios.  Kernels: ``A @ B`` for n = 64, 256, 1024 in
float32 and float64 (NumPy calls its BLAS; hybridjit calls NumPy's matrix
product from the compiled code for these sizes), a forward substitution
and a Doolittle LU with ``L[i, :i] @ x[:i]``-style row products in loops
(generated nests: a product inside a loop never calls the library).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import common
import numpy as np

os.environ.setdefault("HYBRIDJIT_CACHE_DIR", tempfile.mkdtemp(prefix="hj-lab-"))
common.use_checkout_sources()

from npstyle_bench import kernel_table, targets  # noqa: E402  (the same columns)

DEFAULT_JSON = common.RESULTS_DIR / "linalg-latest.json"


def matmul(a, b):
    return a @ b


def forward_substitution(L, b):
    n = b.shape[0]
    x = np.zeros_like(b)
    for i in range(n):
        x[i] = (b[i] - L[i, :i] @ x[:i]) / L[i, i]
    return x


def lu_doolittle(A):
    n = A.shape[0]
    L = np.eye(n)
    U = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            U[i, j] = A[i, j] - L[i, :i] @ U[:i, j]
        for j in range(i + 1, n):
            L[j, i] = (A[j, i] - L[j, :i] @ U[:i, i]) / U[i, i]
    return L, U


def cases(quick: bool) -> list[tuple[str, Callable[..., Any], Callable[[], tuple], float]]:
    sizes = (64, 128) if quick else (64, 256, 1024)
    out: list[tuple[str, Callable[..., Any], Callable[[], tuple], float]] = []
    for n in sizes:
        for dt in ("float32", "float64"):
            def make(n: int = n, dt: str = dt) -> tuple:
                r = np.random.default_rng(n)
                return (r.random((n, n)).astype(dt), r.random((n, n)).astype(dt))
            out.append((f"matmul {n} {dt}", matmul, make, 1e-4 if dt == "float32" else 1e-9))
    n = 300 if quick else 2000

    def tri() -> tuple:
        r = np.random.default_rng(1)
        return (np.tril(r.random((n, n))) + n * np.eye(n), r.random(n))

    m = 100 if quick else 400

    def lu() -> tuple:
        r = np.random.default_rng(2)
        return (r.random((m, m)) + m * np.eye(m),)

    out.append((f"forward substitution {n}", forward_substitution, tri, 1e-9))
    out.append((f"LU (Doolittle) {m}", lu_doolittle, lu, 1e-9))
    return out


def _as_list(r: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in (r if isinstance(r, tuple) else (r,))]


def run_case(name: str, fn: Callable[..., Any], make: Callable[[], tuple], rtol: float,
             repeats: int) -> dict[str, Any]:
    row: dict[str, Any] = {"kernel": name, "targets": {}}
    ref = _as_list(fn(*make()))
    for tname, wrap in targets().items():
        # (a pause between targets: the threads a parallel Numba call leaves
        # spinning slowed the next target's BLAS twofold on 2 cores)
        time.sleep(1.0)
        try:
            compiled = wrap(fn)
            args = make()
            t0 = time.perf_counter()
            got = _as_list(compiled(*args))
            first = time.perf_counter() - t0
            for g, r in zip(got, ref, strict=True):
                np.testing.assert_allclose(g, r, rtol=rtol, atol=rtol)
            entry = common.summarize(common.time_repeats(compiled, make(), repeats,
                                                         budget_s=10.0))
            entry["first_call_s"] = first
        except Exception as exc:  # a target that cannot run it: an error row
            entry = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
        row["targets"][tname] = entry
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--json", default=str(DEFAULT_JSON), help="report path ('' for none)")
    args = p.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    rows = [run_case(*c, repeats) for c in cases(args.quick)]
    print(kernel_table(rows))
    report = {"mode": "quick" if args.quick else "default", "machine": common.machine_info(),
              "date": common.now_iso(), "kernels": rows}
    if args.json:
        print(f"report: {common.write_json(args.json, report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
