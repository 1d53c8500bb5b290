"""NumPy-style kernels: slices, array expressions, ufuncs, reductions.

Each kernel is one plain Python function written with NumPy arrays, as
scientists write it; the same function runs under NumPy itself (the
reference), ``numba.njit(parallel=True)`` and ``hybridjit.jit``.  Kernels
that write into an output take it as an argument and return None; the
allocating ones return their result.
"""

from __future__ import annotations

import numpy as np


def triad_store(out, a, x, b, y, z):
    """out[:] = a * x + b * y * z (STREAM-like, no temporaries wanted)."""
    out[:] = a * x + b * y * z


def triad_alloc(a, x, b, y, z):
    """The same expression, returning a new array."""
    return a * x + b * y * z


def jacobi_slices(u, v, steps):
    """2-D 5-point Jacobi with slices, two sweeps per step (u -> v -> u)."""
    for _ in range(steps):
        v[1:-1, 1:-1] = 0.2 * (u[1:-1, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] + u[2:, 1:-1]
                               + u[:-2, 1:-1])
        u[1:-1, 1:-1] = 0.2 * (v[1:-1, 1:-1] + v[1:-1, :-2] + v[1:-1, 2:] + v[2:, 1:-1]
                               + v[:-2, 1:-1])


def heat3d_slices(u, v, steps, c):
    """3-D 7-point explicit heat equation with slices, two sweeps per step."""
    for _ in range(steps):
        v[1:-1, 1:-1, 1:-1] = u[1:-1, 1:-1, 1:-1] + c * (
            u[2:, 1:-1, 1:-1] + u[:-2, 1:-1, 1:-1] + u[1:-1, 2:, 1:-1] + u[1:-1, :-2, 1:-1]
            + u[1:-1, 1:-1, 2:] + u[1:-1, 1:-1, :-2] - 6.0 * u[1:-1, 1:-1, 1:-1])
        u[1:-1, 1:-1, 1:-1] = v[1:-1, 1:-1, 1:-1] + c * (
            v[2:, 1:-1, 1:-1] + v[:-2, 1:-1, 1:-1] + v[1:-1, 2:, 1:-1] + v[1:-1, :-2, 1:-1]
            + v[1:-1, 1:-1, 2:] + v[1:-1, 1:-1, :-2] - 6.0 * v[1:-1, 1:-1, 1:-1])


def _cnd(d):
    """The normal distribution function, Abramowitz & Stegun 26.2.17."""
    k = 1.0 / (1.0 + 0.2316419 * np.abs(d))
    poly = k * (0.31938153 + k * (-0.356563782 + k * (1.781477937 + k * (
        -1.821255978 + k * 1.330274429))))
    w = 1.0 - 0.3989422804014327 * np.exp(-0.5 * d * d) * poly
    return np.where(d < 0, 1.0 - w, w)


def blackscholes_ufuncs(S, K, T, r, v, call, put):
    """Black-Scholes with array ufuncs (the cumulative normal by polynomial)."""
    sqt = np.sqrt(T)
    d1 = (np.log(S / K) + (r + 0.5 * v * v) * T) / (v * sqt)
    d2 = d1 - v * sqt
    disc = K * np.exp(-r * T)
    call[:] = S * _cnd(d1) - disc * _cnd(d2)
    put[:] = disc * (1.0 - _cnd(d2)) - S * (1.0 - _cnd(d1))


def softmax_rows(x):
    """Softmax over each row, with axis reductions."""
    m = np.max(x, axis=1)
    e = np.exp(x - m[:, None])
    return e / np.sum(e, axis=1)[:, None]


def kmeans_assign(points, centroids):
    """The k-means assignment step: the nearest centroid of each point."""
    d = np.sum((points[:, None, :] - centroids[None, :, :]) ** 2, axis=2)
    return np.argmin(d, axis=1)
