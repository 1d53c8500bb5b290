"""The whole GPU check and benchmark, one command on a machine with an NVIDIA GPU.

Usage::

    python benchmarks/gpu.py [--quick] [--skip-tests] [--parts tests,stream,compute,matmul]
                             [--repeats N] [--json PATH] [--compile-only]

1. **tests**: ``python -m pytest -m cuda -q`` (the differential suite on CUDA,
   with poisoned device buffers, and the transfer-count tests); pass/fail,
   counts and the tail of the output are recorded.
2. **stream**: device-to-device copy bandwidth measured with CuPy (``cp.copyto``
   and a raw ``memcpy``, CUDA events, median), and streaming loops (copy,
   triad) compiled by hybridjit with ``target="cuda"``: the fraction of that
   bandwidth they reach.
3. **compute**: n-body, Coulombic potential, Mandelbrot and Black-Scholes with
   hybridjit ``target="cuda"`` against the same loops written by hand as CuPy
   ``RawKernel``s (in :data:`HAND_SOURCE`).
4. **matmul**: a float32 triple-loop matrix product against cuBLAS SGEMM
   (``cp.matmul``): the fraction of cuBLAS reached.

Every kernel is timed twice per implementation: **resident** (arrays already
on the device: ``hybridjit.to_device`` / ``cp.asarray`` before timing) and
**with transfers** (NumPy arrays in, NumPy arrays out: each call copies its
inputs to the device and its results back).  Each timed call ends with
``cudaDeviceSynchronize`` (hybridjit and CuPy launch asynchronously), so the
time is wall time of the call plus all its device work.  Outputs are checked
against NumPy on sampled rows (resident: brought back once after the timed
calls).  Every part runs in its own ``try``: an error is recorded in the
report and the run goes on.

Writes ``benchmarks/results/gpu-<gpu name>.json`` and prints a table.

Without an NVIDIA GPU, without hybridjit's CUDA support or without CuPy it
prints what is missing and how to get it, and exits with status 0 (nothing to
measure here).  ``--compile-only`` needs no GPU: it compiles the hand-written
kernels and the CUDA C hybridjit generates for these loops to PTX with NVRTC
and checks the loops (run on whatever target is available) against NumPy.
Exit status otherwise: 1 if the tests failed or any result was wrong or
errored, else 0.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import numpy as np

prange = range  # rebound to hybridjit.prange by load_hybridjit() before any compile

TIME_BUDGET_S = 10.0  # per measurement: fewer repeats (>= 3) for slow versions
TEST_TIMEOUT_S = 3600
TAIL_CHARS = 4000
INSTALL_HINT = (
    "needs: an NVIDIA GPU and its driver; hybridjit's CUDA support "
    "(pip install -e '.[cuda]': cuda-bindings, nvidia-cuda-nvrtc); CuPy matching the "
    "driver's CUDA version (pip install cupy-cuda12x or cupy-cuda13x)"
)

# --------------------------------------------------------------------------
# The loops hybridjit compiles (the shape a user writes for a GPU: one prange
# per independent index).  n-body and Black-Scholes use loops.py's versions.


def stream_copy(a, b):
    """a = b."""
    for i in prange(a.shape[0]):
        a[i] = b[i]


def stream_triad(a, b, c, s):
    """a = b + s * c (STREAM triad)."""
    for i in prange(a.shape[0]):
        a[i] = b[i] + s * c[i]


def stencil3d(a, out):
    """7-point 3-D stencil (one Jacobi sweep of the heat equation): a 3-D grid."""
    n, m, p = a.shape
    for i in prange(1, n - 1):
        for j in range(1, m - 1):
            for k in range(1, p - 1):
                out[i, j, k] = (a[i - 1, j, k] + a[i + 1, j, k] + a[i, j - 1, k]
                                + a[i, j + 1, k] + a[i, j, k - 1] + a[i, j, k + 1]) / 6.0


def coulomb2d(atoms, spacing, z, grid):
    """loops.coulomb with both grid indices parallel."""
    for i in prange(grid.shape[0]):
        for j in prange(grid.shape[1]):
            y = i * spacing
            x = j * spacing
            e = 0.0
            for a in range(atoms.shape[0]):
                ddx = x - atoms[a, 0]; ddy = y - atoms[a, 1]; ddz = z - atoms[a, 2]
                e += atoms[a, 3] / math.sqrt(ddx * ddx + ddy * ddy + ddz * ddz)
            grid[i, j] = e


def mandelbrot2d(x0, y0, dx, dy, maxiter, out):
    """loops.mandelbrot with both pixel indices parallel."""
    for i in prange(out.shape[0]):
        for j in prange(out.shape[1]):
            ci = y0 + i * dy
            cr = x0 + j * dx
            zr = 0.0; zi = 0.0
            k = 0
            while k < maxiter and zr * zr + zi * zi <= 4.0:
                t = zr * zr - zi * zi + cr
                zi = 2.0 * zr * zi + ci
                zr = t
                k += 1
            out[i, j] = k


def matmul_ij(A, B, C):
    """C = A @ B, one (i, j) per work-item, float32 accumulator."""
    for i in prange(C.shape[0]):
        for j in prange(C.shape[1]):
            acc = np.float32(0.0)
            for k in range(A.shape[1]):
                acc += A[i, k] * B[k, j]
            C[i, j] = acc


# --------------------------------------------------------------------------
# The same loops written by hand for CuPy (RawModule).  One thread per
# iteration of the parallel loops, nothing cleverer (no tiling, no shared
# memory): the comparison is about code generation, not algorithms.

HAND_SOURCE = r"""
extern "C" __global__ void stream_copy(double *a, const double *b, long long n) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < n) a[i] = b[i];
}

extern "C" __global__ void stream_triad(double *a, const double *b, const double *c,
                                        double s, long long n) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < n) a[i] = b[i] + s * c[i];
}

