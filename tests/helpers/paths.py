"""The repository's folders, and the environment `reev` subprocesses of the tests run in."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
BENCHMARKS = ROOT / "benchmarks"


def subprocess_env(**extra: str) -> dict[str, str]:
    """This process's environment with tests/ prepended to PYTHONPATH (the caller's entries are
    kept: a worktree run with `PYTHONPATH=$PWD/src` must spawn subprocesses that import the same
    `reev`, not the one the virtualenv was installed from), plus `extra`."""
    path = [str(TESTS), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), **extra}
