"""The numbers behind the pages: pure functions over repository rows (no NiceGUI here).

`Overview` holds every benchmark and, per (benchmark, agent), the sums and newest executions the
page shows; the overview page filters it, colours the matrix from it, and folds live executions
into it as events arrive (one copy per server, shared by every open page: `reev.web.live`).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, overload
from urllib.parse import quote

import yaml
from sqlalchemy.orm import Session

from reev.errors import InputError
from reev.events import ACTIVE, TERMINAL, ExecutionStatus
from reev.spec import bounded_yaml
from reev.spec.categories import category_of, category_rank, tier_of
from reev.store import aggregates
from reev.store import repository as repo
from reev.store.aggregates import Key, Unit

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

    @property
    def stamp(self) -> datetime:
        """Where a scored run lands on the score-over-time chart."""
        return self.finished_at or self.created_at


@dataclass(frozen=True)
class BenchInfo:
    id: str
    description: str
    tags: tuple[str, ...]
    category: str
    tier: str | None
    expected_fail: bool = False  # `expected_outcome: fail`: a run that does not pass is as designed

    @classmethod
    def of(cls, row: Any) -> BenchInfo:
        tags = tuple(row.tags or ())
        return cls(
            row.id,
            row.description or "",
            tags,
            category_of(tags),
            tier_of(tags),
            _expects_failure(row.yaml),
        )


def _expects_failure(text: str | None) -> bool:
    """The stored YAML was validated when it was stored; unreadable text is "pass" (the default)."""
    try:
        data = bounded_yaml.load(text or "").data
    except (yaml.YAMLError, InputError):
        return False
    return isinstance(data, dict) and data.get("expected_outcome") == "fail"


@dataclass
class AgentStats:
    agent: str
    runs: int
    scored: int
    mean_score: float | None
    pass_rate: float | None
    latest_mean: float | None
    covered: int
    failed: int = 0  # benchmarks whose latest scored run did not pass, as not designed
    as_designed: int = 0  # ... of an `expected_outcome: fail` benchmark: the failure it is for


@dataclass
class Cell:
    """The finished executions of one benchmark by one agent, summed (not listed)."""

    finished: int = 0
    scored: int = 0
    score_sum: float = 0.0
    passed: int = 0
    first: datetime | None = None  # chart stamps of the scored ones
    last: datetime | None = None

    def add(self, run: Run, sign: int = 1) -> None:
        if run.status not in TERMINAL:
            return
        self.finished += sign
        if run.score is None:
            return
        self.scored += sign
        self.score_sum += sign * run.score
        self.passed += sign * bool(run.passed)
        if sign > 0:
            stamp = run.stamp
            self.first = stamp if self.first is None else min(self.first, stamp)
            self.last = stamp if self.last is None else max(self.last, stamp)


UNITS: tuple[Unit, ...] = ("day", "hour", "minute")
Buckets = dict[Key, dict[datetime, list[float]]]  # cell → bucket start → [score sum, runs]


def _newer(run: Run, than: Run | None) -> bool:
    return (
        than is None
        or than.execution_id == run.execution_id
        or (run.created_at, run.execution_id) >= (than.created_at, than.execution_id)
    )


@dataclass
class Overview:
    """What the overview shows, as sums per (benchmark, agent) cell rather than every execution:
    loaded by a few aggregate queries (`reev.store.aggregates`), updated by `apply` as live
    events arrive. Its size grows with benchmarks × agents (and chart buckets), not with the
    number of executions."""

    benchmarks: list[BenchInfo]
    latest: dict[Key, Run] = field(default_factory=dict)  # newest run of any status per cell
    latest_scored_runs: dict[Key, Run] = field(default_factory=dict)  # newest with a score
    cells: dict[Key, Cell] = field(default_factory=dict)
    active: dict[str, Run] = field(default_factory=dict)  # queued and running, by id
    # Chart buckets per unit; a loaded overview has the units asked for so far (`load_unit`),
    # one built in memory has all three.
    buckets: dict[Unit, Buckets] = field(default_factory=lambda: {u: {} for u in UNITS})
    runs: dict[str, Run] = field(default_factory=dict)  # the runs `apply` has folded in

    @classmethod
    def load(cls, session: Session) -> Overview:
        overview = cls([BenchInfo.of(row) for row in repo.list_benchmarks(session)], buckets={})
        totals = aggregates.cell_totals(session)
        for total in totals:
            overview.cells[(total.benchmark_id, total.agent)] = Cell(
                total.finished,
                total.scored,
                total.score_sum,
                total.passed,
                utc(total.first),
                utc(total.last),
            )
        overview.latest = {
            k: Run.of(r)
            for k, r in aggregates.latest_per_cell(session, totals, scored=False).items()
        }
        overview.latest_scored_runs = {
            k: Run.of(r)
            for k, r in aggregates.latest_per_cell(session, totals, scored=True).items()
        }
        # After the totals: a run that finishes in between is in neither, and its event adds it.
        for row in aggregates.active_runs(session):
            run = Run.of(row)
            overview.active[run.execution_id] = overview.runs[run.execution_id] = run
        overview.load_unit(session, overview.unit_for(None))
        return overview

    def load_unit(self, session: Session, unit: Unit) -> None:
        """Read the chart buckets of `unit` (a filter whose time span needs another unit)."""
        if unit in self.buckets:
            return
        loaded: Buckets = defaultdict(dict)
        for b, a, start, n, total in aggregates.score_buckets(session, unit):
            loaded[(b, a)][start] = [total, n]
        self.buckets[unit] = dict(loaded)

    # ------------------------------------------------------------------ updates

    def apply(self, run: Run) -> None:
        """Add or replace one execution (from a live event)."""
        key = (run.benchmark_id, run.agent)
        previous = self.runs.get(run.execution_id)
        cell = self.cells.setdefault(key, Cell())
        if previous is not None:
            self._fold(previous, -1)
            cell.add(previous, -1)
        self._fold(run, 1)
        cell.add(run)
        self.runs[run.execution_id] = run
        if run.active:
            self.active[run.execution_id] = run
        else:
            self.active.pop(run.execution_id, None)
        if _newer(run, self.latest.get(key)):
            self.latest[key] = run
        scored = run.status in TERMINAL and run.score is not None
        if scored and _newer(run, self.latest_scored_runs.get(key)):
            self.latest_scored_runs[key] = run

    def _fold(self, run: Run, sign: int) -> None:
        if run.status not in TERMINAL or run.score is None:
            return
        for unit, buckets in self.buckets.items():
            point = buckets.setdefault((run.benchmark_id, run.agent), {}).setdefault(
                _truncate(run.stamp, unit), [0.0, 0]
            )
            point[0] += sign * run.score
            point[1] += sign

    # ------------------------------------------------------------------ reads

    @property
    def agents(self) -> list[str]:
        return sorted({agent for _, agent in self.cells} | {agent for _, agent in self.latest})

    def counts(self) -> dict[ExecutionStatus, int]:
        out = dict.fromkeys(ACTIVE, 0)
        for run in self.active.values():
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

    def agent_stats(self, benchmark_ids: set[str]) -> list[AgentStats]:
        expected_fail = {b.id for b in self.benchmarks if b.expected_fail}
        out = []
        for agent in self.agents:
            cells = [c for (bid, a), c in self.cells.items() if a == agent and bid in benchmark_ids]
            scored = sum(c.scored for c in cells)
            latest = [
                run
                for (bid, a), run in self.latest_scored_runs.items()
                if a == agent and bid in benchmark_ids
            ]
            missed = [run for run in latest if not run.passed]
            as_designed = sum(run.benchmark_id in expected_fail for run in missed)
            out.append(
                AgentStats(
                    agent=agent,
                    runs=sum(c.finished for c in cells),
                    scored=scored,
                    mean_score=sum(c.score_sum for c in cells) / scored if scored else None,
                    pass_rate=sum(c.passed for c in cells) / scored if scored else None,
                    latest_mean=_mean(r.score for r in latest),
                    covered=len(latest),
                    failed=len(missed) - as_designed,
                    as_designed=as_designed,
                )
            )
        return out

    def latest_scored(self) -> dict[Key, Run]:
        return dict(self.latest_scored_runs)

    def unit_for(self, benchmark_ids: set[str] | None) -> Unit:
        """The chart's bucket: day, hour or minute, whichever gives the data more than one point."""
        span = self._span(benchmark_ids)
        if span is None:
            return "minute"
        width = span[1] - span[0]
        return (
            "day"
            if width >= timedelta(days=3)
            else "hour"
            if width >= timedelta(hours=3)
            else "minute"
        )

    def _span(self, benchmark_ids: set[str] | None) -> tuple[datetime, datetime] | None:
        cells = [
            c
            for (bid, _), c in self.cells.items()
            if c.scored > 0
            and c.first is not None
            and c.last is not None
            and (benchmark_ids is None or bid in benchmark_ids)
        ]
        if not cells:
            return None
        return min(c.first for c in cells if c.first), max(c.last for c in cells if c.last)

    def score_over_time(self, benchmark_ids: set[str]) -> dict[str, Any]:
        """ECharts options: the mean score per agent per time bucket (day, hour or minute,
        whichever gives the data more than one point). The unit's buckets must be loaded
        (`load_unit(session, unit_for(ids))`); an overview built in memory has them all."""
        series = []
        x_axis: dict[str, Any] = {
            "type": "time",
            "splitNumber": 4,
            "axisLabel": {"hideOverlap": True, "color": MUTED},
            "axisLine": {"lineStyle": {"color": MUTED}},
        }
        span = self._span(benchmark_ids)
        if span is not None:
            unit = self.unit_for(benchmark_ids)
            step = {
                "day": timedelta(days=1),
                "hour": timedelta(hours=1),
                "minute": timedelta(minutes=1),
            }[unit]
            by_agent: dict[str, dict[datetime, list[float]]] = defaultdict(dict)
            for (bid, agent), points in self.buckets.get(unit, {}).items():
                if bid not in benchmark_ids:
                    continue
                for start, (total, n) in points.items():
                    if n > 0:
                        point = by_agent[agent].setdefault(start, [0.0, 0])
                        point[0] += total
                        point[1] += n
            for agent in sorted(by_agent):
                ordered = sorted(by_agent[agent].items())
                series.append(
                    {
                        "name": agent,
                        "type": "line",
                        "showSymbol": True,
                        "symbolSize": 7,
                        "data": [[t.isoformat(), round(100 * v[0] / v[1], 1)] for t, v in ordered],
                    }
                )
            # A little room either side, so a single bucket is not a point lost in a day-wide axis.
            x_axis["min"] = (_truncate(span[0], unit) - step).isoformat()
            x_axis["max"] = (_truncate(span[1], unit) + step).isoformat()
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


