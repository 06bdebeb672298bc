"""The episodes a run already has: each (benchmark, epoch) whose session file exists.

A session file is written atomically when its episode ends, so after a crash (even SIGKILL) a
run directory holds exactly the finished episodes; the rest are what `--resume` runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from reev.events import ExecutionStatus
from reev.runner.episode import EpisodeResult
from reev.runner.session import SessionFile, read_session
from reev.runs.directory import RunDir

RETRIED: tuple[ExecutionStatus, ...] = (ExecutionStatus.FAILED, ExecutionStatus.TIMEOUT)


def result_from_session(
    session: SessionFile, path: Path, expected_outcome: str = "pass"
) -> EpisodeResult:
    """The `EpisodeResult` a finished episode's session file records (what the suite returned
    when the episode ran), so kept and fresh episodes report alike."""
    final = session.final_result
    return EpisodeResult(
        benchmark_id=session.benchmark_id,
        epoch=session.epoch,
        execution_id=session.execution_id,
        seed=session.seed,
        run_seed=session.run_seed,
        agent=session.agent,
        profile=session.profile,
        status=final.status,
        score=final.score,
        passed=final.passed,
        breakdown=final.breakdown,
        duration_ms=session.duration_ms,
        session_file=str(path),
        error=session.error,
        expected_outcome=expected_outcome,
        signatures=tuple(t.signature for s in session.steps for t in s.transactions if t.signature),
        usage=session.usage,
        checks=final.checks,
    )


def finished_episodes(run: RunDir) -> dict[tuple[str, int], SessionFile]:
    """(benchmark id, epoch) → its session, for every episode of the plan with a readable
    session file. A torn or foreign file counts as not run."""
    found: dict[tuple[str, int], SessionFile] = {}
    for key in run.config.plan():
        path = run.session_file(*key)
        try:
            found[key] = read_session(path)
        except (OSError, ValidationError, ValueError):
            continue
    return found


def kept_episodes(run: RunDir, *, retry: bool) -> dict[tuple[str, int], SessionFile]:
    """What a resumed run keeps: every finished episode but a Cancelled one; a retry also
    drops the Failed and Timeout ones (they run again)."""
    dropped = (ExecutionStatus.CANCELLED, *(RETRIED if retry else ()))
    return {
        key: session
        for key, session in finished_episodes(run).items()
        if session.final_result.status not in dropped
    }


def not_run(
    benchmark_id: str, epoch: int, run_seed: int, agent: str, profile: str, reason: str
) -> EpisodeResult:
    """An episode of the plan that has no result (interrupted, or never started): recorded as
    Cancelled so results.json always covers the whole plan."""
    return EpisodeResult.without_episode(
        benchmark_id,
        epoch,
        run_seed=run_seed,
        agent=agent,
        profile=profile,
        status=ExecutionStatus.CANCELLED,
        error=reason,
    )


def in_plan_order(
    plan: Iterable[tuple[str, int]], results: Iterable[EpisodeResult]
) -> list[EpisodeResult]:
    """`results` sorted as the run's plan lists (benchmark, epoch); one result per key, the
    last one given winning (a re-run replaces what it re-ran)."""
    by_key = {(r.benchmark_id, r.epoch): r for r in results}
    return [by_key[key] for key in plan if key in by_key]
