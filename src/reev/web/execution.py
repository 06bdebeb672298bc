"""`/executions/{id}`: one execution, linkable. Status and timings, the score with its breakdown
and every check's reason, the conversation, every transaction with its invocation tree, the flow
diagram, and the session JSON. While the execution runs, the page follows its event stream."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from nicegui import background_tasks, ui
from pydantic import ValidationError

from reev.events import (
    EpisodeFinished,
    EpisodeStarted,
    LiveEvent,
    ModelCallEvent,
    StatusEvent,
    ToolCallEvent,
    TransactionEvent,
)
from reev.report.flow import mermaid, nodes_from_session, short
from reev.report.txlogs import Invocation, transaction_tree
from reev.runner.session import SessionFile, StepRecord, read_session, session_path
from reev.store import repository as repo
from reev.store.models import ExecutionRow
from reev.web.context import Dashboard
from reev.web.data import percent, utc
from reev.web.layout import (
    Page,
    card,
    fmt_seconds,
    fmt_time,
    frame,
    is_active,
    pre,
    pretty_json,
    set_status,
    status_badge,
)

MERMAID_CONFIG = {
    "startOnLoad": False,
    "securityLevel": "strict",
    "theme": "default",
    "flowchart": {"htmlLabels": True},
}


def mermaid_config(dark: bool) -> dict[str, Any]:
    """Mermaid's own dark theme in dark mode (its default one draws light boxes)."""
    return {**MERMAID_CONFIG, "theme": "dark" if dark else "default"}


@dataclass
class Loaded:
    row: ExecutionRow | None
    record: SessionFile | None
    problem: str | None = None


async def load(dash: Dashboard, execution_id: str) -> Loaded:
    row = await dash.read(repo.get_execution, execution_id)
    if row is None:
        return Loaded(None, None, f"unknown execution {execution_id!r}")
    path = (
        Path(row.session_file)
        if row.session_file
        else session_path(dash.settings.log_dir, execution_id)
    )
    if not path.exists():
        return Loaded(
            row,
            None,
            "no session file yet" if is_active(row.status) else f"no session file ({path})",
        )
    try:
        record = await _read(path)
    except (OSError, ValidationError, ValueError) as exc:
        return Loaded(row, None, f"the session file cannot be read: {exc}")
    return Loaded(row, record)


async def _read(path: Path) -> SessionFile:
    return await asyncio.to_thread(read_session, path)


# --------------------------------------------------------------------------- sections


def header_section(
    page: Page, row: ExecutionRow, *, has_session: bool = True, on_stop: Any = None
) -> ui.badge:
    with ui.row().classes("w-full items-center gap-3"):
        badge = status_badge(row.status).classes("text-sm").props('data-testid="execution-status"')
        ui.label(row.benchmark_id).classes("text-h6")
        ui.label(row.agent + (f" · {row.model}" if row.model else "")).classes(
            "text-subtitle1 reev-muted"
        )
        ui.space()
        ui.link("Benchmark", f"/benchmarks/{row.benchmark_id}")
        ui.link("Compare", f"/compare?x={quote(row.execution_id)}")
        if has_session:
            ui.button("Flow page", icon="account_tree").props(
                f'flat dense href="/api/v1/flows/{quote(row.execution_id)}?format=html" target="_blank"'
            )
            ui.button("Session JSON", icon="download").props(
                f'outline dense href="/api/v1/executions/{quote(row.execution_id)}/session" '
                f'download="session_{row.execution_id}.json" data-testid="download-session"'
            )
        if on_stop is not None:
            stop = ui.button("Stop", icon="stop", on_click=on_stop).props(
                'color=negative dense data-testid="stop"'
            )
            stop.set_visibility(is_active(row.status))
    ui.label(f"execution {row.execution_id}").classes("reev-mono reev-muted")
    return badge


