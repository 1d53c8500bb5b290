"""A fuzzing run: generate, evaluate on worker processes, tally, minimise, report.

Contract: :func:`run` evaluates ``programs`` programs (program ``i`` of run
seed ``S`` has seed ``S * 1_000_000 + i``) on ``jobs`` worker processes,
prints one line per failing program and a summary, and writes under
``out``: ``results.jsonl`` (one line per program), ``summary.json``, and
for each failing program ``<category>/<seed>.py`` (a standalone repro of
the original) and, with ``minimise``, ``<category>/<seed>.min.py``.
Returns the summary dict.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compare import CATEGORIES, FAILURES, PASSING
from .gen import Program, generate
from .minimise import Minimiser, failure_key, primary_config
from .pool import PoolOptions, Worker
from .repro import write_repro
from .values import describe


@dataclass
class RunOptions:
    programs: int = 100
    seed: int = 0
    jobs: int = 2
    configs: list[str] = field(default_factory=lambda: ["auto", "serial", "opencl"])
    opencl_every: int = 1  # run the opencl configuration on every n-th program
    minimise: bool = False
    minimise_attempts: int = 400
    minimise_seconds: float = 300.0
    minimise_per_group: int = 0  # at most this many per failure signature (0: all)
    out: Path = Path("fuzz-out")
    timeout: float = 120.0
    threads: int = 4
    force_parallel: bool = True
    disabled: frozenset[str] = frozenset()
    keep_cache: bool = False
    verbose: bool = False
    first_index: int = 0
    program_seeds: list[int] | None = None  # run exactly these programs


def program_seed(run_seed: int, index: int) -> int:
    return run_seed * 1_000_000 + index


class Runner:
    def __init__(self, opts: RunOptions):
        self.opts = opts
        self.out = opts.out
        self.out.mkdir(parents=True, exist_ok=True)
        self.cache = Path(tempfile.mkdtemp(prefix="hybridjit-fuzz-cache-"))
        self.pool_opts = PoolOptions(out=self.out, cache_dir=self.cache, timeout=opts.timeout,
                                     threads=opts.threads, force_parallel=opts.force_parallel)
        self.local = threading.local()
        self.workers: list[Worker] = []
        self.lock = threading.Lock()
        self.counter = 0

    # workers ------------------------------------------------------------
    def worker(self) -> Worker:
        w = getattr(self.local, "worker", None)
        if w is None:
            with self.lock:
                w = Worker(self.pool_opts, len(self.workers))
                self.workers.append(w)
            self.local.worker = w
        return w

    def evaluate(self, job_id: str, source: str, specs: list[dict[str, Any]],
                 configs: list[str]) -> dict[str, Any]:
        job = {"id": job_id, "source": source, "entry": "f", "args": specs, "configs": configs}
        return self.worker().run(job)

    def configs_for(self, index: int) -> list[str]:
        cs = list(self.opts.configs)
        if "opencl" in cs and self.opts.opencl_every > 1 and index % self.opts.opencl_every:
            cs.remove("opencl")
        return cs

    def evaluate_program(self, index: int) -> tuple[Program, dict[str, Any]]:
        seeds = self.opts.program_seeds
        seed = seeds[index] if seeds else program_seed(self.opts.seed, index)
        prog = generate(seed, self.opts.disabled)
        result = self.evaluate(str(prog.seed), prog.source, prog.args, self.configs_for(index))
        return prog, result

    # reporting ----------------------------------------------------------
    def header(self, prog_seed: int, result: dict[str, Any], minimised: bool) -> str:
        lines = [f"hybridjit fuzz repro: {result['category']}"
                 + (" (minimised)" if minimised else ""),
                 f"program seed {prog_seed}: python -m fuzz --show {prog_seed}",
                 f"CPython:  {result.get('oracle', '')}"]
        for name, c in result.get("configs", {}).items():
            lines.append(f"{name + ':':9} {c['outcome']}")
            if c["category"] not in ("ok",):
                lines.append(f"          -> {c['category']} ({c['kind']}): "
                             f"{c['detail'].strip().splitlines()[0][:300] if c['detail'] else ''}")
        lines.append("Run: python THIS_FILE  (exit status 1 while it fails)")
        return "\n".join(lines).replace('"""', "'''").replace("\\", "\\\\")

    def write(self, prog: Program, source: str, specs: list[dict[str, Any]],
              result: dict[str, Any], minimised: bool) -> Path:
        from .gen import Program as P

        cat = result["category"]
        name = f"{prog.seed}{'.min' if minimised else ''}.py"
        path = self.out / cat / name
        configs = list(result.get("configs", {})) or self.opts.configs
        params = P(prog.seed, source, "f", specs, set()).param_names
        return write_repro(path, source, "f", specs, configs,
                           self.header(prog.seed, result, minimised), params)

    def minimise(self, prog: Program, result: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
        config = primary_config(result)
        assert config is not None
        key = failure_key(result, config)
        assert key is not None
        n = [0]

        def evaluate(source: str, specs: list[dict[str, Any]]) -> dict[str, Any]:
            n[0] += 1
            return self.evaluate(f"m{prog.seed}-{n[0]}", source, specs, [config])

        m = Minimiser(evaluate, prog.source, prog.args, config, key,
                      self.opts.minimise_attempts, self.opts.minimise_seconds)
        source, specs = m.run()
        final = self.evaluate(f"m{prog.seed}-final", source, specs,
                              list(result.get("configs", {})) or self.opts.configs)
        if final["category"] in (*PASSING, "invalid"):
            final = dict(result)  # flaky: keep the original verdicts
        path = self.write(prog, source, specs, final, minimised=True)
        return path, final

    def to_minimise(self, failures: list[tuple[Program, dict[str, Any]]]
                    ) -> list[tuple[Program, dict[str, Any]]]:
        """Failures to minimise: all, or the first few of each signature."""
        out = []
        seen: Counter[tuple[str, ...]] = Counter()
        for p, r in failures:
            if r["category"] not in FAILURES:
                continue
            sig = tuple(sorted(c["signature"] for c in r["configs"].values()
                               if c["category"] in FAILURES))
            seen[sig] += 1
            if not self.opts.minimise_per_group or seen[sig] <= self.opts.minimise_per_group:
                out.append((p, r))
        return out

    # the run ------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        o = self.opts
        t0 = time.time()
        counts: Counter[str] = Counter()
        per_config: dict[str, Counter[str]] = {}
        groups: dict[str, dict[str, Any]] = {}
        features: Counter[str] = Counter()
        failures: list[tuple[Program, dict[str, Any]]] = []
        launches = 0
        results_f = open(self.out / "results.jsonl", "w")  # noqa: SIM115
        try:
            with ThreadPoolExecutor(max_workers=o.jobs) as ex:
                indices = range(len(o.program_seeds)) if o.program_seeds else \
                    range(o.first_index, o.first_index + o.programs)
                futs = [ex.submit(self.evaluate_program, i) for i in indices]
                for done, fut in enumerate(as_completed(futs), 1):
                    prog, result = fut.result()
                    cat = result["category"]
                    counts[cat] += 1
                    features.update(prog.features)
                    sigs: dict[str, list[str]] = {}
                    for name, c in result.get("configs", {}).items():
                        per_config.setdefault(name, Counter())[c["category"]] += 1
                        launches += int(c.get("launches", 0))
                        if c["category"] in FAILURES:
                            sigs.setdefault(c["signature"], []).append(name)
                    if cat == "invalid":
                        sigs["invalid:" + result.get("invalid", "")[:100]] = []
                    for sig, names in sigs.items():
                        g = groups.setdefault(sig, {"configs": set(), "seeds": []})
                        g["configs"].update(names)
                        g["seeds"].append(prog.seed)
                    results_f.write(json.dumps({"seed": prog.seed, **result,
                                                "features": sorted(prog.features)}) + "\n")
                    results_f.flush()
                    if cat in FAILURES or cat == "invalid":
                        failures.append((prog, result))
                        path = self.write(prog, prog.source, prog.args, result, False) \
                            if cat != "invalid" else None
                        bad = [f"{n}={c['category']}({c['kind']})"
                               for n, c in result.get("configs", {}).items()
                               if c["category"] not in PASSING]
                        print(f"[{done}/{o.programs}] seed {prog.seed}: {cat} "
                              f"{' '.join(bad)} {path or result.get('invalid', '')[:200]}",
                              flush=True)
                    elif o.verbose or done % 50 == 0:
                        print(f"[{done}/{o.programs}] {dict(counts)} "
                              f"{time.time() - t0:.0f}s", flush=True)
                minimised: dict[int, str] = {}
                if o.minimise:
                    mfuts = {ex.submit(self.minimise, p, r): p
                             for p, r in self.to_minimise(failures)}
                    for fut in as_completed(mfuts):
                        p = mfuts[fut]
                        try:
                            path, _ = fut.result()
                        except Exception as exc:  # keep the run's results
                            print(f"minimising seed {p.seed} failed: {exc!r}")
                            continue
                        minimised[p.seed] = str(path)
                        print(f"\n=== seed {p.seed} minimised: {path}\n{path.read_text()}",
                              flush=True)
        finally:
            results_f.close()
            for w in self.workers:
                w.close()
            if not o.keep_cache:
                shutil.rmtree(self.cache, ignore_errors=True)
        elapsed = time.time() - t0
        summary = {
            "programs": o.programs, "seed": o.seed, "configs": o.configs,
            "counts": {c: counts.get(c, 0) for c in CATEGORIES},
            "per_config": {k: dict(v) for k, v in per_config.items()},
            "groups": [{"signature": k, "configs": sorted(v["configs"]), "seeds": v["seeds"]}
                       for k, v in sorted(groups.items(), key=lambda kv: -len(kv[1]["seeds"]))],
            "device_launches": launches,
            "features": dict(sorted(features.items())),
            "seconds": round(elapsed, 1),
            "failures": [p.seed for p, r in failures if r["category"] in FAILURES],
            "minimised": minimised,
            "compiler": sorted({w.compiler for w in self.workers if w.compiler}),
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=1))
        print_summary(summary)
        return summary


