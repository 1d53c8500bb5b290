"""Time the benchmark kernels with NumPy, Numba and hybridjit in one run.

Usage::

    python benchmarks/run.py [--quick] [--kernels a,b] [--json PATH] [--auto]
                             [--opencl] [--cuda]

For each kernel, every target first runs once on fresh inputs (for compiled
targets that call includes the compilation); its outputs are checked against
the NumPy reference, and only a correct implementation is then timed with
``--repeats`` further calls.  Reported per kernel and target: median and
minimum wall time, the compile time (first call minus the median), and ratios
between targets.  A target that fails (hybridjit not built yet, a compile
error, a wrong answer) gets an error row; the run goes on.

``--opencl`` / ``--cuda`` add two device columns each (see
``targets.DeviceTarget``): with transfers (NumPy arguments, copied in and out
by each call) and resident (arguments converted once with
``hybridjit.to_device`` before timing).  Their rows also record ``last_stats``
of a call (where each region ran, bytes moved, launches) and ``fell_back``.

hybridjit compiles into a fresh temporary cache directory (``HYBRIDJIT_CACHE_DIR``
is set before hybridjit is imported) and Numba compiles without ``cache=True``,
so compile times are real compiles, never disk-cache hits.  See README.md.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common

DEFAULT_JSON = common.RESULTS_DIR / "cpu-latest.json"
RATIO_PAIRS = [("hybridjit", "numba"), ("hybridjit", "numpy"), ("numba", "numpy")]
TABLE_RATIOS = [("hybridjit", "numba"), ("hybridjit", "numpy")]
DEVICE_KINDS = ("opencl", "cuda")
# device columns against hybridjit on the CPU, and resident against with transfers
DEVICE_RATIOS = [pair for kind in DEVICE_KINDS for pair in (
    (f"hybridjit-{kind}", "hybridjit"), (f"hybridjit-{kind}-resident", "hybridjit"),
    (f"hybridjit-{kind}-resident", f"hybridjit-{kind}"))]
TABLE_DEVICE_RATIOS = [p for p in DEVICE_RATIOS if p[1] == "hybridjit"]
AUTO_RATIO = ("hybridjit-auto", "hybridjit")
TIME_BUDGET_S = 5.0  # per kernel and target: fewer repeats (>= 3) for slow versions
CRASH_MESSAGE = "the benchmark process died while running this"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test (< 60 s)")
    p.add_argument("--kernels", default="", help="comma-separated kernel names (default: all)")
    p.add_argument("--json", default=str(DEFAULT_JSON), metavar="PATH",
                   help=f"where to write the JSON report (default: {DEFAULT_JSON}); '' for none")
    p.add_argument("--auto", action="store_true",
                   help="also time the plain-range versions with hybridjit parallel='auto'")
    p.add_argument("--opencl", action="store_true",
                   help="also time hybridjit target='opencl' (with transfers and resident)")
    p.add_argument("--cuda", action="store_true",
                   help="also time hybridjit target='cuda' (with transfers and resident)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed calls per kernel and target (default: 3 quick, 7 otherwise)")
    p.add_argument("--isolate", action="store_true",
                   help="run each kernel in its own subprocess (survives crashes)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 if any target errors, not only on wrong results")
    p.add_argument("--list", action="store_true", help="list the kernels and exit")
    p.add_argument("--checkpoint", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.mode = "quick" if args.quick else "default"
    args.kernel_names = [k for k in args.kernels.split(",") if k]
    args.devices = tuple(k for k in DEVICE_KINDS if getattr(args, k))
    if args.repeats is None:
        args.repeats = 3 if args.quick else 7
    return args


# --------------------------------------------------------------------------
# Measuring one kernel


def error_text(exc: BaseException, limit: int = 2000) -> str:
    """``Type: message`` of an exception, shortened to ``limit`` characters."""
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def error_row(status: str, message: str, exc: BaseException | None = None) -> dict[str, Any]:
    """A result row for a target that did not produce a timing."""
    row: dict[str, Any] = {"status": status, "error": message}
    if exc is not None:
        row["traceback"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return row


def copy_outputs(outputs: tuple[Any, ...]) -> tuple[Any, ...]:
    """Snapshot output arrays (later timed calls may keep mutating them)."""
    return tuple(o.copy() for o in outputs)


def measure(target, kernel, size, ref, repeats: int) -> tuple[dict[str, Any], Any]:
    """Build, run once, check against ``ref`` (None: no check), then time ``target``.

    Returns the result row and the outputs of the first call.
    """
    args = kernel.make_inputs(**size)
    call_args: tuple[Any, ...] = ()
    try:
        fn = target.build(kernel)
        call_args = target.prepare_args(args)  # resident device columns: to_device
        return _measure(target, kernel, fn, call_args, ref, repeats)
    except Exception as exc:
        return error_row("error", error_text(exc), exc), None
    finally:
        target.release(call_args)


def _measure(target, kernel, fn, args, ref, repeats: int) -> tuple[dict[str, Any], Any]:
    """:func:`measure` once the callable and its arguments exist."""
    first = common.time_call(fn, args)
    outputs = copy_outputs(target.host_outputs(kernel.outputs(args)))
    row: dict[str, Any] = {"status": "ok", "first_call_s": first, **target.run_info(fn)}
    if ref is not None:
        try:
            row["check_error"] = kernel.check(outputs, ref)
        except (AssertionError, ValueError) as exc:
            return error_row("wrong", f"wrong result: {exc}"), outputs
    try:
        times = common.time_repeats(fn, args, repeats, budget_s=TIME_BUDGET_S)
    except Exception as exc:
        return error_row("error", f"a repeated call failed: {error_text(exc)}", exc), outputs
    row.update(common.summarize(times), times_s=times, **target.run_info(fn))
    if target.compiled:
        row["compile_s"] = max(first - row["median_s"], 0.0)
    if target.resident:
        # results come back once, after the timed calls (not part of their time)
        t0 = time.perf_counter()
        final = target.host_outputs(kernel.outputs(args))
        row["to_host_s"] = time.perf_counter() - t0
        if ref is not None and kernel.idempotent:
            try:
                row["final_check_error"] = kernel.check(final, ref)
            except (AssertionError, ValueError) as exc:
                return error_row("wrong", f"wrong result after the timed calls: {exc}"), outputs
    return row, outputs


def new_entry(kernel, mode: str) -> dict[str, Any]:
    """The report entry of one kernel, before any target ran."""
    return {"name": kernel.name, "description": kernel.description, "size": kernel.size(mode),
            "results": {}, "ratios": {}}


def run_kernel(kernel, entry: dict[str, Any], targets, setup_errors: dict[str, str],
               repeats: int, checkpoint: Callable[[], None]) -> None:
    """All targets on one kernel, filling ``entry``; the first target is the reference.

    ``checkpoint()`` is called before each target runs (with that target marked
    as crashed, should the process die) and after each result.
    """
    size = entry["size"]
    ref = None
    for i, target in enumerate(targets):
        progress(f"{kernel.name} [{kernel.describe(size)}] {target.name} ...")
        if target.name in setup_errors:
            row = error_row("error", setup_errors[target.name])
        else:
            entry["results"][target.name] = error_row("error", CRASH_MESSAGE)
            checkpoint()
            row, outputs = measure(target, kernel, size, ref, repeats)
            if i == 0:
                ref = outputs
        entry["results"][target.name] = row
        entry["ratios"] = ratios(entry["results"])
        checkpoint()
        progress(f"  {describe_row(row)}")
        if i == 0 and row["status"] != "ok":
            progress("  the reference failed: skipping the other targets")
            break


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Median-time ratios ``a/b`` for the pairs in RATIO_PAIRS, AUTO_RATIO and DEVICE_RATIOS."""
    out = {}
    for a, b in [*RATIO_PAIRS, AUTO_RATIO, *DEVICE_RATIOS]:
        ra, rb = results.get(a, {}), results.get(b, {})
        if ra.get("status") == "ok" and rb.get("status") == "ok" and rb["median_s"] > 0:
            out[f"{a}/{b}"] = ra["median_s"] / rb["median_s"]
    return out


