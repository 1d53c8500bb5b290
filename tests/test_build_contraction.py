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



def test_a_fastmath_library_leaves_subnormals_alone(tmp_path):
    # linked with -ffast-math, a library carries crtfastmath.o, which turns on
    # flush-to-zero for the whole process when it loads: afterwards CPython's
    # and NumPy's subnormals were 0 (cmath.log(1e-320) raised ValueError)
    from difftest import run_python

    (tmp_path / "fastmath_kernel.py").write_text(
        "def scaled(a):\n"
        "    s = 0.0\n"
        "    for i in range(a.shape[0]):\n"
        "        s += a[i] * 2.0\n"
        "    return s\n")
    out = run_python(f"""
        import numpy as np, sys
        sys.path.insert(0, {str(tmp_path)!r})
        from fastmath_kernel import scaled
        from hybridjit import jit

        assert jit(fastmath=True)(scaled)(np.ones(4)) == 8.0
        print(1e-320 * 1.0, float(np.array([1e-320])[0] * 1.0))
    """, env={"HYBRIDJIT_CACHE_DIR": str(tmp_path / "cache")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1e-320", "1e-320"], out.stdout
