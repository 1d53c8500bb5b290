"""Benchmark kernels written as plain Python loops, the way a user writes them.

Each kernel exists twice:

* ``<name>``: the outer parallel loop is a ``prange`` (the user asserts
  parallelism).  hybridjit compiles these functions as they are; Numba gets
  copies whose global ``prange`` is rebound to ``numba.prange``
  (:func:`with_prange`), so both compilers see exactly the same loop code.
* ``<name>_range``: the same loops with plain ``range`` everywhere, for
  comparing automatic parallelism (``parallel="auto"``) with the ``prange``
  version (``run.py --auto``).

Every function writes its result into output arrays it is given and returns
nothing, so all implementations (including NumPy's) share one calling
convention.  Under CPython ``prange`` is ``range``, so every function also runs
(slowly) as ordinary Python.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

try:
    from hybridjit import prange
except Exception as exc:  # the compiler may not be importable yet: run.py reports it
    prange = range
    HYBRIDJIT_IMPORT_ERROR: str | None = f"{type(exc).__name__}: {exc}"
else:
    HYBRIDJIT_IMPORT_ERROR = None

INV_SQRT2 = 0.7071067811865476  # 1 / sqrt(2), a module-level constant on purpose


def with_prange(fn: Callable[..., Any], prange_impl: Any) -> Callable[..., Any]:
    """Return a copy of ``fn`` whose global name ``prange`` is ``prange_impl``."""
    namespace = dict(fn.__globals__)
    namespace["prange"] = prange_impl
    clone = types.FunctionType(
        fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__
    )
    clone.__qualname__ = fn.__qualname__
    clone.__module__ = fn.__module__
    clone.__doc__ = fn.__doc__
    return clone


# --------------------------------------------------------------------------
# Warm-up probe: compiled once per target before any kernel so that one-time
# costs (thread pools, compiler detection) are not charged to the first kernel.


def init_probe(a):
    """Fill ``a`` with ``0.5 * i``."""
    for i in prange(a.shape[0]):
        a[i] = 0.5 * i


# --------------------------------------------------------------------------
# prange versions


def matmul(A, B, C):
    """C = A @ B, i-k-j order: row i of C accumulates A[i, k] * row k of B."""
    n, p = A.shape
    m = B.shape[1]
    for i in prange(n):
        for j in range(m):
            C[i, j] = 0.0
        for k in range(p):
            a = A[i, k]
            for j in range(m):
                C[i, j] += a * B[k, j]


def jacobi(A, B, steps):
    """``steps`` double sweeps of a 5-point Jacobi stencil, A -> B -> A."""
    n, m = A.shape
    for _ in range(steps):
        for i in prange(1, n - 1):
            for j in range(1, m - 1):
                B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, j + 1] + A[i + 1, j] + A[i - 1, j])
        for i in prange(1, n - 1):
            for j in range(1, m - 1):
                A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, j + 1] + B[i + 1, j] + B[i - 1, j])


def nbody(pos, mass, acc, eps2):
    """All-pairs gravitational acceleration with softening ``eps2``."""
    n = pos.shape[0]
    for i in prange(n):
        ax = ay = az = 0.0
        for j in range(n):
            dx = pos[j, 0] - pos[i, 0]; dy = pos[j, 1] - pos[i, 1]; dz = pos[j, 2] - pos[i, 2]
            r2 = dx * dx + dy * dy + dz * dz + eps2
            s = mass[j] / (r2 * math.sqrt(r2))
            ax += s * dx; ay += s * dy; az += s * dz
        acc[i, 0] = ax; acc[i, 1] = ay; acc[i, 2] = az


def blackscholes(S, K, T, r, v, call, put):
    """European call and put prices for each (spot, strike, expiry)."""
    n = S.shape[0]
    for i in prange(n):
        s = S[i]; k = K[i]; t = T[i]
        vsqt = v * math.sqrt(t)
        d1 = (math.log(s / k) + (r + 0.5 * v * v) * t) / vsqt
        d2 = d1 - vsqt
        nd1 = 0.5 * (1.0 + math.erf(d1 * INV_SQRT2))
        nd2 = 0.5 * (1.0 + math.erf(d2 * INV_SQRT2))
        disc = k * math.exp(-r * t)
        call[i] = s * nd1 - disc * nd2
        put[i] = disc * (1.0 - nd2) - s * (1.0 - nd1)


def mandelbrot(x0, y0, dx, dy, maxiter, out):
    """Escape-time iteration count of each pixel, at most ``maxiter``."""
    h, w = out.shape
    for i in prange(h):
        ci = y0 + i * dy
        for j in range(w):
            cr = x0 + j * dx
            zr = 0.0; zi = 0.0
            k = 0
            while k < maxiter and zr * zr + zi * zi <= 4.0:
                t = zr * zr - zi * zi + cr
                zi = 2.0 * zr * zi + ci
                zr = t
                k += 1
            out[i, j] = k


def coulomb(atoms, spacing, z, grid):
    """Potential sum(q / r) over atoms (x, y, z, q) at each point of a planar grid."""
    ny, nx = grid.shape
    natoms = atoms.shape[0]
    for i in prange(ny):
        y = i * spacing
        for j in range(nx):
            x = j * spacing
            e = 0.0
            for a in range(natoms):
                ddx = x - atoms[a, 0]; ddy = y - atoms[a, 1]; ddz = z - atoms[a, 2]
                e += atoms[a, 3] / math.sqrt(ddx * ddx + ddy * ddy + ddz * ddz)
            grid[i, j] = e


def floyd_warshall(d):
    """All-pairs shortest paths in place; rows i run in parallel for each k."""
    n = d.shape[0]
    for k in range(n):
        for i in prange(n):
            for j in range(n):
                d[i, j] = min(d[i, j], d[i, k] + d[k, j])


# --------------------------------------------------------------------------
# Plain-range versions, for automatic parallelism: the very same functions
# with their global ``prange`` bound to the builtin ``range``.

def _range_version(fn: Callable[..., Any]) -> Callable[..., Any]:
    clone = with_prange(fn, range)
    clone.__name__ = clone.__qualname__ = fn.__name__ + "_range"
    clone.__doc__ = f":func:`{fn.__name__}` with plain ``range`` loops."
    return clone


matmul_range = _range_version(matmul)
jacobi_range = _range_version(jacobi)
nbody_range = _range_version(nbody)
blackscholes_range = _range_version(blackscholes)
mandelbrot_range = _range_version(mandelbrot)
coulomb_range = _range_version(coulomb)
floyd_warshall_range = _range_version(floyd_warshall)
