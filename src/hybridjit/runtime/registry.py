"""Device registry and the services every device shares.

Contract:

- :func:`get_device(kind) <get_device>` returns the one device of ``kind``
  (``"opencl"``, ``"cuda"``) for this process, created lazily on first use, or
  ``None`` when it is unavailable; :func:`availability` says why.  Device
  modules are imported lazily (``hybridjit.runtime.<kind>``, exposing
  ``probe()`` and a device class), so a missing toolkit, or a device module
  not written yet, never breaks ``import hybridjit``.
- :func:`get_memory_manager(kind) <get_memory_manager>` returns the
  long-lived :class:`~hybridjit.runtime.memory.MemoryManager` of that device
  (resident ``DeviceArray`` data lives there across calls), and
  :func:`to_device` makes a ``DeviceArray`` on the preferred device.
- ``HYBRIDJIT_POISON=1`` (or a byte value such as ``0x7f``) makes new devices
  fill fresh allocations with that byte (``1`` means ``0xFF``: NaN for floats).
- Fault injection for testing fallbacks: :func:`check_fault` is called by
  devices before each operation; ``HYBRIDJIT_FAULT=build,alloc,launch,copy``
  (comma-separated) or :func:`inject_faults` makes it raise ``DeviceError``
  naming the API call, exactly like a real failure.
- :class:`BinaryCache` is the on-disk, content-addressed cache of compiled
  device programs (``HYBRIDJIT_CACHE_DIR``, else ``~/.cache/hybridjit``);
  writes are atomic, reads verify each program's recorded size and sha256
  (a damaged file is rebuilt with a warning), and an unwritable or untrusted
  directory degrades to no caching with a
  :class:`~hybridjit.errors.HybridJitWarning`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybridjit.errors import DeviceError, HybridJitWarning
from hybridjit.runtime import files
from hybridjit.runtime.device import Availability, Device

if TYPE_CHECKING:
    import numpy as np

    from hybridjit.runtime.device_array import DeviceArray
    from hybridjit.runtime.memory import MemoryManager

#: Accelerator kinds in order of preference for ``target="auto"``.
KINDS: tuple[str, ...] = ("cuda", "opencl")
_DEVICE_CLASSES = {"opencl": "OpenCLDevice", "cuda": "CUDADevice"}

FAULT_ENV = "HYBRIDJIT_FAULT"
POISON_ENV = "HYBRIDJIT_POISON"

_devices: dict[str, Device | None] = {}
_reasons: dict[str, str] = {}
_managers: dict[str, MemoryManager] = {}
_injected: set[str] = set()


# -- fault injection --------------------------------------------------------


def fault_requested(op: str) -> bool:
    """Whether operation ``op`` (build, alloc, launch, copy) must fail now."""
    if op in _injected:
        return True
    spec = os.environ.get(FAULT_ENV, "")
    return op in {part.strip() for part in spec.split(",")}


def check_fault(op: str, api_call: str) -> None:
    """Raise the DeviceError a failing ``api_call`` would, if ``op`` is injected."""
    if fault_requested(op):
        raise DeviceError(f"{api_call} failed: injected fault ({FAULT_ENV}={op})")


@contextlib.contextmanager
def inject_faults(*ops: str) -> Iterator[None]:
    """Make the given operations fail inside the ``with`` block (for tests)."""
    added = [op for op in ops if op not in _injected]
    _injected.update(added)
    try:
        yield
    finally:
        _injected.difference_update(added)


# -- environment knobs ------------------------------------------------------


def poison_byte_from_env() -> int | None:
    """The poison byte ``HYBRIDJIT_POISON`` asks for, or None."""
    value = os.environ.get(POISON_ENV, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return None
    if value in ("1", "true", "yes", "on"):
        return 0xFF
    try:
        return int(value, 0) & 0xFF
    except ValueError:
        return 0xFF


# -- on-disk program cache --------------------------------------------------


class BinaryCache:
    """Content-addressed files ``<root>/<namespace>/<sha256>.bin``.

    Each file starts with a header (magic, size and sha256 of the program
    that follows), written with it in one atomic rename; :meth:`get` returns
    only a program that matches its header from a file of this user's that no
    one else can write.  Anything else is a damaged entry: one warning, the
    file is deleted, and the caller builds the program again.
    """

    MAGIC = b"hybridjit-bin-1\n"
    _HEADER = len(MAGIC) + 8 + 32

    def __init__(self, namespace: str, root: Path | None = None) -> None:
        self.namespace = namespace
        self._root = root if root is not None else files.cache_root()
        self.directory = self._root / namespace
        self.enabled = True

    @staticmethod
    def key(*parts: str | bytes) -> str:
        """A hash of all ``parts``; each is length-prefixed so that no two
        different part lists can produce the same byte stream."""
        digest = hashlib.sha256()
        for part in parts:
            data = part.encode() if isinstance(part, str) else part
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
        return digest.hexdigest()

    def get(self, key: str) -> bytes | None:
        if not self.enabled:
            return None
        try:
            directory = files.cache_subdir(self._root, self.namespace, create=False)
        except files.UntrustedPath as e:
            self._disable(str(e))
            return None
        path = directory / f"{key}.bin"
        try:
            raw = files.read_checked(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            self._damaged(path, str(e))
            return None
        data = self._unpack(raw)
        if data is None:
            self._damaged(path, "it does not match its recorded size and sha256")
        return data

    def put(self, key: str, data: bytes) -> None:
        if not self.enabled:
            return
        try:
            directory = files.cache_subdir(self._root, self.namespace)
            files.atomic_write(directory / f"{key}.bin", self._pack(data))
        except OSError as e:
            self._disable(f"cannot write {self.directory}: {e}")

    @classmethod
    def _pack(cls, data: bytes) -> bytes:
        return cls.MAGIC + len(data).to_bytes(8, "little") + hashlib.sha256(data).digest() + data

    @classmethod
    def _unpack(cls, raw: bytes) -> bytes | None:
        if len(raw) < cls._HEADER or not raw.startswith(cls.MAGIC):
            return None
        size = int.from_bytes(raw[len(cls.MAGIC):len(cls.MAGIC) + 8], "little")
        data = raw[cls._HEADER:]
        if len(data) != size or hashlib.sha256(data).digest() != raw[cls._HEADER - 32:cls._HEADER]:
            return None
        return data

    def _damaged(self, path: Path, problem: str) -> None:
        with contextlib.suppress(OSError):
            path.unlink()
        if str(path) not in _damage_warned:
            _damage_warned.add(str(path))
            warnings.warn(
                f"hybridjit: the {self.namespace} cache entry {path} was damaged ({problem}); "
                "it is deleted and rebuilt", HybridJitWarning, stacklevel=3)

    def _disable(self, why: str) -> None:
        self.enabled = False
        warnings.warn(f"hybridjit: {self.namespace} cache disabled: {why}",
                      HybridJitWarning, stacklevel=3)


#: damaged binary cache files already warned about (once per file per process)
_damage_warned: set[str] = set()


# -- devices ------------------------------------------------------------------


def _device_module(kind: str) -> Any:
    if kind not in _DEVICE_CLASSES:
        raise ValueError(f"unknown device kind {kind!r}; expected one of {sorted(KINDS)}")
    try:
        return importlib.import_module(f"hybridjit.runtime.{kind}")
    except ImportError as e:
        # only a missing device module itself is "unavailable"; a broken one is a bug
        if e.name == f"hybridjit.runtime.{kind}":
            return None
        raise


def availability(kind: str) -> Availability:
    """Whether a device of ``kind`` can be used here, and why (not)."""
    if kind in _reasons and _devices.get(kind) is None:
        return Availability(False, _reasons[kind])
    module = _device_module(kind)
    if module is None:
        return Availability(False, f"hybridjit has no {kind} device support installed")
    result: Availability = module.probe()
    return result


def get_device(kind: str) -> Device | None:
    """The process-wide device of ``kind``, created on first use; None if
    unavailable (see :func:`availability` for the reason)."""
    if kind in _devices:
        return _devices[kind]
    device: Device | None = None
    avail = availability(kind)
    if avail.available:
        try:
            device = getattr(_device_module(kind), _DEVICE_CLASSES[kind])()
        except DeviceError as e:
            _reasons[kind] = str(e)
    else:
        _reasons[kind] = avail.reason
    if device is not None:
        poison = poison_byte_from_env()
        if poison is not None:
            device.poison_byte = poison
    _devices[kind] = device
    return device


def preferred_kind() -> str | None:
    """The first available accelerator kind in :data:`KINDS`, or None."""
    for kind in KINDS:
        if get_device(kind) is not None:
            return kind
    return None


def get_memory_manager(kind: str) -> MemoryManager | None:
    """The long-lived memory manager of the ``kind`` device (None if absent)."""
    if kind in _managers:
        return _managers[kind]
    device = get_device(kind)
    if device is None:
        return None
    from hybridjit.runtime.memory import MemoryManager

    _managers[kind] = MemoryManager(device)
    return _managers[kind]


def to_device(array: np.ndarray, kind: str | None = None) -> DeviceArray:
    """Copy ``array`` to the ``kind`` device (default: the preferred one)."""
    from hybridjit.runtime.device_array import DeviceArray

    chosen = kind if kind is not None else preferred_kind()
    manager = get_memory_manager(chosen) if chosen is not None else None
    if manager is None:
        why = availability(chosen).reason if chosen is not None else "no accelerator found"
        raise DeviceError(f"to_device: no usable device ({why})")
    return DeviceArray.from_host(array, manager)


def reset() -> None:
    """Close and forget all devices and managers (tests; env changes take effect)."""
    for manager in _managers.values():
        manager.close()
    _managers.clear()
    for device in _devices.values():
        if device is not None:
            with contextlib.suppress(DeviceError):  # a broken device is dropped all the same
                device.close()
    _devices.clear()
    _reasons.clear()


def accelerator_may_exist() -> bool:
    """A cheap guess (no toolkit import) whether an accelerator could be used:
    an NVIDIA driver library, or an OpenCL ICD other than PoCL's CPU device.
    ``target="auto"`` compiles the dispatch hook in only when this is True,
    so CPU-only machines pay nothing, not even a probe, on each process start."""
    import ctypes
    import glob

    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        pass
    icds = glob.glob("/etc/OpenCL/vendors/*.icd")
    return any("pocl" not in os.path.basename(p).lower() for p in icds)
