"""The aggregation reev did before issue 18, kept as the oracle of tests/test_store_queries.py.

`/agent-performance` loaded every finished execution whole and folded it in Python; the
dashboard's overview loaded a light row of every execution and did the same. The SQL versions
(`reev.store.aggregates`, `reev.web.data.Overview`) must give the same answers on the same
database: these are the old functions, verbatim but for their names and the two queries they
read through (which left `reev.store.repository` with them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from reev.events import ACTIVE, TERMINAL, ExecutionStatus
from reev.spec.categories import category_rank
from reev.store import repository as repo
from reev.store.models import ExecutionRow
from reev.web.data import MUTED, BenchInfo, Run


def finished_executions(
    session: Session, agents: Iterable[str] | None = None
) -> list[ExecutionRow]:
    query = select(ExecutionRow).where(ExecutionRow.status.in_(TERMINAL))
    if agents is not None:
        query = query.where(ExecutionRow.agent.in_(list(agents)))
    return list(session.scalars(query.order_by(ExecutionRow.created_at)))


def execution_summaries(session: Session) -> list[Row[Any]]:
    columns = (
        ExecutionRow.execution_id,
        ExecutionRow.benchmark_id,
        ExecutionRow.agent,
        ExecutionRow.model,
        ExecutionRow.status,
        ExecutionRow.score,
        ExecutionRow.passed,
        ExecutionRow.created_at,
        ExecutionRow.finished_at,
    )
    return list(
        session.execute(
            select(*columns).order_by(ExecutionRow.created_at, ExecutionRow.execution_id)
        )
    )


def old_agent_performance(rows: list[ExecutionRow]) -> dict[str, Any]:
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


@dataclass
class OldAgentStats:
    agent: str
    runs: int
    scored: int
    mean_score: float | None
    pass_rate: float | None
    latest_mean: float | None
    covered: int


@dataclass
class OldOverview:
    benchmarks: list[BenchInfo]
    runs: dict[str, Run] = field(default_factory=dict)  # by execution id, oldest first
    latest: dict[tuple[str, str], Run] = field(
        default_factory=dict
    )  # (benchmark, agent) → newest run

    @classmethod
    def load(cls, session: Session) -> OldOverview:
        overview = cls([BenchInfo.of(row) for row in repo.list_benchmarks(session)])
        for row in execution_summaries(session):
            overview.apply(Run.of(row))
        return overview

    # ------------------------------------------------------------------ updates

    def apply(self, run: Run) -> None:
        """Add or replace one execution (from a live event)."""
        self.runs[run.execution_id] = run
        key = (run.benchmark_id, run.agent)
        current = self.latest.get(key)
        if (
            current is None
            or current.execution_id == run.execution_id
            or (run.created_at, run.execution_id) >= (current.created_at, current.execution_id)
        ):
            self.latest[key] = run

    # ------------------------------------------------------------------ reads

    @property
    def agents(self) -> list[str]:
        return sorted({run.agent for run in self.runs.values()})

    def counts(self) -> dict[ExecutionStatus, int]:
        out = dict.fromkeys(ACTIVE, 0)
        for run in self.runs.values():
            if run.status in out:
                out[run.status] += 1
        return out

    def tags(self) -> list[str]:
        return sorted({tag for b in self.benchmarks for tag in b.tags})

    def categories(self) -> list[str]:
        return sorted({b.category for b in self.benchmarks}, key=lambda c: (category_rank(c), c))

    def tiers(self) -> list[str]:
        return sorted({b.tier for b in self.benchmarks if b.tier})

    def filtered(
        self,
        tags: Iterable[str] = (),
        category: str | None = None,
        tier: str | None = None,
        text: str = "",
    ) -> list[BenchInfo]:
        wanted = set(tags)
        needle = text.strip().lower()
        out = [
            b
            for b in self.benchmarks
            if wanted <= set(b.tags)
            and (not category or b.category == category)
            and (not tier or b.tier == tier)
            and (not needle or needle in b.id.lower() or needle in b.description.lower())
        ]
        return sorted(out, key=lambda b: (category_rank(b.category), b.category, b.id))

    def scored_runs(self, benchmark_ids: set[str]) -> list[Run]:
        return [
            r
            for r in self.runs.values()
            if r.benchmark_id in benchmark_ids and r.status in TERMINAL and r.score is not None
        ]

    def agent_stats(self, benchmark_ids: set[str]) -> list[OldAgentStats]:
        by_agent: dict[str, list[Run]] = defaultdict(list)
        finished: dict[str, int] = defaultdict(int)
        for run in self.runs.values():
            if run.benchmark_id in benchmark_ids and run.status in TERMINAL:
                finished[run.agent] += 1
                if run.score is not None:
                    by_agent[run.agent].append(run)
        latest_by_agent: dict[str, list[Run]] = defaultdict(list)
        for (bid, agent), run in self.latest_scored().items():
            if bid in benchmark_ids:
                latest_by_agent[agent].append(run)
        out = []
        for agent in self.agents:
            runs = by_agent.get(agent, [])
            latest = latest_by_agent.get(agent, [])
            out.append(
                OldAgentStats(
                    agent=agent,
                    runs=finished.get(agent, 0),
                    scored=len(runs),
                    mean_score=_mean(r.score for r in runs),
                    pass_rate=_mean(1.0 if r.passed else 0.0 for r in runs),
                    latest_mean=_mean(r.score for r in latest),
                    covered=len(latest),
                )
            )
        return out

    def latest_scored(self) -> dict[tuple[str, str], Run]:
        out: dict[tuple[str, str], Run] = {}
        for run in self.runs.values():  # oldest first: the last one wins
            if run.status in TERMINAL and run.score is not None:
                out[(run.benchmark_id, run.agent)] = run
        return out

    def score_over_time(self, benchmark_ids: set[str]) -> dict[str, Any]:
        """ECharts options: the mean score per agent per time bucket (day, hour or minute,
        whichever gives the data more than one point)."""
        runs = self.scored_runs(benchmark_ids)
        series = []
        x_axis: dict[str, Any] = {
            "type": "time",
            "splitNumber": 4,
            "axisLabel": {"hideOverlap": True, "color": MUTED},
            "axisLine": {"lineStyle": {"color": MUTED}},
        }
        if runs:
            stamps = [r.finished_at or r.created_at for r in runs]
            span = max(stamps) - min(stamps)
            unit = (
                "day"
                if span >= timedelta(days=3)
                else "hour"
                if span >= timedelta(hours=3)
                else "minute"
            )
            step = {
                "day": timedelta(days=1),
                "hour": timedelta(hours=1),
                "minute": timedelta(minutes=1),
            }[unit]
            buckets: dict[str, dict[datetime, list[float]]] = defaultdict(lambda: defaultdict(list))
            for run, stamp in zip(runs, stamps, strict=True):
                buckets[run.agent][_truncate(stamp, unit)].append(run.score or 0.0)
            for agent in sorted(buckets):
                points = sorted(buckets[agent].items())
                series.append(
                    {
                        "name": agent,
                        "type": "line",
                        "showSymbol": True,
                        "symbolSize": 7,
                        "data": [
                            [t.isoformat(), round(100 * sum(v) / len(v), 1)] for t, v in points
                        ],
                    }
                )
            # A little room either side, so a single bucket is not a point lost in a day-wide axis.
            x_axis["min"] = (_truncate(min(stamps), unit) - step).isoformat()
            x_axis["max"] = (_truncate(max(stamps), unit) + step).isoformat()
        return {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "legend": {"type": "scroll", "bottom": 0, "textStyle": {"color": MUTED}},
            "grid": {"left": 40, "right": 16, "top": 12, "bottom": 56},
            "xAxis": x_axis,
            "yAxis": {
                "type": "value",
                "min": 0,
                "max": 100,
                "axisLabel": {"formatter": "{value}%", "color": MUTED},
                "splitLine": {"lineStyle": {"color": "rgba(128,128,128,0.25)"}},
            },
            "series": series,
        }


def _truncate(stamp: datetime, unit: str) -> datetime:
    if unit == "day":
        return stamp.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "hour":
        return stamp.replace(minute=0, second=0, microsecond=0)
    return stamp.replace(second=0, microsecond=0)


def _mean(values: Iterable[float | None]) -> float | None:
    items = [v for v in values if v is not None]
    return sum(items) / len(items) if items else None


def _truncate(stamp: datetime, unit: str) -> datetime:
    if unit == "day":
        return stamp.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "hour":
        return stamp.replace(minute=0, second=0, microsecond=0)
    return stamp.replace(second=0, microsecond=0)


def _mean(values: Iterable[float | None]) -> float | None:
    items = [v for v in values if v is not None]
    return sum(items) / len(items) if items else None