DARK_CHART = {"text": "#cbd5e1", "surface": "#1e293b", "line": "rgba(148,163,184,0.25)"}


def themed_chart(options: dict[str, Any], dark: bool) -> dict[str, Any]:
    """The chart's options for the page's mode: in dark mode ECharts' own dark palette hint,
    light text, and a dark tooltip (its default is a white box)."""
    if not dark:
        return {**options, "darkMode": False, "backgroundColor": "transparent"}
    y_axis = dict(options.get("yAxis", {}))
    y_axis["splitLine"] = {"lineStyle": {"color": DARK_CHART["line"]}}
    return {
        **options,
        "darkMode": True,
        "backgroundColor": "transparent",
        "textStyle": {"color": DARK_CHART["text"]},
        "tooltip": {
            **options.get("tooltip", {}),
            "backgroundColor": DARK_CHART["surface"],
            "borderColor": DARK_CHART["surface"],
            "textStyle": {"color": DARK_CHART["text"]},
        },
        "legend": {**options.get("legend", {}), "textStyle": {"color": DARK_CHART["text"]}},
        "yAxis": y_axis,
    }


def _truncate(stamp: datetime, unit: Unit) -> datetime:
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


AS_DESIGNED_MARK = "⊘"  # a benchmark built to fail (`expected_outcome: fail`) did not pass


