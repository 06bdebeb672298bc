"""`/agent-performance`: per agent, runs, mean score, pass rate, per-benchmark latest and best,
and the score over time (daily means).

Assembled from three aggregate queries (`reev.store.aggregates`) per (benchmark, agent) cell:
its totals, its newest scored execution and its daily sums. No execution row is loaded whole,
so the time and memory of a request grow with the number of agents, benchmarks and days, not
of executions (issue 18). The API keeps the cells (`AGGREGATES.cells`): after a write only the
cells it touched are read again (index seeks), so the first request after a write costs
milliseconds at 100k executions instead of a full pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from reev.store import aggregates
from reev.store.aggregates import Key
from reev.store.cache import AGGREGATES


@dataclass(frozen=True)
class CellPerformance:
    """What `/agent-performance` needs of one (benchmark, agent) cell."""

    totals: aggregates.CellTotals
    latest: Any  # the newest scored execution (`aggregates.RUN_COLUMNS`), None when none
    days: tuple[tuple[str, int, float], ...]  # (day, scored runs, score sum)


def cell_performance(
    session: Session, cells: Collection[Key] | None = None
) -> dict[Key, CellPerformance]:
    """The three aggregate queries for `cells` (every cell when None): index seeks per cell
    after a write (`AGGREGATES.cells`), one pass over the covering index otherwise."""
    totals = aggregates.cell_totals(session, cells)
    latest = aggregates.latest_per_cell(session, totals, scored=True)
    days: dict[Key, list[tuple[str, int, float]]] = defaultdict(list)
    for benchmark, agent, day, runs, total in aggregates.daily_cell_scores(session, cells):
        days[(benchmark, agent)].append((day, runs, total))
    return {
        (t.benchmark_id, t.agent): CellPerformance(
            t, latest.get((t.benchmark_id, t.agent)), tuple(days.get((t.benchmark_id, t.agent), ()))
        )
        for t in totals
    }


def cached_agent_performance(session: Session) -> dict[str, Any]:
    """`agent_performance` as the API serves it: kept while nothing changes, and after a write
    rebuilt from the kept cells with only the cells that write touched read again."""
    return AGGREGATES.get(
        session,
        "agent-performance",
        lambda s: performance_of(AGGREGATES.cells(s, "agent-performance-cells", cell_performance)),
    )


def agent_performance(session: Session) -> dict[str, Any]:
    """Computed from scratch (no cache)."""
    return performance_of(cell_performance(session))


def performance_of(cells: Mapping[Key, CellPerformance]) -> dict[str, Any]:
    by_agent: dict[str, list[CellPerformance]] = defaultdict(list)
    for cell in cells.values():
        if (
            cell.totals.finished
        ):  # an agent with only queued or running executions has no numbers yet
            by_agent[cell.totals.agent].append(cell)
    agents = []
    for agent, unordered in sorted(by_agent.items()):
        # In benchmark order, whatever order the cells were merged in: the float sums are then
        # the same, bit for bit, after a full pass and after per-cell updates.
        of_agent = sorted(unordered, key=lambda c: c.totals.benchmark_id)
        totals = [c.totals for c in of_agent]
        scored = sum(c.scored for c in totals)
        benchmarks: dict[str, dict[str, Any]] = {}
        for cell in of_agent:
            row = cell.latest
            if cell.totals.scored == 0 or row is None:
                continue
            benchmarks[cell.totals.benchmark_id] = {
                "runs": cell.totals.scored,
                "best": cell.totals.best,
                "latest": {
                    "score": row.score,
                    "passed": row.passed,
                    "execution_id": row.execution_id,
                    "status": row.status,
                    "at": row.created_at.isoformat(),
                },
            }
        days: dict[str, list[float]] = {}
        for cell in of_agent:
            for day, runs, total in cell.days:
                entry = days.setdefault(day, [0, 0.0])
                entry[0] += runs
                entry[1] += total
        agents.append(
            {
                "agent": agent,
                "runs": sum(c.finished for c in totals),
                "completed": sum(c.completed for c in totals),
                "mean_score": sum(c.score_sum for c in totals) / scored if scored else None,
                "pass_rate": sum(c.passed for c in totals) / scored if scored else None,
                "benchmarks": benchmarks,
                "over_time": [
                    {"date": day, "mean_score": total / runs, "runs": int(runs)}
                    for day, (runs, total) in sorted(days.items())
                ],
            }
        )
    return {"agents": agents}
