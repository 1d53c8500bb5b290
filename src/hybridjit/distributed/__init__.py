"""Running compiled loop nests over Dask arrays, block by block.

Stage contract: a :class:`~hybridjit.dispatcher.Dispatcher` and the
arguments of one call (Dask arrays, NumPy arrays, scalars) -> a tuple of
lazy Dask arrays: each array argument the function writes, whole, after
the call, in argument order; then a 0-d array when it returns a value.

The footprint analysis says which arguments a loop nest reads and writes
and which box of each one an iteration range touches, so nobody writes a
halo depth or an output list: the nest's iteration space is cut along the
chunks of a written array (:mod:`.plan`, :mod:`.blocks`), every block gets
exactly the boxes its footprint needs, and runs the compiled block version
of the function (:mod:`.variant`, :mod:`.runner`) as one Dask task
(:mod:`.graph`); reductions are combined in a tree (:mod:`.reduction`).
Dask is imported only here, lazily: ``import hybridjit`` stays NumPy-only.
"""

from __future__ import annotations

from typing import Any


def dask_call(disp: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """``disp.dask(*args, **kwargs)``; see :mod:`.call`."""
    from .call import dask_call as call

    return call(disp, args, kwargs)


def explain_lines(disp: Any, program: Any, decisions: Any) -> list[str]:
    """What ``fn.dask`` would do with this specialisation, for ``explain``."""
    from .describe import describe

    return describe(disp, program, decisions)
