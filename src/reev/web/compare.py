"""`/compare`: two agents on the benchmarks both ran (`?a=&b=`), or two executions side by side
(`?x=&y=`). Every choice changes the URL, so a comparison is a link."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from nicegui import ui

from reev.store import repository as repo
from reev.web.data import Overview, Run, cell_html, compare_agents, percent
from reev.web.execution import (
    checks_section,
    conversation_section,
    flow_section,
    load,
    summary_section,
    transactions_section,
)
from reev.web.layout import card, frame, status_badge


def _go(**params: str | None) -> None:
    query = urlencode({k: v for k, v in params.items() if v})
    ui.navigate.to(f"/compare?{query}" if query else "/compare")


async def compare_page(
    request: Request,
    a: str | None = None,
    b: str | None = None,
    x: str | None = None,
    y: str | None = None,
    mode: str | None = None,
) -> None:
    page = frame(request, "compare")
    dash = page.dash
    mode = "executions" if (x or y or mode == "executions") else "agents"
    with ui.row().classes("w-full items-center gap-4"):
        ui.label("Compare").classes("text-h6")
        ui.toggle(
            {"agents": "Two agents", "executions": "Two executions"},
            value=mode,
            on_change=lambda e: _go(mode=e.value),
        ).props('data-testid="compare-mode"')
    if mode == "agents":
        await _agents(dash, a, b)
    else:
        await _executions(dash, x, y)


async def _agents(dash: Any, a: str | None, b: str | None) -> None:
    overview: Overview = await dash.live.get()  # the overview page's shared copy
    agents = overview.agents
    if len(agents) < 1:
        ui.label("No executions yet: run some benchmarks first.").classes("reev-muted")
        return
    a = a if a in agents else agents[0]
    b = b if b in agents else next((x for x in agents if x != a), a)
    with ui.row().classes("w-full items-center gap-4"):
        ui.select(
            agents, value=a, label="Agent A", on_change=lambda e: _go(a=e.value, b=b)
        ).classes("w-72").props('data-testid="agent-a"')
        ui.select(
            agents, value=b, label="Agent B", on_change=lambda e: _go(a=a, b=e.value)
        ).classes("w-72").props('data-testid="agent-b"')
        only_common = ui.switch("Only benchmarks both ran", value=True)
        ui.link(  # the statistics (intervals, paired test) of `reev report`, from the API
            "Report with confidence intervals",
            f"/api/v1/report?{urlencode({'agents': [a, b] if a != b else [a], 'format': 'html'}, doseq=True)}",
            new_tab=True,
        ).props('data-testid="compare-report"')
    holder = ui.column().classes("w-full gap-4")

    def render() -> None:
        rows = compare_agents(overview, a, b, only_common=only_common.value)
        common = [r for r in rows if r.delta is not None]
        holder.clear()
        with holder:
            with ui.row().classes("w-full gap-4 no-wrap"):
                for name, pick in ((a, lambda r: r.a), (b, lambda r: r.b)):
                    runs = [pick(r) for r in common]
                    mean = sum(r.score for r in runs) / len(runs) if runs else None
                    passed = sum(1 for r in runs if r.passed)
                    with card(classes="w-1/3", testid="compare-summary"):
                        ui.label(name).classes("text-subtitle1 font-semibold truncate")
                        ui.label(percent(mean, 1)).classes("text-h4")
                        ui.label(
                            f"mean latest score on {len(runs)} common benchmarks · {passed} passed"
                        ).classes("reev-muted text-sm")
                wins = sum(1 for r in common if (r.delta or 0) < -1e-9)
                losses = sum(1 for r in common if (r.delta or 0) > 1e-9)
                with card(classes="w-1/3"):
                    ui.label("Head to head").classes("text-subtitle1 font-semibold")
                    ui.label(
                        f"A better on {wins} · B better on {losses} · equal on {len(common) - wins - losses}"
                    )
            with card(f"{len(rows)} benchmarks", testid="compare-table"):
                body = []
                for r in rows:
                    delta = "" if r.delta is None else f"{100 * r.delta:+.1f}"
                    colour = (
                        ""
                        if r.delta is None or abs(r.delta) < 1e-9
                        else ("color:#16a34a" if r.delta > 0 else "color:#dc2626")
                    )
                    link = ""
                    if r.a is not None and r.b is not None and r.a.execution_id != r.b.execution_id:
                        link = (
                            f'<a href="/compare?{html.escape(urlencode({"x": r.a.execution_id, "y": r.b.execution_id}))}">'
                            "side by side</a>"
                        )
                    body.append(
                        f'<tr><th class="bench"><a href="/benchmarks/{html.escape(r.benchmark_id)}">'
                        f"{html.escape(r.benchmark_id)}</a></th>{cell_html(r.a, r.benchmark_id, a)}"
                        f"{cell_html(r.b, r.benchmark_id, b)}<td style='text-align:right;padding:0 10px;{colour}'>{delta}</td>"
                        f"<td style='padding-left:6px'>{link}</td></tr>"
                    )
                ui.html(
                    '<table class="reev-matrix"><thead><tr><th class="bench">benchmark</th>'
                    f'<th class="agent" title="{html.escape(a)}">A · {html.escape(a)}</th>'
                    f'<th class="agent" title="{html.escape(b)}">B · {html.escape(b)}</th>'
                    "<th>Δ pts</th><th></th></tr></thead>"
                    f"<tbody>{''.join(body)}</tbody></table>"
                ).classes("reev-scroll w-full")

    only_common.on_value_change(lambda _: render())
    render()


async def _executions(dash: Any, x: str | None, y: str | None) -> None:
    def query(session: Any) -> list[Run]:
        rows, _ = repo.list_executions(session, limit=300)
        return [Run.of(r) for r in rows]

    recent = await dash.read(query)
    by_id = {r.execution_id: r for r in recent}
    for wanted in (x, y):
        if wanted and wanted not in by_id:
            row = await dash.read(repo.get_execution, wanted)
            if row is not None:
                by_id[wanted] = Run.of(row)
    if x in by_id and not y:  # a default partner: the latest other execution of the same benchmark
        first = by_id[x]
        y = next(
            (
                r.execution_id
                for r in recent
                if r.benchmark_id == first.benchmark_id
                and r.execution_id != x
                and r.agent != first.agent
            ),
            None,
        ) or next(
            (
                r.execution_id
                for r in recent
                if r.benchmark_id == first.benchmark_id and r.execution_id != x
            ),
            None,
        )
    options = {
        r.execution_id: f"{r.benchmark_id} · {r.agent} · {r.status} {percent(r.score) if r.score is not None else ''}"
        f" · {r.created_at:%m-%d %H:%M:%S}"
        for r in sorted(by_id.values(), key=lambda r: (r.benchmark_id, r.created_at))
    }
    with ui.row().classes("w-full items-center gap-4"):
        ui.select(
            options,
            value=x if x in options else None,
            label="Execution X",
            with_input=True,
            on_change=lambda e: _go(x=e.value, y=y),
        ).classes("w-[28rem]").props('data-testid="execution-x"')
        ui.select(
            options,
            value=y if y in options else None,
            label="Execution Y",
            with_input=True,
            on_change=lambda e: _go(x=x, y=e.value),
        ).classes("w-[28rem]").props('data-testid="execution-y"')
    if not x or not y:
        ui.label("Choose two executions (of the same benchmark, typically).").classes("reev-muted")
        return
    left, right = await load(dash, x), await load(dash, y)
    if left.row and right.row and left.row.benchmark_id != right.row.benchmark_id:
        ui.label(
            f"Different benchmarks: {left.row.benchmark_id} and {right.row.benchmark_id}."
        ).classes("text-warning")
    with ui.row().classes("w-full gap-4 no-wrap items-start").props('data-testid="side-by-side"'):
        for loaded in (left, right):
            with ui.column().classes("w-1/2 min-w-0 gap-4"):
                if loaded.row is None:
                    ui.label(loaded.problem or "not found").classes("text-negative")
                    continue
                row = loaded.row
                with ui.row().classes("items-center gap-2"):
                    status_badge(row.status)
                    ui.link(
                        f"{row.benchmark_id} · {row.agent}", f"/executions/{row.execution_id}"
                    ).classes("text-h6")
                summary_section(row, loaded.record)
                if loaded.record is not None:
                    checks_section(loaded.record)
                    flow_section(loaded.record)
                    transactions_section(loaded.record)
                    conversation_section(loaded.record)
