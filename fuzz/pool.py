"""Worker processes seen from the parent: start, send a job, survive crashes.

Contract: :class:`Worker` owns one ``python -m fuzz.worker`` subprocess (its
own process group).  :meth:`Worker.run` sends one job and returns the job's
result dict; when the process dies the result has category ``crash`` for
the configuration that was running, when the job outlives ``timeout`` the
process group is killed and the result has category ``timeout``; either
way a fresh process serves the next job.  Workers are also replaced every
``recycle`` jobs (every compiled specialisation stays loaded in a process).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass
class PoolOptions:
    out: Path
    cache_dir: Path
    timeout: float = 120.0
    threads: int = 4
    force_parallel: bool = True
    recycle: int = 150
    extra_env: dict[str, str] = field(default_factory=dict)


def worker_env(opts: PoolOptions) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("HYBRIDJIT_DUMP", None)
    env.pop("HYBRIDJIT_TARGET", None)
    env.pop("HYBRIDJIT_FAULT", None)
    env["HYBRIDJIT_CACHE_DIR"] = str(opts.cache_dir)
    env["HYBRIDJIT_POISON"] = "1"
    env["OMP_NUM_THREADS"] = str(opts.threads)
    env["FUZZ_FORCE_PARALLEL"] = "1" if opts.force_parallel else "0"
    # (the checkout's own compiler, src/, even where another is installed)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "src"), str(REPO / "tests")]
                                        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH")
                                           else []))
    env.update(opts.extra_env)
    return env


class Worker:
    def __init__(self, opts: PoolOptions, index: int):
        self.opts = opts
        self.index = index
        self.proc: subprocess.Popen[bytes] | None = None
        self.buf = b""
        self.jobs = 0
        self.compiler = ""  # where the worker imported hybridjit from
        self.workdir = opts.out / "work" / f"w{index}"
        self.log = opts.out / "logs" / f"worker{index}.log"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        logf = open(self.log, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fuzz.worker", str(self.workdir)], cwd=REPO,
            env=worker_env(self.opts), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=logf, start_new_session=True)
        logf.close()
        self.buf = b""
        self.jobs = 0
        msg = self._read(120.0)
        if msg is None or msg.get("event") != "ready":
            raise RuntimeError(f"worker {self.index} did not start; see {self.log}")
        self.compiler = str(msg.get("hybridjit", ""))

    def _read(self, timeout: float) -> dict[str, Any] | None:
        """The next message, None on EOF; raises TimeoutError."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            with selectors.DefaultSelector() as sel:
                sel.register(fd, selectors.EVENT_READ)
                if not sel.select(left):
                    continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def kill(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.kill()
        self.proc = None

    def _log_tail(self, n: int = 1500) -> str:
        try:
            data = self.log.read_bytes()[-n:]
        except OSError:
            return ""
        return data.decode(errors="replace")

    def run(self, job: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        if self.proc is None or self.jobs >= self.opts.recycle:
            self.close()
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        self.jobs += 1
        timeout = self.opts.timeout if timeout is None else timeout
        running = "oracle"
        started = time.monotonic()
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
            while True:
                msg = self._read(max(0.1, timeout - (time.monotonic() - started)))
                if msg is None:
                    return self._died(job, running)
                if msg["event"] == "start":
                    running = msg["config"]
                elif msg["event"] == "done":
                    return msg["result"]
        except TimeoutError:
            self.kill()
            return self._failed(job, running, "timeout",
                                f"no answer after {timeout:.0f} s (running {running})")
        except BrokenPipeError:
            return self._died(job, running)

    def _died(self, job: dict[str, Any], running: str) -> dict[str, Any]:
        assert self.proc is not None
        code = self.proc.wait()
        self.proc = None
        try:
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
        except ValueError:
            how = f"exit {code}"
        return self._failed(job, running, "crash",
                            f"worker process {how} while running {running}\n"
                            + self._log_tail())

    def _failed(self, job: dict[str, Any], running: str, category: str,
                detail: str) -> dict[str, Any]:
        first = detail.splitlines()[0]
        entry = {"category": category, "kind": category, "detail": detail,
                 "outcome": first, "signature": f"{category}:{category}:"}
        return {"id": job["id"], "oracle": "", "oracle_status": "",
                "category": category, "configs": {running: entry}, "time": 0.0}
