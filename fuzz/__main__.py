"""Command line: ``python -m fuzz --programs N --seed S --jobs J ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# the checkout's own compiler (src/), as the workers import it (pool.py)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from .gen import FEATURES
from .runner import Runner, RunOptions, show
from .worker import CONFIGS, TARGET_CONFIGS


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    p.add_argument("--programs", type=int, default=100, help="programs to run (default 100)")
    p.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--targets", default="cpu,opencl",
                   help="cpu (configs auto,serial) and/or opencl (default cpu,opencl)")
    p.add_argument("--configs", default=None,
                   help=f"explicit configurations, from {','.join(CONFIGS)}")
    p.add_argument("--opencl-every", type=int, default=1,
                   help="run opencl on every n-th program only (default 1: all)")
    p.add_argument("--minimise", "--minimize", action="store_true",
                   help="minimise each failing program")
    p.add_argument("--minimise-attempts", type=int, default=400)
    p.add_argument("--minimise-seconds", type=float, default=300.0)
    p.add_argument("--minimise-per-group", type=int, default=0,
                   help="minimise at most this many failures per signature (0: all)")
    p.add_argument("--out", type=Path, default=Path("fuzz-out"),
                   help="output directory (default ./fuzz-out)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds per program, all configurations (default 120)")
    p.add_argument("--threads", type=int, default=4, help="OMP_NUM_THREADS (default 4)")
    p.add_argument("--no-force-parallel", action="store_true",
                   help="keep hybridjit's work threshold for automatically parallel loops")
    p.add_argument("--no-features", default="",
                   help=f"comma-separated generator features to leave out: {', '.join(FEATURES)}")
    p.add_argument("--first", type=int, default=0, help="index of the first program")
    p.add_argument("--program-seeds", default="",
                   help="comma-separated program seeds to run (instead of --programs/--seed)")
    p.add_argument("--show", type=int, metavar="PROGRAM_SEED",
                   help="print the program of this program seed and exit")
    p.add_argument("--keep-cache", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    disabled = frozenset(f.strip() for f in a.no_features.split(",") if f.strip())
    unknown = disabled - set(FEATURES)
    if unknown:
        print(f"unknown features: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if a.show is not None:
        print(show(a.show, disabled))
        return 0
    if a.configs:
        configs = [c.strip() for c in a.configs.split(",") if c.strip()]
    else:
        configs = [c for t in a.targets.split(",") if t.strip()
                   for c in TARGET_CONFIGS[t.strip()]]
    bad = [c for c in configs if c not in CONFIGS]
    if bad:
        print(f"unknown configurations: {', '.join(bad)}", file=sys.stderr)
        return 2
    seeds = [int(x) for x in a.program_seeds.split(",") if x.strip()] or None
    opts = RunOptions(programs=a.programs, seed=a.seed, jobs=a.jobs, configs=configs,
                      opencl_every=a.opencl_every, minimise=a.minimise,
                      minimise_attempts=a.minimise_attempts,
                      minimise_seconds=a.minimise_seconds,
                      minimise_per_group=a.minimise_per_group, out=a.out, timeout=a.timeout,
                      threads=a.threads, force_parallel=not a.no_force_parallel,
                      disabled=disabled, keep_cache=a.keep_cache, verbose=a.verbose,
                      first_index=a.first, program_seeds=seeds)
    if seeds:
        opts.programs = len(seeds)
    summary = Runner(opts).run()
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
