"""`reev run --agent-cmd CMD` as a subprocess, and the session file of one of its results (the
`--agent-cmd` tests: tests/test_rpc_agent_cmd.py, tests/test_solana_agent_kit.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers.paths import BENCHMARKS


def reev_run(
    tmp_path: Path,
    benchmarks: list[str],
    command: str,
    *extra: str,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    output = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reev.cli",
            "run",
            *[str(BENCHMARKS / f"{b}.yml") for b in benchmarks],
            "--agent-cmd",
            command,
            "--log-dir",
            str(tmp_path / "logs"),
            "-o",
            str(output),
            *extra,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    results = json.loads(output.read_text()) if output.exists() else {}
    return done, results


def session(result: dict[str, Any]) -> dict[str, Any]:
    return json.loads(Path(result["session_file"]).read_text())
