"""The execution manager against children that print anything (issue 16 item 3).

A real `ExecutionManager` on a real SQLite database runs real subprocesses; only the command
differs (`_command` is the seam): a small Python script that prints what a broken or hostile
`reev run --events` could, then lingers. The manager must kill it and end the execution Failed
naming why, or, for a stray non-JSON print, read on; a child that closes its stdout and lingers
still meets the deadline.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from helpers.api_server import process_gone
from reev.events import ExecutionStatus
from reev.service.manager import ExecutionManager, Job
from reev.service.settings import ServiceSettings
from reev.store import make_engine, session_factory, upgrade
from reev.store import repository as repo

LINE_LIMIT = 4_096


class ScriptedManager(ExecutionManager):
    """Runs `python -c SCRIPT` instead of `reev run`."""

    script = ""

    def _command(self, job: Job) -> list[str]:
        return [sys.executable, "-c", self.script]


def run_script(tmp_path: Path, script: str, timeout_s: float = 30.0) -> tuple[str, str | None, int]:
    """Submit one execution whose child runs `script`; its final status, error and pid."""
    url = f"sqlite:///{tmp_path / 'reev.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        repo.upsert_benchmark(
            session, benchmark_id="b", yaml="id: b", description="", tags=[], file_path=None
        )
    settings = ServiceSettings(
        database_url=url,
        log_dir=tmp_path / "logs",
        execution_timeout_s=timeout_s,
        max_event_line_bytes=LINE_LIMIT,
    )
    manager = ScriptedManager(settings, sessions)
    manager.script = script

    async def go() -> tuple[str, str | None, int]:
        await manager.start()
        [execution_id] = await manager.submit_many(
            benchmarks=[("b", tmp_path / "b.yml")],
            agent="deterministic",
            model=None,
            seed=0,
            profile="verified",
        )
        job = manager.jobs[execution_id]
        await asyncio.wait_for(job.done.wait(), timeout=timeout_s + 10)
        assert job.process is not None
        await manager.shutdown()
        with sessions() as session:
            row = repo.get_execution(session, execution_id)
            assert row is not None
            return row.status, row.error, job.process.pid

    try:
        return asyncio.run(go())
    finally:
        engine.dispose()


LINGER = "import time; time.sleep(60)"


@pytest.mark.slow
def test_a_line_over_the_limit_kills_the_child(tmp_path: Path) -> None:
    script = f"import sys; sys.stdout.write('x' * {LINE_LIMIT * 3} + '\\n'); sys.stdout.flush(); {LINGER}"
    status, error, pid = run_script(tmp_path, script)
    assert status == ExecutionStatus.FAILED
    assert error == (
        f"the run printed an event line over {LINE_LIMIT} bytes (the limit); process group killed"
    )
    assert process_gone(pid)


@pytest.mark.slow
def test_a_malformed_event_kills_the_child(tmp_path: Path) -> None:
    script = f'print(\'{{"event": "status", "status": "Hacked"}}\', flush=True); {LINGER}'
    status, error, pid = run_script(tmp_path, script)
    assert status == ExecutionStatus.FAILED
    assert error is not None and error.startswith("the run printed a malformed event line")
    assert "process group killed" in error
    assert process_gone(pid)


@pytest.mark.slow
def test_a_stray_print_is_skipped_and_the_deadline_still_applies(tmp_path: Path) -> None:
    """Not JSON: read past. The child then closes its stdout and lingers: the deadline (2 s)
    covers the wait for its exit too."""
    script = f"import os; print('hello', flush=True); os.close(1); {LINGER}"
    status, error, pid = run_script(tmp_path, script, timeout_s=2)
    assert status == ExecutionStatus.TIMEOUT, error
    assert process_gone(pid)
