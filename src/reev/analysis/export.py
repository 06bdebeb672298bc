"""`reev export`: a table as CSV or Parquet, or trajectories as JSONL chat conversations.

The JSONL form is what fine-tuning APIs take: one line per (episode, step), `{"messages": [...],
"tools": [...], "metadata": {...}}`, with OpenAI chat messages (`system`, `user`, `assistant`
with `tool_calls`, `tool`). An LLM agent's step is the conversation exactly as sent: its last
model call's `request_messages` (whole: `read_session` rebuilds it from a version 2 file's
deltas) followed by that call's `response`. A step without model calls
(the deterministic agent, a remote agent) is written as the user's prompt, one assistant turn
per tool call the agent made and the tool's result; `metadata.synthetic` is then true. The
runner's automatic submits are not the agent's turns and are left out. `tools` are the
offered tools' function definitions, from reev's tool registry.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from reev.analysis.sources import Dataset, Episode
from reev.errors import InputError
from reev.runner.session import StepRecord


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    JSONL = "jsonl"


class Table(StrEnum):
    RUNS = "runs"
    EPISODES = "episodes"
    STEPS = "steps"
    TOOL_CALLS = "tool_calls"
    MODEL_CALLS = "model_calls"
    TRANSACTIONS = "transactions"


def export(data: Dataset, fmt: ExportFormat, output: Path, table: Table = Table.EPISODES) -> int:
    """Write `data` to `output`; returns the number of rows (JSONL: conversations) written."""
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt is ExportFormat.JSONL:
        lines = [json.dumps(c, ensure_ascii=False) for c in conversations(data)]
        output.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return len(lines)
    from reev.analysis.frames import FRAMES  # pandas: the `analysis` extra

    frame = FRAMES[table.value](data)
    try:
        if fmt is ExportFormat.CSV:
            frame.to_csv(output, index=False)
        else:
            frame.to_parquet(output, index=False, engine="pyarrow")
    except OSError as exc:
        raise InputError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    return len(frame)


def conversations(data: Dataset) -> list[dict[str, Any]]:
    out = []
    for episode in data.episodes:
        if episode.session is None:
            continue  # no session file (Cancelled, or a database row without its file)
        for step in episode.session.steps:
            if step.status == "skipped":
                continue
            out.append(conversation(episode, step))
    return out


def conversation(episode: Episode, step: StepRecord) -> dict[str, Any]:
    calls = [c for c in step.model_calls if c.provider != "remote"]
    last = next((c for c in reversed(calls) if c.response is not None), None)
    messages: list[dict[str, Any]]
    if last is not None and last.response is not None:
        messages = [*last.request_messages, last.response]
        tool_names = last.tools
        synthetic = False
    else:
        messages = _replayed(step)
        tool_names = list(dict.fromkeys(c.tool for c in step.tool_calls if not c.auto))
        synthetic = True
    return {
        "messages": messages,
        "tools": _schemas(tool_names),
        "metadata": {
            "run": episode.run,
            "label": episode.label,
            "agent": episode.agent,
            "model": episode.model,
            "execution_id": episode.execution_id,
            "benchmark_id": episode.benchmark_id,
            "epoch": episode.epoch,
            "step": step.step,
            "step_status": step.status,
            "status": episode.status,
            "passed": episode.passed,
            "score": episode.score,
            "tags": list(episode.tags),
            "synthetic": synthetic,
        },
    }


def _replayed(step: StepRecord) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": step.prompt}]
    for call in step.tool_calls:
        if call.auto:
            continue
        call_id = f"call_{step.step}_{call.index}"
        messages.append(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": call.tool, "arguments": json.dumps(call.args)},
                    }
                ],
            }
        )
        body = call.result if call.ok else {"error": call.error}
        messages.append({"role": "tool", "tool_call_id": call_id, "content": json.dumps(body)})
    if step.final_answer:
        messages.append({"role": "assistant", "content": step.final_answer})
    return messages


def _schemas(names: list[str]) -> list[dict[str, Any]]:
    from reev.tools import TOOLS

    return [TOOLS[name].openai_schema() for name in names if name in TOOLS]