extern "C" __global__ void stencil3d(const double *a, double *out, int n, int m, int p) {
    int k = blockIdx.x * blockDim.x + threadIdx.x + 1;
    int j = blockIdx.y * blockDim.y + threadIdx.y + 1;
    int i = blockIdx.z * blockDim.z + threadIdx.z + 1;
    if (i >= n - 1 || j >= m - 1 || k >= p - 1) return;
    long long c = ((long long)i * m + j) * p + k, sj = p, si = (long long)m * p;
    out[c] = (a[c - si] + a[c + si] + a[c - sj] + a[c + sj] + a[c - 1] + a[c + 1]) / 6.0;
}

extern "C" __global__ void nbody(const double *pos, const double *mass, double *acc,
                                 double eps2, long long n) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i >= n) return;
    double xi = pos[3 * i], yi = pos[3 * i + 1], zi = pos[3 * i + 2];
    double ax = 0.0, ay = 0.0, az = 0.0;
    for (long long j = 0; j < n; ++j) {
        double dx = pos[3 * j] - xi, dy = pos[3 * j + 1] - yi, dz = pos[3 * j + 2] - zi;
        double r2 = dx * dx + dy * dy + dz * dz + eps2;
        double s = mass[j] / (r2 * sqrt(r2));
        ax += s * dx; ay += s * dy; az += s * dz;
    }
    acc[3 * i] = ax; acc[3 * i + 1] = ay; acc[3 * i + 2] = az;
}

extern "C" __global__ void blackscholes(const double *S, const double *K, const double *T,
                                        double r, double v, double *call, double *put,
                                        long long n) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i >= n) return;
    const double inv_sqrt2 = 0.7071067811865476;
    double s = S[i], k = K[i], t = T[i];
    double vsqt = v * sqrt(t);
    double d1 = (log(s / k) + (r + 0.5 * v * v) * t) / vsqt;
    double d2 = d1 - vsqt;
    double nd1 = 0.5 * (1.0 + erf(d1 * inv_sqrt2));
    double nd2 = 0.5 * (1.0 + erf(d2 * inv_sqrt2));
    double disc = k * exp(-r * t);
    call[i] = s * nd1 - disc * nd2;
    put[i] = disc * (1.0 - nd2) - s * (1.0 - nd1);
}

extern "C" __global__ void coulomb(const double *atoms, double spacing, double z,
                                   double *grid, int ny, int nx, int natoms) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    int i = blockIdx.y * blockDim.y + threadIdx.y;
    if (i >= ny || j >= nx) return;
    double y = i * spacing, x = j * spacing, e = 0.0;
    for (int a = 0; a < natoms; ++a) {
        double ddx = x - atoms[4 * a], ddy = y - atoms[4 * a + 1], ddz = z - atoms[4 * a + 2];
        e += atoms[4 * a + 3] / sqrt(ddx * ddx + ddy * ddy + ddz * ddz);
    }
    grid[(long long)i * nx + j] = e;
}

extern "C" __global__ void mandelbrot(double x0, double y0, double dx, double dy,
                                      long long maxiter, long long *out, int h, int w) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    int i = blockIdx.y * blockDim.y + threadIdx.y;
    if (i >= h || j >= w) return;
    double ci = y0 + i * dy, cr = x0 + j * dx, zr = 0.0, zi = 0.0;
    long long k = 0;
    while (k < maxiter && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2.0 * zr * zi + ci;
        zr = t;
        ++k;
    }
    out[(long long)i * w + j] = k;
}
"""
HAND_KERNELS = ("stream_copy", "stream_triad", "stencil3d", "nbody", "blackscholes", "coulomb",
                "mandelbrot")
BLOCK_1D = 256
BLOCK_2D = (32, 8)
BLOCK_3D = (32, 4, 2)


def _grid_1d(n: int) -> tuple[tuple[int], tuple[int]]:
    return ((n + BLOCK_1D - 1) // BLOCK_1D,), (BLOCK_1D,)


def _grid_2d(h: int, w: int) -> tuple[tuple[int, int], tuple[int, int]]:
    bx, by = BLOCK_2D
    return ((w + bx - 1) // bx, (h + by - 1) // by), BLOCK_2D


def _grid_3d(n: int, m: int, p: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    bx, by, bz = BLOCK_3D
    return ((p + bx - 1) // bx, (m + by - 1) // by, (n + bz - 1) // bz), BLOCK_3D


def hand_implementations(module: Any) -> dict[str, Callable[..., None]]:
    """Launchers with the loops' calling convention, taking CuPy arrays."""
    k = {name: module.get_function(name) for name in HAND_KERNELS}
    i64, f64, i32 = np.int64, np.float64, np.int32

    def copy(a, b):
        k["stream_copy"](*_grid_1d(a.size), (a, b, i64(a.size)))

    def triad(a, b, c, s):
        k["stream_triad"](*_grid_1d(a.size), (a, b, c, f64(s), i64(a.size)))

    def stencil(a, out):
        n, m, p = a.shape
        k["stencil3d"](*_grid_3d(n - 2, m - 2, p - 2), (a, out, i32(n), i32(m), i32(p)))

    def nbody(pos, mass, acc, eps2):
        n = pos.shape[0]
        k["nbody"](*_grid_1d(n), (pos, mass, acc, f64(eps2), i64(n)))

    def blackscholes(S, K, T, r, v, call, put):
        n = S.shape[0]
        k["blackscholes"](*_grid_1d(n), (S, K, T, f64(r), f64(v), call, put, i64(n)))

    def coulomb(atoms, spacing, z, grid):
        ny, nx = grid.shape
        k["coulomb"](*_grid_2d(ny, nx),
                     (atoms, f64(spacing), f64(z), grid, i32(ny), i32(nx), i32(atoms.shape[0])))

    def mandelbrot(x0, y0, dx, dy, maxiter, out):
        h, w = out.shape
        k["mandelbrot"](*_grid_2d(h, w),
                        (f64(x0), f64(y0), f64(dx), f64(dy), i64(maxiter), out, i32(h), i32(w)))

    return {"stream-copy": copy, "stream-triad": triad, "stencil3d": stencil, "nbody": nbody,
            "blackscholes": blackscholes, "coulomb": coulomb, "mandelbrot": mandelbrot}


