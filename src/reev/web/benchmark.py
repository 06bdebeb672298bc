"""`/benchmarks/{id}`: description, tags, prompt, the YAML (highlighted), recent executions per
agent, a run panel, and an editor that validates on save, shows each error's line and field,
and stores nothing when the YAML is invalid (the same code as POST /upsert-yml)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from fastapi import Request
from nicegui import ui

from reev.events import ExecutionStatus, LiveEvent, StatusEvent
from reev.service import actions
from reev.spec.categories import category_of, tier_of
from reev.spec.loader import BenchmarkError, parse_benchmark
from reev.spec.models import Benchmark
from reev.store import repository as repo
from reev.web.data import Run, cell_html, percent
from reev.web.layout import card, frame, pre
from reev.web.run import Activity, RunPanel


def _parse(yaml_text: str, benchmark_id: str) -> Benchmark | None:
    try:
        return parse_benchmark(yaml_text, f"{benchmark_id}.yml").benchmark
    except BenchmarkError:
        return None


async def benchmark_page(request: Request, benchmark_id: str) -> None:
    page = frame(request, benchmark_id)
    dash = page.dash
    row = await dash.read(repo.get_benchmark, benchmark_id)
    if row is None:
        ui.label(f"unknown benchmark {benchmark_id!r}").classes("text-h6 text-negative").props(
            'data-testid="not-found"'
        )
        return
    state: dict[str, Any] = {
        "yaml": row.yaml,
        "description": row.description,
        "tags": list(row.tags or []),
    }

    @ui.refreshable
    def about() -> None:
        bench = _parse(state["yaml"], benchmark_id)
        tags = state["tags"]
        with ui.row().classes("items-center gap-2"):
            ui.label(benchmark_id).classes("text-h5").props('data-testid="benchmark-id"')
            ui.badge(category_of(tags), color="indigo-6")
            if tier := tier_of(tags):
                ui.badge(tier, color="blue-grey-6")
            for tag in tags:
                ui.badge(tag, color="grey-5").props("outline")
            if bench is not None and bench.expected_outcome == "fail":
                ui.badge("designed to fail", color="orange-8")
        ui.label(state["description"]).classes("text-subtitle1").props(
            'data-testid="benchmark-description"'
        )
        if bench is not None:
            if bench.flow:
                for step in bench.flow:
                    ui.label(
                        f"Step {step.step}" + (f" · {step.description}" if step.description else "")
                    ).classes("text-sm font-semibold")
                    pre(step.prompt).props('data-testid="benchmark-prompt"')
            else:
                ui.label("Prompt").classes("text-sm font-semibold")
                pre(bench.prompt).props('data-testid="benchmark-prompt"')

    with ui.row().classes("w-full gap-4 items-start no-wrap"):
        with ui.column().classes("grow min-w-0 gap-4"):
            with card():
                about()
            with card(testid="yaml-card"):
                with ui.tabs().classes("w-full").props("dense align=left") as tabs:
                    view_tab = ui.tab("YAML")
                    edit_tab = ui.tab("Edit").props('data-testid="edit-tab"')
                with ui.tab_panels(tabs, value=view_tab).classes("w-full"):
                    with ui.tab_panel(view_tab).classes("p-0"):
                        code = (
                            ui.code(state["yaml"], language="yaml")
                            .classes("w-full")
                            .props('data-testid="yaml-view"')
                        )
                    with ui.tab_panel(edit_tab).classes("p-0 gap-2"):
                        dark = page.dark
                        editor = (
                            ui.codemirror(
                                state["yaml"],
                                language="YAML",
                                theme="basicDark" if dark and dark.value else "basicLight",
                            )
                            .classes("w-full")
                            .style("height: 480px")
                            .props('data-testid="yaml-editor"')
                        )
                        if dark is not None:
                            dark.on_value_change(
                                lambda e: editor.set_theme("basicDark" if e.value else "basicLight")
                            )
                        with ui.row().classes("items-center gap-2"):
                            save = ui.button("Validate and save", icon="save").props(
                                'data-testid="save-yaml"'
                            )
                            ui.button("Revert", icon="undo", on_click=lambda: revert()).props(
                                "flat"
                            )
                            status = (
                                ui.label().classes("text-sm").props('data-testid="save-status"')
                            )
                        errors = (
                            ui.column().classes("w-full gap-1").props('data-testid="yaml-errors"')
                        )
        with ui.column().classes("w-96 shrink-0 gap-4"):
            RunPanel(page, benchmark_ids=[benchmark_id], fixed=benchmark_id)
            per_agent = ui.column().classes("w-full")
            activity = Activity(page, benchmark_id=benchmark_id, limit=8)

    def show_errors(items: list[dict[str, Any]]) -> None:
        errors.clear()
        lines = sorted({e["line"] for e in items if e.get("line")})
        editor.decorations = [
            {"kind": "line", "line": n, "class": "reev-editor-error"} for n in lines
        ]
        editor.line_tooltips = {e["line"]: e["message"] for e in items if e.get("line")}
        with errors:
            for item in items:
                where = f"line {item['line']}" if item.get("line") else "no line"
                field = f" · {item['field']}" if item.get("field") else ""
                ui.label(f"{where}{field}: {item['message']}").classes(
                    "text-negative text-sm reev-mono"
                ).props('data-testid="yaml-error"')
        if lines:
            editor.reveal_line(lines[0])

    def revert() -> None:
        editor.value = state["yaml"]
        errors.clear()
        editor.decorations = []
        editor.line_tooltips = {}
        status.set_text("")

    async def on_save() -> None:
        status.set_text("")
        if not page.allowed():
            return
        text = editor.value or ""
        try:
            loaded = actions.validate_yaml(text)
        except actions.InvalidBenchmark as exc:
            show_errors(exc.errors)
            status.set_text(f"not saved: {len(exc.errors)} error(s)")
            status.classes(replace="text-sm text-negative")
            return
        except actions.ActionError as exc:
            show_errors([{"line": None, "field": "id", "message": exc.message}])
            status.set_text("not saved")
            status.classes(replace="text-sm text-negative")
            return
        if loaded.benchmark.id != benchmark_id:
            line = loaded.lines.get(("id",))
            show_errors(
                [
                    {
                        "line": line,
                        "field": "id",
                        "message": f"this editor saves {benchmark_id}; the YAML says {loaded.benchmark.id!r}",
                    }
                ]
            )
            status.set_text("not saved")
            status.classes(replace="text-sm text-negative")
            return
        result = await asyncio.to_thread(
            actions.upsert_yaml, dash.settings, dash.sessions, text, loaded
        )
        errors.clear()
        editor.decorations = []
        editor.line_tooltips = {}
        with errors:
            for warning in result.warnings:
                ui.label(warning).classes("text-warning text-sm reev-mono")
        state.update(
            yaml=text, description=loaded.benchmark.description, tags=list(loaded.benchmark.tags)
        )
        code.set_content(text)
        about.refresh()
        status.set_text(f"saved ({result.outcome})")
        status.classes(replace="text-sm text-positive")

    save.on_click(on_save)

    async def render_per_agent() -> None:
        recent, _ = await dash.read(
            lambda s: repo.list_executions(s, benchmark_id=benchmark_id, limit=300)
        )
        by_agent: dict[str, list[Run]] = defaultdict(list)
        for r in recent:  # newest first
            by_agent[r.agent].append(Run.of(r))
        per_agent.clear()
        with per_agent, card("Recent executions per agent", testid="per-agent"):
            if not by_agent:
                ui.label("Not run yet.").classes("reev-muted text-sm")
            for agent in sorted(by_agent):
                runs = by_agent[agent]
                scored = [r.score for r in runs if r.score is not None]
                with ui.row().classes("w-full items-center no-wrap gap-2"):
                    ui.label(agent).classes("text-sm font-medium truncate grow").tooltip(agent)
                    ui.label(
                        f"{len(runs)} run{'s' if len(runs) != 1 else ''} · mean {percent(sum(scored) / len(scored) if scored else None)}"
                    ).classes("text-xs reev-muted")
                cells = "".join(cell_html(r, benchmark_id, agent) for r in runs[:8])
                ui.html(f'<table class="reev-matrix"><tr>{cells}</tr></table>')

    async def on_event(execution_id: str, event: LiveEvent) -> None:
        if isinstance(event, StatusEvent) and (
            event.final or event.status is ExecutionStatus.QUEUED
        ):
            await render_per_agent()

    page.on_event(on_event)
    await render_per_agent()
    await activity.load()
