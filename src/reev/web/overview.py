"""`/`: agents × benchmarks coloured by the latest score, per-agent numbers, score over time,
filters, and the run panel with its live list of executions."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from nicegui import ui

from reev.events import EpisodeFinished, LiveEvent, StatusEvent
from reev.store import repository as repo
from reev.web.data import Overview, Run, legend_items, matrix_html
from reev.web.layout import Debounced, card, frame
from reev.web.run import Activity, RunPanel

PERCENT = (
    "v => v == null ? '—' : (100 * v).toFixed(1) + '%'"  # numbers sort as numbers, show as percents
)
STATS_COLUMNS = [
    {
        "name": "agent",
        "label": "Agent",
        "field": "agent",
        "align": "left",
        "sortable": True,
        "style": "max-width: 260px; overflow: hidden; text-overflow: ellipsis",
    },
    {"name": "runs", "label": "Runs", "field": "runs", "sortable": True},
    {"name": "mean", "label": "Mean", "field": "mean", "sortable": True, ":format": PERCENT},
    {
        "name": "pass_rate",
        "label": "Passed",
        "field": "pass_rate",
        "sortable": True,
        ":format": PERCENT,
    },
    {"name": "latest", "label": "Latest", "field": "latest", "sortable": True, ":format": PERCENT},
    {"name": "covered", "label": "Benchmarks", "field": "covered", "sortable": True},
]


async def overview_page(request: Request) -> None:
    page = frame(request, "overview")
    dash = page.dash
    overview: Overview = await dash.read(Overview.load)
    state: dict[str, Any] = {"tags": [], "category": None, "tier": None, "text": ""}

    def shown() -> list[str]:
        return [
            b.id
            for b in overview.filtered(
                state["tags"], state["category"], state["tier"], state["text"]
            )
        ]

    with ui.row().classes("w-full items-center gap-3 no-wrap").props('data-testid="filters"'):
        ui.label("Benchmarks").classes("text-h6 mr-2")
        tag = (
            ui.select(overview.tags(), multiple=True, label="Tags", clearable=True)
            .classes("w-64")
            .props('use-chips dense data-testid="filter-tags"')
        )
        category = (
            ui.select(overview.categories(), label="Category", clearable=True)
            .classes("w-44")
            .props('dense data-testid="filter-category"')
        )
        tier = (
            ui.select(overview.tiers(), label="Tier", clearable=True)
            .classes("w-28")
            .props('dense data-testid="filter-tier"')
        )
        text = (
            ui.input("Search id or description")
            .classes("w-56")
            .props('dense clearable data-testid="filter-text"')
        )
        ui.space()
        summary = ui.label().classes("reev-muted text-sm").props('data-testid="matrix-summary"')

    with ui.row().classes("w-full gap-4 items-start no-wrap"):
        with ui.column().classes("grow min-w-0 gap-4"):
            with card(testid="matrix-card"):
                with (
                    ui.row()
                    .classes("w-full items-center reev-legend gap-3 text-xs")
                    .props('data-testid="legend"')
                ):
                    ui.label("Latest score").classes("font-semibold")
                    for background, _, label in legend_items():
                        ui.html(
                            f'<span class="swatch" style="background:{background}"></span>{label}'
                        )
                    ui.label("✓ passed · ✗ not passed").classes("reev-muted")
                matrix = (
                    ui.html("")
                    .classes("reev-scroll w-full")
                    .style("max-height: 62vh")
                    .props('data-testid="matrix"')
                )
            with ui.row().classes("w-full gap-4 items-stretch"):  # side by side when wide enough
                with card("Agents", classes="grow basis-[34rem] min-w-0", testid="agent-stats"):
                    ui.label(
                        "Mean score and pass rate over every finished run of the benchmarks shown; latest: "
                        "the mean of each benchmark's latest score; benchmarks: how many of those it ran"
                    ).classes("text-xs reev-muted")
                    stats = (
                        ui.table(columns=STATS_COLUMNS, rows=[], row_key="agent")
                        .props(
                            'dense flat hide-pagination no-data-label="No finished executions yet"'
                        )
                        .classes("w-full")
                    )
                with card(
                    "Mean score over time",
                    classes="grow basis-[24rem] min-w-0",
                    testid="score-chart",
                ):
                    chart = ui.echart(overview.score_over_time(set())).classes("w-full h-64")
        with ui.column().classes("w-80 shrink-0 gap-4"):
            panel = RunPanel(page, benchmark_ids=[b.id for b in overview.benchmarks], shown=shown)
            activity = Activity(page)

    def render() -> None:
        ids = shown()
        id_set = set(ids)
        benchmarks = overview.filtered(
            state["tags"], state["category"], state["tier"], state["text"]
        )
        agents = overview.agents
        matrix.set_content(matrix_html(overview, benchmarks, agents))
        stats.rows = [
            {
                "agent": s.agent,
                "runs": s.runs,
                "mean": s.mean_score,
                "pass_rate": s.pass_rate,
                "latest": s.latest_mean,
                "covered": s.covered,
            }
            for s in overview.agent_stats(id_set)
        ]
        stats.update()
        chart.options.clear()
        chart.options.update(overview.score_over_time(id_set))
        chart.update()
        panel.set_shown_count(len(ids))
        summary.set_text(
            f"{len(ids)} of {len(overview.benchmarks)} benchmarks · {len(agents)} agent{'s' if len(agents) != 1 else ''}"
        )

    def set_filter(key: str, value: Any) -> None:
        state[key] = value or ([] if key == "tags" else None if key != "text" else "")
        render()

    tag.on_value_change(lambda e: set_filter("tags", e.value))
    category.on_value_change(lambda e: set_filter("category", e.value))
    tier.on_value_change(lambda e: set_filter("tier", e.value))
    text.on_value_change(lambda e: set_filter("text", e.value))

    # Live: fold each execution that changes into the overview, re-render once per burst.
    changed: set[str] = set()

    async def refresh() -> None:
        ids = list(changed)
        changed.clear()

        def query(session: Any) -> list[Any]:
            return [row for row in (repo.get_execution(session, i) for i in ids) if row is not None]

        for row in await dash.read(query):
            overview.apply(Run.of(row))
        render()

    rerender = Debounced(refresh, 0.1, client=page.client)

    def on_event(execution_id: str, event: LiveEvent) -> None:
        if isinstance(event, StatusEvent | EpisodeFinished):
            changed.add(execution_id)
            rerender()

    page.on_event(on_event)
    render()
    await activity.load()
