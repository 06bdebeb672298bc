"""A results database with many executions, written through reev's store (its migrations, models
and repository): for the query tests and scripts/bench_api.py.

Executions are spread over `days` with distinct `created_at` values (the newest 24 queued or running) (the old Python aggregation
ordered by `created_at` alone, so ties had no defined winner), in every status, with scores on a
0.05 grid and a `result` JSON of the size a real session stores (what the old
`/agent-performance` loaded for every row). `recent` benchmarks get their runs within the last
two hours of the span, so a filter on them charts by the minute.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from reev.events import ExecutionStatus
from reev.store import make_engine, session_factory, upgrade
from reev.store import repository as repo
from reev.store.models import ExecutionRow

START = datetime(2026, 11, 1, tzinfo=UTC)
STATUSES = (  # of the finished executions
    (ExecutionStatus.COMPLETED, 0.75),
    (ExecutionStatus.FAILED, 0.15),
    (ExecutionStatus.TIMEOUT, 0.05),
    (ExecutionStatus.CANCELLED, 0.05),
)
ACTIVE_NEWEST = 24  # the newest executions are queued or running, as on a server at work
BATCH = 2_000


@dataclass(frozen=True)
class Suite:
    benchmarks: tuple[str, ...]
    agents: tuple[str, ...]
    expected_fail: frozenset[str] = frozenset()
    recent: frozenset[str] = frozenset()


DEFAULT = Suite(
    benchmarks=tuple(f"{i:03d}-bench" for i in range(12)),
    agents=("deterministic", "local/qwen3", "openai/gpt-4o-mini", "remote"),
    expected_fail=frozenset({"003-bench"}),
    recent=frozenset({"010-bench", "011-bench"}),
)


def benchmark_yaml(benchmark_id: str, suite: Suite) -> str:
    tags = ["spl-token" if int(benchmark_id[:3]) % 2 else "system", f"t{int(benchmark_id[:3]) % 3}"]
    if benchmark_id in suite.recent:
        tags.append("recent")
    outcome = "fail" if benchmark_id in suite.expected_fail else "pass"
    return (
        f"id: {benchmark_id}\ndescription: seeded {benchmark_id}\n"
        f"tags: [{', '.join(tags)}]\nexpected_outcome: {outcome}\n"
    )


def result_json(rng: random.Random, score: float | None) -> dict[str, Any]:
    checks = [
        {
            "component": "state",
            "name": f"check {i}",
            "passed": rng.random() < 0.7,
            "weight": 1.0,
            "earned": score or 0.0,
            "reason": "x" * 80,
        }
        for i in range(6)
    ]
    return {
        "final_result": {"score": score, "checks": checks, "breakdown": {"state": score}},
        "usage": {"tool_calls": 3, "model_calls": 4, "input_tokens": 1500, "output_tokens": 200},
        "key_map": {f"NAME_{i}": "1" * 44 for i in range(8)},
    }


def seed(
    url: str,
    executions: int,
    *,
    suite: Suite = DEFAULT,
    days: int = 10,
    seed_value: int = 7,
    results: bool = True,
) -> None:
    """Migrate `url` to head, store the suite's benchmarks and `executions` executions."""
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    rng = random.Random(seed_value)
    span = timedelta(days=days)
    recent_from = span - timedelta(hours=2)
    with sessions.begin() as session:
        for benchmark_id in suite.benchmarks:
            text = benchmark_yaml(benchmark_id, suite)
            repo.upsert_benchmark(
                session,
                benchmark_id=benchmark_id,
                yaml=text,
                description=f"seeded {benchmark_id}",
                tags=text.split("tags: [", 1)[1].split("]", 1)[0].split(", "),
                file_path=None,
            )
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    order = list(range(executions))
    rng.shuffle(order)  # written in no particular time order, as concurrent runs are
    batch: list[dict[str, Any]] = []
    with sessions.begin() as session:
        for n, i in enumerate(order):
            benchmark_id = suite.benchmarks[i % len(suite.benchmarks)]
            agent = suite.agents[(i // len(suite.benchmarks)) % len(suite.agents)]
            if i >= executions - ACTIVE_NEWEST:
                status = ExecutionStatus.QUEUED if i % 2 else ExecutionStatus.RUNNING
            else:
                status = rng.choices(statuses, weights)[0]
            offset = span * (i / max(1, executions))
            if benchmark_id in suite.recent:
                offset = recent_from + (span - recent_from) * (i / max(1, executions))
            created = START + offset + timedelta(microseconds=i % 997)
            score: float | None = None
            if status is ExecutionStatus.COMPLETED or (
                status is ExecutionStatus.FAILED and rng.random() < 0.5
            ):
                score = round(rng.randrange(0, 21) * 0.05, 2)
            finished = created + timedelta(seconds=rng.uniform(5, 80)) if status.terminal else None
            batch.append(
                {
                    "execution_id": f"exec-{i:07d}",
                    "benchmark_id": benchmark_id,
                    "agent": agent,
                    "model": None,
                    "profile": "verified",
                    "seed": 0,
                    "epoch": 0,
                    "status": status,
                    "progress": 1.0 if status.terminal else 0.5,
                    "score": score,
                    "passed": None if score is None else score >= 0.75,
                    "error": None,
                    "result": result_json(rng, score) if results and status.terminal else None,
                    "source": "api",
                    "created_at": created,
                    "started_at": created + timedelta(seconds=1),
                    "finished_at": finished,
                    "heartbeat_at": finished,
                }
            )
            if len(batch) == BATCH or n == executions - 1:
                session.execute(insert(ExecutionRow), batch)
                batch = []
    engine.dispose()
