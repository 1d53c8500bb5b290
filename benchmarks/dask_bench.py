"""fn.dask on a 2-worker LocalCluster against one compiled call in one process.

Usage::

    python benchmarks/dask_bench.py [--quick] [--repeats N] [--json PATH]

The 2-D 5-point stencil (``smooth`` below) over an ``n x n`` float64 array
cut in 2 x 2 chunks (the array is 4 times one chunk), on a LocalCluster of
2 worker processes with 1 thread each (so 1 OpenMP thread per task on the
2-core development machine; the one-process call uses both cores).
Reported:

* time per element of the one-process compiled call and of ``smooth.dask``
  with the arrays already in the workers' memory (``persist`` and wait: the
  result stays on the workers), medians of ``--repeats`` runs after a first
  run that compiles on the workers (reported apart); the result is checked
  against the one-process call before anything is timed;
* the bytes the workers sent each other during the timed runs (Dask's
  ``transfer_outgoing_log``: halo slices apart from anything else, such as
  whole chunks the scheduler moves to balance the load), against the halo
  bytes the footprints predict (:attr:`Partition.halo_bytes`: what each task
  needs beyond the largest piece of each array, i.e. from chunks other than
  its own; only those on another worker travel);
* scheduler overhead per task: empty tasks (``client.map`` of the identity),
  and ``smooth.dask`` on a tiny array cut in 16 x 16 chunks (per block,
  halo slices included);
* the time to build the graph on the client;
* one block's task body run in this process (1 OpenMP thread) against the
  kernel's share of the work: the cost of copying the pieces into the
  task's arrays;
* for contrast, a compute-bound kernel: all-pairs n-body, the positions
  and masses NumPy arrays sent whole, the accelerations chunked in 4.

B is made from A with ``map_blocks`` so that each chunk of B sits on the
worker holding the same chunk of A (Dask places a block's task next to
its largest inputs; B's border rows, which the loop skips, come back as
they were, so B's chunk is an input too), a new B for every run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

import common
import numpy as np

os.environ.setdefault("HYBRIDJIT_CACHE_DIR", tempfile.mkdtemp(prefix="hj-daskbench-"))
common.use_checkout_sources()

import loops  # noqa: E402

from hybridjit import jit, prange  # noqa: E402

DEFAULT_JSON = common.RESULTS_DIR / "dask-latest.json"
SIZES = {"quick": {"n": 2000, "tiny": 256, "bodies": 2000},
         "default": {"n": 8000, "tiny": 256, "bodies": 8000}}


@jit
def smooth(A, B):
    n, m = A.shape
    for i in prange(1, n - 1):
        for j in range(1, m - 1):
            B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, j + 1] + A[i + 1, j] + A[i - 1, j])


nbody = jit(loops.nbody)


def nbody_runs(client: Any, bodies: int, repeats: int) -> dict[str, Any]:
    """The compute-bound contrast: all-pairs n-body, positions and masses as
    NumPy arrays (sent whole, once per worker), accelerations chunked in 4."""
    import dask.array as da
    from distributed import wait

    r = np.random.default_rng(1)
    pos, mass = r.random((bodies, 3)), r.random(bodies)
    ref = np.zeros((bodies, 3))
    nbody(pos, mass, ref, 0.01)
    single = statistics.median(common.time_repeats(nbody, (pos, mass, ref, 0.01), repeats))
    times = []
    for k in range(repeats + 1):
        acc = da.zeros((bodies, 3), chunks=(bodies // 4, 3)) + k  # new keys every run
        acc = client.persist(acc)
        wait(acc)
        t0 = time.perf_counter()
        (out,) = nbody.dask(pos, mass, acc, 0.01)
        run = client.persist(out)
        wait(run)
        times.append(time.perf_counter() - t0)
        if k == 0:
            np.testing.assert_array_equal(run.compute(), ref)
        del run
    median = statistics.median(times[1:])  # the first compiles on the workers
    return {"bodies": bodies, "one_process_s": single, "dask_s": median,
            "dask_over_one_process": median / single}


def clear_transfer_logs(client: Any) -> None:
    client.run(lambda dask_worker: dask_worker.transfer_outgoing_log.clear())


def sent_bytes(client: Any) -> tuple[int, int]:
    """(halo slices, everything else) the workers sent each other since the
    logs were cleared."""
    def sent(dask_worker: Any) -> tuple[int, int]:
        halo = other = 0
        for entry in dask_worker.transfer_outgoing_log:
            for key, nbytes in entry["keys"].items():
                name = key[0] if isinstance(key, tuple) else key
                if str(name).startswith("hj-halo"):
                    halo += nbytes
                else:
                    other += nbytes
        return halo, other

    per_worker = client.run(sent).values()
    return sum(h for h, _ in per_worker), sum(o for _, o in per_worker)


def one_process(A: np.ndarray, repeats: int) -> dict[str, Any]:
    B = np.zeros_like(A)
    smooth(A, B)  # compile
    times = common.time_repeats(smooth, (A, B), repeats)
    return {**common.summarize(times), "per_element_ns": statistics.median(times) / A.size * 1e9,
            "threads": len(os.sched_getaffinity(0))}


def fresh_output(client: Any, A: Any, k: int) -> Any:
    """A zero B chunked as A, each chunk made next to A's; a new one per run
    (the same inputs would give the same keys, which Dask would not compute
    again)."""
    from distributed import wait

    B = client.persist(A.map_blocks(np.zeros_like, name=f"zeros-{k}"))
    wait(B)
    return B


def dask_runs(client: Any, A: Any, repeats: int) -> tuple[dict[str, Any], Any, Any]:
    from distributed import wait

    B = fresh_output(client, A, 0)
    t0 = time.perf_counter()
    (B2,) = smooth.dask(A, B)
    first = client.persist(B2)
    wait(first)
    first_s = time.perf_counter() - t0
    del first
    times, builds = [], []
    halo = other = 0
    for k in range(1, repeats + 1):
        B = fresh_output(client, A, k)
        clear_transfer_logs(client)
        t0 = time.perf_counter()
        (B2,) = smooth.dask(A, B)
        builds.append(time.perf_counter() - t0)
        run = client.persist(B2)
        wait(run)
        times.append(time.perf_counter() - t0)
        h, o = sent_bytes(client)
        halo, other = halo + h, other + o
        del run
    n = A.size
    return ({**common.summarize(times), "per_element_ns": statistics.median(times) / n * 1e9,
             "first_run_s": first_s, "graph_build_s": statistics.median(builds),
             "sent_halo_bytes_per_run": halo // repeats,
             "sent_other_bytes_per_run": other // repeats}, B2, B)


def halo_prediction(call: Any) -> dict[str, int]:
    part = call.partition
    return {"blocks": len(part.blocks), "halo_bytes": part.halo_bytes,
            "input_bytes": part.input_bytes}


def task_body(call: Any, A_np: np.ndarray, repeats: int) -> dict[str, float]:
    """One block's task body (pieces in, kernel, owned part out) run here,
    with 1 OpenMP thread as on a worker, and the kernel alone on the same
    block: what the task costs beyond the computation."""
    from hybridjit.distributed import runner, threads

    block = call.partition.blocks[-1]
    arrays = {"A": A_np, "B": np.zeros_like(A_np)}
    inputs = [arrays[a.name][p.dst].copy() for a in block.arrays for p in a.pieces]
    threads.use_threads(1)
    runner.run_block(call.kernel, block, inputs)  # compile

    def body() -> None:
        out = runner.run_block(call.kernel, block, inputs)
        del out  # unmapping the task's arrays is part of its cost

    body_s = statistics.median(common.time_repeats(body, (), repeats))
    whole = np.zeros_like(A_np)
    smooth(A_np, whole)
    kernel_s = statistics.median(common.time_repeats(smooth, (A_np, whole), repeats))
    threads.use_threads(len(os.sched_getaffinity(0)))
    return {"task_body_s": body_s, "kernel_on_one_thread_s": kernel_s / len(call.partition.blocks)}


def scheduler_overhead(client: Any, tiny: int, repeats: int) -> dict[str, Any]:
    import dask.array as da
    from distributed import wait

    n_tasks = 1000
    empty = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        futures = client.map(lambda x: x, range(n_tasks), pure=False)
        wait(futures)
        empty.append((time.perf_counter() - t0) / n_tasks)
        del futures
    A = client.persist(da.random.random((tiny, tiny), chunks=tiny // 16))
    wait(A)
    blocks = (tiny // (tiny // 16)) ** 2
    per_block = []
    for k in range(repeats):
        B = fresh_output(client, A, 1000 + k)
        t0 = time.perf_counter()
        (B2,) = smooth.dask(A, B)
        run = client.persist(B2)
        wait(run)
        per_block.append((time.perf_counter() - t0) / blocks)
        del run
    graph = B2.__dask_graph__()
    ours = [B2.name] + [name for name in graph.layers if name.startswith("hj-")]
    tasks = sum(len(graph.layers[name]) for name in ours) - 1  # not the kernel key
    return {"empty_task_s": statistics.median(empty), "tiny_array": tiny,
            "tiny_blocks": blocks, "tiny_per_block_s": statistics.median(per_block),
            "tiny_graph_tasks": tasks}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--json", default=str(DEFAULT_JSON), help="report path ('' for none)")
    args = p.parse_args(argv)
    mode = "quick" if args.quick else "default"
    size = SIZES[mode]
    repeats = args.repeats or (3 if args.quick else 7)

    import dask.array as da
    from distributed import Client, LocalCluster, wait

    from hybridjit.distributed.call import plan_call

    n = size["n"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        A = client.persist(da.random.random((n, n), chunks=n // 2))
        wait(A)
        A_np = A.compute()
        ref = np.zeros_like(A_np)
        smooth(A_np, ref)
        runs, B2, B = dask_runs(client, A, repeats)
        got = B2.compute()
        np.testing.assert_array_equal(got, ref)  # never time a wrong answer
        del got, ref
        single = one_process(A_np, repeats)
        call = plan_call(smooth, (A, B), lambda a: isinstance(a, da.Array))
        predicted = halo_prediction(call)
        body = task_body(call, A_np, repeats)
        overhead = scheduler_overhead(client, size["tiny"], repeats)
        bodies = nbody_runs(client, size["bodies"], repeats)

    ratio = runs["median_s"] / single["median_s"]
    print(f"smooth {n} x {n} float64, 2 x 2 chunks of {n // 2} x {n // 2}, "
          f"LocalCluster: 2 workers x 1 thread")
    print(common.format_table(
        ["", "median ms", "ns/element"],
        [["one process (compiled, all cores)", common.fmt_ms(single["median_s"]),
          f"{single['per_element_ns']:.2f}"],
         ["fn.dask (persisted inputs)", common.fmt_ms(runs["median_s"]),
          f"{runs['per_element_ns']:.2f}"]]))
    print(f"fn.dask / one process: {ratio:.2f}x; first run (compiles on the workers) "
          f"{common.fmt_s(runs['first_run_s'])} s; graph built in "
          f"{common.fmt_ms(runs['graph_build_s'])} ms")
    print(f"sent between workers per run: halo slices "
          f"{common.fmt_bytes(runs['sent_halo_bytes_per_run'])}, anything else "
          f"{common.fmt_bytes(runs['sent_other_bytes_per_run'])}; halo bytes the footprints "
          f"predict: {common.fmt_bytes(predicted['halo_bytes'])} (if every neighbour were on "
          f"another worker; {predicted['blocks']} blocks, inputs "
          f"{common.fmt_bytes(predicted['input_bytes'])})")
    print(f"one block's task body here: {common.fmt_ms(body['task_body_s'])} ms, of which the "
          f"kernel (1 thread) {common.fmt_ms(body['kernel_on_one_thread_s'])} ms; the rest "
          "copies the pieces into fresh memory (page faults) and unmaps it")
    print(f"scheduler overhead: {overhead['empty_task_s'] * 1e3:.2f} ms per empty task; "
          f"fn.dask on {overhead['tiny_array']}^2 in {overhead['tiny_blocks']} blocks: "
          f"{overhead['tiny_per_block_s'] * 1e3:.2f} ms per block "
          f"({overhead['tiny_graph_tasks']} tasks)")
    print(f"n-body, {bodies['bodies']} bodies (compute-bound): one process "
          f"{common.fmt_ms(bodies['one_process_s'])} ms, fn.dask "
          f"{common.fmt_ms(bodies['dask_s'])} ms ({bodies['dask_over_one_process']:.2f}x)")
    report = {"mode": mode, "sizes": size, "machine": common.machine_info(),
              "versions": {k: common.module_version(k) for k in ("dask", "distributed")},
              "date": common.now_iso(),
              "cluster": {"workers": 2, "threads_per_worker": 1, "processes": True},
              "one_process": single, "dask": runs, "dask_over_one_process": ratio,
              "halo_prediction": predicted, "task": body, "scheduler": overhead,
              "nbody": bodies}
    if args.json:
        path = common.write_json(args.json, report)
        print(f"report: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
