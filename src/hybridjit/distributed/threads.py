"""How many OpenMP threads a task's kernel uses: no oversubscription.

Contract: ``threads_by_host()`` (on the client, when a ``dask.distributed``
client exists) -> {host: Dask worker threads on that host}, summed over
every worker process there; ``task_threads(by_host)`` (in a task) -> the
OpenMP threads for this task's kernel; ``use_threads(n)`` sets that for the
calling thread.

The policy: a host's cores are shared out evenly among the threads that
run Dask tasks on it, so worker threads x OpenMP threads <= cores.  With
``n`` cores and ``t`` task threads on the host, each kernel gets
``max(1, n // t)`` OpenMP threads: a LocalCluster of 2 single-threaded
workers on 2 cores runs 1 OpenMP thread per task, one worker with one
thread on 32 cores runs 32.  Cores are those the worker process may use
(``os.sched_getaffinity``).  Outside a distributed worker: all cores when
the task runs on the calling thread (the synchronous scheduler), else one
(Dask's thread pool already has a thread per core).  ``HYBRIDJIT_DASK_THREADS``
overrides it.  A worker that joined after the graph was built counts its
own threads only.

Why not ``OMP_NUM_THREADS``: the OpenMP runtime reads it once per process
(and Dask's nannies set it to 1 for every worker).  The generated code asks
``omp_get_max_threads()``, which answers the calling thread's setting, so
``omp_set_num_threads`` in the thread that runs the task is enough.
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any

from .. import config

_OMP_LIBRARIES = ("libgomp.so.1", "libomp.so", "libomp.so.5", "libiomp5.so", "libgomp.dylib",
                  "libomp.dylib")
#: omp_set_num_threads of the runtime the kernels use, once one is loaded
_setter: Any = None


def threads_by_host() -> dict[str, int]:
    """{host: task threads} of the current distributed client's workers
    (empty without one)."""
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return {}
    try:
        info = client.scheduler_info(n_workers=-1)  # every worker (newer Dask lists 5)
    except TypeError:  # older Dask: no such parameter, and all workers listed
        info = client.scheduler_info()
    workers = info.get("workers", {})
    out: dict[str, int] = {}
    for info in workers.values():
        host = str(info.get("host", ""))
        out[host] = out.get(host, 0) + int(info.get("nthreads", 1))
    return out


def task_threads(by_host: dict[str, int]) -> int:
    """The OpenMP threads for the calling task (module doc)."""
    override = config.dask_omp_threads()
    if override is not None:
        return override
    cores = _cores()
    worker = _current_worker()
    if worker is not None:
        from distributed.comm import get_address_host

        own = max(1, int(worker.state.nthreads))
        sharing = by_host.get(get_address_host(worker.address), own)
        return max(1, cores // max(sharing, own))
    return cores if threading.current_thread() is threading.main_thread() else 1


def use_threads(n: int) -> None:
    """OpenMP threads for parallel loops started from this thread."""
    setter = _omp_setter()
    if setter is not None:
        setter(max(1, int(n)))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _current_worker() -> Any:
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def _omp_setter() -> Any:
    """``omp_set_num_threads`` of the OpenMP runtime the compiled kernels
    link, or None.  A runtime already in the process (a kernel was loaded)
    is the one; before the first kernel, GCC's (the default compiler's) is
    loaded, which the kernel then shares."""
    global _setter
    if _setter is not None:
        return _setter
    noload = getattr(os, "RTLD_NOLOAD", None)
    if noload is not None:
        found = _find_setter(lambda name: ctypes.CDLL(name, mode=noload))
        if found is not None:
            _setter = found  # the runtime in use: keep it
            return found
    return _find_setter(ctypes.CDLL)


def _find_setter(load: Any) -> Any:
    for name in _OMP_LIBRARIES:
        try:
            lib = load(name)
        except OSError:
            continue
        fn = getattr(lib, "omp_set_num_threads", None)
        if fn is not None:
            fn.argtypes = [ctypes.c_int]
            fn.restype = None
            return fn
    return None