def print_summary(s: dict[str, Any]) -> None:
    c = s["counts"]
    print("\n==== hybridjit fuzz summary ====")
    print(f"programs {s['programs']} (seed {s['seed']}, configs {','.join(s['configs'])}) in "
          f"{s['seconds']:.0f} s")
    if s.get("compiler"):
        print(f"compiler: {', '.join(s['compiler'])}")
    print(f"ok {c['ok']}  ok-typeerror {c['ok-typeerror']}  departures {c['departure']}  "
          f"mismatches {c['mismatch']}  "
          f"crashes {c['crash']}  refused {c['refused']}  internal errors {c['internal']}  "
          f"timeouts {c['timeout']}  device fallbacks {c['fallback']}  "
          f"invalid (generator) {c['invalid']}")
    for name, cc in s["per_config"].items():
        print(f"  {name:>7}: " + "  ".join(f"{k} {v}" for k, v in sorted(cc.items())))
    if s.get("device_launches"):
        print(f"  device kernel launches: {s['device_launches']}")
    if s["groups"]:
        print("failure groups (programs, configurations, category:kind:normalised detail):")
        for g in s["groups"][:40]:
            seeds = g["seeds"]
            more = f" (+{len(seeds) - 4})" if len(seeds) > 4 else ""
            print(f"  {len(seeds):4d}  {','.join(g['configs']) or '-':18} {g['signature'][:140]}"
                  f"\n        e.g. {seeds[:4]}{more}")


def show(seed: int, disabled: frozenset[str] = frozenset()) -> str:
    prog = generate(seed, disabled)
    return (f"{prog.source}\n# arguments: {describe(prog.args)}\n# specs: "
            f"{json.dumps(prog.args)}\n# features: {', '.join(sorted(prog.features))}\n")
