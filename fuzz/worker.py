"""A worker process: runs programs under the oracle and each configuration.

Contract: ``python -m fuzz.worker DIR`` reads jobs, one JSON object a line,
from stdin (``{"id", "source", "entry", "args", "configs"}``) and answers on
its original stdout (file descriptor 1 is pointed at stderr, so nothing the
compiled code prints can corrupt the protocol): ``{"event": "ready"}`` once,
``{"event": "start", "config": name}`` before each configuration (so the
parent knows what was running if the process dies) and ``{"event": "done",
"result": {...}}`` per job.  Programs are written under ``DIR`` (the
compiler reads source files) as modules named by their content's hash.

The environment is the parent's business (a private HYBRIDJIT_CACHE_DIR,
HYBRIDJIT_POISON=1, OMP_NUM_THREADS).  With ``FUZZ_FORCE_PARALLEL=1`` the
work threshold of automatically parallelised loops is lowered so that they
really run on several threads even with a few iterations (the generated C
otherwise keeps small loops serial through an OpenMP ``if()``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np

#: name -> jit options
CONFIGS: dict[str, dict[str, Any]] = {
    "auto": {"parallel": "auto", "target": "cpu"},
    "serial": {"parallel": False, "target": "cpu"},
    "prange": {"parallel": True, "target": "cpu"},
    "opencl": {"parallel": "auto", "target": "opencl"},
}
TARGET_CONFIGS = {"cpu": ["auto", "serial"], "opencl": ["opencl"]}


def force_parallel() -> None:
    """Make every automatically parallelised loop run threaded (see above)."""
    from hybridjit.transform import parallelize

    parallelize.AUTO_WORK_THRESHOLD = 1


def load_module(source: str, directory: Path) -> Any:
    name = "fz_" + hashlib.sha1(source.encode()).hexdigest()[:16]
    if name in sys.modules:
        return sys.modules[name]
    # Forget earlier programs: hybridjit's disk cache validates a cached entry
    # function against the globals of the module it was compiled in while that
    # module is loaded, so an identical ``f`` in another program (minimiser
    # candidates) would reuse code compiled against the other program's helpers.
    for old in [k for k in sys.modules if k.startswith("fz_")]:
        del sys.modules[old]
    path = directory / f"{name}.py"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(source)
        tmp.rename(path)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _quiet() -> Any:
    import contextlib

    stack = contextlib.ExitStack()
    stack.enter_context(np.errstate(all="ignore"))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    return stack


def run_oracle(source: str, entry: str, args: tuple[Any, ...]) -> tuple[Any, Any]:
    """(Outcome, Clone) of the oracle on a clone of ``args``."""
    from difftest import Clone

    from .compare import Outcome
    from .oracle import Departure, OutsideSubset, load_oracle, raise_line

    mod = load_oracle(source)
    clone = Clone(args)
    with _quiet():
        try:
            value = getattr(mod, entry)(*clone.args)
        except Departure as exc:
            return Outcome("departure", message=str(exc)), clone
        except OutsideSubset as exc:
            return Outcome.from_exception("raise", exc), clone
        except Exception as exc:
            return Outcome.from_exception("raise", exc, raise_line(exc)), clone
    return Outcome("return", value, arrays=clone.arrays()), clone


def classify_compiled(fn: Any, exc: BaseException) -> str:
    from hybridjit import BuildError, DeviceError, HybridJitError, InternalError

    if isinstance(exc, (InternalError, BuildError, DeviceError)):
        return "internal"
    if isinstance(exc, HybridJitError):
        return "refused"
    compiled = bool(fn.signatures)
    if not compiled:
        if isinstance(exc, TypeError) and "unsupported type" in str(exc):
            return "refused"
        return "internal"
    return "raise"


def run_compiled(fn: Any, args: tuple[Any, ...]) -> Any:
    from difftest import Clone

    from .compare import Outcome

    clone = Clone(args)
    with _quiet():
        try:
            value = fn(*clone.args)
        except Exception as exc:
            status = classify_compiled(fn, exc)
            loc = getattr(exc, "loc", None)
            out = Outcome.from_exception(status, exc, getattr(loc, "line", 0) or 0)
            if status == "internal" and type(exc).__module__.split(".")[0] != "hybridjit":
                # a Python error escaping the compiler: where it came from
                tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
                out.message = f"{exc}\n" + "".join(tb)[-2500:]
            return out
    return Outcome("return", value, arrays=clone.arrays(),
                   outside_intact=clone.outside_bytes_intact())


def uses_np_transcendental(source: str) -> bool:
    from .oracle import LIBM_NAMES

    return re.search(r"\bnp\.(" + "|".join(LIBM_NAMES) + r")\(", source) is not None


def uses_cmath_transcendental(source: str) -> bool:
    """The program calls a ``cmath`` function hybridjit computes with the C
    library (not ``phase`` or the predicates, which are exact)."""
    from .tables import CMATH_INEXACT

    return re.search(r"\bcmath\.(" + "|".join(CMATH_INEXACT) + r")\(", source) is not None


def run_job(job: dict[str, Any], directory: Path, emit: Any) -> dict[str, Any]:
    from hybridjit import jit

    from .compare import EXPECTED_RAISES, verdict, worst
    from .values import build_args

    t0 = time.time()
    source, entry = job["source"], job["entry"]
    args = build_args(job["args"])
    expected, _ = run_oracle(source, entry, args)
    result: dict[str, Any] = {"id": job["id"], "oracle": expected.describe(),
                              "oracle_status": expected.status, "configs": {}}
    if expected.status == "departure":
        result["category"] = "departure"
        result["departure"] = expected.message
        result["time"] = time.time() - t0
        return result
    if (expected.status == "raise" and expected.exc_type not in EXPECTED_RAISES
            and not expected.type_error) \
            or "negative integer powers" in expected.message:
        result["category"] = "invalid"
        result["invalid"] = f"CPython raises {expected.exc_type}: {expected.message}"
        result["time"] = time.time() - t0
        return result
    mod = load_module(source, directory)
    cats = []
    for name in job["configs"]:
        emit({"event": "start", "config": name})
        t1 = time.time()
        fn = jit(**CONFIGS[name])(getattr(mod, entry))
        fallbacks: list[str] = []
        if name == "opencl":
            from hybridjit.runtime import offload

            offload.FALLBACKS.clear()
        got = run_compiled(fn, args)
        if name == "opencl":
            from hybridjit.runtime import offload

            fallbacks = list(offload.FALLBACKS)
        v = verdict(expected, got, name, uses_np_transcendental(source),
                    uses_cmath_transcendental(source))
        if v.category == "ok" and fallbacks:
            v.category, v.kind, v.detail = "fallback", "device error", "; ".join(fallbacks)
        entry_info: dict[str, Any] = {
            "category": v.category, "kind": v.kind, "detail": v.detail,
            "outcome": got.describe(), "signature": v.signature(),
            "time": round(time.time() - t1, 3),
        }
        stats = getattr(fn, "last_stats", None)
        if name == "opencl" and isinstance(stats, dict):
            entry_info["launches"] = int(stats.get("launches", 0))
        result["configs"][name] = entry_info
        cats.append(v.category)
    result["category"] = worst(cats)
    result["time"] = time.time() - t0
    return result


def main() -> None:
    directory = Path(sys.argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if os.environ.get("FUZZ_FORCE_PARALLEL", "1") not in ("", "0"):
        force_parallel()

    def emit(msg: dict[str, Any]) -> None:
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    import hybridjit

    emit({"event": "ready", "pid": os.getpid(), "hybridjit": hybridjit.__file__})
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        try:
            result = run_job(job, directory, emit)
        except Exception:
            result = {"id": job.get("id"), "category": "invalid",
                      "invalid": "worker error: " + traceback.format_exc()[-3000:],
                      "configs": {}}
        emit({"event": "done", "result": result})


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    main()