# --------------------------------------------------------------------------
# Cases: inputs, checks on sampled rows, sizes


@dataclass
class Case:
    """One kernel: ``make(**size)`` gives the argument tuple (outputs at ``outputs``)."""

    name: str
    kind: str  # stream | compute | matmul
    loop: Callable[..., None]
    make: Callable[..., tuple[Any, ...]]
    outputs: tuple[int, ...]
    check: Callable[[tuple[Any, ...], tuple[np.ndarray, ...]], float]
    sizes: dict[str, dict[str, int]]
    bytes_moved: Callable[[tuple[Any, ...]], int] | None = None  # stream: per call
    flops: Callable[[tuple[Any, ...]], float] | None = None  # matmul: per call
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _rows(n: int, count: int) -> np.ndarray:
    """``count`` row indices spread over ``range(n)`` (first and last included)."""
    return np.unique(np.linspace(0, n - 1, min(count, n)).astype(np.int64))


def _close(got: np.ndarray, ref: np.ndarray, rtol: float) -> float:
    import kernels

    return kernels.check_close((np.asarray(got),), (np.asarray(ref),), rtol)


def stream_inputs(n: int, triad: bool) -> tuple[Any, ...]:
    rng = np.random.default_rng(10)
    a = np.full(n, np.nan)
    b = rng.random(n)
    if not triad:
        return a, b
    return a, b, rng.random(n), 3.0


def check_stream(args: tuple[Any, ...], outs: tuple[np.ndarray, ...]) -> float:
    idx = _rows(args[1].shape[0], 1 << 16)
    if len(args) == 2:
        ref = args[1][idx]
    else:
        ref = args[1][idx] + args[3] * args[2][idx]
    return _close(outs[0][idx], ref, 1e-14)  # the hand kernels may contract to FMA


def stencil_inputs(n: int) -> tuple[Any, ...]:
    a = np.random.default_rng(11).random((n, n, n))
    return a, np.full_like(a, np.nan)


def check_stencil(args: tuple[Any, ...], outs: tuple[np.ndarray, ...]) -> float:
    a = args[0]
    rows = _rows(a.shape[0] - 2, 16) + 1  # sampled interior planes
    ref = np.empty((rows.size, a.shape[1] - 2, a.shape[2] - 2))
    for r, i in enumerate(rows):
        ref[r] = (a[i - 1, 1:-1, 1:-1] + a[i + 1, 1:-1, 1:-1] + a[i, :-2, 1:-1]
                  + a[i, 2:, 1:-1] + a[i, 1:-1, :-2] + a[i, 1:-1, 2:]) / 6.0
    return _close(outs[0][rows][:, 1:-1, 1:-1], ref, 1e-12)


def check_nbody(args: tuple[Any, ...], outs: tuple[np.ndarray, ...]) -> float:
    pos, mass, _acc, eps2 = args
    idx = _rows(pos.shape[0], 64)
    d = pos[None, :, :] - pos[idx, None, :]
    r2 = np.einsum("ijk,ijk->ij", d, d) + eps2
    ref = np.einsum("ij,ijk->ik", mass[None, :] / (r2 * np.sqrt(r2)), d)
    return _close(outs[0][idx], ref, 1e-9)


def check_blackscholes(args: tuple[Any, ...], outs: tuple[np.ndarray, ...]) -> float:
    import kernels

    S, K, T, r, v, _call, _put = args
    idx = _rows(S.shape[0], 1 << 18)
    call, put = np.empty(idx.size), np.empty(idx.size)
    kernels.blackscholes_numpy(S[idx], K[idx], T[idx], r, v, call, put)
    return max(_close(outs[0][idx], call, 1e-9), _close(outs[1][idx], put, 1e-9))


def check_coulomb(args: tuple[Any, ...], outs: tuple[np.ndarray, ...]) -> float:
    import kernels

    atoms, spacing, z, grid = args
    idx = _rows(grid.shape[0], 8)
    worst = 0.0
    for i in idx:
        # row i alone: a 1 x nx grid whose y is i * spacing (atoms shifted by -y)
        shifted = atoms.copy()
        shifted[:, 1] -= i * spacing
        row = np.empty((1, grid.shape[1]))
        kernels.coulomb_numpy(shifted, spacing, z, row)
        worst = max(worst, _close(outs[0][i], row[0], 1e-9))
    return worst


def check_mandelbrot(args: tuple[Any, ...], outs: tuple[np.ndarray, ...]) -> float:
    import kernels

    x0, y0, dx, dy, maxiter, out = args
    idx = _rows(out.shape[0], 32)
    ref = np.empty((idx.size, out.shape[1]), np.int64)
    for r, i in enumerate(idx):
        row = np.empty((1, out.shape[1]), np.int64)
        kernels.mandelbrot_numpy(x0, y0 + i * dy, dx, dy, maxiter, row)
        ref[r] = row[0]
    return kernels.check_counts((outs[0][idx],), (ref,), 5e-3)


def matmul_inputs(n: int) -> tuple[Any, ...]:
    rng = np.random.default_rng(11)
    A = rng.random((n, n), dtype=np.float32)
    B = rng.random((n, n), dtype=np.float32)
    return A, B, np.full((n, n), np.nan, np.float32)


def check_matmul(args: tuple[Any, ...], outs: tuple[np.ndarray, ...]) -> float:
    A, B, _C = args
    idx = _rows(A.shape[0], 64)
    ref = A[idx].astype(np.float64) @ B.astype(np.float64)
    return _close(outs[0][idx].astype(np.float64), ref, 1e-4)


