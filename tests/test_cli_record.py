"""`reev run --record` stores what happened as it happened (issue 17, items 1 and 6)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from helpers.api_server import clean_env, sqlite_url
from helpers.paths import BENCHMARKS, subprocess_env
from reev.store import make_engine, session_factory
from reev.store.models import ExecutionRow

pytestmark = pytest.mark.slow

IDS = ["001-sol-transfer", "002-spl-transfer", "005-sol-transfer-multi"]


def run_recorded(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env["PYTHONPATH"] = subprocess_env()["PYTHONPATH"]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "reev.cli",
            "run",
            *(str(BENCHMARKS / f"{i}.yml") for i in IDS),
            "--record",
            "--db",
            sqlite_url(tmp_path / "reev.db"),
            "--log-dir",
            str(tmp_path / "logs"),
            "--no-trace",
            *extra,
        ],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def recorded(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("record")
    done = run_recorded(tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp, done


def test_recorded_executions_never_waited_a_negative_time(
    recorded: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    tmp, _ = recorded
    engine = make_engine(sqlite_url(tmp / "reev.db"))
    try:
        with session_factory(engine)() as session:
            rows = list(session.scalars(select(ExecutionRow)))
    finally:
        engine.dispose()
    assert sorted(r.benchmark_id for r in rows) == IDS
    for row in rows:
        assert row.started_at is not None and row.finished_at is not None
        # The dashboard's "waited in queue" is started_at - created_at.
        assert row.created_at <= row.started_at <= row.finished_at, row.execution_id


def test_without_a_terminal_each_finished_episode_is_one_line(
    recorded: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, done = recorded
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    total = len(IDS)
    assert [line.split()[0] for line in lines] == [f"[{n}/{total}]" for n in range(1, total + 1)]
    assert sorted(line.split()[1] for line in lines) == IDS
    assert all("Completed" in line and "score 1.000" in line for line in lines)


def test_record_says_what_it_stored(
    recorded: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    tmp, done = recorded
    stored = [line for line in done.stdout.splitlines() if " stored in " in line]
    assert stored == [f"{len(IDS)} executions stored in {sqlite_url(tmp / 'reev.db')} (source cli)"]
