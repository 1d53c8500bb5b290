"""The CUDA driver emulator's own checks fire (a test double that cannot fail
would make the cuda-emu target worthless)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from conftest import fresh_device
from cuda_emulator import EmulationError, kernel_signatures
from hybridjit.runtime import registry
from hybridjit.runtime.cuda import CUDADevice
from hybridjit.runtime.device import KernelArg

FILL = """
extern "C" __global__ void fill(double *a, long long n, double v) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < n) a[i] = v + (double)i;
}
"""

OVERRUN = """
extern "C" __global__ void overrun(double *a, long long n) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i <= n) a[i] = 1.0;
}
"""

BLOCK_SUM = """
extern "C" __global__ void block_sum(const int *a, int *out) {
    __shared__ int part[64];
    part[threadIdx.x] = a[blockIdx.x * 64 + threadIdx.x];
    __syncthreads();
    for (int w = 32; w > 0; w >>= 1) {
        if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = part[0];
}
"""

I64, F64 = np.dtype(np.int64), np.dtype(np.float64)


@pytest.fixture
def device(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fresh_device("cuda-emu", monkeypatch)
    dev = registry.get_device("cuda")
    assert isinstance(dev, CUDADevice)
    yield dev
    registry.reset()


def test_signatures_are_parsed() -> None:
    assert kernel_signatures(FILL) == {"fill": ["double *", "long long", "double"]}


def test_kernels_run_and_work_waits_for_the_stream(device: Any) -> None:
    buf = device.alloc(10 * 8)
    device.launch(device.build(FILL), "fill", (10,), [
        KernelArg(buf), KernelArg(10, I64), KernelArg(0.5, F64)])
    assert device.driver.queue  # queued, not yet run
    out = np.empty(10)
    device.copy_out(buf, 0, out)
    np.testing.assert_array_equal(out, 0.5 + np.arange(10))


def test_barriers_make_shared_memory_reductions_work(device: Any) -> None:
    a = np.arange(256, dtype=np.int32)
    src, dst = device.alloc(a.nbytes), device.alloc(16)
    device.copy_in(src, 0, a)
    device.launch(device.build(BLOCK_SUM), "block_sum", (256,),
                  [KernelArg(src), KernelArg(dst)], local_size=(64,))
    out = np.empty(4, np.int32)
    device.copy_out(dst, 0, out)
    np.testing.assert_array_equal(out, a.reshape(4, 64).sum(axis=1))


def test_argument_of_the_wrong_size_is_caught(device: Any) -> None:
    buf = device.alloc(80)
    i32 = np.dtype(np.int32)
    with pytest.raises(EmulationError, match="argument 1 is i32 but parameter 'long long'"):
        device.launch(device.build(FILL), "fill", (10,), [
            KernelArg(buf), KernelArg(10, i32), KernelArg(0.5, F64)])


def test_argument_of_the_wrong_kind_is_caught(device: Any) -> None:
    buf = device.alloc(80)
    with pytest.raises(EmulationError, match="argument 2 is i64 but parameter 'double'"):
        device.launch(device.build(FILL), "fill", (10,), [
            KernelArg(buf), KernelArg(10, I64), KernelArg(5, I64)])


def test_write_past_the_end_is_caught(device: Any) -> None:
    buf = device.alloc(10 * 8)
    device.launch(device.build(OVERRUN), "overrun", (11,), [KernelArg(buf), KernelArg(10, I64)])
    with pytest.raises(EmulationError, match="wrote outside the 80-byte allocation"):
        device.synchronize()


def test_copy_past_the_end_is_caught(device: Any) -> None:
    buf = device.alloc(16)
    with pytest.raises(EmulationError, match="not inside one device allocation"):
        device.driver.cuMemcpyHtoDAsync(int(buf.handle) + 8, np.zeros(2).ctypes.data, 16, 0)