def make_cases() -> list[Case]:
    """Every case, in report order (imports kernels/loops: call after load_hybridjit)."""
    import kernels
    import loops

    return [
        Case("stream-copy", "stream", stream_copy, lambda n: stream_inputs(n, False), (0,),
             check_stream, {"quick": {"n": 1 << 22}, "default": {"n": 1 << 28}},
             bytes_moved=lambda a: 2 * a[0].nbytes, description="a[i] = b[i], float64"),
        Case("stream-triad", "stream", stream_triad, lambda n: stream_inputs(n, True), (0,),
             check_stream, {"quick": {"n": 1 << 22}, "default": {"n": 1 << 28}},
             bytes_moved=lambda a: 3 * a[0].nbytes, description="a[i] = b[i] + s*c[i], float64"),
        Case("stencil3d", "stream", stencil3d, stencil_inputs, (1,), check_stencil,
             {"quick": {"n": 256}, "default": {"n": 512}},
             bytes_moved=lambda a: 2 * a[0].nbytes,
             description="7-point 3-D stencil, float64 (a 3-D grid); bytes: read a, write out"),
        Case("nbody", "compute", loops.nbody, kernels.nbody_inputs, (2,), check_nbody,
             {"quick": {"n": 4096}, "default": {"n": 65536}},
             description="all-pairs n-body acceleration, float64"),
        Case("coulomb", "compute", coulomb2d, kernels.coulomb_inputs, (3,), check_coulomb,
             {"quick": {"n": 256, "natoms": 100}, "default": {"n": 2048, "natoms": 1000}},
             description="Coulombic potential on a 2-D grid, nested prange, float64"),
        Case("mandelbrot", "compute", mandelbrot2d, kernels.mandelbrot_inputs, (5,),
             check_mandelbrot,
             {"quick": {"width": 512, "height": 512, "maxiter": 100},
              "default": {"width": 4096, "height": 4096, "maxiter": 500}},
             description="Mandelbrot escape counts, nested prange"),
        Case("blackscholes", "compute", loops.blackscholes, kernels.blackscholes_inputs, (5, 6),
             check_blackscholes, {"quick": {"n": 1 << 20}, "default": {"n": 1 << 24}},
             description="Black-Scholes call and put, float64"),
        Case("matmul", "matmul", matmul_ij, matmul_inputs, (2,), check_matmul,
             {"quick": {"n": 1024}, "default": {"n": 4096}},
             flops=lambda a: 2.0 * a[0].shape[0] * a[0].shape[1] * a[1].shape[1],
             description="triple loop (prange i, prange j, k), float32, tiled by hybridjit "
                         "(16x16 local-memory tiles), vs cuBLAS SGEMM"),
    ]


# --------------------------------------------------------------------------
# Timing


def time_calls(fn: Callable[[], Any], sync: Callable[[], Any], repeats: int,
               budget_s: float = TIME_BUDGET_S) -> tuple[float, list[float]]:
    """First call (compile, allocation) time, then wall times of up to ``repeats`` calls,
    each ``fn(); sync()``; stops after 3 once ``budget_s`` is used, after 1 when the
    first call alone took longer than ``budget_s``."""
    t0 = time.perf_counter()
    fn()
    sync()
    first = time.perf_counter() - t0
    least = 1 if first > budget_s else 3
    times: list[float] = []
    while len(times) < repeats:
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
        if len(times) >= least and sum(times) > budget_s:
            break
    return first, times


def summary(first: float, times: list[float]) -> dict[str, Any]:
    return {"status": "ok", "first_call_s": first, "median_s": statistics.median(times),
            "min_s": min(times), "times_s": times}


