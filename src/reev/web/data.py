"""The numbers behind the pages: pure functions over repository rows (no NiceGUI here).

`Overview` holds every benchmark and a light summary of every execution; the overview page
filters it, colours the matrix from it, and folds live executions into it as events arrive.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, overload
from urllib.parse import quote

from sqlalchemy.orm import Session

from reev.events import ACTIVE, TERMINAL, ExecutionStatus
from reev.spec.categories import category_of, category_rank, tier_of
from reev.store import repository as repo

MUTED = "#8a94a6"  # chart text: readable on light and dark backgrounds


@overload
def utc(value: datetime) -> datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every time reev stores is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass(frozen=True)
class Run:
    """One execution, without its results JSON."""

    execution_id: str
    benchmark_id: str
    agent: str
    model: str | None
    status: ExecutionStatus
    score: float | None
    passed: bool | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Run:
        return cls(
            execution_id=row.execution_id,
            benchmark_id=row.benchmark_id,
            agent=row.agent,
            model=row.model,
            status=row.status,
            score=row.score,
            passed=row.passed,
            created_at=utc(row.created_at),
            finished_at=utc(row.finished_at),
        )

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class BenchInfo:
    id: str
    description: str
    tags: tuple[str, ...]
    category: str
    tier: str | None

    @classmethod
    def of(cls, row: Any) -> BenchInfo:
        tags = tuple(row.tags or ())
        return cls(row.id, row.description or "", tags, category_of(tags), tier_of(tags))


@dataclass
class AgentStats:
    agent: str
    runs: int
    scored: int
    mean_score: float | None
    pass_rate: float | None
    latest_mean: float | None
    covered: int


@dataclass
class Overview:
    benchmarks: list[BenchInfo]
    runs: dict[str, Run] = field(default_factory=dict)  # by execution id, oldest first
    latest: dict[tuple[str, str], Run] = field(
        default_factory=dict
    )  # (benchmark, agent) → newest run

    @classmethod
    def load(cls, session: Session) -> Overview:
        overview = cls([BenchInfo.of(row) for row in repo.list_benchmarks(session)])
        for row in repo.execution_summaries(session):
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

    def agent_stats(self, benchmark_ids: set[str]) -> list[AgentStats]:
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
                AgentStats(
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


# --------------------------------------------------------------------------- colours

# (lower bound, background, text colour, legend label); the first whose bound the score reaches.
SCALE: tuple[tuple[float, str, str, str], ...] = (
    (1.0, "#15803d", "#ffffff", "100%"),
    (0.9, "#4ade80", "#052e16", "≥ 90%"),
    (0.75, "#bef264", "#1a2e05", "≥ 75%"),
    (0.5, "#fde047", "#422006", "≥ 50%"),
    (0.25, "#fb923c", "#431407", "≥ 25%"),
    (0.0, "#dc2626", "#ffffff", "< 25%"),
)
ACTIVE_COLOURS = ("#3b82f6", "#ffffff")
NO_SCORE_COLOURS = ("#6b7280", "#ffffff")


def score_colours(score: float) -> tuple[str, str]:
    for bound, background, text, _ in SCALE:
        if score >= bound - 1e-9:
            return background, text
    return SCALE[-1][1], SCALE[-1][2]


def percent(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def legend_items() -> list[tuple[str, str, str]]:
    """(background, text colour, label) for the matrix legend."""
    return [(bg, fg, label) for _, bg, fg, label in SCALE] + [
        (*ACTIVE_COLOURS, "queued / running"),
        (*NO_SCORE_COLOURS, "ended without score"),
        ("transparent", "inherit", "not run"),
    ]


def cell_html(run: Run | None, benchmark_id: str, agent: str) -> str:
    key = html.escape(f"{benchmark_id}|{agent}", quote=True)
    if run is None:
        return f'<td class="cell empty" data-cell="{key}" title="not run">·</td>'
    when = run.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    if run.active:
        background, text = ACTIVE_COLOURS
        label, title = str(run.status), f"{run.status} since {when}"
    elif run.score is None:
        background, text = NO_SCORE_COLOURS
        label, title = str(run.status), f"{run.status}, no score ({when})"
    else:
        background, text = score_colours(run.score)
        mark = "✓" if run.passed else "✗"
        label = f"{percent(run.score)}&nbsp;<span class='mark'>{mark}</span>"
        title = (
            f"{run.score:.3f} · {'passed' if run.passed else 'not passed'} · {run.status} · {when}"
        )
    href = html.escape(f"/executions/{run.execution_id}", quote=True)
    return (
        f'<td class="cell" data-cell="{key}" data-status="{html.escape(run.status)}" '
        f'style="background:{background};color:{text}" title="{html.escape(title, quote=True)}">'
        f'<a href="{href}" style="color:inherit">{label}</a></td>'
    )


def matrix_html(overview: Overview, benchmarks: list[BenchInfo], agents: list[str]) -> str:
    """The agents × benchmarks table, coloured by each cell's latest execution."""
    head = "".join(
        f'<th class="agent" title="{html.escape(a, quote=True)}"><a href="/compare?a={html.escape(_q(a), quote=True)}">'
        f"{html.escape(a)}</a></th>"
        for a in agents
    )
    rows = []
    for b in benchmarks:
        chips = f'<span class="chip">{html.escape(b.category)}</span>' + (
            f'<span class="chip tier">{html.escape(b.tier)}</span>' if b.tier else ""
        )
        cells = "".join(cell_html(overview.latest.get((b.id, a)), b.id, a) for a in agents)
        rows.append(
            f'<tr data-benchmark="{html.escape(b.id, quote=True)}"><th class="bench" '
            f'title="{html.escape(b.description, quote=True)}">'
            f'<a href="/benchmarks/{html.escape(b.id, quote=True)}">{html.escape(b.id)}</a>{chips}</th>{cells}</tr>'
        )
    if not agents:
        head = '<th class="agent">no executions yet</th>'
    return (
        '<table class="reev-matrix"><thead><tr><th class="bench">benchmark</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _q(value: str) -> str:
    return quote(value, safe="")


# --------------------------------------------------------------------------- compare


@dataclass
class ComparisonRow:
    benchmark_id: str
    a: Run | None
    b: Run | None

    @property
    def delta(self) -> float | None:
        if self.a is None or self.b is None or self.a.score is None or self.b.score is None:
            return None
        return self.b.score - self.a.score


def compare_agents(
    overview: Overview, agent_a: str, agent_b: str, *, only_common: bool = True
) -> list[ComparisonRow]:
    latest = overview.latest_scored()
    rows = []
    for b in overview.filtered():
        ra, rb = latest.get((b.id, agent_a)), latest.get((b.id, agent_b))
        if (ra is None and rb is None) or (only_common and (ra is None or rb is None)):
            continue
        rows.append(ComparisonRow(b.id, ra, rb))
    return rows
