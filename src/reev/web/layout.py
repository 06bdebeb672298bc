"""The frame every page shares: header with navigation, live execution counts, API token and dark
mode; the stylesheet; small helpers (status badges, times, live-event dispatch)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

from fastapi import Request
from nicegui import background_tasks, ui

from reev import __version__
from reev.events import ACTIVE, ExecutionStatus, LiveEvent, StatusEvent
from reev.store import repository as repo
from reev.web.context import Dashboard, current

log = logging.getLogger(__name__)

DARK_COOKIE = "reev_dark"
TOKEN_COOKIE = "reev_token"

STATUS_COLOURS: dict[ExecutionStatus, str] = {
    ExecutionStatus.QUEUED: "blue-grey-6",
    ExecutionStatus.RUNNING: "blue-7",
    ExecutionStatus.COMPLETED: "green-8",
    ExecutionStatus.FAILED: "red-8",
    ExecutionStatus.TIMEOUT: "orange-9",
    ExecutionStatus.CANCELLED: "grey-7",
}
EventHandler = Callable[[str, LiveEvent], Any]

CSS = r"""
:root { --reev-surface: #ffffff; --reev-muted: #64748b; --reev-line: #e2e8f0; }
body.body--dark { --reev-surface: #1e1e1e; --reev-muted: #94a3b8; --reev-line: #334155; }
.reev-mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.reev-muted { color: var(--reev-muted); }
.reev-scroll { overflow: auto; }
.reev-matrix { border-collapse: separate; border-spacing: 2px; font-size: 12px; }
.reev-matrix th { font-weight: 600; background: var(--reev-surface); }
.reev-matrix thead th { position: sticky; top: 0; z-index: 2; }
.reev-matrix th.agent { max-width: 118px; min-width: 72px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; padding: 2px 4px; }
.reev-matrix th.bench { position: sticky; left: 0; z-index: 1; text-align: left; white-space: nowrap;
  padding: 1px 8px 1px 2px; }
.reev-matrix thead th.bench { z-index: 3; }
.reev-matrix td.cell { min-width: 72px; text-align: center; border-radius: 4px; padding: 2px 6px;
  font-variant-numeric: tabular-nums; white-space: nowrap; }
.reev-matrix td.cell a { text-decoration: none; display: block; }
.reev-matrix td.empty { color: var(--reev-muted); }
.reev-matrix td.cell[data-status="%(running)s"] { animation: reev-pulse 1.2s ease-in-out infinite; }
.reev-matrix .mark { font-size: 10px; opacity: .8; }
.reev-matrix a { color: inherit; }
.chip { display: inline-block; margin-left: 6px; padding: 0 6px; border-radius: 8px; font-size: 10px;
  font-weight: 500; background: var(--reev-line); color: inherit; }
.chip.tier { background: transparent; border: 1px solid var(--reev-line); }
@keyframes reev-pulse { 50% { opacity: .55; } }
.reev-legend span.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px;
  vertical-align: middle; margin-right: 4px; border: 1px solid var(--reev-line); }
.reev-pre { white-space: pre-wrap; word-break: break-word; margin: 0; }
.reev-tree-node { border-left: 2px solid var(--reev-line); padding-left: 10px; margin-left: 4px; }
.reev-flow { background: #ffffff; border-radius: 6px; padding: 8px; overflow: auto; }
body.body--dark .reev-flow { background: #111827; }
.reev-flow:empty { min-height: 120px; display: flex; align-items: center; justify-content: center; }
.reev-flow:empty::before { content: "drawing the flow…"; color: var(--reev-muted); font-size: 13px; }
.reev-check-reason { overflow-wrap: anywhere; word-break: break-word; white-space: pre-wrap;
  max-width: 100%; min-width: 0; }
.chip.expected-fail { background: transparent; border: 1px dashed var(--reev-muted); }
.reev-msg { border-radius: 8px; padding: 6px 10px; border: 1px solid var(--reev-line); }
.reev-editor-error { background: rgba(220, 38, 38, .18); }
.nicegui-content { padding: 12px 16px; }
""".replace("%(running)s", ExecutionStatus.RUNNING)


def status_badge(status: ExecutionStatus) -> ui.badge:
    return (
        ui.badge(status, color=STATUS_COLOURS.get(status, "grey-7"))
        .props(f'data-status="{status}"')
        .classes("reev-status")
    )


def set_status(badge: ui.badge, status: ExecutionStatus) -> None:
    badge.set_text(status)
    badge.props(f'color={STATUS_COLOURS.get(status, "grey-7")} data-status="{status}"')


def fmt_time(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def pretty_json(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def pre(text: str, classes: str = "") -> ui.element:
    """Monospace text that wraps (arguments, results, logs)."""
    element = ui.element("pre").classes(f"reev-pre reev-mono {classes}")
    with element:
        ui.label(text).classes("reev-pre")
    return element


class Debounced:
    """Run `action` once, shortly after the last of a burst of events (not a polling loop:
    nothing happens without an event)."""

    def __init__(
        self, action: Callable[[], Awaitable[None]], delay: float = 0.2, *, client: Any = None
    ):
        self.action = action
        self.delay = delay
        self.client = client or ui.context.client
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def __call__(self) -> None:
        self._again = True
        if self._task is not None and not self._task.done():
            return  # the running one picks this call up: it runs again while calls came in
        self._task = background_tasks.create(self._run(), name="reev-debounced")

    async def _run(self) -> None:
        while self._again:
            self._again = False
            await asyncio.sleep(self.delay)
            if self.client.is_deleted:  # the page was closed meanwhile
                return
            await self.action()


class Page:
    """One open browser page: its dashboard context, live-event handlers and access token."""

    def __init__(self, dash: Dashboard, request: Request):
        self.dash = dash
        self.client = ui.context.client
        self.token: str | None = request.cookies.get(TOKEN_COOKIE)
        self._handlers: list[EventHandler] = []
        self._task: asyncio.Task[None] | None = None
        self.dark: ui.dark_mode | None = None
        self._dark_handlers: list[Callable[[], Any]] = []

    @property
    def is_dark(self) -> bool:
        return bool(self.dark is not None and self.dark.value)

    def on_dark_change(self, handler: Callable[[], Any]) -> None:
        """Call `handler()` after dark mode is switched (charts and diagrams re-theme)."""
        self._dark_handlers.append(handler)

    def dark_changed(self) -> None:
        for handler in list(self._dark_handlers):
            handler()

    def on_event(self, handler: EventHandler) -> None:
        """Call `handler(execution_id, event)` for every manager event while the page is open."""
        self._handlers.append(handler)
        if self._task is None:
            self._task = background_tasks.create(self._pump(), name="reev-page-events")
            self.client.on_delete(self._stop)

    def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _pump(self) -> None:
        async for execution_id, event in self.dash.hub.events():
            if self.client.is_deleted:
                return
            for handler in list(self._handlers):
                try:
                    result = handler(execution_id, event)
                    if inspect.isawaitable(result):
                        await result
                except Exception:  # one broken handler must not stop the page's live view
                    log.exception("dashboard event handler failed")

    # ------------------------------------------------------------------ access

    def allowed(self) -> bool:
        """True when mutations may go ahead; otherwise asks for the API token."""
        if self.dash.token_ok(self.token):
            return True
        self.ask_token()
        return False

    def ask_token(self) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-96"):
            ui.label("This server needs its API token (REEV_API_TOKEN) to run, stop or save.")
            field = ui.input("API token", password=True, password_toggle_button=True).classes(
                "w-full"
            )

            def save() -> None:
                if not self.dash.token_ok(field.value):
                    ui.notify("that is not the server's token", type="negative")
                    return
                self.token = field.value
                ui.run_javascript(
                    f"document.cookie = {json.dumps(TOKEN_COOKIE + '=' + field.value)}"
                    " + '; path=/; SameSite=Strict'"
                )
                dialog.close()
                ui.notify("token accepted", type="positive")

            with ui.row().classes("justify-end w-full"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Use token", on_click=save)
        dialog.open()


def frame(request: Request, title: str) -> Page:
    """Header, styles and dark mode; returns the page object the content builds on."""
    dash = current()
    page = Page(dash, request)
    dark = ui.dark_mode(request.cookies.get(DARK_COOKIE) == "1")
    page.dark = dark
    ui.add_css(CSS)
    ui.colors(primary="#4f46e5")
    ui.page_title(f"reev · {title}")
    with ui.header(elevated=False).classes("items-center gap-4 px-4 py-1 bg-indigo-700 text-white"):
        ui.link("reev", "/").classes("text-lg font-bold text-white no-underline")
        for label, href in (
            ("Overview", "/"),
            ("Runs", "/runs"),
            ("Compare", "/compare"),
            ("API", "/docs"),
        ):
            ui.link(label, href).classes("text-white no-underline opacity-90 hover:opacity-100")
        ui.space()
        with ui.row().classes("items-center gap-2").props('data-testid="live-counts"'):
            ui.icon("bolt").classes("opacity-80")
            running = ui.label("… running").props('data-testid="count-running"')
            queued = ui.label("… queued").props('data-testid="count-queued"')
        if dash.needs_token:
            ui.button(icon="key", on_click=page.ask_token).props(
                "flat round dense color=white"
            ).tooltip("API token (needed to run, stop and save)")

        def toggle_dark() -> None:
            dark.value = not dark.value
            ui.run_javascript(
                f"document.cookie = '{DARK_COOKIE}={1 if dark.value else 0}; path=/; max-age=31536000; SameSite=Lax'"
            )
            page.dark_changed()

        ui.button(icon="dark_mode", on_click=toggle_dark).props(
            'flat round dense color=white data-testid="dark-toggle"'
        ).tooltip("Dark mode")
        ui.label(f"v{__version__}").classes("text-xs opacity-70")

    async def refresh_counts() -> None:
        counts = await dash.read(repo.active_counts)
        running.set_text(f"{counts.get(ExecutionStatus.RUNNING, 0)} running")
        queued.set_text(f"{counts.get(ExecutionStatus.QUEUED, 0)} queued")

    recount = Debounced(refresh_counts, 0.15, client=page.client)

    def on_event(_: str, event: LiveEvent) -> None:
        if isinstance(event, StatusEvent):
            recount()

    page.on_event(on_event)
    background_tasks.create(refresh_counts(), name="reev-counts")
    return page


def is_active(status: ExecutionStatus) -> bool:
    return status in ACTIVE


@contextlib.contextmanager
def card(
    title: str | None = None, classes: str = "", testid: str | None = None
) -> Iterator[ui.card]:
    with (
        ui.card()
        .classes(f"w-full {classes}")
        .props("flat bordered" + (f' data-testid="{testid}"' if testid else "")) as c
    ):
        if title:
            ui.label(title).classes("text-subtitle1 font-semibold")
        yield c