def describe_row(row: dict[str, Any]) -> str:
    """One progress line for a result row."""
    if row["status"] != "ok":
        return f"{row['status'].upper()}: {row['error'].splitlines()[0][:200]}"
    text = f"median {common.fmt_ms(row['median_s'])} ms, first call {row['first_call_s']:.3f} s"
    if "device_stats" in row:
        text += f", {transfer_text(row['device_stats'])}"
    if row.get("fell_back"):
        text += f", FELL BACK TO CPU: {row['fell_back'][:200]}"
    return text


def transfer_text(stats: dict[str, Any]) -> str:
    """Bytes to/from the device and launches of one call: ``in 1.2 MB, out 0.8 MB, 2 launches``."""
    return (f"in {common.fmt_bytes(stats.get('bytes_to_device'))}, "
            f"out {common.fmt_bytes(stats.get('bytes_to_host'))}, "
            f"{stats.get('launches', 0)} launches")


def progress(message: str) -> None:
    """Progress on stderr (stdout carries only the final table)."""
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Targets


def setup_targets(targets) -> dict[str, str]:
    """Run each target's setup; return ``{name: error}`` for those that failed."""
    errors = {}
    for target in targets:
        try:
            target.setup()
        except Exception as exc:
            errors[target.name] = f"unavailable: {error_text(exc)}"
            progress(f"{target.name}: {errors[target.name].splitlines()[0]}")
    return errors


