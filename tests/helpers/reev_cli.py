"""`reev` as a subprocess, importing the same `reev` as the tests (subprocess_env), for the
run-directory, resume and cache tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers.api_server import clean_env
from helpers.paths import ROOT, subprocess_env

REEV = [sys.executable, "-m", "reev.cli"]


def child_env(**extra: str) -> dict[str, str]:
    """No provider key or reev setting of the caller's; a wide terminal so Rich wraps nothing."""
    env = clean_env(**extra)
    env["PYTHONPATH"] = subprocess_env()["PYTHONPATH"]
    env.setdefault("COLUMNS", "250")
    for name in ("REEV_LOG_DIR", "REEV_CACHE_DIR", "REEV_DATABASE_URL"):
        if name not in extra:
            env.pop(name, None)
    return env


def reev(*args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*REEV, *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env=child_env(**env),
        stdin=subprocess.DEVNULL,
    )


def start_reev(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*REEV, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=child_env(**env),
        stdin=subprocess.DEVNULL,
    )


def only_run(log_dir: Path) -> Path:
    """The one run directory under `log_dir`."""
    runs = sorted((log_dir / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def session_files(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("sessions/*/epoch-*.json"))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
