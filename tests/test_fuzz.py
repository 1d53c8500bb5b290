"""The random-program fuzzer (``python -m fuzz``) on a fixed seed and a small budget.

Generated programs inside the documented subset run under CPython and
compiled (``parallel="auto"``, ``parallel=False`` and, where PoCL or another
OpenCL device is present, ``target="opencl"``); any mismatch, crash, refusal,
internal error, timeout or device fallback fails the test, printing the
standalone repro of each failing program (and a minimised one for the first
few).  Deselect with ``-m "not fuzz"``.  A bigger run: see README, "Fuzzing".
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fuzz.compare import FAILURES  # noqa: E402
from fuzz.runner import Runner, RunOptions  # noqa: E402

pytestmark = pytest.mark.fuzz

SEED = 20240611
PROGRAMS = 100
MINIMISE_FIRST = 2  # failures minimised (small budget) for the report
SHOW_FIRST = 6  # failures whose original repro is printed


def _opencl_available() -> bool:
    try:
        from hybridjit.runtime import registry

        return bool(registry.availability("opencl").available)
    except Exception:
        return False


def test_fuzz_fixed_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configs = ["auto", "serial"] + (["opencl"] if _opencl_available() else [])
    opts = RunOptions(programs=PROGRAMS, seed=SEED, jobs=2, configs=configs,
                      out=tmp_path / "fuzz", timeout=90.0, minimise=False)
    runner = Runner(opts)
    with capsys.disabled():
        summary = runner.run()
    failing = summary["failures"]
    if not failing:
        assert summary["counts"]["invalid"] == 0, "the generator left the subset"
        return
    report = []
    for seed in failing[:SHOW_FIRST]:
        for cat in FAILURES:
            path = tmp_path / "fuzz" / cat / f"{seed}.py"
            if path.exists():
                report.append(f"---- {path.name} ({cat})\n{path.read_text()}")
    minimised = _minimise_some(runner, failing[:MINIMISE_FIRST])
    pytest.fail(f"{len(failing)} of {PROGRAMS} generated programs fail "
                f"({summary['counts']}, seeds {failing}); rerun one with python <repro>.py, or "
                f"python -m fuzz --programs {PROGRAMS} --seed {SEED} --minimise\n\n"
                + "\n".join(minimised + report), pytrace=False)


def _minimise_some(runner: Runner, seeds: list[int]) -> list[str]:
    """Minimised repros of a few failures, on a small budget."""
    import json

    from fuzz.gen import generate

    results = {}
    for line in (runner.out / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        results[r["seed"]] = r
    runner.opts.minimise_attempts = 60
    runner.opts.minimise_seconds = 40.0
    runner.cache.mkdir(parents=True, exist_ok=True)
    out = []
    try:
        for seed in seeds:
            prog = generate(seed)
            try:
                path, _ = runner.minimise(prog, results[seed])
            except Exception as exc:  # the plain repro is printed anyway
                out.append(f"---- minimising {seed} failed: {exc!r}")
                continue
            out.append(f"---- minimised {path.name}\n{path.read_text()}")
    finally:
        for w in runner.workers:
            w.close()
        shutil.rmtree(runner.cache, ignore_errors=True)
    return out


def test_complex_programs_share_and_switch() -> None:
    """A modest share of programs use complex numbers (feature "complex"),
    none with it switched off; the other programs do not change."""
    from fuzz.gen import generate

    seeds = range(SEED * 1_000_000, SEED * 1_000_000 + 200)
    with_complex = [s for s in seeds if "complex" in generate(s).features]
    assert 10 <= len(with_complex) <= 50
    off = frozenset({"complex"})
    assert not any("complex" in generate(s, off).features for s in with_complex[:5])
    plain = next(s for s in seeds if s not in with_complex)
    assert generate(plain).source == generate(plain, off).source


def test_complex_values_and_comparison() -> None:
    """Complex arguments survive the repro's literals bit for bit (signed
    zeros, nan, inf); results compare part by part, NaN equal to NaN."""
    import numpy as np
    from fuzz.compare import diff
    from fuzz.values import args_code, build_args

    specs = [{"kind": "scalar", "type": "py_complex", "value": "complex(-0.0, float('nan'))"},
             {"kind": "scalar", "type": "complex64", "value": "complex(1.5, -0.0)"},
             {"kind": "array", "dtype": "complex64", "shape": [3, 2], "view": "transposed",
              "seed": 5, "range": "small", "edges": True}]
    values = build_args(specs)
    ns: dict = {"np": np}
    exec("\n".join(args_code(specs, ["x", "y", "a"])), ns)
    for want, name in zip(values, ["x", "y", "a"]):
        got = ns[name]
        assert type(got) is type(want)
        assert np.asarray(want).tobytes() == np.asarray(got).tobytes()
    nan = float("nan")
    assert diff(complex(nan, 1.0), complex(nan, 1.0)) is None
    assert diff(complex(0.0, 1.0), complex(-0.0, 1.0)) is not None
    assert diff(1j, np.complex128(1j))[0] == "type"
    one_ulp = np.complex64(complex(np.nextafter(np.float32(1), np.float32(2)), 2.0))
    assert diff(np.complex64(1 + 2j), one_ulp)[0] == "ulp"
