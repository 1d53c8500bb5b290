"""The benchmark kernels: inputs, NumPy reference versions, checks and sizes.

A :class:`Kernel` ties together

* ``make_inputs(**size)``: a fresh, deterministic argument tuple (inputs and
  output arrays; outputs are pre-filled with NaN or -1 so that an
  implementation that forgets to write them fails the check),
* ``numpy_impl``: the idiomatic NumPy version, the reference for correctness,
* ``loop_impl`` / ``range_impl``: the plain-loop versions from :mod:`loops`,
* ``outputs(args)``: the output arrays of an argument tuple,
* ``check(got, ref)``: raises ``AssertionError`` when ``got`` is not close to
  ``ref`` and returns the largest error otherwise,
* ``sizes``: a size table with ``"quick"`` and ``"default"`` entries,
* ``idempotent``: whether calling it again on its own outputs gives the same
  outputs (False for Jacobi, whose calls advance the grid); device columns
  with resident arguments re-check the outputs after the timed calls only
  when it is True.

All implementations share one calling convention, ``impl(*args) -> None``,
writing their results into the output arrays of ``args``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import loops
import numpy as np

Args = tuple[Any, ...]
Outputs = tuple[np.ndarray, ...]
Size = dict[str, int]


# --------------------------------------------------------------------------
# Checks


def check_close(got: Outputs, ref: Outputs, rtol: float) -> float:
    """Assert each output is within ``rtol`` of the reference, scaled by its largest value.

    Returns the largest error relative to ``max(|ref|)`` over all outputs.
    """
    worst = 0.0
    for k, (g, r) in enumerate(zip(got, ref, strict=True)):
        if g.shape != r.shape:
            raise AssertionError(f"output {k}: shape {g.shape} != reference {r.shape}")
        if not np.all(np.isfinite(g)):
            bad = int(np.count_nonzero(~np.isfinite(g)))
            raise AssertionError(f"output {k}: {bad} of {g.size} values are not finite")
        scale = float(np.max(np.abs(r))) or 1.0
        err = float(np.max(np.abs(g - r))) / scale
        if err > rtol:
            raise AssertionError(f"output {k}: max error {err:.3g} (relative) > {rtol:g}")
        worst = max(worst, err)
    return worst


def check_counts(got: Outputs, ref: Outputs, max_fraction: float) -> float:
    """Assert integer outputs agree except on at most ``max_fraction`` of the elements.

    Escape-time counts of points on the fractal's boundary may legitimately
    differ when floating-point rounding differs; everything else must match.
    Returns the fraction of differing elements.
    """
    worst = 0.0
    for k, (g, r) in enumerate(zip(got, ref, strict=True)):
        if g.shape != r.shape:
            raise AssertionError(f"output {k}: shape {g.shape} != reference {r.shape}")
        frac = float(np.count_nonzero(g != r)) / max(r.size, 1)
        if frac > max_fraction:
            raise AssertionError(f"output {k}: {frac:.3%} of values differ (> {max_fraction:%})")
        worst = max(worst, frac)
    return worst


# --------------------------------------------------------------------------
# Kernel description


@dataclass(frozen=True)
class Kernel:
    """One benchmark kernel; see the module docstring for the fields."""

    name: str
    description: str
    make_inputs: Callable[..., Args]
    numpy_impl: Callable[..., None]
    loop_impl: Callable[..., None]
    range_impl: Callable[..., None]
    outputs: Callable[[Args], Outputs]
    sizes: dict[str, Size]
    check: Callable[[Outputs, Outputs], float] = field(
        default=partial(check_close, rtol=1e-9)
    )
    idempotent: bool = True

    def size(self, mode: str) -> Size:
        """The size parameters for ``mode`` (``"quick"`` or ``"default"``)."""
        return self.sizes[mode]

    @staticmethod
    def describe(size: Size) -> str:
        """A short label for a size, e.g. ``n=512,steps=20``."""
        return ",".join(f"{k}={v}" for k, v in size.items())


def _rng(seed: int) -> np.random.Generator:
    """A deterministic random generator (every implementation sees the same inputs)."""
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------
# Dense matrix product


def matmul_inputs(n: int) -> Args:
    """Two random n x n matrices and a NaN-filled output."""
    rng = _rng(1)
    return rng.random((n, n)), rng.random((n, n)), np.full((n, n), np.nan)


def matmul_numpy(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> None:
    """C = A @ B (BLAS)."""
    np.matmul(A, B, out=C)


# --------------------------------------------------------------------------
# 2-D Jacobi stencil with a time loop


def jacobi_inputs(n: int, steps: int) -> Args:
    """A random n x n grid, a copy of it (same fixed boundary), and the step count."""
    A = _rng(2).random((n, n))
    return A, A.copy(), steps


def jacobi_numpy(A: np.ndarray, B: np.ndarray, steps: int) -> None:
    """``steps`` double sweeps A -> B -> A with slicing."""
    for _ in range(steps):
        B[1:-1, 1:-1] = 0.2 * (A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:]
                               + A[2:, 1:-1] + A[:-2, 1:-1])
        A[1:-1, 1:-1] = 0.2 * (B[1:-1, 1:-1] + B[1:-1, :-2] + B[1:-1, 2:]
                               + B[2:, 1:-1] + B[:-2, 1:-1])


# --------------------------------------------------------------------------
# All-pairs n-body acceleration


def nbody_inputs(n: int) -> Args:
    """Random positions in the unit cube, masses in [0.5, 1.5), NaN output, softening."""
    rng = _rng(3)
    return rng.random((n, 3)), rng.random(n) + 0.5, np.full((n, 3), np.nan), 1e-3


def nbody_numpy(pos: np.ndarray, mass: np.ndarray, acc: np.ndarray, eps2: float,
                block: int = 256) -> None:
    """Broadcast over blocks of rows (bounded memory) instead of all n x n pairs at once."""
    n = pos.shape[0]
    for start in range(0, n, block):
        d = pos[None, :, :] - pos[start:start + block, None, :]      # (b, n, 3)
        r2 = np.einsum("ijk,ijk->ij", d, d) + eps2
        s = mass[None, :] / (r2 * np.sqrt(r2))
        acc[start:start + block] = np.einsum("ij,ijk->ik", s, d)


# --------------------------------------------------------------------------
# Black-Scholes


def _erf_vectorized() -> Callable[[np.ndarray], np.ndarray]:
    """``scipy.special.erf`` when SciPy is installed (NumPy has no erf), else a slow ufunc."""
    try:
        from scipy.special import erf
    except ImportError:
        slow = np.frompyfunc(math.erf, 1, 1)
        return lambda x: slow(x).astype(np.float64)
    return erf


_erf = _erf_vectorized()
BS_RATE = 0.02
BS_VOLATILITY = 0.30


def blackscholes_inputs(n: int) -> Args:
    """Random spots, strikes and expiries; fixed rate and volatility; NaN outputs."""
    rng = _rng(4)
    S = rng.uniform(5.0, 30.0, n)
    K = rng.uniform(1.0, 100.0, n)
    T = rng.uniform(0.25, 10.0, n)
    return S, K, T, BS_RATE, BS_VOLATILITY, np.full(n, np.nan), np.full(n, np.nan)


def blackscholes_numpy(S, K, T, r, v, call, put) -> None:
    """Vectorised Black-Scholes with the same formulas as the loop version."""
    vsqt = v * np.sqrt(T)
    d1 = (np.log(S / K) + (r + 0.5 * v * v) * T) / vsqt
    d2 = d1 - vsqt
    nd1 = 0.5 * (1.0 + _erf(d1 * loops.INV_SQRT2))
    nd2 = 0.5 * (1.0 + _erf(d2 * loops.INV_SQRT2))
    disc = K * np.exp(-r * T)
    call[:] = S * nd1 - disc * nd2
    put[:] = disc * (1.0 - nd2) - S * (1.0 - nd1)


# --------------------------------------------------------------------------
# Mandelbrot


def mandelbrot_inputs(width: int, height: int, maxiter: int) -> Args:
    """The view [-2, 0.5] x [-1.25, 1.25] at width x height pixels, and an output of -1s."""
    x0, y0 = -2.0, -1.25
    return x0, y0, 2.5 / width, 2.5 / height, maxiter, np.full((height, width), -1, np.int64)


def mandelbrot_numpy(x0, y0, dx, dy, maxiter, out) -> None:
    """Iterate only the points that have not escaped yet (shrinking index set)."""
    h, w = out.shape
    ci, cr = np.meshgrid(y0 + np.arange(h) * dy, x0 + np.arange(w) * dx, indexing="ij")
    idx = np.arange(h * w)
    cr, ci = cr.ravel(), ci.ravel()
    zr, zi = np.zeros(h * w), np.zeros(h * w)
    counts = np.zeros(h * w, np.int64)
    for _ in range(maxiter):
        alive = zr * zr + zi * zi <= 4.0
        idx, zr, zi, cr, ci = idx[alive], zr[alive], zi[alive], cr[alive], ci[alive]
        if idx.size == 0:
            break
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
        counts[idx] += 1
    out[:] = counts.reshape(h, w)


# --------------------------------------------------------------------------
# Coulombic potential on a grid


COULOMB_SPACING = 0.1


def coulomb_inputs(n: int, natoms: int) -> Args:
    """Random charged atoms above an n x n grid in the plane z = 0, and a NaN grid."""
    rng = _rng(6)
    extent = n * COULOMB_SPACING
    atoms = np.empty((natoms, 4))
    atoms[:, 0:2] = rng.uniform(0.0, extent, (natoms, 2))
    atoms[:, 2] = rng.uniform(0.5, 2.0, natoms)
    atoms[:, 3] = rng.uniform(-1.0, 1.0, natoms)
    return atoms, COULOMB_SPACING, 0.0, np.full((n, n), np.nan)


def coulomb_numpy(atoms, spacing, z, grid) -> None:
    """Loop over atoms, vectorised over the grid."""
    ny, nx = grid.shape
    y = (np.arange(ny) * spacing)[:, None]
    x = (np.arange(nx) * spacing)[None, :]
    acc = np.zeros((ny, nx))
    for ax, ay, az, q in atoms:
        acc += q / np.sqrt((x - ax) ** 2 + (y - ay) ** 2 + (z - az) ** 2)
    grid[:] = acc


# --------------------------------------------------------------------------
# Floyd-Warshall all-pairs shortest paths


def floyd_warshall_inputs(n: int) -> Args:
    """Edge weights in [1, 10) on about 30% of the pairs, inf elsewhere, 0 diagonal."""
    rng = _rng(7)
    d = rng.uniform(1.0, 10.0, (n, n))
    d[rng.random((n, n)) > 0.3] = np.inf
    np.fill_diagonal(d, 0.0)
    return (d,)


def floyd_warshall_numpy(d: np.ndarray) -> None:
    """One outer-sum relaxation per k, in place."""
    for k in range(d.shape[0]):
        np.minimum(d, d[:, k, None] + d[None, k, :], out=d)


def _check_paths(got: Outputs, ref: Outputs) -> float:
    """Shortest paths (inf where unreachable) are sums of the same weights
    in possibly another order: equal up to rounding."""
    for g, r in zip(got, ref, strict=True):
        if not np.array_equal(np.isinf(g), np.isinf(r)):
            raise AssertionError("reachability differs from the reference")
    finite = tuple(np.where(np.isinf(r), 0.0, g) for g, r in zip(got, ref, strict=True))
    return check_close(finite, tuple(np.where(np.isinf(r), 0.0, r) for r in ref), rtol=1e-12)


# --------------------------------------------------------------------------
# The table of kernels


def _outputs_at(*positions: int) -> Callable[[Args], Outputs]:
    """An ``outputs`` function picking the arguments at ``positions``."""
    return lambda args: tuple(args[p] for p in positions)


KERNELS: tuple[Kernel, ...] = (
    Kernel(
        name="matmul",
        description="dense matrix product, triple loop (i-k-j), float64",
        make_inputs=matmul_inputs, numpy_impl=matmul_numpy,
        loop_impl=loops.matmul, range_impl=loops.matmul_range,
        outputs=_outputs_at(2),
        sizes={"quick": {"n": 64}, "default": {"n": 1200}},
        check=partial(check_close, rtol=1e-12),
    ),
    Kernel(
        name="jacobi",
        description="2-D 5-point Jacobi stencil, 2 sweeps per time step",
        make_inputs=jacobi_inputs, numpy_impl=jacobi_numpy,
        loop_impl=loops.jacobi, range_impl=loops.jacobi_range,
        outputs=_outputs_at(0, 1),
        sizes={"quick": {"n": 64, "steps": 4}, "default": {"n": 1024, "steps": 250}},
        idempotent=False,
    ),
    Kernel(
        name="nbody",
        description="all-pairs n-body acceleration",
        make_inputs=nbody_inputs, numpy_impl=nbody_numpy,
        loop_impl=loops.nbody, range_impl=loops.nbody_range,
        outputs=_outputs_at(2),
        sizes={"quick": {"n": 256}, "default": {"n": 8192}},
    ),
    Kernel(
        name="blackscholes",
        description="Black-Scholes call and put prices (exp, log, sqrt, erf)",
        make_inputs=blackscholes_inputs, numpy_impl=blackscholes_numpy,
        loop_impl=loops.blackscholes, range_impl=loops.blackscholes_range,
        outputs=_outputs_at(5, 6),
        sizes={"quick": {"n": 10_000}, "default": {"n": 4_000_000}},
    ),
    Kernel(
        name="mandelbrot",
        description="Mandelbrot escape-time counts",
        make_inputs=mandelbrot_inputs, numpy_impl=mandelbrot_numpy,
        loop_impl=loops.mandelbrot, range_impl=loops.mandelbrot_range,
        outputs=_outputs_at(5),
        sizes={
            "quick": {"width": 96, "height": 64, "maxiter": 50},
            "default": {"width": 1536, "height": 1024, "maxiter": 200},
        },
        check=partial(check_counts, max_fraction=1e-3),
    ),
    Kernel(
        name="coulomb",
        description="Coulombic potential on a 2-D grid, sum of q/r over atoms",
        make_inputs=coulomb_inputs, numpy_impl=coulomb_numpy,
        loop_impl=loops.coulomb, range_impl=loops.coulomb_range,
        outputs=_outputs_at(3),
        sizes={"quick": {"n": 32, "natoms": 20}, "default": {"n": 512, "natoms": 400}},
    ),
    Kernel(
        name="floyd_warshall",
        description="all-pairs shortest paths, min-plus triple loop, in place",
        make_inputs=floyd_warshall_inputs, numpy_impl=floyd_warshall_numpy,
        loop_impl=loops.floyd_warshall, range_impl=loops.floyd_warshall_range,
        outputs=_outputs_at(0),
        sizes={"quick": {"n": 48}, "default": {"n": 1000}},
        check=_check_paths,
    ),
)


def select(names: Sequence[str] | None) -> list[Kernel]:
    """The kernels called ``names`` (all of them for None); unknown names raise ValueError."""
    if not names:
        return list(KERNELS)
    by_name = {k.name: k for k in KERNELS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown kernel(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names]
