"""No fused multiply-add in a library built without fastmath.

GCC 12's vectoriser turns products shaped like a complex product (a
rotation ``c*x[2i] - s*x[2i+1], s*x[2i] + c*x[2i+1]``) into vfmaddsub even
under -ffp-contract=off, and a fused multiply-add rounds once where CPython
rounds twice.  ``runtime/cpu.build_extension`` finds such instructions in
what it built and builds again without the vectorisers.
"""

from __future__ import annotations

import shutil

import pytest

from hybridjit.runtime import cpu

ROTATION = r"""
void rotate(double *restrict x, double *restrict o, double c, double s, long n) {
    for (long i = 0; i < n; i++) {
        o[2 * i] = c * x[2 * i] - s * x[2 * i + 1];
        o[2 * i + 1] = s * x[2 * i] + c * x[2 * i + 1];
    }
}
"""


@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs objdump")
def test_a_rotation_builds_without_fused_multiply_adds(tmp_path):
    out = tmp_path / "rotation.so"
    cpu.build_extension(ROTATION, out, fastmath=False)
    assert out.exists()
    assert not cpu._fuses(out)

