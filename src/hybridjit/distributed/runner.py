"""What a Dask task runs: one block of the compiled loop nest, on a worker.

Contract: ``run_block(kernel, block, inputs) -> (owned part of each written
array, ..., (reduction partials))``.  ``kernel`` (:class:`Kernel`, one per
call, sent once per worker) carries the original Python function, the block
version's source, the compile options and how each parameter arrives;
``block`` (:class:`~.blocks.Block`) the block's iteration ranges and pieces;
the function's globals travel as :mod:`.shipping` sends them (source text);
``inputs`` the pieces' data (whole chunks or slices of them) followed by
the NumPy arrays sent whole, in parameter order.

Each chunked array becomes an array of its *global* shape whose memory is
an anonymous mapping reserved without backing (``MAP_NORESERVE``): only the
pages of the block's box are ever touched, so a task costs the memory of
its box, while the kernel indexes with global indices as it does in one
process (see :mod:`.variant`).  The pieces are copied in at their global
positions, the block version runs (compiled once per worker process, then
from hybridjit's disk cache; never a pickled shared library), and the owned
parts of the written arrays are returned as views of those arrays (only
their pages are in memory).  With ``HYBRIDJIT_POISON`` set,
the rest of each array is filled with NaN bytes first, so a box too small
shows up as a wrong answer.
"""

from __future__ import annotations

import contextlib
import mmap
import sys
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import config
from ..config import CompileOptions
from . import threads
from .blocks import Block
from .shipping import rebuild_globals
from .variant import Variant, materialise

#: MAP_NORESERVE (Linux): reserve address space without committing memory
_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000 if sys.platform.startswith("linux") else 0)

#: how a parameter arrives in a task
CHUNKED, WHOLE, SCALAR = "chunked", "whole", "scalar"


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # CHUNKED | WHOLE | SCALAR
    value: Any = None  # SCALAR: the value
    shape: tuple[int, ...] = ()  # CHUNKED: the global shape
    dtype: str = ""  # CHUNKED: dtype.str


@dataclass(frozen=True)
class Kernel:
    token: str  # identifies the block version and its options
    qualname: str  # the user's function's
    globals: dict[str, Any]  # what it uses of its globals (shipping.ship_globals)
    variant: Variant
    options: CompileOptions
    params: tuple[Param, ...]
    written: tuple[str, ...]
    identities: tuple[Any, ...]  # _hj_id values
    threads_by_host: dict[str, int]


_dispatchers: dict[str, Any] = {}
_lock = threading.Lock()
#: kernels called once already in this process (compiled or loaded)
_warm: set[str] = set()
_compile_lock = threading.Lock()
#: one task at a time uses the device: its memory manager serves one thread
_device_lock = threading.Lock()


def run_block(kernel: Kernel, block: Block, inputs: list[Any]) -> tuple[Any, ...]:
    fn = _dispatcher(kernel)
    feed = iter(inputs)
    local = {a.name: a for a in block.arrays}
    args: list[Any] = []
    globals_: dict[str, np.ndarray] = {}
    for p in kernel.params:
        if p.kind == SCALAR:
            args.append(p.value)
        elif p.kind == CHUNKED:
            g = global_array(p.shape, np.dtype(p.dtype))
            piece_list = local[p.name].pieces if p.name in local else ()
            for piece in piece_list:
                g[piece.dst] = next(feed)
            globals_[p.name] = g
            args.append(g)
        else:
            args.append(None)  # filled below: whole arrays follow the pieces
    for k, p in enumerate(kernel.params):
        if p.kind == WHOLE:
            args[k] = next(feed)
    threads.use_threads(threads.task_threads(kernel.threads_by_host))
    with _guard(kernel.token, fn):
        result = fn(*args, *block.args, *kernel.identities)
    owned = []
    poisoned = config.poison_enabled()
    for name in kernel.written:
        box = local[name].owned
        assert box is not None
        part = globals_[name][tuple(slice(lo, hi) for lo, hi in box)]
        # A view keeps only the pages it covers in memory (no others were
        # touched) and saves a copy; a poisoned array had every page touched.
        owned.append(np.array(part) if poisoned else part)
    partials = result if isinstance(result, tuple) else (result,)
    return (*owned, partials)


def global_array(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A C-ordered array of ``shape`` whose pages exist only once touched."""
    count = int(np.prod(shape, dtype=np.int64))
    if count * dtype.itemsize < mmap.PAGESIZE:
        g = np.zeros(shape, dtype)
    else:
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _NORESERVE
        memory = mmap.mmap(-1, count * dtype.itemsize, flags=flags)
        g = np.frombuffer(memory, dtype=dtype, count=count).reshape(shape)
    if config.poison_enabled():
        g.view(np.uint8).reshape(-1)[:] = 0xFF  # NaN for floats, -1 for integers
    return g


def _guard(token: str, fn: Any) -> Any:
    """What a call holds: the device lock for offloading code; the process's
    lock for the first call (the dispatcher compiles or loads then), so
    worker threads do not compile one kernel twice at once."""
    if fn._wants_offload():
        return _device_lock
    if token not in _warm:
        return _FirstCall(token)
    return contextlib.nullcontext()


class _FirstCall:
    def __init__(self, token: str):
        self.token = token

    def __enter__(self) -> None:
        _compile_lock.acquire()

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            _warm.add(self.token)
        _compile_lock.release()


def _dispatcher(kernel: Kernel) -> Any:
    """The block version's Dispatcher, made once per worker process."""
    with _lock:
        fn = _dispatchers.get(kernel.token)
        if fn is None:
            from ..dispatcher import Dispatcher

            scope = rebuild_globals(kernel.globals)
            fn = Dispatcher(materialise(kernel.variant, scope), kernel.options)
            _dispatchers[kernel.token] = fn
        return fn
