"""``hybridjit bench``: run the benchmark scripts of a source checkout.

The benchmarks live in ``benchmarks/`` next to ``src/`` (they are not part of
the installed package).  Usage::

    hybridjit bench [kernels] [--quick] [--kernels a,b] [--json PATH] [--auto]
    hybridjit bench startup [--runs N]
    hybridjit bench overhead [--calls N]

Each script runs in a fresh Python process, so that the benchmark controls
when hybridjit is imported and which cache directory it uses.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPTS = {"kernels": "run.py", "startup": "startup.py", "overhead": "overhead.py"}


def find_benchmarks_dir() -> Path | None:
    """``benchmarks/`` of the checkout this package comes from, or of the working directory."""
    candidates = [Path(__file__).resolve().parents[2] / "benchmarks", Path.cwd() / "benchmarks"]
    for candidate in candidates:
        if (candidate / "run.py").is_file():
            return candidate
    return None


def split_script(args: list[str]) -> tuple[str, list[str]]:
    """The script named by the first argument (default: the kernel benchmark) and the rest."""
    if args and args[0] in SCRIPTS:
        return SCRIPTS[args[0]], args[1:]
    return SCRIPTS["kernels"], args


def main(argv: list[str] | None = None) -> int:
    """Run a benchmark script; returns its exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["help"], ["-h"], ["--help"]) and len(args) == 1:
        print(__doc__)
        return 0
    bench_dir = find_benchmarks_dir()
    if bench_dir is None:
        print("hybridjit bench: no benchmarks/ directory found; run it from a source "
              "checkout of hybridjit (the benchmarks are not installed with the package)",
              file=sys.stderr)
        return 2
    script, rest = split_script(args)
    return subprocess.call([sys.executable, str(bench_dir / script), *rest])
