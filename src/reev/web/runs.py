"""`/runs` and `/runs/{id}`: the dashboard grouped by run (issue 19).

A run is one request that queued executions (the API, or this dashboard's run panel) or one
`reev run --record`. The list shows a page of runs, newest first, each with the summary
`GET /api/v1/runs` gives (the same `RunOut`, counted by SQL from `ix_executions_run` alone);
a run's page lists its executions, each linking to its execution page.

Light on the server: a page is two small queries (a page of runs, one GROUP BY over their
executions) rendered as one Quasar table whose rows are data, not one element per cell; a
status event re-reads the page at most once a second (debounced), and a run's page only for
events of its own executions. Nothing polls.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from nicegui import ui

from reev.events import LiveEvent, StatusEvent
from reev.service import schemas
from reev.store import repository as repo
from reev.web.data import percent
from reev.web.layout import STATUS_COLOURS, Debounced, card, fmt_seconds, frame

PAGE_SIZE = 50
RUN_EXECUTIONS_SHOWN = 500  # a run's page lists this many of its executions, in run order
RUN_STATUS_COLOURS = {"running": "blue-7", "finished": "green-8", "interrupted": "orange-9"}

RUN_COLUMNS: list[dict[str, Any]] = [
    {"name": "run_id", "label": "Run", "field": "run_id", "align": "left"},
    {"name": "name", "label": "Name", "field": "name", "align": "left"},
    {"name": "agent", "label": "Agent", "field": "agent", "align": "left"},
    {"name": "source", "label": "From", "field": "source", "align": "left"},
    {"name": "when", "label": "When (UTC)", "field": "when", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "episodes", "label": "Episodes", "field": "episodes", "align": "right"},
    {"name": "mean", "label": "Mean", "field": "mean", "align": "right"},
    {"name": "pass_rate", "label": "Pass rate", "field": "pass_rate", "align": "right"},
]
EXECUTION_COLUMNS: list[dict[str, Any]] = [
    {"name": "benchmark", "label": "Benchmark", "field": "benchmark", "align": "left"},
    {"name": "epoch", "label": "Epoch", "field": "epoch", "align": "right"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "score", "label": "Score", "field": "score", "align": "right"},
    {"name": "passed", "label": "Passed", "field": "passed", "align": "center"},
    {"name": "duration", "label": "Duration", "field": "duration", "align": "right"},
]
# Vue templates (Quasar slots): text goes in by interpolation, which escapes it.
RUN_LINK_SLOT = r"""
<q-td :props="props"><a :href="'/runs/' + props.row.run_id" class="reev-mono text-primary"
  :data-run-link="props.row.run_id">{{ props.row.run_id }}</a></q-td>
"""
EXECUTION_LINK_SLOT = r"""
<q-td :props="props"><a :href="'/executions/' + props.row.execution_id" class="text-primary"
  :title="props.row.execution_id">{{ props.row.benchmark }}</a></q-td>
"""
STATUS_SLOT = r"""
<q-td :props="props"><q-badge :color="props.row.colour" :label="props.row.status"
  :data-status="props.row.status" /></q-td>
