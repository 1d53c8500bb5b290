"""Loop kernels shared by test_distributed.py (on a Dask cluster) and
test_distributed_blocks.py (the blocks without Dask)."""

from __future__ import annotations

from hybridjit import jit, prange


@jit
def smooth(A, B):
    n, m = A.shape
    for i in prange(1, n - 1):
        for j in range(1, m - 1):
            B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, j + 1] + A[i + 1, j] + A[i - 1, j])


@jit
def asymmetric(a, b):
    n = a.shape[0]
    for i in prange(2, n - 1):
        b[i] = a[i - 2] + a[i + 1]


@jit
def axpy(alpha, x, y, out):
    for i in range(x.shape[0]):  # proven parallel: no prange
        out[i] = alpha * x[i] + y[i]


@jit
def transpose(A, B):
    n, m = A.shape
    for i in prange(n):
        for j in range(m):
            B[j, i] = 2.0 * A[i, j]


@jit
def helper(x, c):
    return x * c + 1.0


def plain_helper(x):
    return x - 0.5


SCALE = 3.0


@jit
def with_helpers(a, b):
    s = 0.0
    for i in prange(a.shape[0]):
        b[i] = helper(a[i], SCALE) + plain_helper(a[i])
        s += b[i]
    return s / a.shape[0]
