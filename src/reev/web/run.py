"""The run panel (agent, model, seed, epochs, benchmarks → executions) and the live list of
executions with their status and a Stop button. Both are built into other pages."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from nicegui import ui
from pydantic import ValidationError

from reev.agents.providers import PROVIDERS, key_status
from reev.events import (
    ACTIVE,
    ExecutionStatus,
    LiveEvent,
    ModelCallEvent,
    StatusEvent,
    ToolCallEvent,
    TransactionEvent,
)
from reev.scoring import PROFILES
from reev.service import actions, schemas
from reev.store import repository as repo
from reev.web.data import Run, percent
from reev.web.layout import Page, card, set_status, status_badge

DETERMINISTIC = "deterministic"
REMOTE = "remote"


def agent_choices() -> dict[str, str]:
    """Every agent the server can run, marking providers whose key is missing (read now, from
    the server's environment)."""
    out = {DETERMINISTIC: "deterministic · the oracle"}
    for provider in PROVIDERS.values():
        name = f"{provider.name}/<model>" if provider.model_in_name else provider.name
        status = key_status(provider)
        mark = f" · key missing ({provider.api_key_env})" if status == "missing" else ""
        out[provider.name] = f"{name}{mark}"
    out[REMOTE] = "remote agent · http(s) URL"
    return out


class RunPanel:
    """Choose an agent and run one benchmark, a selection, or every benchmark shown."""

    def __init__(
        self,
        page: Page,
        *,
        benchmark_ids: list[str],
        shown: Callable[[], list[str]] | None = None,
        fixed: str | None = None,
        on_submitted: Callable[[list[str]], Any] | None = None,
    ):
        self.page = page
        self.shown = shown
        self.fixed = fixed
        self.on_submitted = on_submitted
        choices = agent_choices()
        with card("Run", testid="run-panel"):
            self.agent = (
                ui.select(choices, value=DETERMINISTIC, label="Agent")
                .classes("w-full")
                .props('data-testid="agent-select"')
            )
            self.key_note = ui.label().classes("text-xs text-orange-8")
            self.model = ui.input("Model").classes("w-full").props('data-testid="model-input"')
            self.url = (
                ui.input("Agent URL", placeholder="http://127.0.0.1:9090/gen/tx")
                .classes("w-full")
                .props('data-testid="agent-url"')
            )
            with ui.row().classes("w-full no-wrap gap-2"):
                self.seed = (
                    ui.number("Seed", value=0, min=0, precision=0, format="%d")
                    .classes("w-1/3")
                    .props('data-testid="seed-input"')
                )
                self.epochs = (
                    ui.number("Epochs", value=1, min=1, max=100, precision=0, format="%d")
                    .classes("w-1/3")
                    .props('data-testid="epochs-input"')
                )
                self.profile = ui.select(list(PROFILES), value="verified", label="Profile").classes(
                    "w-1/3"
                )
            self.run_name = (
                ui.input("Run name (optional)", placeholder="nightly")
                .classes("w-full")
                .props('data-testid="run-name-input"')
            )
            if fixed is None:
                self.selection = (
                    ui.select(
                        benchmark_ids,
                        multiple=True,
                        with_input=True,
                        label="Benchmarks",
                        clearable=True,
                    )
                    .classes("w-full")
                    .props('use-chips data-testid="benchmark-select"')
                )
                with ui.row().classes("w-full gap-2"):
                    ui.button("Run selected", icon="play_arrow", on_click=self.run_selected).props(
                        'data-testid="run-selected"'
                    )
                    self.run_all_button = ui.button(
                        "Run all shown", icon="playlist_play", on_click=self.run_shown
                    ).props('outline data-testid="run-all"')
            else:
                ui.button(f"Run {fixed}", icon="play_arrow", on_click=self.run_fixed).props(
                    'data-testid="run-benchmark"'
                )
            self.message = (
                ui.label().classes("text-sm text-negative").props('data-testid="run-error"')
            )
        self.agent.on_value_change(lambda _: self._agent_changed())
        self._agent_changed()

    def set_benchmarks(self, benchmark_ids: list[str]) -> None:
        """New benchmarks (synced or saved meanwhile) become selectable without a reload."""
        if self.fixed is None and list(self.selection.options) != benchmark_ids:
            self.selection.set_options(benchmark_ids, value=self.selection.value)

    def set_shown_count(self, count: int) -> None:
        if self.fixed is None:
            self.run_all_button.set_text(f"Run all shown ({count})")

    def _agent_changed(self) -> None:
        value = self.agent.value
        provider = PROVIDERS.get(value)
        self.url.set_visibility(value == REMOTE)
        self.model.set_visibility(provider is not None)
        self.key_note.set_text("")
        if provider is not None:
            if provider.model_in_name:
                self.model.props(f'label="Model (required), e.g. {_example(provider.name)}"')
            else:
                self.model.props(f'label="Model (default {provider.default_model})"')
            if key_status(provider) == "missing":
                self.key_note.set_text(
                    f"{provider.api_key_env} is not set on the server: runs will be refused"
                )

    def request(self) -> schemas.RunRequest:
        """The run request the controls describe; raises ActionError for an incomplete choice."""
        value = self.agent.value
        model = (self.model.value or "").strip() or None
        provider = PROVIDERS.get(value)
        if value == REMOTE:
            agent = (self.url.value or "").strip()
            if not agent.startswith(("http://", "https://")):
                raise actions.ActionError(422, "a remote agent needs an http:// or https:// URL")
            model = None
        elif provider is not None and provider.model_in_name:
            if not model:
                raise actions.ActionError(
                    422, f"{provider.name} needs a model, e.g. {_example(provider.name)}"
                )
            agent, model = f"{provider.name}/{model}", None
        else:
            agent = value
        try:
            return schemas.RunRequest(
                agent=agent,
                model=model,
                seed=int(self.seed.value or 0),
                epochs=int(self.epochs.value or 1),
                profile=self.profile.value,
                name=(self.run_name.value or "").strip() or None,
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise actions.ActionError(422, problems) from None

    async def run_selected(self) -> None:
        ids = list(self.selection.value or [])
        if not ids:
            self.message.set_text("choose at least one benchmark (or use “Run all shown”)")
            return
        await self.submit(ids)

    async def run_shown(self) -> None:
        ids = self.shown() if self.shown else []
        if not ids:
            self.message.set_text("no benchmark is shown: relax the filters")
            return
        await self.submit(ids)

    async def run_fixed(self) -> None:
        assert self.fixed is not None
        await self.submit([self.fixed])

    async def submit(self, benchmark_ids: list[str]) -> None:
        self.message.set_text("")
        if not self.page.allowed():
            return
        dash = self.page.dash
        try:
            request = self.request()
        except actions.ActionError as exc:
            self.message.set_text(exc.message)
            return
        # One run for the whole choice (on the event loop: the manager's queue is an asyncio
        # queue); a benchmark that cannot run refuses the request, naming it.
        submitted: list[str] = []
        try:
            accepted = await actions.submit_benchmarks(
                dash.settings, dash.sessions, dash.manager, benchmark_ids, request
            )
        except actions.ActionError as exc:
            self.message.set_text(exc.message)
        else:
            submitted = accepted.execution_ids
        if submitted:
            ui.notify(f"{len(submitted)} execution(s) queued with {request.agent}", type="positive")
            if self.on_submitted:
                self.on_submitted(submitted)


def _example(provider: str) -> str:
    return {
        "openai": "gpt-4.1-mini",
        "openrouter": "anthropic/claude-sonnet-4",
        "local": "qwen3-8b",
    }.get(provider, "model-name")


class Activity:
    """Executions with their live status: everything queued or running, then the most recent.
    Each row moves Queued → Running → its final status as the manager's events arrive."""

    def __init__(self, page: Page, *, benchmark_id: str | None = None, limit: int = 12):
        self.page = page
        self.benchmark_id = benchmark_id
        self.limit = limit
        self.offset = 0  # 0: the newest page, which live events extend; older pages stay put
        self.rows: dict[str, dict[str, Any]] = {}
        with card("Executions", testid="activity"):
            self.empty = ui.label("No executions yet.").classes("reev-muted text-sm")
            self.container = (
                ui.column().classes("w-full gap-1 no-wrap reev-scroll").style("max-height: 60vh")
            )
            with (
                ui.row()
                .classes("w-full items-center no-wrap gap-1")
                .props('data-testid="activity-pager"')
            ):
                self.newer = ui.button(icon="chevron_left", on_click=lambda: self.turn(-1)).props(
                    'flat dense round data-testid="activity-newer"'
                )
                self.position = ui.label().classes("text-xs reev-muted grow text-center")
                self.older = ui.button(icon="chevron_right", on_click=lambda: self.turn(1)).props(
                    'flat dense round data-testid="activity-older"'
                )
        page.on_event(self.on_event)

    async def turn(self, direction: int) -> None:
        """Page through every execution, `limit` at a time (a page of the list index)."""
        self.offset = max(0, self.offset + direction * self.limit)
        self.container.clear()
        self.rows.clear()
        await self.load()

    async def load(self) -> None:
        dash = self.page.dash
        offset = self.offset

        def query(session: Any) -> tuple[list[Any], int]:
            recent, total = repo.list_executions(
                session, benchmark_id=self.benchmark_id, limit=self.limit, offset=offset
            )
            active = (
                [
                    r
                    for r in repo.active_executions(session)
                    if self.benchmark_id in (None, r.benchmark_id)
                ]
                if offset == 0
                else []
            )
            seen, out = set(), []
            for row in sorted(active, key=lambda r: r.created_at, reverse=True) + recent:
                if row.execution_id not in seen:
                    seen.add(row.execution_id)
                    out.append(Run.of(row))
            return out, total

        runs, total = await dash.read(query)
        for run in reversed(runs):
            self.add(run)
        self.empty.set_visibility(not runs)
        shown = min(total, offset + self.limit)
        self.position.set_text(f"{offset + 1 if total else 0}–{shown} of {total}")
        self.newer.set_enabled(offset > 0)
        self.older.set_enabled(shown < total)

    def add(self, run: Run) -> None:
        """A row: the status badge, one HTML element with the link, the agent (or the latest
        live note) and the score, and a Stop button while the run is active. Four elements,
        not nine: the overview builds 36 of these on every page load."""
        if run.execution_id in self.rows:
            self.update(run)
            return
        self.empty.set_visibility(False)
        with (
            self.container,
            ui.row()
            .classes("w-full items-center no-wrap gap-2")
            .props(f'data-execution="{run.execution_id}"') as row,
        ):
            badge = status_badge(run.status)
            text = ui.html(_row_html(run, run.agent)).classes("min-w-0 grow overflow-hidden")
        row.move(self.container, target_index=0)
        self.rows[run.execution_id] = {
            "row": row,
            "badge": badge,
            "text": text,
            "stop": None,
            "run": run,
            "note": run.agent,
        }
        self._show_stop(run.execution_id, run.active)
        while len(self.rows) > max(self.limit, 40):
            oldest = next(iter(self.rows))
            self.rows.pop(oldest)["row"].delete()

    def _show_stop(self, execution_id: str, active: bool) -> None:
        """The Stop button, made the first time the run is active (most rows never are)."""
        parts = self.rows[execution_id]
        if parts["stop"] is None:
            if not active:
                return
            with parts["row"]:
                parts["stop"] = ui.button(
                    icon="stop", on_click=lambda eid=execution_id: self.stop(eid)
                ).props('flat round dense color=negative title="Stop" data-testid="stop"')
        parts["stop"].set_visibility(active)

    def _set_text(self, execution_id: str, run: Run | None = None, note: str | None = None) -> None:
        parts = self.rows[execution_id]
        if run is not None:
            parts["run"] = run
        if note is not None:
            parts["note"] = note
        parts["text"].set_content(_row_html(parts["run"], parts["note"]))

    def update(self, run: Run) -> None:
        parts = self.rows.get(run.execution_id)
        if parts is None:
            return
        set_status(parts["badge"], run.status)
        self._set_text(run.execution_id, run, run.agent)
        self._show_stop(run.execution_id, run.active)

    async def stop(self, execution_id: str) -> None:
        if not self.page.allowed():
            return
        parts = self.rows.get(execution_id)
        button = parts["stop"] if parts is not None else None
        if button is not None:
            button.disable()
        stopped = await self.page.dash.manager.stop(execution_id)
        if not stopped:
            ui.notify("that execution had already ended", type="warning")
        row = await self.page.dash.read(repo.get_execution, execution_id)
        if row is not None:
            self.update(Run.of(row))
        if button is not None:
            button.enable()

    async def on_event(self, execution_id: str, event: LiveEvent) -> None:
        parts = self.rows.get(execution_id)
        if parts is None and self.offset > 0:  # an older page: new executions are on page one
            return
        if isinstance(event, StatusEvent):
            if parts is None or event.final:
                row = await self.page.dash.read(repo.get_execution, execution_id)
                if row is None or self.benchmark_id not in (None, row.benchmark_id):
                    return
                run = Run.of(row)
                if event.final and run.status in ACTIVE:  # the event is newer than our read
                    run = _with_status(run, event.status)
                if parts is None:
                    self.add(run)
                else:
                    self.update(run)
            else:
                set_status(parts["badge"], event.status)
                self._show_stop(execution_id, event.status.active)
        elif parts is not None:
            note = event_note(parts["run"].agent, event)
            if note is not None:
                self._set_text(execution_id, note=note)


def _row_html(run: Run, note: str) -> str:
    """The text of an executions row: the benchmark linking to the execution (its id as the
    tooltip), the agent or the latest live note under it, and the score."""
    execution = html.escape(run.execution_id, quote=True)
    return (
        '<div class="row no-wrap items-center gap-2 w-full">'
        '<div class="column gap-0 min-w-0 grow overflow-hidden">'
        f'<a class="nicegui-link text-sm font-medium block truncate max-w-full" '
        f'href="/executions/{quote(run.execution_id, safe="")}" title="{execution}">'
        f"{html.escape(run.benchmark_id)}</a>"
        f'<div class="text-xs reev-muted truncate w-full">{html.escape(note)}</div></div>'
        f'<div class="text-sm font-mono shrink-0">{html.escape(_score_text(run))}</div></div>'
    )


def _score_text(run: Run) -> str:
    if run.active or run.score is None:
        return ""
    return percent(run.score)


def _with_status(run: Run, status: ExecutionStatus) -> Run:
    return replace(run, status=status)


def event_note(agent: str, event: object) -> str | None:
    """The live note a running execution's row shows for a step event (None: no note)."""
    if isinstance(event, ToolCallEvent):
        return f"{agent} · {event.tool} {'✓' if event.ok else '✗'}"
    if isinstance(event, TransactionEvent):
        return f"{agent} · tx {'✓' if event.success else '✗'} {event.compute_units} CU"
    if isinstance(event, ModelCallEvent):
        return f"{agent} · model call {event.latency_ms:.0f} ms"
    return None
