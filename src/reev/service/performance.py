"""`/agent-performance`: per agent, runs, mean score, pass rate, per-benchmark latest and best,
and the score over time (daily means).

Assembled from three aggregate queries (`reev.store.aggregates`): the totals per (benchmark,
agent), the newest scored execution per (benchmark, agent) and the daily sums per agent. No
execution row is loaded whole, so the time and memory of a request grow with the number of
agents, benchmarks and days, not of executions (issue 18).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from reev.store import aggregates


def agent_performance(session: Session) -> dict[str, Any]:
    totals = aggregates.cell_totals(session)
    latest = aggregates.latest_per_cell(session, totals, scored=True)
    by_agent: dict[str, list[aggregates.CellTotals]] = defaultdict(list)
    for cell in totals:
        if cell.finished:  # an agent with only queued or running executions has no numbers yet
            by_agent[cell.agent].append(cell)
    days: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
    for agent, day, runs, total in aggregates.daily_scores(session):
        days[agent].append((day, runs, total))
    agents = []
    for agent, cells in sorted(by_agent.items()):
        scored = sum(c.scored for c in cells)
        benchmarks: dict[str, dict[str, Any]] = {}
        for cell in sorted(cells, key=lambda c: c.benchmark_id):
            row = latest.get((cell.benchmark_id, agent))
            if cell.scored == 0 or row is None:
                continue
            benchmarks[cell.benchmark_id] = {
                "runs": cell.scored,
                "best": cell.best,
                "latest": {
                    "score": row.score,
                    "passed": row.passed,
                    "execution_id": row.execution_id,
                    "status": row.status,
                    "at": row.created_at.isoformat(),
                },
            }
        agents.append(
            {
                "agent": agent,
                "runs": sum(c.finished for c in cells),
                "completed": sum(c.completed for c in cells),
                "mean_score": sum(c.score_sum for c in cells) / scored if scored else None,
                "pass_rate": sum(c.passed for c in cells) / scored if scored else None,
                "benchmarks": benchmarks,
                "over_time": [
                    {"date": day, "mean_score": total / runs, "runs": runs}
                    for day, runs, total in sorted(days.get(agent, []))
                ],
            }
        )
    return {"agents": agents}