def summary_section(row: ExecutionRow, record: SessionFile | None) -> None:
    with card("Score", testid="score"):
        result = record.final_result if record else None
        score = result.score if result else row.score
        passed = result.passed if result else row.passed
        with ui.row().classes("items-end gap-3"):
            ui.label(percent(score, 1) if score is not None else "—").classes(
                "text-h4 font-bold"
            ).props('data-testid="score-value"')
            if passed is not None:
                ui.label("passed" if passed else "not passed").classes(
                    "text-subtitle1 " + ("text-positive" if passed else "text-negative")
                )
            ui.label(f"profile {row.profile}").classes("reev-muted")
        breakdown = (
            result.breakdown.model_dump()
            if result
            else ((row.result or {}).get("final_result") or {}).get("breakdown") or {}
        )
        with ui.column().classes("w-full gap-1").props('data-testid="breakdown"'):
            for name in ("state", "instruction", "transaction"):
                value = breakdown.get(name)
                with ui.row().classes("w-full items-center no-wrap gap-2"):
                    ui.label(name).classes("w-24 text-sm")
                    if value is None:
                        ui.label("not scored").classes("reev-muted text-sm")
                    else:
                        ui.linear_progress(value=value, show_value=False, size="10px").classes(
                            "grow"
                        ).props(
                            f"color={'positive' if value >= 0.999 else 'warning' if value >= 0.5 else 'negative'}"
                        )
                        ui.label(percent(value, 1)).classes("w-14 text-right text-sm font-mono")
        with (
            ui.grid(columns=2)
            .classes("gap-x-4 gap-y-0 text-sm mt-2")
            .props('data-testid="timings"')
        ):
            created, started, finished = (
                utc(row.created_at),
                utc(row.started_at),
                utc(row.finished_at),
            )
            for label, value in (
                ("created", fmt_time(created)),
                ("started", fmt_time(started)),
                ("finished", fmt_time(finished)),
                (
                    "waited in queue",
                    fmt_seconds((started - created).total_seconds())
                    if started and created
                    else "—",
                ),
                (
                    "ran for",
                    fmt_seconds((finished - started).total_seconds())
                    if finished and started
                    else "—",
                ),
                ("episode", fmt_seconds(record.duration_ms / 1000) if record else "—"),
                ("seed", f"{row.seed} (episode {record.seed})" if record else str(row.seed)),
                ("epoch", str(row.epoch)),
            ):
                ui.label(label).classes("reev-muted")
                ui.label(value)
        if error := row.error or (record.error if record else None):
            ui.label(f"error: {error}").classes("text-negative text-sm mt-2").props(
                'data-testid="execution-error"'
            )
        if record and record.usage.model_calls:
            u = record.usage
            ui.label(
                f"{u.model_calls} model calls · {u.input_tokens} in + {u.output_tokens} out tokens · "
                f"${u.cost_usd:.4f} · {u.tool_calls} tool calls ({u.tool_errors} failed)"
            ).classes("text-sm reev-muted")


def checks_section(record: SessionFile) -> None:
    checks = record.final_result.checks
    failed = [c for c in checks if not c.passed]
    with card(
        f"Checks · {len(checks) - len(failed)} of {len(checks)} hold",
        classes="min-w-0",
        testid="checks",
    ):
        for check in checks:
            with (
                ui.column()
                .classes("w-full min-w-0 gap-0 py-1")
                .style("border-top: 1px solid var(--reev-line)")
                .props(f'data-testid="check" data-passed="{str(check.passed).lower()}"')
            ):
                with ui.row().classes("w-full items-center no-wrap gap-2"):
                    ui.icon(
                        "check_circle" if check.passed else "cancel",
                        color="positive" if check.passed else "negative",
                    ).classes("text-lg")
                    ui.badge(check.component, color="blue-grey-5").props("outline")
                    ui.label(check.name).classes("text-sm grow min-w-0 break-all")
                    ui.label(f"{check.earned:g} / {check.weight:g}").classes(
                        "text-sm font-mono reev-muted"
                    )
                if not check.passed:
                    # Reasons name accounts and amounts: long unbroken words that must wrap
                    # anywhere rather than run out of the card (`reev-check-reason`).
                    ui.label(check.reason or "failed (no reason recorded)").classes(
                        "text-sm text-negative reev-check-reason w-full pl-8"
                    ).props('data-testid="check-reason"')
                    if check.expected is not None or check.actual is not None:
                        ui.label(f"expected {check.expected!r} · got {check.actual!r}").classes(
                            "text-xs reev-mono reev-muted reev-check-reason w-full pl-8"
                        )


def flow_section(record: SessionFile, dark: bool = False) -> None:
    """The flow diagram. Mermaid draws it in the browser a moment after the page shows; until
    then the empty diagram shows "drawing the flow…" (`.reev-flow:empty::before`)."""
    with card("Flow", testid="flow"):
        ui.mermaid(
            mermaid(nodes_from_session(record), dark=dark), config=mermaid_config(dark)
        ).classes("reev-flow w-full").props('data-testid="flow-diagram"')


def _invocation(node: Invocation) -> None:
    with ui.element("div").classes("reev-tree-node"):
        name = node.program or short(node.program_id)
        parts = [name]
        if node.instruction:
            parts.append(node.instruction)
        if node.compute_units is not None:
            parts.append(
                f"{node.compute_units} CU" + (" (inferred)" if node.compute_units_inferred else "")
            )
        outcome = "✓" if node.success else f"✗ {node.error}" if node.success is False else ""
        ui.label(" · ".join(parts) + f" {outcome}").classes(
            "text-sm " + ("text-negative" if node.success is False else "")
        ).tooltip(node.program_id)
        for line in node.logs:
            ui.label(line).classes("reev-mono reev-muted text-xs")
        for child in node.children:
            _invocation(child)


