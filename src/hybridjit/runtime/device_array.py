"""Device-resident arrays: data that stays on a device across calls.

Contract: :class:`DeviceArray` (``hybridjit.to_device``) has a host array's
``shape``/``dtype``/``ndim``/``size``/``nbytes``; its data lives in a
*resident* mirror of a :class:`~hybridjit.runtime.memory.MemoryManager`,
fully valid on the device, backed by a private C-contiguous host copy that may
be stale.  Jitted functions given one pass it (or ``d.host_storage``) to
``d.manager`` like any array, and since the device holds all of it nothing
moves; ``to_host()`` / ``np.asarray(d)`` copy back only the stale bytes and
return a new host array.  Dropping the last reference (or ``free()``) frees
the device buffer without copying anything back.

On a CUDA device a DeviceArray exposes ``__cuda_array_interface__`` (version
3), so CuPy, PyTorch and Numba use its memory in place
(``cupy.asarray(d)``): reading the property first copies host-newer bytes to
the device and synchronises the device, hence ``stream`` is None (nothing
left for the consumer to wait for); from then on the host copy counts as
stale, since the consumer may write the memory (the next host read of ``d``
copies it back).  The pointer stays valid while ``d`` lives.  On other
devices the attribute does not exist (``hasattr`` is False).
DLPack is not exported: ``__dlpack__`` would need a capsule with a C deleter,
and ``__dlpack_device__`` alone would advertise a protocol we cannot honour.

:meth:`DeviceArray.adopt` makes DeviceArrays over device memory that already
holds their data (another library's, see :mod:`~hybridjit.runtime.interop`):
their host side is the given shadow views, stale at first; ``free()`` drops
the mirror of all of them and leaves the memory to its owner.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from hybridjit.runtime.device import Buffer, Device
from hybridjit.runtime.memory import MemoryManager, Mirror


class DeviceArray:
    """An array whose data lives on a device across calls (``to_device``).

    It keeps a private C-contiguous host copy as the backing store of a
    *resident* mirror that stays allocated between calls; the host copy may be
    stale.  ``to_host()`` / ``np.asarray(d)`` copy back what is stale and
    return a new array.  The dispatcher passes ``d`` (or ``d.host_storage``)
    to the memory manager ``d.manager`` like any array: as the device holds
    all of it, that moves nothing.  Dropping the last reference frees the
    device buffer."""

    def __init__(self, host_storage: np.ndarray, manager: MemoryManager) -> None:
        manager.track(host_storage, resident=True)
        self._attach(host_storage, manager)

    def _attach(self, host_storage: np.ndarray, manager: MemoryManager) -> None:
        self.host_storage = host_storage
        self.manager = manager
        # free the device buffer when the DeviceArray goes away (no copy back)
        self._finalizer = weakref.finalize(self, manager.discard, host_storage)
        self._finalizer.atexit = False  # the device library may be gone by then

    @classmethod
    def adopt(
        cls, views: Sequence[np.ndarray], buffer: Buffer, manager: MemoryManager
    ) -> list[DeviceArray]:
        """DeviceArrays over ``buffer``, device memory that already holds the
        data of ``views`` (host views of one private shadow block, laid out
        like the device memory; see ``MemoryManager.adopt``).  No transfer."""
        manager.adopt(views, buffer)
        arrays = []
        for view in views:
            d = cls.__new__(cls)
            d._attach(view, manager)
            arrays.append(d)
        return arrays

    @classmethod
    def from_host(cls, array: Any, manager: MemoryManager) -> DeviceArray:
        """A copy of ``array`` on the device (one transfer of its bytes)."""
        storage = np.array(array, order="C", copy=True)
        result = cls(storage, manager)
        manager.prepare_read(storage)
        return result

    @classmethod
    def empty(cls, shape: tuple[int, ...], dtype: Any, manager: MemoryManager) -> DeviceArray:
        """Uninitialised device data (e.g. for a kernel to fill); no transfer."""
        return cls(np.empty(shape, dtype=dtype), manager)

    @property
    def mirror(self) -> Mirror:
        return self.manager.track(self.host_storage, resident=True)

    @property
    def device(self) -> Device:
        return self.manager.device

    @property
    def shape(self) -> tuple[int, ...]:
        return self.host_storage.shape

    @property
    def dtype(self) -> np.dtype:
        return self.host_storage.dtype

    @property
    def ndim(self) -> int:
        return self.host_storage.ndim

    @property
    def size(self) -> int:
        return self.host_storage.size

    @property
    def nbytes(self) -> int:
        return self.host_storage.nbytes

    def __len__(self) -> int:
        return len(self.host_storage)

    def to_host(self) -> np.ndarray:
        """A new host array with the current contents."""
        self.manager.sync_to_host(self.host_storage)
        return self.host_storage.copy()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("a DeviceArray cannot be viewed on the host without a copy")
        host = self.to_host()
        return host if dtype is None else host.astype(dtype, copy=False)

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        """Version 3 of the CUDA Array Interface (CUDA devices only)."""
        device = self.device
        if device.kind != "cuda":
            raise AttributeError(
                f"__cuda_array_interface__: this DeviceArray lives on the {device.kind} "
                "device, not on a CUDA GPU")
        host = self.host_storage
        # the consumer may write the memory: the device copy becomes the truth
        self.manager.sync_to_device(host, invalidate_host=True)
        device.synchronize()  # so that consumers need not wait: stream None
        mirror = self.mirror
        pointer = int(mirror.buffer.handle) + mirror.offset_of(host) if host.size else 0
        return {
            "shape": host.shape,
            "typestr": host.dtype.str,
            "data": (pointer, False),
            "strides": None if host.flags.c_contiguous else host.strides,
            "version": 3,
            "stream": None,
        }

    def free(self) -> None:
        """Release the device memory now (the DeviceArray becomes unusable)."""
        self._finalizer()

    def __repr__(self) -> str:
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype}, device={self.device.name!r})"
