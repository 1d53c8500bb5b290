"""Plain-Python loop kernels shared by several test files; each file jits
its own copy (``jit(target=...)(loop_kernels.jacobi)``) so their
``last_stats`` and specialisations stay apart."""

from __future__ import annotations

from hybridjit import prange


def jacobi(A, B, steps):
    """A 5-point Jacobi time loop, A -> B -> A per step: two regions."""
    n = A.shape[0]
    m = A.shape[1]
    for _t in range(steps):
        for i in prange(1, n - 1):
            for j in range(1, m - 1):
                B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, j + 1] + A[i + 1, j] + A[i - 1, j])
        for i in prange(1, n - 1):
            for j in range(1, m - 1):
                A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, j + 1] + B[i + 1, j] + B[i - 1, j])


def prefix_sum(a):
    """In-place prefix sum: a carried dependence, so no parallel region."""
    for i in range(1, a.shape[0]):
        a[i] = a[i] + a[i - 1]


def bump(a):
    """a += 1 in a parallel loop."""
    for i in prange(a.shape[0]):
        a[i] = a[i] + 1.0
