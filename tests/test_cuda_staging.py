"""Pinned staging of large CUDA copies, on the emulated driver (no GPU needed).

The emulator runs queued copies only when the stream or an event is
synchronised, reading host memory then, as a copy engine reading pinned
memory does: a staging buffer refilled before its previous copy finished
shows up as wrong data.  Chunks are made tiny and odd-sized (so element
boundaries fall inside chunks) and the threshold 1 byte, so every copy of
the differential runs is staged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import loop_kernels
from conftest import fresh_device
from hybridjit import config, jit
from hybridjit.runtime import cuda_staging, registry
from hybridjit.runtime.cuda import CUDADevice

CHUNK = 40  # bytes: five float64, or four and a half float64 at an odd offset


@pytest.fixture
def staged(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A poisoned CUDA device on the emulator that stages every copy in CHUNK-byte pieces."""
    fresh_device("cuda-emu", monkeypatch)
    monkeypatch.setenv("HYBRIDJIT_CUDA_STAGING", "1")
    monkeypatch.setattr(cuda_staging, "CHUNK_BYTES", CHUNK)
    device = registry.get_device("cuda")
    assert isinstance(device, CUDADevice) and device.poison_byte == 0xFF
    yield device
    registry.reset()


def test_threshold_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYBRIDJIT_CUDA_STAGING", raising=False)
    assert config.cuda_staging_min_bytes() == config.CUDA_STAGING_DEFAULT == 8 << 20
    for text, value in [("0", None), ("4096", 4096), ("0x100", 256), ("many", 8 << 20)]:
        monkeypatch.setenv("HYBRIDJIT_CUDA_STAGING", text)
        assert config.cuda_staging_min_bytes() == value


@pytest.mark.parametrize("n", [1, 4, 5, 6, 9, 10, 11, 51])
def test_round_trip_through_staging_at_an_odd_offset(staged: CUDADevice, n: int) -> None:
    data = np.random.default_rng(n).random(n)
    buf = staged.alloc((n + 2) * 8)
    staged.copy_in(buf, 12, data)  # 12: not a multiple of the element size
    data_before = data.copy()
    data[:] = -1.0  # staged: the device must get the old values all the same
    back = np.empty(n)
    staged.copy_out(buf, 12, back)
    np.testing.assert_array_equal(back, data_before)
    whole = np.empty((n + 2) * 8, np.uint8)
    staged.copy_out(buf, 0, whole)
    assert (whole[:12] == 0xFF).all() and (whole[12 + 8 * n:] == 0xFF).all()  # poison kept
    staged.free(buf)


def test_refilling_a_busy_buffer_would_be_caught(staged: CUDADevice,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the event waits, later chunks overwrite buffers whose copies
    have not run yet: the emulator delivers wrong data, so the test above
    would fail on such a bug."""
    data = np.arange(20, dtype=np.float64)
    buf = staged.alloc(data.nbytes)
    with monkeypatch.context() as patch:
        patch.setattr(cuda_staging.PinnedStaging, "_wait", lambda self, slot: None)
        staged.copy_in(buf, 0, data)
        staged.synchronize()
    back = np.zeros_like(data)
    staged.copy_out(buf, 0, back)
    assert not np.array_equal(back, data)


def test_close_frees_the_pinned_buffers(staged: CUDADevice) -> None:
    buf = staged.alloc(64)
    staged.copy_in(buf, 0, np.ones(8))
    driver = staged.driver
    assert len(driver.pinned) == cuda_staging.SLOTS
    staged.free(buf)
    staged.close()
    assert not driver.pinned and not driver.queue


def test_small_copies_skip_staging(staged: CUDADevice, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDJIT_CUDA_STAGING", "1024")
    buf = staged.alloc(800)
    staged.copy_in(buf, 0, np.ones(100))
    assert not staged.driver.pinned


@pytest.mark.parametrize("steps", [1, 4])
def test_offloaded_jacobi_with_every_copy_staged(staged: CUDADevice, steps: int) -> None:
    fn = jit(loop_kernels.jacobi, target="cuda")
    rng = np.random.default_rng(steps)
    A, B = rng.random((11, 13)), rng.random((11, 13))
    A_py, B_py = A.copy(), B.copy()
    fn(A, B, steps)
    loop_kernels.jacobi(A_py, B_py, steps)
    np.testing.assert_allclose(A, A_py, rtol=1e-12)
    np.testing.assert_allclose(B, B_py, rtol=1e-12)
    regions = fn.last_stats["regions"]
    assert [r["target"] for r in regions] == ["cuda", "cuda"], regions
    assert len(staged.driver.pinned) == cuda_staging.SLOTS  # the staging was used
