"""The ``hybridjit`` command: bench, doctor, explain, cache.

Contract: :func:`main` parses ``argv`` and dispatches to one subcommand,
returning a process exit code.  Each subcommand lives in its own module and
is imported only when used.  ``cache clear`` deletes only hybridjit's own
entries, and only in a directory hybridjit created (see
:mod:`hybridjit.runtime.files`); it refuses any other directory.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
from pathlib import Path


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
        return _clear(root)
    files = list(root.rglob("*")) if root.exists() else []
    size = sum(f.stat().st_size for f in files if f.is_file())
    print(f"cache directory: {root}\nfiles: {len(files)}\nsize: {size / 1e6:.1f} MB")
    return 0


def _clear(root: Path) -> int:
    """Delete hybridjit's own entries in ``root`` (then ``root`` if that left
    it empty), and only in a directory hybridjit created: one carrying its
    marker, or the default location, which is hybridjit's by name."""
    from . import config
    from .runtime import files

    if not root.exists():
        print(f"nothing to clear: {root} does not exist")
        return 0
    is_default = root == config.default_cache_dir()
    if not root.is_dir() or not (files.is_hybridjit_root(root) or is_default):
        print(f"hybridjit cache clear: refusing to delete anything in {root}: hybridjit did "
              f"not create it (no {files.MARKER} of hybridjit's in it); check "
              "HYBRIDJIT_CACHE_DIR, or delete the directory yourself", file=sys.stderr)
        return 1
    for name in files.OWN_ENTRIES:
        path = root / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    with contextlib.suppress(OSError):
        root.rmdir()  # only if nothing else is left in it
    kept = " (other files in it were kept)" if root.exists() else ""
    print(f"removed hybridjit's cache in {root}{kept}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
