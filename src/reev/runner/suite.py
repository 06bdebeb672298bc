"""Suites: many benchmarks × epochs, each episode with its own derived seed.

Seeds are derived per (run seed, benchmark id, epoch), never from a process-wide RNG, so any
episode can be re-run alone and give the same addresses and signatures.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reev.agents.base import Agent
from reev.runner.episode import EpisodeResult, EventSink, run_episode
from reev.scoring import Profile
from reev.spec.models import Benchmark


def episode_seed(run_seed: int, benchmark_id: str, epoch: int) -> int:
    """Epoch 0 uses the run seed itself (what the user typed); later epochs derive theirs."""
    if epoch == 0:
        return run_seed
    digest = hashlib.sha256(f"{run_seed}/{benchmark_id}/{epoch}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def episode_execution_id(base: str | None, index: int, total: int) -> str | None:
    """`--execution-id ID` names a single episode exactly; in a suite, ID-001, ID-002, …"""
    if base is None:
        return None
    return base if total == 1 else f"{base}-{index + 1:03d}"


@dataclass
class SuiteResult:
    results: list[EpisodeResult] = field(default_factory=list)
    duration_ms: float = 0.0

    def summary(self) -> dict[str, Any]:
        n = len(self.results)
        return {
            "episodes": n,
            "passed": sum(r.passed for r in self.results),
            "completed": sum(r.status == "Completed" for r in self.results),
            "failed": sum(r.status != "Completed" for r in self.results),
            "mean_score": round(sum(r.score for r in self.results) / n, 6) if n else 0.0,
            "duration_ms": round(self.duration_ms, 3),
        }

    def to_json(self, **meta: Any) -> dict[str, Any]:
        return {
            **meta,
            "results": [r.to_json() for r in self.results],
            "summary": self.summary(),
        }


async def run_suite(
    benchmarks: list[Benchmark],
    agent_factory: Callable[[], Agent],
    *,
    seed: int = 0,
    epochs: int = 1,
    profile: Profile = "verified",
    execution_id: str | None = None,
    log_dir: Path | None = Path("logs"),
    max_concurrency: int = 1,
    on_event: EventSink | None = None,
    on_result: Callable[[EpisodeResult], None] | None = None,
) -> SuiteResult:
    """Run every (benchmark, epoch); results come back in suite order whatever finishes first."""
    plan = [(b, e) for b in benchmarks for e in range(epochs)]
    limit = asyncio.Semaphore(max(1, max_concurrency))
    started = time.perf_counter()

    async def one(index: int, benchmark: Benchmark, epoch: int) -> EpisodeResult:
        async with limit:
            result = await run_episode(
                benchmark,
                agent_factory(),
                seed=episode_seed(seed, benchmark.id, epoch),
                epoch=epoch,
                profile=profile,
                execution_id=episode_execution_id(execution_id, index, len(plan)),
                log_dir=log_dir,
                on_event=on_event,
            )
        if on_result is not None:
            on_result(result)
        return result

    results = await asyncio.gather(*(one(i, b, e) for i, (b, e) in enumerate(plan)))
    return SuiteResult(results=list(results), duration_ms=(time.perf_counter() - started) * 1000)