def transactions_section(record: SessionFile) -> None:
    txs = [tx for step in record.steps for tx in step.transactions]
    with card(f"Transactions · {len(txs)}", testid="transactions"):
        if not txs:
            ui.label("No transaction was submitted.").classes("reev-muted")
        for index, tx in enumerate(txs):
            with (
                ui.column()
                .classes("w-full gap-1 mb-2")
                .props(f'data-testid="transaction" data-signature="{tx.signature or ""}"')
            ):
                with ui.row().classes("items-center gap-2 w-full"):
                    ui.badge(
                        "success" if tx.success else "failed",
                        color="positive" if tx.success else "negative",
                    )
                    ui.label(f"#{index + 1} · step {tx.step}").classes("text-sm reev-muted")
                    ui.label(f"{tx.compute_units} CU").classes("text-sm font-semibold").props(
                        'data-testid="compute-units"'
                    )
                    ui.label(f"fee {tx.fee} lamports").classes("text-sm reev-muted")
                ui.label(tx.signature or "(not sent)").classes("reev-mono break-all").props(
                    'data-testid="signature"'
                )
                if tx.error:
                    ui.label(tx.error).classes("text-negative text-sm")
                tree = transaction_tree(tx)
                with ui.expansion("Invocation tree", value=True).classes("w-full").props("dense"):
                    for node in tree.invocations:
                        _invocation(node)
                    for line in tree.other:
                        ui.label(line).classes("reev-mono reev-muted text-xs")


