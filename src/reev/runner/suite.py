"""Suites: many benchmarks × epochs, each episode with its own derived seed.

Seeds are derived per (run seed, benchmark id, epoch), never from a process-wide RNG, so any
episode can be re-run alone and give the same addresses and signatures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Tracer

from reev.agents.base import Agent
from reev.chain.litesvm import pooled_chain
from reev.chain.protocol import Chain
from reev.events import ExecutionStatus
from reev.runner.episode import (  # episode_seed: re-exported, callers import it from here
    DEFAULT_STEP_TIMEOUT_S,
    EpisodeResult,
    EventSink,
    episode_seed,
    run_episode,
)
from reev.runner.schedule import StartGate, start_order
from reev.runner.session import Usage
from reev.scoring import Profile
from reev.spec.models import Benchmark
from reev.telemetry.tracing import NOOP_TRACER, set_span_attributes

if TYPE_CHECKING:
    from reev.runner.ray_executor import RayOptions


def episode_execution_id(base: str | None, index: int, total: int) -> str | None:
    """`--execution-id ID` names a single episode exactly; in a suite, ID-001, ID-002, …"""
    if base is None:
        return None
    return base if total == 1 else f"{base}-{index + 1:03d}"


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chance that at least one of k samples passes, from n runs with c passes (unbiased)."""
    if k > n:
        raise ValueError("k must not exceed n")
    return 1.0 if n - c < k else 1.0 - comb(n - c, k) / comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Chance that all of k samples pass (tau-bench's pass^k), from n runs with c passes."""
    if k > n:
        raise ValueError("k must not exceed n")
    return comb(c, k) / comb(n, k)


def benchmark_metrics(results: list[EpisodeResult]) -> list[dict[str, Any]]:
    """Per benchmark over its epochs: mean score, pass@1, pass@k and pass^k with k = epochs."""
    groups: dict[str, list[EpisodeResult]] = {}
    for r in results:
        groups.setdefault(r.benchmark_id, []).append(r)
    out = []
    for benchmark_id, runs in groups.items():
        n, c = len(runs), sum(r.passed for r in runs)
        out.append(
            {
                "benchmark_id": benchmark_id,
                "epochs": n,
                "passes": c,
                "mean_score": round(sum(r.score for r in runs) / n, 6),
                "pass@1": round(pass_at_k(n, c, 1), 6),
                f"pass@{n}": round(pass_at_k(n, c, n), 6),
                f"pass^{n}": round(pass_hat_k(n, c, n), 6),
            }
        )
    return out


@dataclass
class SuiteResult:
    results: list[EpisodeResult] = field(default_factory=list)
    duration_ms: float = 0.0

    def usage(self) -> Usage:
        total = Usage()
        for r in self.results:
            for name in Usage.model_fields:
                setattr(total, name, getattr(total, name) + getattr(r.usage, name))
        total.cost_usd = round(total.cost_usd, 8)
        return total

    def summary(self) -> dict[str, Any]:
        n = len(self.results)
        metrics = benchmark_metrics(self.results)
        k = max((m["epochs"] for m in metrics), default=1)
        same_k = all(m["epochs"] == k for m in metrics)
        summary: dict[str, Any] = {
            "episodes": n,
            "passed": sum(r.passed for r in self.results),
            "completed": sum(r.status is ExecutionStatus.COMPLETED for r in self.results),
            "failed": sum(
                r.status in (ExecutionStatus.FAILED, ExecutionStatus.TIMEOUT) for r in self.results
            ),
            "cancelled": sum(r.status is ExecutionStatus.CANCELLED for r in self.results),
            "mean_score": round(sum(r.score for r in self.results) / n, 6) if n else 0.0,
            "pass@1": round(sum(m["pass@1"] for m in metrics) / len(metrics), 6)
            if metrics
            else 0.0,
            "duration_ms": round(self.duration_ms, 3),
            "usage": self.usage().model_dump(),
        }
        if metrics and same_k and k > 1:
            summary[f"pass@{k}"] = round(sum(m[f"pass@{k}"] for m in metrics) / len(metrics), 6)
            summary[f"pass^{k}"] = round(sum(m[f"pass^{k}"] for m in metrics) / len(metrics), 6)
        return summary

    def to_json(self, **meta: Any) -> dict[str, Any]:
        return {
            **meta,
            "results": [r.to_json() for r in self.results],
            "benchmarks": benchmark_metrics(self.results),
            "summary": self.summary(),
        }


async def run_suite(
    benchmarks: list[Benchmark],
    agent_factory: Callable[[], Agent],
    *,
    seed: int = 0,
    epochs: int = 1,
    first_epoch: int = 0,
    profile: Profile = "verified",
    execution_id: str | None = None,
    log_dir: Path | None = Path("logs"),
    max_concurrency: int = 1,
    on_event: EventSink | None = None,
    on_result: Callable[[EpisodeResult], None] | None = None,
    stop: Callable[[], str | None] | None = None,
    step_timeout_s: float | None = DEFAULT_STEP_TIMEOUT_S,
    tracer: Tracer = NOOP_TRACER,
    chain_factory: Callable[[], Chain] = pooled_chain,
    workers: int = 1,
    trace_jsonl: bool = False,
    only: Callable[[str, int], bool] | None = None,
    session_file_for: Callable[[str, int], Path] | None = None,
    ray: RayOptions | None = None,
) -> SuiteResult:
    """Run every (benchmark, epoch); results come back in suite order whatever finishes first.

    `only(benchmark_id, epoch)` keeps part of the plan (a resumed run skips what it has);
    `session_file_for(benchmark_id, epoch)` names each episode's session file (a run directory).
    Execution ids (`execution_id` ID-001, …) number the whole plan, so a part keeps its ids.

    `workers` > 1 runs the episodes in that many processes (reev.runner.workers), splitting
    `max_concurrency` between them; each worker then traces on its own (JSONL when
    `trace_jsonl`, OTLP when configured), under the run span of `tracer`.

    `ray` runs every episode as a Ray task instead (reev.runner.ray_executor), at most
    `max_concurrency` in flight across the cluster; `workers` is then not used.
    """
    full = [(b, e) for b in benchmarks for e in range(first_epoch, first_epoch + epochs)]
    plan = [(index, b, e) for index, (b, e) in enumerate(full) if only is None or only(b.id, e)]
    run_span = tracer.start_span("run")
    set_span_attributes(
        run_span,
        reev__run__seed=seed,
        reev__run__epochs=epochs,
        reev__run__profile=profile,
        reev__run__episodes=len(plan),
        reev__run__max_concurrency=max_concurrency,
    )
    run_context = trace.set_span_in_context(run_span)
    limit = asyncio.Semaphore(max(1, max_concurrency))
    gate = StartGate()
    started = time.perf_counter()

    async def one(index: int, benchmark: Benchmark, epoch: int) -> EpisodeResult:
        async with limit:
            await gate.turn()
            reason = stop() if stop is not None else None
            if reason:
                result = _not_started(benchmark, epoch, seed, reason, agent_factory().name, profile)
                if on_result is not None:
                    on_result(result)
                return result
            result = await run_episode(
                benchmark,
                agent_factory(),
                seed=episode_seed(seed, benchmark.id, epoch),
                run_seed=seed,
                epoch=epoch,
                profile=profile,
                execution_id=episode_execution_id(execution_id, index, len(full)),
                log_dir=log_dir,
                session_file=session_file_for(benchmark.id, epoch) if session_file_for else None,
                step_timeout_s=step_timeout_s,
                on_event=on_event,
                tracer=tracer,
                parent=run_context,
                chain_factory=chain_factory,
            )
        if on_result is not None:
            on_result(result)
        return result

    try:
        if ray is not None or workers > 1:
            results = await _in_workers(
                benchmarks,
                plan,
                planned=len(full),
                session_file_for=session_file_for,
                workers=workers,
                ray=ray,
                max_concurrency=max_concurrency,
                agent_factory=agent_factory,
                chain_factory=chain_factory,
                seed=seed,
                profile=profile,
                execution_id=execution_id,
                log_dir=log_dir,
                step_timeout_s=step_timeout_s,
                on_event=on_event,
                on_result=on_result,
                stop=stop,
                run_context=run_context,
                trace_jsonl=trace_jsonl,
            )
        else:
            # Started longest first (reev.runner.schedule), gathered back into plan order.
            order = start_order([b for _, b, _ in plan], max_concurrency)
            started_first = await asyncio.gather(*(one(*plan[k]) for k in order))
            by_position = dict(zip(order, started_first, strict=True))
            results = [by_position[k] for k in range(len(plan))]
        suite = SuiteResult(
            results=list(results), duration_ms=(time.perf_counter() - started) * 1000
        )
        summary = suite.summary()
        set_span_attributes(
            run_span,
            reev__run__passed=summary["passed"],
            reev__run__mean_score=summary["mean_score"],
        )
    finally:
        run_span.end()
    return suite


async def _in_workers(
    benchmarks: list[Benchmark],
    plan: list[tuple[int, Benchmark, int]],
    *,
    planned: int,
    workers: int,
    ray: RayOptions | None,
    max_concurrency: int,
    agent_factory: Callable[[], Agent],
    seed: int,
    profile: Profile,
    execution_id: str | None,
    session_file_for: Callable[[str, int], Path] | None,
    **shared: Any,
) -> list[EpisodeResult]:
    """`plan` as the in-process runner has it ((index in the full plan, benchmark, epoch)),
    to worker processes or, with `ray`, to Ray tasks; `planned` is the full plan's length
    (execution ids number the whole plan)."""
    from reev.runner.workers import EpisodeTask, run_in_workers

    position = {id(b): i for i, b in enumerate(benchmarks)}
    tasks = [
        EpisodeTask(
            index=i,
            benchmark=position[id(b)],
            epoch=e,
            seed=episode_seed(seed, b.id, e),
            execution_id=episode_execution_id(execution_id, i, planned),
            session_file=session_file_for(b.id, e) if session_file_for else None,
        )
        for i, b, e in plan
    ]
    name = agent_factory().name

    def not_started(task: EpisodeTask, reason: str) -> EpisodeResult:
        return _not_started(benchmarks[task.benchmark], task.epoch, seed, reason, name, profile)

    if ray is not None:
        from reev.runner.ray_executor import run_on_ray

        return await run_on_ray(
            benchmarks,
            tasks,
            options=ray,
            max_concurrency=max_concurrency,
            agent_factory=agent_factory,
            agent_name=name,
            run_seed=seed,
            profile=profile,
            not_started=not_started,
            **shared,
        )
    return await run_in_workers(
        benchmarks,
        tasks,
        workers=workers,
        slots=-(-max(1, max_concurrency) // workers),  # ceil: the run's bound, split
        agent_factory=agent_factory,
        run_seed=seed,
        profile=profile,
        not_started=not_started,
        **shared,
    )


def _not_started(
    benchmark: Benchmark, epoch: int, run_seed: int, reason: str, agent: str, profile: str
) -> EpisodeResult:
    """An episode the run did not start (a budget ran out): recorded, never silently dropped."""
    return EpisodeResult.without_episode(
        benchmark.id,
        epoch,
        run_seed=run_seed,
        agent=agent,
        profile=profile,
        status=ExecutionStatus.CANCELLED,
        error=f"not started: {reason}",
        expected_outcome=benchmark.expected_outcome,
    )
