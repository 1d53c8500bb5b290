"""Pinned (page-locked) staging of large host<->device copies on the CUDA device.

Contract: a :class:`PinnedStaging` owns :data:`SLOTS` page-locked host
buffers of ``chunk`` bytes (``cuMemHostAlloc``) and an event per buffer.

- :meth:`~PinnedStaging.to_device` copies a C-contiguous host array to a
  device address through the buffers, chunk by chunk, and returns with the
  last copies still queued on the stream.  The host array may be changed or
  freed at once: its bytes are in the buffers by then.
- :meth:`~PinnedStaging.to_host` copies device memory into a C-contiguous
  host array and returns once every byte has arrived.
- A buffer is refilled only after the event recorded behind its previous
  copy has completed (``cuEventSynchronize``), so no copy reads a buffer
  that is being rewritten.

Why: a GPU's copy engines read and write only page-locked memory.  From
ordinary (pageable) memory the driver stages every copy itself and the copy
blocks the host; with two buffers of our own, copying chunk ``k + 1`` into
one overlaps the engine's transfer of chunk ``k`` from the other, and a
copy to the device no longer blocks on its last chunk.  Small copies are
not worth the extra host copy: :class:`~hybridjit.runtime.cuda.CUDADevice`
stages only copies of at least ``HYBRIDJIT_CUDA_STAGING`` bytes
(:func:`hybridjit.config.cuda_staging_min_bytes`).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import numpy as np

#: staging buffers per device (two: one fills while the other transfers)
SLOTS = 2
#: bytes per staging buffer, and so per chunk of a staged copy
CHUNK_BYTES = 4 << 20


class PinnedStaging:
    """Page-locked staging buffers for one device's stream (see module doc)."""

    def __init__(self, call: Callable[..., Any], driver: Any, stream: Any,
                 chunk: int | None = None):
        self._call = call  # the device's checked driver call: name, *args
        self._driver = driver
        self._stream = stream
        self.chunk = int(chunk or CHUNK_BYTES)
        self._pointers: list[int] = []
        self._views: list[np.ndarray] = []
        self._events: list[Any] = []
        self._pending = [False] * SLOTS
        try:
            for _ in range(SLOTS):
                pointer = int(self._call("cuMemHostAlloc", self.chunk, 0))
                self._pointers.append(pointer)
                raw = (ctypes.c_uint8 * self.chunk).from_address(pointer)
                self._views.append(np.ctypeslib.as_array(raw))
                self._events.append(self._call("cuEventCreate", 0))
        except BaseException:
            self.close()
            raise

    def to_device(self, device_address: int, host: np.ndarray) -> None:
        """Queue the copy of ``host`` (C-contiguous) to ``device_address``."""
        source = _bytes_of(host)
        for k, start in enumerate(range(0, source.size, self.chunk)):
            slot = k % SLOTS
            part = source[start:start + self.chunk]
            self._wait(slot)
            self._views[slot][:part.size] = part
            self._call("cuMemcpyHtoDAsync", self._driver.CUdeviceptr(device_address + start),
                       self._pointers[slot], part.size, self._stream)
            self._record(slot)

    def to_host(self, host: np.ndarray, device_address: int) -> None:
        """Copy into ``host`` (C-contiguous, writeable) from ``device_address``;
        returns when the data is there."""
        target = _bytes_of(host)
        starts = list(range(0, target.size, self.chunk))

        def fetch(k: int) -> None:
            slot, size = k % SLOTS, min(self.chunk, target.size - starts[k])
            self._wait(slot)  # an earlier copy may still be reading this buffer
            self._call("cuMemcpyDtoHAsync", self._pointers[slot],
                       self._driver.CUdeviceptr(device_address + starts[k]), size, self._stream)
            self._record(slot)

        for k in range(min(SLOTS, len(starts))):
            fetch(k)
        for k, start in enumerate(starts):
            slot = k % SLOTS
            self._wait(slot)
            size = min(self.chunk, target.size - start)
            target[start:start + size] = self._views[slot][:size]
            if k + SLOTS < len(starts):
                fetch(k + SLOTS)

    def close(self) -> None:
        """Wait for copies still using the buffers, then free them."""
        for slot in range(len(self._events)):
            self._wait(slot)
            self._call("cuEventDestroy", self._events[slot])
        self._events.clear()
        self._views.clear()
        for pointer in self._pointers:
            self._call("cuMemFreeHost", pointer)
        self._pointers.clear()

    def _wait(self, slot: int) -> None:
        if self._pending[slot]:
            self._call("cuEventSynchronize", self._events[slot])
            self._pending[slot] = False

    def _record(self, slot: int) -> None:
        self._call("cuEventRecord", self._events[slot], self._stream)
        self._pending[slot] = True


def _bytes_of(array: np.ndarray) -> np.ndarray:
    """The bytes of a C-contiguous array as a flat uint8 view (no copy)."""
    return array.reshape(-1).view(np.uint8)