def target_info(targets, setup_errors: dict[str, str]) -> dict[str, Any]:
    """Per target: availability, warm-up time and options, for the JSON report."""
    info = {}
    for t in targets:
        try:
            options = t.options()
        except Exception:
            options = {}
        info[t.name] = {"available": t.name not in setup_errors,
                        "error": setup_errors.get(t.name), "init_s": t.init_s,
                        "compiled": t.compiled, "options": options}
    return info


# --------------------------------------------------------------------------
# Output


def cell(row: dict[str, Any] | None, key: str, fmt) -> str:
    """A table cell: the formatted value, or the row's status when it has no timing."""
    if row is None:
        return "-"
    if row["status"] != "ok":
        return {"error": "ERR", "wrong": "WRONG"}.get(row["status"], row["status"])
    return fmt(row.get(key)) + (FELL_BACK_MARK if row.get("fell_back") else "")


FELL_BACK_MARK = "*"  # a device column where some region ran on the CPU


def short(name: str) -> str:
    """A target's name abbreviated for column headers."""
    return name.replace("hybridjit", "hj")


def render_table(report: dict[str, Any]) -> str:
    """The human-readable summary: a time table, a compile-time table, notes on errors."""
    parts = [machine_line(report), "", time_table(report), "", compile_table(report)]
    if any(n.startswith("hybridjit-") and n != "hybridjit-auto" for n in report["targets"]):
        parts += ["", device_table(report)]
    return "\n".join([*parts, *notes(report)])


def time_table(report: dict[str, Any]) -> str:
    """Median milliseconds per call of every target, then ratios of medians."""
    names = list(report["targets"])
    pairs = [p for p in TABLE_RATIOS if p[0] in names and p[1] in names]
    if AUTO_RATIO[0] in names:
        pairs.append(AUTO_RATIO)
    pairs += [p for p in TABLE_DEVICE_RATIOS if p[0] in names]
    headers = ["median ms/call", "size", *names, *(f"{short(a)}/{short(b)}" for a, b in pairs)]
    rows = []
    for k in report["kernels"]:
        rows.append([
            k["name"], ",".join(f"{a}={b}" for a, b in k["size"].items()),
            *(cell(k["results"].get(n), "median_s", common.fmt_ms) for n in names),
            *(common.fmt_ratio(k["ratios"].get(f"{a}/{b}")) for a, b in pairs),
        ])
    return common.format_table(headers, rows)


def compile_table(report: dict[str, Any]) -> str:
    """First-call compile time (first call minus median) of every compiled target."""
    names = [n for n, info in report["targets"].items() if info["compiled"]]
    rows = [[k["name"], *(cell(k["results"].get(n), "compile_s", common.fmt_s) for n in names)]
            for k in report["kernels"]]
    return common.format_table(["compile s", *names], rows)


def device_table(report: dict[str, Any]) -> str:
    """Per device column and kernel: bytes moved and launches in one timed call."""
    names = [n for n, info in report["targets"].items() if "resident" in info.get("options", {})]
    rows = []
    for k in report["kernels"]:
        cells = []
        for n in names:
            row = k["results"].get(n)
            if row is None or row["status"] != "ok" or "device_stats" not in row:
                cells.append(cell(row, "median_s", common.fmt_ms))
            else:
                cells.append(transfer_text(row["device_stats"])
                             + (" FELL BACK" if row.get("fell_back") else ""))
        rows.append([k["name"], *cells])
    return common.format_table(["per call", *names], rows)


def machine_line(report: dict[str, Any]) -> str:
    """One line saying where and how the numbers were measured."""
    m = report["machine"]
    v = m["versions"]
    load = (m.get("load_average") or ["?"])[0]
    return (f"{m['cpu_model']}, {m['nproc']} cores, load {load} | numpy {v.get('numpy')}, "
            f"numba {v.get('numba')}, hybridjit {v.get('hybridjit')} | "
            f"{report['mode']} sizes, median of up to {report['repeats']} calls")


