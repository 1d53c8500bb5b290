"""Time matrix products and textbook linear algebra written with ``@`` on row
slices (issue 12, item 5) with NumPy, Numba and hybridjit.

Usage::

    python benchmarks/linalg_bench.py [--quick] [--repeats N] [--json PATH]
                                      [--only NAME] [--processes N]

With ``--processes N`` every target of a kernel is timed in a fresh process
of its own, the targets taking turns N times, and the median of those
processes' medians is reported: in one process the threads a parallel Numba
call leaves spinning and OpenMP's own slow the next target on a small
machine (on 2 cores, FFT figures of one process moved by 30%).

The same plain function runs under NumPy itself (the reference),
``numba.njit(parallel=True)`` and ``hybridjit.jit``; each output is checked
against NumPy's (float32 with a float32 tolerance) before it is timed.
Reported: medians and ratios.  Kernels: ``A @ B`` for n = 64, 256, 1024 in
float32 and float64 (NumPy calls its BLAS; hybridjit calls NumPy's matrix
product from the compiled code for these sizes), a forward substitution
and a Doolittle LU with ``L[i, :i] @ x[:i]``-style row products in loops
(generated nests: a product inside a loop never calls the library); and
complex kernels (issue 12, item 3): an iterative radix-2 FFT and an
O(n^2) DFT over a prange loop, both with ``np.exp(-2j * np.pi * ...)``.
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

from hybridjit import prange  # noqa: E402

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


def fft_radix2(x):
    """Iterative radix-2 FFT (n a power of two), written as textbooks do."""
    n = x.shape[0]
    a = x.astype(np.complex128)
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j ^= bit
        if i < j:
            t = a[i]
            a[i] = a[j]
            a[j] = t
    size = 2
    while size <= n:
        w = np.exp(-2j * np.pi / size)
        half = size // 2
        for start in range(0, n, size):
            wk = 1 + 0j
            for k in range(half):
                u = a[start + k]
                v = a[start + k + half] * wk
                a[start + k] = u + v
                a[start + k + half] = u - v
                wk = wk * w
        size *= 2
    return a


def dft_prange(x):
    """The O(n^2) discrete Fourier transform, one output per parallel iteration."""
    n = x.shape[0]
    out = np.zeros(n, dtype=np.complex128)
    for k in prange(n):
        s = 0j
        for t in range(n):
            s += x[t] * np.exp(-2j * np.pi * ((k * t) % n) / n)
        out[k] = s
    return out


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
    f = 2**12 if quick else 2**20
    d = 256 if quick else 4096

    def signal(n: int) -> Callable[[], tuple]:
        def make() -> tuple:
            r = np.random.default_rng(3)
            return (r.random(n) + 1j * r.random(n),)
        return make

    out.append((f"radix-2 FFT {f} complex128", fft_radix2, signal(f), 1e-8))
    out.append((f"DFT (prange) {d} complex128", dft_prange, signal(d), 1e-7))
    return out


def _as_list(r: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in (r if isinstance(r, tuple) else (r,))]


def run_case(name: str, fn: Callable[..., Any], make: Callable[[], tuple], rtol: float,
             repeats: int, only_target: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {"kernel": name, "targets": {}}
    ref = _as_list(fn(*make()))
    for tname, wrap in targets().items():
        if only_target and tname != only_target:
            continue
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


def run_in_processes(case: tuple[str, Callable[..., Any], Callable[[], tuple], float],
                     repeats: int, rounds: int, quick: bool) -> dict[str, Any]:
    """``case`` with each target in fresh processes, the targets in turn
    ``rounds`` times; per target the median of the processes' medians."""
    import json
    import subprocess

    name = case[0]
    medians: dict[str, list[float]] = {t: [] for t in targets()}
    errors: dict[str, str] = {}
    for _ in range(rounds):
        for tname in medians:
            cmd = [sys.executable, __file__, "--child", tname, "--only", name,
                   "--repeats", str(repeats), "--json", ""] + (["--quick"] if quick else [])
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            lines = out.stdout.strip().splitlines()
            try:
                entry = json.loads(lines[-1])
            except (IndexError, ValueError):
                entry = {"error": (out.stderr.strip().splitlines() or ["no output"])[-1]}
            if "error" in entry:
                errors[tname] = entry["error"]
            else:
                medians[tname].append(entry["median_s"])
    row: dict[str, Any] = {"kernel": name, "targets": {}, "processes": rounds}
    for tname, ms in medians.items():
        row["targets"][tname] = ({"error": errors[tname]} if tname in errors or not ms else
                                 {"median_s": float(np.median(ms)), "process_medians_s": ms})
    return row


def child(target: str, case: tuple[str, Callable[..., Any], Callable[[], tuple], float],
          repeats: int) -> int:
    """One target of one case in this process: its summary as a JSON line."""
    import json

    name, fn, make, rtol = case
    row = run_case(name, fn, make, rtol, repeats, only_target=target)
    print(json.dumps(row["targets"][target]))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--json", default=str(DEFAULT_JSON), help="report path ('' for none)")
    p.add_argument("--only", default="", help="run the kernels whose name contains this")
    p.add_argument("--processes", type=int, default=0,
                   help="time each target in this many fresh processes, in turn")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    chosen = [c for c in cases(args.quick) if args.only in c[0]]
    if args.child:
        return child(args.child, chosen[0], repeats)
    if args.processes:
        rows = [run_in_processes(c, repeats, args.processes, args.quick) for c in chosen]
    else:
        rows = [run_case(*c, repeats) for c in chosen]
    print(kernel_table(rows))
    report = {"mode": "quick" if args.quick else "default", "machine": common.machine_info(),
              "date": common.now_iso(), "kernels": rows}
    if args.json:
        print(f"report: {common.write_json(args.json, report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
