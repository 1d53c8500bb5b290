"""Test session setup: a private disk cache, the package path, the ``target`` fixture.

``HYBRIDJIT_CACHE_DIR`` is set here, at import of this conftest, before any test
module imports hybridjit, to a fresh per-session directory (removed at the end),
so runs never reuse or pollute the user's cache.

``HYBRIDJIT_TEST_TARGETS`` (comma-separated, default ``cpu``) lists the targets
the parallel tests run on; a later issue adds ``opencl`` and ``cuda``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

_CACHE_DIR = tempfile.mkdtemp(prefix="hybridjit-test-cache-")
os.environ["HYBRIDJIT_CACHE_DIR"] = _CACHE_DIR
os.environ.pop("HYBRIDJIT_DUMP", None)

_SRC = Path(__file__).resolve().parents[1] / "src"
if importlib.util.find_spec("hybridjit") is None and _SRC.is_dir():
    sys.path.insert(0, str(_SRC))

TARGETS = [t.strip() for t in os.environ.get("HYBRIDJIT_TEST_TARGETS", "cpu").split(",")
           if t.strip()]


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    """The execution target of parallel tests ("cpu" now; "opencl"/"cuda" later)."""
    return str(request.param)


@pytest.fixture(scope="session")
def session_cache_dir() -> str:
    return _CACHE_DIR


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    difftest = sys.modules.get("difftest")
    if difftest is not None:
        terminalreporter.write_line(
            f"hybridjit differential suite: {difftest.compiled_count()} specialisations "
            "compiled through difftest")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)