def notes(report: dict[str, Any]) -> list[str]:
    """Footnotes: warm-up times and every error, once per distinct message."""
    lines = [""]
    for name, info in report["targets"].items():
        if info["init_s"] is not None:
            lines.append(f"{name}: warm-up (first compile + runtime start) {info['init_s']:.2f} s")
        if info.get("options", {}).get("device"):
            lines.append(f"{name}: device {info['options']['device']}")
    for k in report["kernels"]:
        for target, row in k["results"].items():
            if row["status"] == "ok" and row.get("fell_back"):
                lines.append(f"{target} on {k['name']}{FELL_BACK_MARK}: fell back to the CPU: "
                             f"{row['fell_back']}")
    seen: dict[tuple[str, str], list[str]] = {}
    for k in report["kernels"]:
        for target, row in k["results"].items():
            if row["status"] != "ok":
                seen.setdefault((target, row["error"]), []).append(k["name"])
    for (target, message), kernel_names in seen.items():
        first, *rest = message.splitlines() or [""]
        lines.append(f"{target} on {', '.join(kernel_names)}: {first}")
        lines.extend(f"    {line}" for line in rest[:12])
    lines.append("a/b < 1.00x: a is faster than b.  compile s = first call - median call.")
    if any("resident" in info.get("options", {}) for info in report["targets"].values()):
        lines.append("device columns: each call ends with a device synchronize; "
                     "-resident: arguments on the device before timing (hybridjit.to_device), "
                     "results brought back after it.")
    return lines


# --------------------------------------------------------------------------
# Driver


def isolate_caches(tmpdir: str) -> None:
    """Point hybridjit's disk cache at an empty directory (before it is imported)."""
    os.environ["HYBRIDJIT_CACHE_DIR"] = tmpdir


def run_in_process(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the selected kernels in this process and return the report."""
    # Imported here, after isolate_caches(): they import hybridjit.
    import kernels
    import targets as targets_mod

    chosen = kernels.select(args.kernel_names)
    targets = targets_mod.default_targets(auto=args.auto, devices=args.devices)
    setup_errors = setup_targets(targets)
    report = new_report(args, target_info(targets, setup_errors))

    def checkpoint() -> None:
        if args.checkpoint and args.json:
            common.write_json(args.json, report)

    for kernel in chosen:
        entry = new_entry(kernel, args.mode)
        report["kernels"].append(entry)
        run_kernel(kernel, entry, targets, setup_errors, args.repeats, checkpoint)
    report["targets"] = target_info(targets, setup_errors)  # options known after runs
    return report


def new_report(args: argparse.Namespace, targets: dict[str, Any]) -> dict[str, Any]:
    """The skeleton of a JSON report."""
    return {"schema": 1, "suite": "cpu", "created": common.now_iso(), "mode": args.mode,
            "repeats": args.repeats, "machine": common.machine_info(), "targets": targets,
            "kernels": []}


def run_isolated(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Run each kernel in a child process of this script and merge the reports.

    The child writes its report after every step (``--checkpoint``), so a child
    that crashes still leaves the results it had, and the target it died in.
    """
    import kernels

    merged: dict[str, Any] | None = None
    passthrough = [a for a in strip_options(argv, {"--kernels", "--json"}) if a != "--isolate"]
    for kernel in kernels.select(args.kernel_names):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "child.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), *passthrough,
                   "--kernels", kernel.name, "--json", str(out), "--checkpoint"]
            rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False).returncode
            child = common.read_json(out) or new_report(args, {})
        if not child["kernels"]:
            child["kernels"].append(new_entry(kernel, args.mode))
            child["kernels"][0]["results"]["numpy"] = error_row("error", CRASH_MESSAGE)
        mark_crash(child["kernels"], rc)
        if merged is None:
            merged = child
        else:
            merged["kernels"].extend(child["kernels"])
    return merged or new_report(args, {})


def mark_crash(entries: list[dict[str, Any]], rc: int) -> None:
    """Say how the child died in the rows it left marked as crashed."""
    how = f"signal {-rc}" if rc < 0 else f"exit status {rc}"
    for entry in entries:
        for row in entry["results"].values():
            if row.get("error") == CRASH_MESSAGE:
                row["error"] = f"the benchmark process died ({how}) while running this"


def strip_options(argv: list[str], names: set[str]) -> list[str]:
    """``argv`` without the options in ``names`` and their values."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in names:
            skip = True
        elif a.split("=", 1)[0] not in names:
            out.append(a)
    return out


def exit_status(report: dict[str, Any], strict: bool) -> int:
    """1 if any result is wrong (or, with ``strict``, any target failed), else 0."""
    bad = {"wrong", "error"} if strict else {"wrong"}
    rows = [r for k in report["kernels"] for r in k["results"].values()]
    return 1 if any(r["status"] in bad for r in rows) else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    faulthandler.enable()
    common.use_checkout_sources()
    with tempfile.TemporaryDirectory(prefix="hybridjit-bench-cache-") as cache_dir:
        isolate_caches(cache_dir)
        if args.list:
            import kernels

            for k in kernels.KERNELS:
                print(f"{k.name:14s} {k.description}")
            return 0
        report = run_isolated(args, argv) if args.isolate else run_in_process(args)
    print(render_table(report))
    if args.json:
        path = common.write_json(args.json, report)
        print(f"\nJSON report: {path}")
    return exit_status(report, args.strict)


if __name__ == "__main__":
    sys.exit(main())
