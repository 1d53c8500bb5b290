"""The ``hybridjit`` command: bench, doctor, explain, cache.

Contract: :func:`main` parses ``argv`` and dispatches to one subcommand,
returning a process exit code.  Each subcommand lives in its own module and
is imported only when used.
"""

from __future__ import annotations

import argparse
import shutil
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="hybridjit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("bench", help="run the benchmark demo (options after '--' go to it)",
                   add_help=False)
    sub.add_parser("doctor", help="report which compilers and devices are available")
    ex = sub.add_parser("explain", help="explain the parallelisation of a function")
    ex.add_argument("target", help="path/to/module.py:function")
    ex.add_argument("--types", help='argument types, e.g. "float64[:,:], float32[:], int" '
                    "(default: guessed from how the function indexes its parameters)")
    cache = sub.add_parser("cache", help="show or clear the compile cache")
    cache.add_argument("action", choices=["info", "clear"])
    if argv and argv[0] == "bench":
        from .bench import main as bench_main

        return bench_main(argv[1:])
    args = parser.parse_args(argv)
    if args.cmd == "doctor":
        from .doctor import main as doctor_main

        return doctor_main([])
    if args.cmd == "explain":
        from .explain import explain_command

        return explain_command(args.target, args.types)
    return _cache_command(args.action)


def _cache_command(action: str) -> int:
    from . import config

    root = config.cache_dir()
    if action == "clear":
        shutil.rmtree(root, ignore_errors=True)
        print(f"removed {root}")
        return 0
    files = list(root.rglob("*")) if root.exists() else []
    size = sum(f.stat().st_size for f in files if f.is_file())
    print(f"cache directory: {root}\nfiles: {len(files)}\nsize: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
