"""Rich renderings shared by the CLI commands: results tables and session trees."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from reev.constants import program_name
from reev.events import ExecutionStatus
from reev.runner.episode import EpisodeResult
from reev.runner.session import SessionFile, StepRecord


def program_label(program_id: str) -> str:
    name = program_name(program_id)
    return f"{name} ({program_id})" if name else program_id


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def results_table(results: list[EpisodeResult], title: str = "Results") -> Table:
    """One row per episode; fits an 80-column terminal."""
    table = Table(title=title, title_justify="left")
    if any(not r.passed and r.expected_outcome == "fail" for r in results):
        table.caption = "* designed to fail (expected_outcome: fail)"
    show_epoch = any(r.epoch for r in results)
    table.add_column("benchmark", no_wrap=True, overflow="ellipsis")
    if show_epoch:
        table.add_column("ep", justify="right")
    table.add_column("status", no_wrap=True, min_width=9)
    table.add_column("score", justify="right", no_wrap=True, min_width=5)
    table.add_column("pass", no_wrap=True, min_width=4)
    table.add_column("state/instr/tx", justify="right", no_wrap=True)
    for r in results:
        passed = Text("yes", style="green") if r.passed else Text("no", style="red")
        if not r.passed and r.expected_outcome == "fail":
            passed = Text("no*", style="yellow")
        b = r.breakdown
        row: list[str | Text] = [r.benchmark_id]
        if show_epoch:
            row.append(str(r.epoch))
        row += [
            Text(r.status, style="green" if r.status is ExecutionStatus.COMPLETED else "red"),
            f"{r.score:.3f}",
            passed,
            f"{_fmt(b.state)}/{_fmt(b.instruction)}/{_fmt(b.transaction)}",
        ]
        table.add_row(*row)
    return table


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _step_tree(parent: Tree, step: StepRecord, names: dict[str, str]) -> None:
    style = "green" if step.status == "completed" else "red"
    node = parent.add(Text(f"step {step.step}: {step.status}", style=style))
    node.add(Text(f"prompt: {step.prompt}", style="dim"))
    if step.error:
        node.add(Text(f"error: {step.error}", style="red"))
    for call in step.tool_calls:
        label = f"{'auto ' if call.auto else ''}tool {call.tool}({_short(call.args)})"
        call_node = node.add(Text(label, style="cyan" if call.ok else "red"))
        if call.ok:
            call_node.add(Text(f"→ {_short(call.result)}", style="dim"))
        else:
            call_node.add(Text(f"✗ {call.error_kind}: {call.error}", style="red"))
    for tx in step.transactions:
        outcome = (
            Text("success", style="green")
            if tx.success
            else Text(f"failed: {tx.error}", style="red")
        )
        tx_node = node.add(
            Text.assemble(
                f"transaction {tx.signature or '(unsent)'} ",
                outcome,
                f"  CU={tx.compute_units} fee={tx.fee}",
            )
        )
        for index, ix in enumerate(tx.instructions):
            ix_node = tx_node.add(f"instruction {index}: {program_label(ix.program_id)}")
            for meta in ix.accounts:
                flags = ("S" if meta.is_signer else "-") + ("W" if meta.is_writable else "-")
                name = names.get(meta.pubkey)
                ix_node.add(f"[{flags}] {meta.pubkey}" + (f"  {name}" if name else ""))
            ix_node.add(f"data: {ix.data or '(empty)'}")
    if step.observation is not None:
        obs = node.add(Text("observation", style="dim"))
        for account in step.observation.accounts:
            name = names.get(account.address, "")
            if account.token is not None:
                obs.add(
                    f"{name or account.address}: {account.token.ui_amount} of {account.token.mint}"
                    f" ({account.token.state})"
                )
            else:
                obs.add(f"{name or account.address}: {account.lamports} lamports")


def session_tree(session: SessionFile) -> Tree:
    """The episode as a tree: steps → tool calls → transactions → instructions; then scoring."""
    result = session.final_result
    colour = "green" if result.passed else "red"
    root = Tree(
        Text.assemble(
            (f"{session.benchmark_id}", "bold"),
            f"  agent={session.agent} seed={session.seed} profile={session.profile}  ",
            (f"{result.status} score={result.score:.3f} passed={result.passed}", colour),
        )
    )
    root.add(Text(f"execution {session.execution_id}", style="dim"))
    if session.error:
        root.add(Text(f"error: {session.error}", style="red"))
    names = {address: name for name, address in session.key_map.items()}
    for step in session.steps:
        _step_tree(root, step, names)
    score = root.add("score")
    b = result.breakdown
    score.add(
        f"state={_fmt(b.state)} instruction={_fmt(b.instruction)} transaction={_fmt(b.transaction)}"
    )
    for check in result.checks:
        mark = Text("✓ ", style="green") if check.passed else Text("✗ ", style="red")
        line = Text.assemble(mark, f"[{check.component}] {check.name}")
        if check.reason:
            line.append(f": {check.reason}", style="red")
        score.add(line)
    return root