def error_row(exc: BaseException, status: str = "error") -> dict[str, Any]:
    return {"status": status, "error": f"{type(exc).__name__}: {exc}"[:2000],
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# The environment


@dataclass
class Env:
    """What the run found: hybridjit, its CUDA device, CuPy and the GPU."""

    hj: Any = None
    registry: Any = None
    device: Any = None
    cp: Any = None
    kind: str = "cuda"  # hybridjit's target (another kind only to test this script)
    missing: list[str] = field(default_factory=list)


def load_hybridjit(env: Env) -> None:
    """Import hybridjit (this checkout's src/) and bind the loops' prange to it."""
    global prange
    common.use_checkout_sources()
    try:
        import hybridjit
        from hybridjit.runtime import registry
    except Exception as exc:
        env.missing.append(f"hybridjit does not import: {type(exc).__name__}: {exc}")
        return
    env.hj, env.registry = hybridjit, registry
    prange = hybridjit.prange


def find_gpu(env: Env) -> None:
    """hybridjit's CUDA device and CuPy's view of GPU 0; fills ``env.missing``."""
    if env.registry is not None:
        avail = env.registry.availability("cuda")
        if avail.available:
            env.device = env.registry.get_device("cuda")
            if env.device is None:
                env.missing.append(f"hybridjit's CUDA device failed to start: "
                                   f"{env.registry.availability('cuda').reason}")
        else:
            env.missing.append(f"hybridjit reports no CUDA device: {avail.reason}")
    try:
        import cupy as cp
    except Exception as exc:
        env.missing.append(f"CuPy does not import ({type(exc).__name__}: {exc})")
        return
    try:
        count = cp.cuda.runtime.getDeviceCount()
    except Exception as exc:
        env.missing.append(f"CuPy finds no GPU ({type(exc).__name__}: {exc})")
        return
    if count < 1:
        env.missing.append("CuPy finds no GPU (device count 0)")
        return
    env.cp = cp


def gpu_info(env: Env) -> dict[str, Any]:
    """Name, architecture, memory and driver/runtime versions (never raises)."""
    cp = env.cp
    info: dict[str, Any] = {}
    try:
        props = cp.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        info["name"] = name.decode() if isinstance(name, bytes) else str(name)
        info["compute_capability"] = f"{props['major']}.{props['minor']}"
        info["multiprocessors"] = props.get("multiProcessorCount")
        info["memory_bytes"] = props.get("totalGlobalMem")
        clock_khz, bus_bits = props.get("memoryClockRate"), props.get("memoryBusWidth")
        if clock_khz and bus_bits:
            info["theoretical_bandwidth_GBps"] = 2 * clock_khz * 1e3 * bus_bits / 8 / 1e9
    except Exception as exc:
        info.setdefault("name", "unknown-gpu")
        info["error"] = f"{type(exc).__name__}: {exc}"
    for key, call in (("driver_version", "driverGetVersion"),
                      ("runtime_version", "runtimeGetVersion")):
        try:
            info[key] = getattr(cp.cuda.runtime, call)()
        except Exception:
            info[key] = None
    info["cupy_version"] = getattr(cp, "__version__", None)
    info["hybridjit_device"] = getattr(env.device, "name", None)
    try:
        from hybridjit.runtime import nvrtc

        info["nvrtc_version"] = ".".join(map(str, nvrtc.nvrtc_version()))
    except Exception:
        info["nvrtc_version"] = None
    info["CUPY_TF32"] = os.environ.get("CUPY_TF32")
    return info


def sanitise(name: str) -> str:
    """A GPU name as a file-name part: ``NVIDIA H100 80GB HBM3`` -> ``nvidia-h100-80gb-hbm3``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unknown-gpu"


# --------------------------------------------------------------------------
# Parts


def run_tests(timeout_s: int) -> dict[str, Any]:
    """``python -m pytest -m cuda -q`` in the repository root."""
    cmd = [sys.executable, "-m", "pytest", "-m", "cuda", "-q"]
    shown = "python " + " ".join(cmd[1:])
    progress(f"tests: {shown} ...")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=common.REPO_ROOT, capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"")
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        return {"command": shown, "passed": False, "returncode": None,
                "summary": f"timed out after {timeout_s} s", "duration_s": timeout_s,
                "output_tail": out[-TAIL_CHARS:]}
    output = proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
    summary_line = lines[-1].strip("= ") if lines else ""
    counts = {word: int(num) for num, word in
              re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)",
                         summary_line)}
    passed = proc.returncode == 0 and counts.get("passed", 0) > 0
    return {"command": shown, "passed": passed, "returncode": proc.returncode,
            "summary": summary_line, "counts": counts,
            "duration_s": time.perf_counter() - t0, "output_tail": output[-TAIL_CHARS:]}


def copy_bandwidth(env: Env, n: int, repeats: int) -> dict[str, Any]:
    """Device-to-device copy of ``n`` float64 (read + write bytes / time), CUDA events."""
    cp = env.cp
    src = cp.arange(n, dtype=cp.float64)
    dst = cp.empty_like(src)
    start, end = cp.cuda.Event(), cp.cuda.Event()
    methods = {
        "copyto": lambda: cp.copyto(dst, src),
        "memcpy": lambda: dst.data.copy_from_device_async(src.data, src.nbytes),
    }
    out: dict[str, Any] = {"n": n, "bytes_per_copy": 2 * src.nbytes, "methods": {}}
    for name, fn in methods.items():
        try:
            fn()
            cp.cuda.runtime.deviceSynchronize()
            times = []
            for _ in range(max(repeats, 5)):
                start.record()
                fn()
                end.record()
                end.synchronize()
                times.append(cp.cuda.get_elapsed_time(start, end) / 1e3)
            med = statistics.median(times)
            out["methods"][name] = {"median_s": med, "times_s": times,
                                    "GBps": 2 * src.nbytes / med / 1e9}
        except Exception as exc:
            out["methods"][name] = error_row(exc)
    rates = [m["GBps"] for m in out["methods"].values() if "GBps" in m]
    out["GBps"] = max(rates) if rates else None
    return out  # the arrays go when this returns; run_all frees the pool


def host_transfer_bandwidth(env: Env, nbytes: int, repeats: int) -> dict[str, Any]:
    """Host<->device copies of ``nbytes`` from a NumPy array: hybridjit's CUDA
    device with pinned staging off and on (``HYBRIDJIT_CUDA_STAGING``), and
    CuPy from pageable and from pinned host memory.  Wall time, median; GB/s
    of the bytes moved.  Decides the staging default (README, "Transfers")."""
    cp, dev = env.cp, env.device
    host = np.arange(nbytes // 8, dtype=np.float64)
    back = np.empty_like(host)
    out: dict[str, Any] = {"bytes": host.nbytes, "methods": {}}
    buf = dev.alloc(host.nbytes)

    def hj(staging: str) -> dict[str, Callable[[], Any]]:
        def set_env() -> None:
            os.environ["HYBRIDJIT_CUDA_STAGING"] = staging
        return {"to_device": lambda: (set_env(), dev.copy_in(buf, 0, host), dev.synchronize()),
                "to_host": lambda: (set_env(), dev.copy_out(buf, 0, back))}

    pinned = None
    with contextlib.suppress(Exception):
        import cupyx
        pinned = cupyx.empty_pinned(host.shape, host.dtype)
        pinned[...] = host
    dst = cp.empty(host.shape, host.dtype)
    methods = {"hybridjit, pageable": hj("0"), "hybridjit, pinned staging": hj("1")}
    methods["cupy, pageable"] = {
        "to_device": lambda: (dst.set(host), cp.cuda.runtime.deviceSynchronize()),
        "to_host": lambda: dst.get(out=back)}
    if pinned is not None:
        methods["cupy, pinned"] = {
            "to_device": lambda: (dst.set(pinned), cp.cuda.runtime.deviceSynchronize()),
            "to_host": lambda: dst.get(out=pinned)}
    saved = os.environ.get("HYBRIDJIT_CUDA_STAGING")
    try:
        for name, pair in methods.items():
            row: dict[str, Any] = {}
            for direction, fn in pair.items():
                try:
                    fn()
                    times = []
                    for _ in range(max(repeats, 5)):
                        t0 = time.perf_counter()
                        fn()
                        times.append(time.perf_counter() - t0)
                    med = statistics.median(times)
                    row[direction] = {"median_s": med, "GBps": host.nbytes / med / 1e9}
                except Exception as exc:
                    row[direction] = error_row(exc)
            out["methods"][name] = row
        np.testing.assert_array_equal(back, host)
    finally:
        if saved is None:
            os.environ.pop("HYBRIDJIT_CUDA_STAGING", None)
        else:
            os.environ["HYBRIDJIT_CUDA_STAGING"] = saved
        dev.free(buf)
    return out


def measure_case(env: Env, case: Case, size: dict[str, int], repeats: int,
                 hand: dict[str, Callable[..., None]] | None) -> dict[str, Any]:
    """The four timings of one case: hybridjit and the reference, resident and with transfers."""
    cp, hj = env.cp, env.hj
    sync = cp.cuda.runtime.deviceSynchronize
    args = case.make(**size)
    entry: dict[str, Any] = {"name": case.name, "kind": case.kind,
                             "description": case.description, "size": size, "results": {}}
    if case.bytes_moved:
        entry["bytes_per_call"] = case.bytes_moved(args)
    if case.flops:
        entry["flops_per_call"] = case.flops(args)
    arrays = [k for k, a in enumerate(args) if isinstance(a, np.ndarray)]
    inputs = [k for k in arrays if k not in case.outputs]

    def checked(row: dict[str, Any], outs: tuple[np.ndarray, ...]) -> dict[str, Any]:
        try:
            row["check_error"] = case.check(args, outs)
        except (AssertionError, ValueError) as exc:
            row.update(status="wrong", error=f"wrong result: {exc}")
        return row

    def fresh_outputs() -> None:
        for k in case.outputs:
            args[k][...] = -1 if args[k].dtype.kind == "i" else np.nan

    # hybridjit, with transfers: NumPy arguments
    jitted = hj.jit(parallel=True, target=env.kind)(case.loop)
    for label, resident in (("hybridjit-transfers", False), ("hybridjit-resident", True)):
        progress(f"{case.name} {label} ...")
        fresh_outputs()
        dargs: tuple[Any, ...] = ()
        try:
            dargs = tuple(hj.to_device(a, env.kind) if resident and k in arrays else a
                          for k, a in enumerate(args))
            first, times = time_calls(lambda d=dargs: jitted(*d), sync, repeats)
            row = summary(first, times)
            stats = dict(jitted.last_stats or {})
            stats.pop("time", None)
            row["device_stats"] = stats
            off = [f"line {r.get('line')}: {r.get('reason')}" for r in stats.get("regions", [])
                   if r.get("target") != env.kind]
            row["fell_back"] = "; ".join(off) or (None if stats.get("regions")
                                                  else "no parallel region ran")
            t0 = time.perf_counter()
            outs = tuple(np.asarray(dargs[k]) for k in case.outputs)
            if resident:
                row["to_host_s"] = time.perf_counter() - t0
            entry["results"][label] = checked(row, outs)
        except Exception as exc:
            entry["results"][label] = error_row(exc)
        finally:
            for d in dargs:
                if hasattr(d, "host_storage") and hasattr(d, "free"):
                    d.free()
        progress(f"  {describe(entry['results'][label])}")

    # the reference: hand-written RawKernel, or cuBLAS for matmul
    ref = cublas if case.kind == "matmul" else (hand or {}).get(case.name)
    for label, resident in (("reference-transfers", False), ("reference-resident", True)):
        progress(f"{case.name} {label} ...")
        fresh_outputs()
        try:
            if ref is None:
                raise RuntimeError("the hand-written kernels did not compile")
            if resident:
                dev = tuple(cp.asarray(a) if k in arrays else a for k, a in enumerate(args))
                first, times = time_calls(lambda d=dev: ref(cp, *d), sync, repeats)
                outs = tuple(cp.asnumpy(dev[k]) for k in case.outputs)
                del dev
            else:
                def with_transfers() -> None:
                    dev = list(args)
                    for k in inputs:
                        dev[k] = cp.asarray(args[k])
                    for k in case.outputs:
                        dev[k] = cp.empty(args[k].shape, args[k].dtype)
                    ref(cp, *dev)
                    for k in case.outputs:
                        dev[k].get(out=args[k])

                first, times = time_calls(with_transfers, sync, repeats)
                outs = tuple(args[k] for k in case.outputs)
            entry["results"][label] = checked(summary(first, times), outs)
        except Exception as exc:
            entry["results"][label] = error_row(exc)
        cp.get_default_memory_pool().free_all_blocks()
        progress(f"  {describe(entry['results'][label])}")
    entry["ratios"] = ratios(entry)
    return entry


def _taking_cp(launch: Callable[..., None]) -> Callable[..., None]:
    """``launch`` with the reference calling convention ``ref(cp, *args)``."""
    return lambda _cp, *args: launch(*args)


def cublas(cp: Any, A: Any, B: Any, C: Any) -> None:
    """C = A @ B with cuBLAS (SGEMM for float32)."""
    cp.matmul(A, B, out=C)


def ratios(entry: dict[str, Any]) -> dict[str, float]:
    """hybridjit / reference time, resident and with transfers; fractions of the reference."""
    res = entry["results"]
    out: dict[str, float] = {}
    for mode in ("resident", "transfers"):
        a, b = res.get(f"hybridjit-{mode}", {}), res.get(f"reference-{mode}", {})
        if a.get("status") == "ok" and b.get("status") == "ok":
            out[f"hybridjit/reference ({mode})"] = a["median_s"] / b["median_s"]
    return out


def add_fractions(entry: dict[str, Any], copy_GBps: float | None) -> None:
    """Streaming: achieved GB/s and fraction of the copy bandwidth; matmul: TFLOP/s."""
    for label, row in entry["results"].items():
        if row.get("status") != "ok":
            continue
        if "bytes_per_call" in entry:
            row["GBps"] = entry["bytes_per_call"] / row["median_s"] / 1e9
            if copy_GBps and label.endswith("resident"):
                row["fraction_of_copy_bandwidth"] = row["GBps"] / copy_GBps
        if "flops_per_call" in entry:
            row["TFLOPs"] = entry["flops_per_call"] / row["median_s"] / 1e12
    if "flops_per_call" in entry:
        for mode in ("resident", "transfers"):
            r = entry["ratios"].get(f"hybridjit/reference ({mode})")
            if r:
                entry["ratios"][f"fraction of cuBLAS ({mode})"] = 1.0 / r


def describe(row: dict[str, Any]) -> str:
    if row.get("status") != "ok":
        return f"{row.get('status', '?').upper()}: {row.get('error', '').splitlines()[0][:200]}"
    text = f"median {common.fmt_ms(row['median_s'])} ms, first call {row['first_call_s']:.3f} s"
    if row.get("fell_back"):
        text += f", FELL BACK TO CPU: {row['fell_back'][:200]}"
    return text


# --------------------------------------------------------------------------
# --compile-only: no GPU needed


def compile_only(env: Env) -> int:
    """Compile the hand kernels and hybridjit's CUDA C for the loops to PTX; check the loops."""
    from hybridjit.runtime import nvrtc

    avail = nvrtc.nvrtc_available()
    if not avail.available:
        print(f"gpu.py --compile-only: NVRTC unavailable: {avail.reason}")
        return 0
    failures = 0
    try:
        ptx = nvrtc.compile_to_ptx(HAND_SOURCE, "gpu_hand.cu")
        missing = [k for k in HAND_KERNELS if f".entry {k}" not in ptx]
        status = f"missing entries {missing}" if missing else "ok"
        failures += bool(missing)
    except Exception as exc:
        status, failures = f"FAILED: {type(exc).__name__}: {exc}", failures + 1
    print(f"hand-written kernels -> PTX: {status}")
    with tempfile.TemporaryDirectory(prefix="hybridjit-gpu-dump-") as dump:
        os.environ["HYBRIDJIT_DUMP"] = dump
        try:
            for case in make_cases():
                size = {k: max(2, v // 64) if k != "maxiter" else v
                        for k, v in case.sizes["quick"].items()}
                args = case.make(**size)
                try:
                    fn = env.hj.jit(parallel=True, target=env.kind)(case.loop)
                    fn(*args)
                    err = case.check(args, tuple(args[k] for k in case.outputs))
                    where = sorted({r["target"] for r in fn.last_stats.get("regions", [])})
                    print(f"{case.name:13s} loop ran on {','.join(where)}, "
                          f"max error {err:.2g}: ok")
                except Exception as exc:
                    failures += 1
                    print(f"{case.name:13s} loop FAILED: {type(exc).__name__}: {exc}")
        finally:
            del os.environ["HYBRIDJIT_DUMP"]
        for path in sorted(Path(dump).glob("*.cuda")):
            try:
                ptx = nvrtc.compile_to_ptx(path.read_text(), path.name)
                ok = ".entry" in ptx
                failures += not ok
                print(f"{path.name} -> PTX: {'ok' if ok else 'no entry point'}")
            except Exception as exc:
                failures += 1
                print(f"{path.name} -> PTX: FAILED: {type(exc).__name__}: {exc}")
    return 1 if failures else 0


# --------------------------------------------------------------------------
# Output


def render(report: dict[str, Any]) -> str:
    g = report["gpu"]
    lines = [f"{g.get('name')} (compute {g.get('compute_capability')}, "
             f"{g.get('multiprocessors')} SMs) | driver {g.get('driver_version')} | "
             f"CuPy {g.get('cupy_version')} | NVRTC {g.get('nvrtc_version')} | "
             f"{report['mode']} sizes, median of up to {report['repeats']} calls", ""]
    t = report.get("tests")
    if t:
        verdict = "PASSED" if t.get("passed") else "FAILED"
        lines.append(f"tests: {t['command']}: {verdict} ({t.get('summary')})")
    bw = report.get("copy_bandwidth") or {}
    if bw.get("GBps"):
        methods = ", ".join(f"{k} {v['GBps']:.0f} GB/s" for k, v in bw["methods"].items()
                            if "GBps" in v)
        lines.append(f"device-to-device copy bandwidth (CUDA events): {methods}; "
                     f"reference {bw['GBps']:.0f} GB/s")
    elif bw.get("error"):
        lines.append(f"copy bandwidth: ERROR {bw['error']}")
    ht = report.get("host_transfers") or {}
    for name, row in (ht.get("methods") or {}).items():
        rates = ", ".join(f"{d} {r['GBps']:.1f} GB/s" if "GBps" in r else f"{d} ERROR"
                          for d, r in row.items())
        lines.append(f"host<->device, {ht['bytes'] >> 20} MiB, {name}: {rates}")
    if ht.get("error"):
        lines.append(f"host<->device transfers: ERROR {ht['error']}")
    lines.append("")
    headers = ["kernel", "size", "hj ms", "ref ms", "hj/ref", "hj+xfer ms", "ref+xfer ms",
               "hj/ref xfer", "note"]
    rows = []
    for k in report["kernels"]:
        r = k["results"]
        rows.append([
            k["name"], ",".join(f"{a}={b}" for a, b in k["size"].items()),
            cell(r.get("hybridjit-resident")), cell(r.get("reference-resident")),
            common.fmt_ratio(k["ratios"].get("hybridjit/reference (resident)")),
            cell(r.get("hybridjit-transfers")), cell(r.get("reference-transfers")),
            common.fmt_ratio(k["ratios"].get("hybridjit/reference (transfers)")),
            note(k),
        ])
    lines.append(common.format_table(headers, rows))
    lines += ["", "ref: the same loop written by hand as a CuPy RawKernel (matmul: cuBLAS "
              "SGEMM via cp.matmul).  hj/ref < 1.00x: hybridjit is faster.",
              "hj / ref: data resident on the GPU; +xfer: NumPy arrays in and out, "
              "host-device transfers in every call.  * = some region fell back to the CPU."]
    for k in report["kernels"]:
        for label, row in k["results"].items():
            if row.get("status") != "ok":
                lines.append(f"{k['name']} {label}: {row.get('status')}: "
                             f"{row.get('error', '').splitlines()[0][:300]}")
            elif row.get("fell_back"):
                lines.append(f"{k['name']} {label}: fell back to the CPU: {row['fell_back']}")
            elif label.startswith("hybridjit") and row.get("device_stats"):
                s = row["device_stats"]
                lines.append(f"{k['name']} {label}: per call "
                             f"{common.fmt_bytes(s.get('bytes_to_device'))} to device, "
                             f"{common.fmt_bytes(s.get('bytes_to_host'))} to host, "
                             f"{s.get('launches')} launches")
    for e in report["errors"]:
        lines.append(f"error in {e['part']}: {e['error']}")
    return "\n".join(lines)


def cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    if row.get("status") != "ok":
        return {"error": "ERR", "wrong": "WRONG"}.get(row.get("status", ""), "?")
    return common.fmt_ms(row["median_s"]) + ("*" if row.get("fell_back") else "")


def note(entry: dict[str, Any]) -> str:
    r = entry["results"].get("hybridjit-resident", {})
    if "fraction_of_copy_bandwidth" in r:
        return f"{r['GBps']:.0f} GB/s = {r['fraction_of_copy_bandwidth']:.0%} of copy"
    f = entry["ratios"].get("fraction of cuBLAS (resident)")
    if f is not None:
        return f"{r.get('TFLOPs', 0):.1f} TFLOP/s = {f:.1%} of cuBLAS"
    return ""


# --------------------------------------------------------------------------
# Driver


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed calls per measurement (default: 3 quick, 10 otherwise)")
    p.add_argument("--parts", default="tests,stream,compute,matmul",
                   help="comma-separated parts to run (default: all)")
    p.add_argument("--skip-tests", action="store_true", help="same as leaving 'tests' out")
    p.add_argument("--kernels", default="", help="comma-separated case names (default: all)")
    p.add_argument("--tests-timeout", type=int, default=TEST_TIMEOUT_S, metavar="S")
    p.add_argument("--hand-options", default="",
                   help="NVRTC options for the hand-written kernels, e.g. '--fmad=false' "
                        "(default: CuPy's defaults)")
    p.add_argument("--json", default=None, metavar="PATH",
                   help="report path (default: benchmarks/results/gpu-<gpu name>.json); "
                        "'' for none")
    p.add_argument("--compile-only", action="store_true",
                   help="no GPU needed: compile every kernel to PTX and check the loops")
    args = p.parse_args(argv)
    args.mode = "quick" if args.quick else "default"
    args.repeats = args.repeats or (3 if args.quick else 10)
    args.part_list = [x for x in args.parts.split(",") if x]
    if args.skip_tests and "tests" in args.part_list:
        args.part_list.remove("tests")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = Env()
    with tempfile.TemporaryDirectory(prefix="hybridjit-gpu-cache-") as cache_dir:
        os.environ["HYBRIDJIT_CACHE_DIR"] = cache_dir  # real compiles, before the import
        load_hybridjit(env)
        if args.compile_only:
            if env.hj is None:
                print(f"gpu.py --compile-only: {'; '.join(env.missing)}")
                return 1
            return compile_only(env)
        find_gpu(env)
        if env.missing:
            print("gpu.py: cannot run the GPU check and benchmark here:")
            for m in env.missing:
                print(f"  - {m}")
            print(f"It {INSTALL_HINT}.")
            print("Nothing was measured (exit status 0).  'python benchmarks/gpu.py "
                  "--compile-only' checks the kernels compile without a GPU.")
            return 0
        report = run_all(env, args)
    print(render(report))
    if args.json != "":
        path = args.json or common.RESULTS_DIR / f"gpu-{sanitise(report['gpu']['name'])}.json"
        print(f"\nJSON report: {common.write_json(path, report)}")
    return exit_status(report)


def run_all(env: Env, args: argparse.Namespace) -> dict[str, Any]:
    """Every selected part, each in its own try; returns the report."""
    report: dict[str, Any] = {
        "schema": 1, "suite": "gpu", "created": common.now_iso(), "mode": args.mode,
        "repeats": args.repeats, "gpu": gpu_info(env), "machine": common.machine_info(),
        "timing": "wall time of fn(); cudaDeviceSynchronize(), median; copy bandwidth: "
                  "CUDA events",
        "hand_nvrtc_options": args.hand_options or "CuPy defaults",
        "parts": args.part_list, "tests": None, "copy_bandwidth": None,
        "host_transfers": None, "kernels": [], "errors": [],
    }
    if "tests" in args.part_list:
        try:
            report["tests"] = run_tests(args.tests_timeout)
        except Exception as exc:
            report["tests"] = {"passed": False, "command": "python -m pytest -m cuda -q",
                               **error_row(exc)}
    cases: list[Case] = []
    try:
        cases = [c for c in make_cases() if c.kind in args.part_list
                 and (not args.kernels or c.name in args.kernels.split(","))]
    except Exception as exc:
        report["errors"].append({"part": "cases", **error_row(exc)})
    hand = None
    if any(c.kind in ("stream", "compute") for c in cases):
        try:
            opts = tuple(args.hand_options.split())
            module = env.cp.RawModule(code=HAND_SOURCE, options=opts)
            hand = {name: _taking_cp(f) for name, f in hand_implementations(module).items()}
        except Exception as exc:
            report["errors"].append({"part": "hand-written kernels", **error_row(exc)})
    if "stream" in args.part_list:
        try:
            n = 1 << (22 if args.quick else 28)
            report["copy_bandwidth"] = copy_bandwidth(env, n, args.repeats)
        except Exception as exc:
            report["copy_bandwidth"] = error_row(exc)
        try:
            nbytes = 1 << (24 if args.quick else 28)
            report["host_transfers"] = host_transfer_bandwidth(env, nbytes, args.repeats)
        except Exception as exc:
            report["host_transfers"] = error_row(exc)
        with contextlib.suppress(Exception):
            env.cp.get_default_memory_pool().free_all_blocks()
    copy_GBps = (report["copy_bandwidth"] or {}).get("GBps")
    for case in cases:
        try:
            entry = measure_case(env, case, case.sizes[args.mode], args.repeats, hand)
            add_fractions(entry, copy_GBps)
            report["kernels"].append(entry)
        except Exception as exc:
            report["errors"].append({"part": case.name, **error_row(exc)})
        finally:
            with contextlib.suppress(Exception):
                env.cp.get_default_memory_pool().free_all_blocks()
    return report


def exit_status(report: dict[str, Any]) -> int:
    tests = report.get("tests")
    if tests is not None and not tests.get("passed"):
        return 1
    if report["errors"]:
        return 1
    rows = [r for k in report["kernels"] for r in k["results"].values()]
    return 1 if any(r.get("status") != "ok" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
