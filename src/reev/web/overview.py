"""`/`: agents × benchmarks coloured by the latest score, per-agent numbers, score over time,
filters, and the run panel with its live list of executions."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from nicegui import ui

from reev.web.data import AS_DESIGNED_MARK, Overview, legend_items, matrix_html, themed_chart
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
    {"name": "failed", "label": "Failed", "field": "failed", "sortable": True},
    {"name": "as_designed", "label": "As designed", "field": "as_designed", "sortable": True},
]


async def overview_page(request: Request) -> None:
    page = frame(request, "overview")
    live = page.dash.live
    await live.get()  # loaded once per server; every open page renders from the same copy
    state: dict[str, Any] = {"tags": [], "category": None, "tier": None, "text": ""}

    def current() -> Overview:
        assert live.overview is not None  # loaded above, and only ever replaced
        return live.overview

    def shown() -> list[str]:
        return [
            b.id
            for b in current().filtered(
                state["tags"], state["category"], state["tier"], state["text"]
            )
        ]

    overview = current()

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
                # One element, not one per swatch: built on every page load.
                ui.html(
                    '<div class="row w-full items-center reev-legend gap-3 text-xs">'
                    '<span class="font-semibold">Latest score</span>'
                    + "".join(
                        f'<span><span class="swatch" style="background:{background}"></span>'
                        f"{label}</span>"
                        for background, _, label in legend_items()
                    )
                    + f'<span class="reev-muted">✓ passed · ✗ not passed · {AS_DESIGNED_MARK}'
                    " not passed, as designed (expected_outcome: fail)</span></div>"
                ).classes("w-full").props('data-testid="legend"')
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
                        "the mean of each benchmark's latest score; benchmarks: how many of those it ran; "
                        "failed / as designed: benchmarks whose latest run did not pass, apart from "
                        "those built to fail (expected_outcome: fail)"
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
                    chart = (
                        ui.echart(overview.score_over_time(set()))
                        .classes("w-full h-64")
                        .props('data-testid="score-echart"')
                    )
        with ui.column().classes("w-80 shrink-0 gap-4"):
            panel = RunPanel(page, benchmark_ids=[b.id for b in overview.benchmarks], shown=shown)
            activity = Activity(page)

    async def render() -> None:
        overview = current()
        ids = shown()
        id_set = set(ids)
        await live.ensure_unit(overview.unit_for(id_set))
        overview = current()
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
                "failed": s.failed,
                "as_designed": s.as_designed,
            }
            for s in overview.agent_stats(id_set)
        ]
        stats.update()
        chart.options.clear()
        chart.options.update(themed_chart(overview.score_over_time(id_set), page.is_dark))
        chart.update()
        panel.set_benchmarks([b.id for b in overview.benchmarks])
        panel.set_shown_count(len(ids))
        for select, options in (
            (tag, overview.tags()),
            (category, overview.categories()),
            (tier, overview.tiers()),
        ):
            if list(select.options) != options:  # a benchmark was added or changed
                select.set_options(options, value=select.value)
        summary.set_text(
            f"{len(ids)} of {len(overview.benchmarks)} benchmarks · {len(agents)} agent{'s' if len(agents) != 1 else ''}"
        )

    rerender = Debounced(render, 0.05, client=page.client)

    def set_filter(key: str, value: Any) -> None:
        state[key] = value or ([] if key == "tags" else None if key != "text" else "")
        rerender()

    tag.on_value_change(lambda e: set_filter("tags", e.value))
    category.on_value_change(lambda e: set_filter("category", e.value))
    tier.on_value_change(lambda e: set_filter("tier", e.value))
    text.on_value_change(lambda e: set_filter("text", e.value))
    page.on_dark_change(rerender)

    # Live: the shared overview folds the events in once for every page; this page re-renders.
    page.client.on_delete(live.subscribe(rerender))
    await render()
    await activity.load()
