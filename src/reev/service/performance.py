"""`/agent-performance`: per agent, runs, mean score, pass rate, per-benchmark latest and best,
and the score over time (daily means)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from reev.events import ExecutionStatus
from reev.store.models import ExecutionRow


def agent_performance(rows: list[ExecutionRow]) -> dict[str, Any]:
    by_agent: dict[str, list[ExecutionRow]] = defaultdict(list)
    for row in rows:  # rows come oldest first
        by_agent[row.agent].append(row)
    agents = []
    for agent, runs in sorted(by_agent.items()):
        scored = [(r, r.score) for r in runs if r.score is not None]
        benchmarks: dict[str, dict[str, Any]] = {}
        days: dict[str, list[float]] = defaultdict(list)
        for r, score in scored:
            entry = benchmarks.setdefault(
                r.benchmark_id, {"runs": 0, "best": score, "latest": None}
            )
            entry["runs"] += 1
            entry["best"] = max(entry["best"], score)
            entry["latest"] = {
                "score": score,
                "passed": r.passed,
                "execution_id": r.execution_id,
                "status": r.status,
                "at": r.created_at.isoformat(),
            }
            days[r.created_at.date().isoformat()].append(score)
        agents.append(
            {
                "agent": agent,
                "runs": len(runs),
                "completed": sum(r.status is ExecutionStatus.COMPLETED for r in runs),
                "mean_score": sum(score for _, score in scored) / len(scored) if scored else None,
                "pass_rate": sum(bool(r.passed) for r, _ in scored) / len(scored)
                if scored
                else None,
                "benchmarks": benchmarks,
                "over_time": [
                    {"date": day, "mean_score": sum(v) / len(v), "runs": len(v)}
                    for day, v in sorted(days.items())
                ],
            }
        )
    return {"agents": agents}
