"""fn.dask: compiled loop nests over Dask arrays on a real LocalCluster.

Every result is compared with the same function called once on the whole
NumPy arrays, over several chunkings: uneven, smaller than the halo, one
chunk, and chunk boundaries on the boundary rows the loop skips.  Workers
run with HYBRIDJIT_POISON=1: the parts of each task's arrays outside the
boxes it was sent are NaN bytes, so a box too small is a wrong answer.
"""

from __future__ import annotations

import math
import os
import signal
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from distributed_kernels import asymmetric, axpy, smooth, transpose, with_helpers  # noqa: E402
from hybridjit import HybridJitWarning, PartitionError, jit, prange  # noqa: E402
from hybridjit.distributed import threads  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        env={"HYBRIDJIT_POISON": "1"})
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def rng(seed=0):
    return np.random.default_rng(seed)


def run(fn, *args, chunks):
    """fn.dask over the arrays (Dask arrays with ``chunks`` where given as
    ``chunked(a)``), computed on the cluster."""
    dargs = [da.from_array(a.value, chunks=chunks) if isinstance(a, chunked) else a
             for a in args]
    return distributed.get_client().compute(fn.dask(*dargs), sync=True)


class chunked:
    def __init__(self, value):
        self.value = value


def one_process(fn, *args):
    """The reference: the compiled function on copies of the whole arrays."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    return fn(*copies), copies


# ------------------------------------------------------------ kernels


@jit
def heat3d(u, v, c):
    n, m, p = u.shape
    for i in prange(1, n - 1):
        for j in range(1, m - 1):
            for k in range(1, p - 1):
                v[i, j, k] = u[i, j, k] + c * (u[i - 1, j, k] + u[i + 1, j, k] + u[i, j - 1, k]
                                               + u[i, j + 1, k] + u[i, j, k - 1] + u[i, j, k + 1]
                                               - 6.0 * u[i, j, k])


@jit
def nbody(pos, mass, acc, eps2):
    n = pos.shape[0]
    for i in prange(n):
        ax = ay = az = 0.0
        for j in range(n):
            dx = pos[j, 0] - pos[i, 0]; dy = pos[j, 1] - pos[i, 1]; dz = pos[j, 2] - pos[i, 2]
            r2 = dx * dx + dy * dy + dz * dz + eps2
            s = mass[j] / (r2 * math.sqrt(r2))
            ax += s * dx; ay += s * dy; az += s * dz
        acc[i, 0] = ax; acc[i, 1] = ay; acc[i, 2] = az


@jit
def dot(x, y):
    s = 0.0
    for i in prange(x.shape[0]):
        s += x[i] * y[i]
    return s


@jit
def int_sum_from_five(x):
    s = 5
    for i in prange(x.shape[0]):
        s += x[i]
    return s * 2


@jit
def largest(x):
    m = -1.0
    for i in prange(x.shape[0]):
        m = max(m, x[i])
    return m


@jit
def minmax_pairs(a, lo, hi):
    n = a.shape[0]
    for i in prange(1, n):
        lo[i] = min(a[i], a[i - 1])
        hi[i - 1] = max(a[i], a[i - 1])


# ------------------------------------------------------------ results


SMOOTH_CHUNKS = {
    "uneven": ((7, 10, 3), (5, 15, 2)),
    "tiny": (1, 2),
    "single": (20, 22),
    "on-skipped-rows": ((1, 9, 9, 1), (1, 20, 1)),
}


@pytest.mark.parametrize("chunks", SMOOTH_CHUNKS.values(), ids=SMOOTH_CHUNKS.keys())
def test_stencil_2d_matches_one_process(client, chunks):
    A = rng(1).random((20, 22))
    B = rng(2).random((20, 22))  # its border is not written: it must come back as it was
    _, (_, ref) = one_process(smooth, A, B)
    (out,) = run(smooth, chunked(A), chunked(B), chunks=chunks)
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("chunks", [((3, 5, 1), (4, 4, 2), (1, 9, 1)), (1, 1, 11), (9, 10, 11)],
                         ids=["uneven", "thin", "single"])
def test_stencil_3d_matches_one_process(client, chunks):
    u = rng(3).random((9, 10, 11))
    v = np.zeros_like(u)
    _, (_, ref, _) = one_process(heat3d, u, v, 0.1)
    (out,) = run(heat3d, chunked(u), chunked(v), 0.1, chunks=chunks)
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("chunks", [(5, 17, 3, 6), 1, 31, (2, 28, 1)],
                         ids=["uneven", "smaller-than-halo", "single", "on-skipped-rows"])
def test_asymmetric_halo_1d_matches_one_process(client, chunks):
    a = rng(4).random(31)
    b = rng(5).random(31)
    _, (_, ref) = one_process(asymmetric, a, b)
    (out,) = run(asymmetric, chunked(a), chunked(b), chunks=chunks)
    np.testing.assert_array_equal(out, ref)


def test_elementwise_kernel_with_a_proven_parallel_range_loop(client):
    x, y = rng(6).random(101), rng(7).random(101)
    out = np.zeros(101)
    _, (_, _, _, ref) = one_process(axpy, 2.5, x, y, out)
    (res,) = client.compute(axpy.dask(2.5, da.from_array(x, chunks=9), da.from_array(y, chunks=13),
                                      da.from_array(out, chunks=(50, 51))), sync=True)
    np.testing.assert_array_equal(res, ref)


@pytest.mark.parametrize("chunks", [(7, 3), (1, 3), (40, 3)], ids=["uneven", "rows", "single"])
def test_nbody_sends_the_numpy_array_whole(client, chunks):
    pos, mass = rng(8).random((40, 3)), rng(9).random(40)
    acc = np.zeros((40, 3))
    _, (_, _, ref, _) = one_process(nbody, pos, mass, acc, 0.01)
    (res,) = nbody.dask(pos, mass, da.from_array(acc, chunks=chunks), 0.01)
    whole = [k for k in res.__dask_graph__() if str(k).startswith("hj-whole-")]
    assert len(whole) == 2  # pos and mass: one key each, shared by every task
    np.testing.assert_array_equal(client.compute(res, sync=True), ref)


@pytest.mark.parametrize("chunks", [7, 1, 100], ids=["uneven", "tiny", "single"])
def test_dot_product_is_a_tree_reduction(client, chunks):
    x, y = rng(10).random(100), rng(11).random(100)
    (res,) = dot.dask(da.from_array(x, chunks=chunks), da.from_array(y, chunks=chunks))
    assert res.shape == () and res.dtype == np.float64
    assert math.isclose(float(client.compute(res, sync=True)), dot(x, y), rel_tol=1e-13)


def test_reduction_initial_value_counts_once_and_the_return_expression_applies(client):
    x = rng(12).integers(-50, 50, 77)
    (res,) = int_sum_from_five.dask(da.from_array(x, chunks=10))
    assert int(client.compute(res, sync=True)) == int_sum_from_five(x) == (5 + x.sum()) * 2
    y = rng(13).random(50) - 2.0  # all below the initial -1.0
    (m,) = largest.dask(da.from_array(y, chunks=6))
    assert float(client.compute(m, sync=True)) == largest(y) == -1.0


@pytest.mark.parametrize("chunks", [4, 1, 30], ids=["uneven", "tiny", "single"])
def test_two_written_arrays_with_different_offsets(client, chunks):
    a = rng(14).random(30)
    lo, hi = rng(15).random(30), rng(16).random(30)
    _, (_, ref_lo, ref_hi) = one_process(minmax_pairs, a, lo, hi)
    out_lo, out_hi = run(minmax_pairs, chunked(a), chunked(lo), chunked(hi), chunks=chunks)
    np.testing.assert_array_equal(out_lo, ref_lo)
    np.testing.assert_array_equal(out_hi, ref_hi)


def test_helpers_and_module_constants_travel_to_the_workers(client):
    a, b = rng(20).random(40), np.zeros(40)
    want, (_, ref) = one_process(with_helpers, a, b)
    out, value = run(with_helpers, chunked(a), chunked(b), chunks=7)
    np.testing.assert_array_equal(out, ref)
    assert math.isclose(float(value), want, rel_tol=1e-13)


def test_a_transposing_nest_cuts_both_loops(client):
    A, B = rng(21).random((14, 9)), rng(22).random((9, 14))
    _, (_, ref) = one_process(transpose, A, B)
    (res,) = transpose.dask(da.from_array(A, chunks=(5, 4)), da.from_array(B, chunks=(4, 5)))
    assert res.chunks == ((4, 4, 1), (5, 5, 4))
    np.testing.assert_array_equal(client.compute(res, sync=True), ref)


def test_time_steps_chain_as_one_layer_per_call(client):
    A, B = rng(23).random((18, 16)), np.zeros((18, 16))
    ref_a, ref_b = A.copy(), B.copy()
    for _ in range(3):  # Jacobi: A -> B -> A
        smooth(ref_a, ref_b)
        smooth(ref_b, ref_a)
    dA, dB = da.from_array(A, chunks=(5, 7)), da.from_array(B, chunks=(5, 7))
    for _ in range(3):
        (dB,) = smooth.dask(dA, dB)
        (dA,) = smooth.dask(dB, dA)
    out_a, out_b = client.compute((dA, dB), sync=True)
    np.testing.assert_array_equal(out_a, ref_a)
    np.testing.assert_array_equal(out_b, ref_b)


def test_results_are_lazy_and_keep_the_written_arrays_chunks(client):
    A = da.from_array(rng(17).random((20, 22)), chunks=(7, 8))
    B = da.zeros_like(A)
    (B2,) = smooth.dask(A, B)
    assert isinstance(B2, da.Array) and B2.chunks == B.chunks
    keys = [str(k) for k in B2.__dask_graph__()]
    assert any("hj-halo-" in k for k in keys)  # neighbours send slices, not chunks
    assert sum("hj-block-" in k for k in keys) == 3 * 3


def test_opencl_target_runs_on_each_workers_device(client):
    pytest.importorskip("pyopencl")
    from hybridjit.runtime import registry

    if registry.get_device("opencl") is None:
        pytest.skip("no OpenCL device")
    fn = jit(smooth.py_func, target="opencl")
    A, B = rng(18).random((30, 26)), np.zeros((30, 26))
    _, (_, ref) = one_process(fn, A, B)
    (res,) = run(fn, chunked(A), chunked(B), chunks=(8, 13))
    np.testing.assert_array_equal(res, ref)

    def device_regions():
        from hybridjit.distributed import runner

        return [r["target"] for d in runner._dispatchers.values() if d.last_stats
                for r in d.last_stats["regions"]]

    ran = [t for ts in client.run(device_regions).values() for t in ts]
    assert ran and set(ran) == {"opencl"}


def test_openmp_threads_per_task_do_not_oversubscribe(client):
    table = threads.threads_by_host()
    assert sum(table.values()) == 2
    per_task = client.submit(threads.task_threads, table, pure=False).result()
    cores = client.submit(lambda: len(os.sched_getaffinity(0)), pure=False).result()
    assert per_task == max(1, cores // 2)


def test_a_killed_worker_is_retried_and_the_result_is_right(client, tmp_path):
    marker = str(tmp_path / "killed")
    A, B = rng(19).random((24, 20)), np.zeros((24, 20))
    _, (_, ref) = one_process(smooth, A, B)
    (B2,) = smooth.dask(da.from_array(A, chunks=(6, 10)), da.from_array(B, chunks=(6, 10)))

    def kill_once(block):
        # runs where its block of B2 was computed: that worker dies with it
        # (map_blocks also calls it here on an empty block to learn its type)
        if block.size and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return block

    before = set(client.run(os.getpid).values())
    out = client.compute(B2.map_blocks(kill_once, meta=np.empty((0, 0))), sync=True)
    assert os.path.exists(marker)
    np.testing.assert_array_equal(out, ref)
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != before  # a worker was replaced


# ------------------------------------------------------------ refused functions


@jit
def time_loop(a, b, steps):
    n = a.shape[0]
    for t in range(steps):
        for i in prange(1, n - 1):
            b[i] = 0.5 * (a[i - 1] + a[i + 1])


@jit
def carried(a, b):
    for i in range(1, a.shape[0]):
        a[i] = a[i - 1] + b[i]


@jit
def scatter(idx, x, out):
    for i in prange(x.shape[0]):
        out[idx[i]] = x[i]


@jit
def slices(A, B):
    B[1:-1] = 0.5 * (A[:-2] + A[2:])


@jit
def after(a, b):
    for i in prange(a.shape[0]):
        b[i] = a[i]
    b[0] = 1.0


def _line(fn, text):
    import inspect

    lines, first = inspect.getsourcelines(fn.py_func)
    return first + next(k for k, ln in enumerate(lines) if text in ln)


def test_a_time_loop_around_the_nest_is_refused_at_its_line():
    a = da.zeros(10, chunks=5)
    with pytest.raises(PartitionError, match="runs inside this sequential loop") as err:
        time_loop.dask(a, a.copy(), 3)
    assert err.value.loc.line == _line(time_loop, "for t in range")
    assert "call fn.dask once per step" in str(err.value)


def test_a_carried_dependence_is_refused_with_the_analysis_reason():
    a = da.zeros(10, chunks=5)
    with pytest.raises(PartitionError, match="this loop is not parallel") as err:
        carried.dask(a, a.copy())
    assert err.value.loc.line == _line(carried, "for i in range")
    assert "a[i - 1]" in err.value.message


def test_a_data_dependent_subscript_on_a_written_array_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HybridJitWarning)  # prange cannot be proven here
        with pytest.raises(PartitionError, match="computed from the data") as err:
            scatter.dask(np.arange(10), da.zeros(10, chunks=5), da.zeros(10, chunks=5))
    assert err.value.loc.line == _line(scatter, "out[idx[i]] = x[i]")
    text = str(err.value)
    assert text.splitlines()[0].startswith(f"{__file__}:{err.value.loc.line}:")
    assert "out[idx[i]]" in text and "^" in text


def test_a_written_numpy_array_is_refused():
    with pytest.raises(PartitionError, match="passed as a NumPy array") as err:
        smooth.dask(da.zeros((6, 6), chunks=3), np.zeros((6, 6)))
    assert "dask.array.from_array(B" in str(err.value)


def test_array_statements_and_statements_after_the_nest_are_refused():
    with pytest.raises(PartitionError, match="NumPy array statement"):
        slices.dask(da.zeros(10, chunks=5), da.zeros(10, chunks=5))
    with pytest.raises(PartitionError, match="a statement after the parallel loop nest") as err:
        after.dask(da.zeros(10, chunks=5), da.zeros(10, chunks=5))
    assert err.value.loc.line == _line(after, "b[0] = 1.0")


def test_explain_says_how_fn_dask_splits_or_why_not():
    text = str(smooth.explain(np.zeros((5, 5)), np.zeros((5, 5))))
    assert "dask: one task per chunk of B" in text
    assert "A: dim 0: i-1..i+1; dim 1: j-1..j+1" in text
    text = str(time_loop.explain(np.zeros(5), np.zeros(5), 2))
    assert "dask: cannot run blockwise" in text and "sequential loop" in text