def cell_html(run: Run | None, benchmark_id: str, agent: str, expected_fail: bool = False) -> str:
    key = html.escape(f"{benchmark_id}|{agent}", quote=True)
    if run is None:
        return f'<td class="cell empty" data-cell="{key}" title="not run">·</td>'
    when = run.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    designed = ""
    if run.active:
        background, text = ACTIVE_COLOURS
        label, title = str(run.status), f"{run.status} since {when}"
    elif run.score is None:
        background, text = NO_SCORE_COLOURS
        label, title = str(run.status), f"{run.status}, no score ({when})"
    else:
        background, text = score_colours(run.score)
        as_designed = expected_fail and not run.passed
        mark = "✓" if run.passed else AS_DESIGNED_MARK if as_designed else "✗"
        label = f"{percent(run.score)}&nbsp;<span class='mark'>{mark}</span>"
        verdict = (
            "passed"
            if run.passed
            else "not passed, as designed (expected_outcome: fail)"
            if as_designed
            else "not passed"
        )
        title = f"{run.score:.3f} · {verdict} · {run.status} · {when}"
        designed = ' data-as-designed="true"' if as_designed else ""
    href = html.escape(f"/executions/{run.execution_id}", quote=True)
    return (
        f'<td class="cell" data-cell="{key}" data-status="{html.escape(run.status)}"{designed} '
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
        chips = (
            f'<span class="chip">{html.escape(b.category)}</span>'
            + (f'<span class="chip tier">{html.escape(b.tier)}</span>' if b.tier else "")
            + (
                '<span class="chip expected-fail" data-testid="expected-fail" '
                'title="expected_outcome: fail — built to fail; a run that does not pass is as designed">'
                "expected fail</span>"
                if b.expected_fail
                else ""
            )
        )
        cells = "".join(
            cell_html(overview.latest.get((b.id, a)), b.id, a, b.expected_fail) for a in agents
        )
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