def _compact(value: Any) -> Any:
    """A tool result for reading: program logs (shown with each transaction's invocation tree)
    become a one-line note."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return _compact(parsed) if isinstance(parsed, (dict, list)) else value
    if isinstance(value, dict):
        return {
            k: (
                f"[{len(v)} log lines: see Transactions]"
                if k == "logs" and isinstance(v, list) and len(v) > 2
                else _compact(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _message(message: dict[str, Any]) -> None:
    role = str(message.get("role", "?"))
    if role == "system":
        with ui.expansion("System prompt").classes("w-full").props("dense"):
            pre(str(message.get("content") or ""))
        return
    colours = {
        "user": "bg-indigo-50 dark:bg-indigo-950",
        "assistant": "",
        "tool": "bg-slate-50 dark:bg-slate-900",
    }
    with (
        ui.column()
        .classes(f"reev-msg w-full gap-1 {colours.get(role, '')}")
        .props(f'data-role="{role}"')
    ):
        ui.label(
            role if role != "tool" else f"tool result · {message.get('tool_call_id', '')}"
        ).classes("text-xs font-semibold uppercase reev-muted")
        content = message.get("content")
        if content:
            pre(pretty_json(_compact(content)) if role == "tool" else str(content))
        for call in message.get("tool_calls") or []:
            function = call.get("function", {})
            ui.label(f"→ {function.get('name')}").classes("text-sm font-semibold")
            pre(pretty_json(function.get("arguments", "")), "text-xs")


def _step_conversation(step: StepRecord) -> None:
    if step.model_calls:
        last = step.model_calls[-1]
        messages = list(last.request_messages) + ([last.response] if last.response else [])
        for message in messages:
            _message(message)
        rows = [
            {
                "i": c.index,
                "model": f"{c.provider}/{c.model}",
                "tokens": f"{c.input_tokens} + {c.output_tokens}",
                "latency": f"{c.latency_ms:.0f} ms",
                "cost": f"${c.cost_usd:.4f}",
                "attempts": len(c.attempts),
                "error": c.error or "",
            }
            for c in step.model_calls
        ]
        columns = [{"name": k, "label": k, "field": k, "align": "left"} for k in rows[0]]
        ui.table(columns=columns, rows=rows, row_key="i").props(
            "dense flat hide-bottom wrap-cells"
        ).classes("w-full")
    if step.tool_calls:
        ui.label("Tool calls").classes("text-sm font-semibold mt-2")
    for call in step.tool_calls:
        with (
            ui.column()
            .classes("reev-msg w-full gap-1")
            .props(f'data-testid="tool-call" data-tool="{call.tool}"')
        ):
            with ui.row().classes("items-center gap-2"):
                ui.label(("auto " if call.auto else "") + call.tool).classes("font-semibold")
                ui.badge(
                    "ok" if call.ok else call.error_kind or "error",
                    color="positive" if call.ok else "negative",
                )
                ui.label(f"{call.duration_ms:.1f} ms").classes("text-xs reev-muted")
            with ui.row().classes("w-full no-wrap gap-2"):
                with ui.column().classes("w-1/2 min-w-0 gap-0"):
                    ui.label("arguments").classes("text-xs reev-muted")
                    pre(pretty_json(call.args), "text-xs")
                with ui.column().classes("w-1/2 min-w-0 gap-0"):
                    ui.label("result" if call.ok else "error").classes("text-xs reev-muted")
                    pre(
                        pretty_json(_compact(call.result)) if call.ok else str(call.error),
                        "text-xs",
                    )
    if step.final_answer:
        ui.label("Final answer").classes("text-sm font-semibold mt-2")
        pre(step.final_answer)


def conversation_section(record: SessionFile) -> None:
    with card("Conversation", testid="conversation"):
        for step in record.steps:
            title = f"Step {step.step} · {step.status} · {fmt_seconds(step.duration_ms / 1000)}"
            with (
                ui.expansion(title, value=True)
                .classes("w-full")
                .props("dense header-class=font-semibold")
            ):
                ui.label("prompt").classes("text-xs reev-muted")
                pre(step.prompt)
                if step.error:
                    ui.label(f"error: {step.error}").classes("text-negative text-sm")
                _step_conversation(step)


# --------------------------------------------------------------------------- page


async def execution_page(request: Request, execution_id: str) -> None:
    page = frame(request, f"execution {execution_id}")
    dash = page.dash
    body = ui.column().classes("w-full gap-4")
    live_box: dict[str, Any] = {}

    async def build() -> None:
        loaded = await load(dash, execution_id)
        body.clear()
        with body:
            if loaded.row is None:
                ui.label(loaded.problem or "not found").classes("text-h6 text-negative").props(
                    'data-testid="not-found"'
                )
                return
            row, record = loaded.row, loaded.record
            live_box["badge"] = header_section(
                page, row, has_session=record is not None, on_stop=stop
            )
            if loaded.problem:
                ui.label(loaded.problem).classes("reev-muted")
            if is_active(row.status):
                with card("Live", testid="live"):
                    live_box["log"] = ui.log(max_lines=200).classes("w-full h-40 reev-mono")
            with ui.row().classes("w-full gap-4 no-wrap items-start"):
                with ui.column().classes("w-1/2 min-w-0 gap-4"):
                    summary_section(row, record)
                    if record is not None:
                        checks_section(record)
                        conversation_section(record)
                with ui.column().classes("w-1/2 min-w-0 gap-4"):
                    if record is not None:
                        flow_section(record, page.is_dark)
                        transactions_section(record)
        if loaded.row is not None and is_active(loaded.row.status):
            task = background_tasks.create(follow(), name=f"reev-follow-{execution_id}")
            page.client.on_delete(task.cancel)

    def rebuild_in_new_mode() -> None:  # Mermaid takes its theme when it draws: draw again
        background_tasks.create(build(), name=f"reev-retheme-{execution_id}")

    page.on_dark_change(rebuild_in_new_mode)

    async def follow() -> None:
        """The manager's event stream of this execution; rebuild the page when it ends."""
        if execution_id not in dash.manager.events:
            return
        async for event in dash.manager.subscribe(execution_id):
            if page.client.is_deleted:
                return
            log = live_box.get("log")
            if log is not None:
                log.push(_describe(event))
            if isinstance(event, StatusEvent):
                if "badge" in live_box:
                    set_status(live_box["badge"], event.status)
                if event.final:
                    break
        if not page.client.is_deleted:
            await build()

    async def stop() -> None:
        if not page.allowed():
            return
        if not await dash.manager.stop(execution_id):
            ui.notify("that execution had already ended", type="warning")

    await build()


def _describe(event: LiveEvent) -> str:
    match event:
        case StatusEvent():
            return f"status → {event.status}"
        case ToolCallEvent():
            return f"tool {event.tool} {'ok' if event.ok else f'failed: {event.error}'}"
        case TransactionEvent():
            outcome = "success" if event.success else f"failed: {event.error}"
            return f"transaction {event.signature} {outcome} · {event.compute_units} CU"
        case ModelCallEvent():
            tokens = f"{event.input_tokens}+{event.output_tokens} tokens"
            return f"model call {event.model} · {event.latency_ms} ms · {tokens}"
        case EpisodeFinished():
            return f"episode finished: {event.status} · score {event.score}"
        case EpisodeStarted():
            return f"episode started: {event.benchmark_id}"
