"""Ctrl-C during a long compiled call raises KeyboardInterrupt (it used to be
ignored until the call ended): serial and parallel loop nests, and while
loops, poll for SIGINT.

Each case runs in a child process that would compute for minutes; the test
sends SIGINT once the call has started and expects the child to report the
interrupt.  The timeout only guards against a hang; nothing here is timed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from difftest import package_path

CHILD = '''
import sys
from hybridjit import jit, prange


def nest_prange(n):
    s = 0
    for i in prange(n):
        for j in range(n):
            s += (i * j) % 7
    return s


def nest_serial(n):
    s = 0
    for i in range(n):
        for j in range(n):
            s = (s + ((i ^ j) & 3)) % 1000003
    return s


def spin(n):
    k = 0
    x = 1
    while k < n:
        x = (x * 1103515245 + 12345) % 2147483648
        k += 1
    return x


def helper_nest(n):
    return nest_serial(n)


fn = jit(globals()[sys.argv[1]])
fn(3)
print("ready", flush=True)
try:
    fn(int(sys.argv[2]))
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
'''


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(("name", "n"), [("nest_prange", 10**6), ("nest_serial", 10**6),
                                         ("spin", 10**13), ("helper_nest", 10**6)])
def test_ctrl_c_interrupts_a_long_call(tmp_path, name, n):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=package_path())
    p = subprocess.Popen([sys.executable, str(script), name, str(n)], stdout=subprocess.PIPE,
                         text=True, env=env)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # let the call start
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=120)
    finally:
        p.kill()
    assert out.strip() == "interrupted"
