"""`reev retry --record --db` (issue 19): a retried run updates the database's run. The retried
episode replaces the run's earlier execution of it (one execution per (benchmark, epoch), as in
the run directory), the kept one stays as it was, and the run's row says finished; a run
started without `--record` and retried with it is stored whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from helpers.api_server import sqlite_url
from helpers.fake_openai import FakeOpenAI, Reply, SolutionPlayer
from helpers.paths import BENCHMARKS
from helpers.reev_cli import load_json, reev
from helpers.suite import bundled
from reev.runs import RunDir
from reev.store import make_engine, session_factory
from reev.store import repository as repo
from reev.store.models import ExecutionRow, RunRow

pytestmark = pytest.mark.slow
NAMES = ["001-sol-transfer", "002-spl-transfer"]
FLAKY = "002-spl-transfer"  # its prompt asks for 15 USDC: the scripted model errors on it


def db_state(url: str, run_id: str) -> tuple[RunRow, dict[str, ExecutionRow], repo.RunSummary]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            run = repo.get_run(session, run_id)
            assert run is not None, f"run {run_id} is not in the database"
            rows = session.scalars(select(ExecutionRow).where(ExecutionRow.run_id == run_id))
            executions = {r.benchmark_id: r for r in rows}
            summary = repo.run_summaries(session, [run_id])[run_id]
            session.expunge_all()
            return run, executions, summary
    finally:
        engine.dispose()


def session_ids(run_dir: Path) -> dict[str, str]:
    """benchmark → the execution id its session file (epoch 0) holds."""
    return {
        name: load_json(run_dir / "sessions" / name / "epoch-0.json")["execution_id"]
        for name in NAMES
    }


def run_dir_of(log_dir: Path, name: str) -> Path:
    [found] = [p for p in (log_dir / "runs").iterdir() if RunDir(p).config.name == name]
    return found


def test_retry_record_updates_the_database_run(tmp_path: Path) -> None:
    player = SolutionPlayer([bundled()[name] for name in NAMES])
    broken = {"on": True}

    def script(body: dict[str, Any]) -> Reply:
        if broken["on"] and "15 USDC" in str(body["messages"][1]["content"]):
            return Reply(status=400, error_message="scripted bad request")
        return player(body)

    url = sqlite_url(tmp_path / "reev.db")
    log_dir = tmp_path / "logs"
    files = [str(BENCHMARKS / f"{n}.yml") for n in NAMES]
    with FakeOpenAI(script) as server:
        agent = ["--agent", "local/scripted-model", "--base-url", server.base_url]
        common = ["--log-dir", str(log_dir), "--no-trace"]
        first = reev("run", *files, *agent, *common, "--name", "flaky", "--record", "--db", url)
        assert first.returncode == 1, first.stderr
        run_dir = run_dir_of(log_dir, "flaky")
        run_id = RunDir(run_dir).config.run_id
        run, before, summary = db_state(url, run_id)
        assert run.status == "finished" and run.source == "cli"
        assert {b: e.status for b, e in before.items()} == {
            NAMES[0]: "Completed",
            FLAKY: "Failed",
        }
        assert (summary.executions, summary.failed, summary.passed) == (2, 1, 1)

        # a second run, not recorded, of which the same benchmark fails
        plain = reev("run", *files, *agent, *common, "--name", "unrecorded")
        assert plain.returncode == 1, plain.stderr

        broken["on"] = False
        retried = reev("retry", "flaky", "--log-dir", str(log_dir), "--record", "--db", url)
        assert retried.returncode == 0, retried.stderr
        assert "1 execution stored in" in retried.stdout, retried.stdout
        run, after, summary = db_state(url, run_id)
        on_disk = session_ids(run_dir)
        assert {b: e.execution_id for b, e in after.items()} == on_disk
        assert after[NAMES[0]].execution_id == before[NAMES[0]].execution_id  # kept
        assert after[FLAKY].execution_id != before[FLAKY].execution_id  # replaced
        assert after[FLAKY].status == "Completed" and after[FLAKY].passed is True
        assert (summary.executions, summary.failed, summary.passed) == (2, 0, 2)
        assert run.status == "finished" and run.config["resumes"], run.config
        engine = make_engine(url)
        try:
            with session_factory(engine)() as session:  # the replaced execution is gone
                assert session.get(ExecutionRow, before[FLAKY].execution_id) is None
        finally:
            engine.dispose()

        # retried with --record, a run that was never recorded is stored whole
        other = run_dir_of(log_dir, "unrecorded")
        again = reev("retry", "unrecorded", "--log-dir", str(log_dir), "--record", "--db", url)
        assert again.returncode == 0, again.stderr
        assert "2 executions stored in" in again.stdout, again.stdout
        run, stored, summary = db_state(url, RunDir(other).config.run_id)
        assert {b: e.execution_id for b, e in stored.items()} == session_ids(other)
        assert (summary.executions, summary.passed, run.name) == (2, 2, "unrecorded")
    results = load_json(other / "results.json")["summary"]
    assert results["passed"] == summary.passed


def test_retry_record_with_a_bad_database_url_is_an_input_error(tmp_path: Path) -> None:
    log_dir = ["--log-dir", str(tmp_path / "logs")]
    ran = reev("run", str(BENCHMARKS / f"{NAMES[0]}.yml"), *log_dir, "--name", "ok", "--no-trace")
    assert ran.returncode == 0, ran.stderr
    done = reev("retry", "ok", *log_dir, "--record", "--db", "nosuch://x")
    assert done.returncode == 2, done.stderr
    assert "--db nosuch://x" in done.stderr and "Traceback" not in done.stderr