"""


def episodes_text(summary: schemas.RunSummaryOut) -> str:
    """`finished/planned` (`finished/executions` when the plan is unknown)."""
    return f"{summary.finished}/{summary.planned or summary.executions}"


def run_row(run: schemas.RunOut) -> dict[str, Any]:
    summary = run.summary
    return {
        "run_id": run.run_id,
        "name": run.name or "",
        "agent": run.agent if not run.model else f"{run.agent} ({run.model})",
        "source": run.source,
        "when": run.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "status": run.status,
        "colour": RUN_STATUS_COLOURS.get(run.status, "grey-7"),
        "episodes": episodes_text(summary),
        "mean": "—" if summary.mean_score is None else f"{summary.mean_score:.3f}",
        "pass_rate": "—" if summary.pass_rate is None else percent(summary.pass_rate),
    }


def execution_row(execution: schemas.ExecutionOut) -> dict[str, Any]:
    duration = None
    if execution.started_at is not None and execution.finished_at is not None:
        duration = (execution.finished_at - execution.started_at).total_seconds()
    return {
        "execution_id": execution.execution_id,
        "benchmark": execution.benchmark_id,
        "epoch": execution.epoch,
        "status": execution.status.value,
        "colour": STATUS_COLOURS.get(execution.status, "grey-7"),
        "score": "—" if execution.score is None else f"{execution.score:.3f}",
        "passed": {True: "✓", False: "✗", None: "—"}[execution.passed],
        "duration": fmt_seconds(duration),
    }


def runs_page_query(session: Any, offset: int) -> tuple[list[schemas.RunOut], int]:
    rows, total = repo.list_runs(session, limit=PAGE_SIZE, offset=offset)
    summaries = repo.run_summaries(session, [r.run_id for r in rows])
    return [schemas.RunOut.of(r, summaries.get(r.run_id)) for r in rows], total


def run_query(
    session: Any, run_id: str
) -> tuple[schemas.RunOut, list[schemas.ExecutionOut]] | None:
    row = repo.get_run(session, run_id)
    if row is None:
        return None
    summary = repo.run_summaries(session, [run_id]).get(run_id)
    executions = repo.run_executions(session, run_id, limit=RUN_EXECUTIONS_SHOWN)
    return schemas.RunOut.of(row, summary), [schemas.ExecutionOut.of(e) for e in executions]


async def runs_page(request: Request) -> None:
    page = frame(request, "runs")
    dash = page.dash
    state = {"offset": 0}
    with card("Runs", testid="runs"):
        ui.label(
            "Each request that queued executions, and each `reev run --record`, is a run."
        ).classes("text-sm reev-muted")
        table = ui.table(columns=RUN_COLUMNS, rows=[], row_key="run_id").props(
            'flat dense wrap-cells data-testid="runs-table" :rows-per-page-options="[0]"'
            ' hide-pagination no-data-label="No runs yet."'
        )
        table.add_slot("body-cell-run_id", RUN_LINK_SLOT)
        table.add_slot("body-cell-status", STATUS_SLOT)
        with ui.row().classes("w-full items-center gap-1"):
            newer = ui.button(icon="chevron_left", on_click=lambda: turn(-1)).props(
                'flat dense round data-testid="runs-newer"'
            )
            position = ui.label().classes("text-xs reev-muted").props('data-testid="runs-position"')
            older = ui.button(icon="chevron_right", on_click=lambda: turn(1)).props(
                'flat dense round data-testid="runs-older"'
            )

    async def load() -> None:
        offset = state["offset"]
        runs, total = await dash.read(runs_page_query, offset)
        table.rows = [run_row(r) for r in runs]
        table.update()
        shown = min(total, offset + PAGE_SIZE)
        position.set_text(f"{offset + 1 if total else 0}–{shown} of {total}")
        newer.set_enabled(offset > 0)
        older.set_enabled(shown < total)

    async def turn(direction: int) -> None:
        state["offset"] = max(0, state["offset"] + direction * PAGE_SIZE)
        await load()

    reload = Debounced(load, 1.0, client=page.client)

    def on_event(_: str, event: LiveEvent) -> None:
        if isinstance(event, StatusEvent):
            reload()

    page.on_event(on_event)
    await load()


async def run_page(request: Request, run_id: str) -> None:
    page = frame(request, f"run {run_id}")
    dash = page.dash
    found = await dash.read(run_query, run_id)
    if found is None:
        ui.label(f"unknown run {run_id!r}").classes("text-h6 text-negative").props(
            'data-testid="not-found"'
        )
        ui.link("All runs", "/runs")
        return
    run, executions = found
    members = {e.execution_id for e in executions}

    with ui.row().classes("items-center gap-2"):
        ui.link("Runs", "/runs").classes("text-sm")
        ui.label("/").classes("reev-muted")
        ui.label(run.run_id).classes("text-h5 reev-mono").props('data-testid="run-id"')
        if run.name:
            ui.badge(run.name, color="indigo-6").props('data-testid="run-name"')
        status = ui.badge(run.status, color=RUN_STATUS_COLOURS.get(run.status, "grey-7")).props(
            'data-testid="run-status"'
        )
    with card(testid="run-summary"):
        about = ui.label().classes("text-sm")
        numbers = ui.label().classes("text-sm font-mono").props('data-testid="run-numbers"')
    with card("Executions", testid="run-executions"):
        table = ui.table(columns=EXECUTION_COLUMNS, rows=[], row_key="execution_id").props(
            'flat dense data-testid="run-executions-table" :rows-per-page-options="[0]"'
            ' hide-pagination no-data-label="No executions yet."'
        )
        table.add_slot("body-cell-benchmark", EXECUTION_LINK_SLOT)
        table.add_slot("body-cell-status", STATUS_SLOT)

    def show(run: schemas.RunOut, executions: list[schemas.ExecutionOut]) -> None:
        summary = run.summary
        about.set_text(
            f"{run.agent}{f' ({run.model})' if run.model else ''} · from {run.source} · "
            f"profile {run.profile} · seed {run.seed} · {run.epochs} epoch(s) · "
            f"{', '.join(run.benchmarks)} · started {run.created_at:%Y-%m-%d %H:%M:%S} UTC"
        )
        mean = "—" if summary.mean_score is None else f"{summary.mean_score:.3f}"
        rate = "—" if summary.pass_rate is None else percent(summary.pass_rate)
        numbers.set_text(
            f"episodes {episodes_text(summary)} · queued {summary.queued} · running "
            f"{summary.running} · passed {summary.passed} · failed {summary.failed} · "
            f"cancelled {summary.cancelled} · mean {mean} · pass rate {rate}"
        )
        status.set_text(run.status)
        status.props(f"color={RUN_STATUS_COLOURS.get(run.status, 'grey-7')}")
        table.rows = [execution_row(e) for e in executions]
        table.update()

    async def reload_run() -> None:
        again = await dash.read(run_query, run_id)
        if again is not None:
            members.update(e.execution_id for e in again[1])
            show(*again)

    reload = Debounced(reload_run, 0.5, client=page.client)

    def on_event(execution_id: str, event: LiveEvent) -> None:
        if isinstance(event, StatusEvent) and execution_id in members:
            reload()

    page.on_event(on_event)
    show(run, executions)
