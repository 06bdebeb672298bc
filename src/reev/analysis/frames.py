"""pandas DataFrames of a `Dataset`: runs, episodes, steps, tool calls, model calls and
transactions, one row per item, with the columns docs/analysis.md documents (a test keeps the
two in step). Every child table repeats the keys `run, label, agent, execution_id,
benchmark_id, epoch` so it joins back to `episodes` and groups without a merge.

Nested values (tool arguments, instruction lists) are JSON strings: CSV, Parquet and JSONL
then hold the same thing, and pandas groups on them. `tags` is a comma-separated string
(`spl-token,transfer,t1`); `episodes.tags.str.split(",").explode()` gives one row per tag.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from reev.analysis.sources import Dataset, Episode
from reev.spec.categories import category_of, tier_of

KEYS = ["run", "label", "agent", "execution_id", "benchmark_id", "epoch"]

RUN_COLUMNS = [
    "run", "label", "agent", "source", "episodes", "benchmarks", "epochs", "mean_score",
    "pass_rate", "input_tokens", "output_tokens", "cost_usd", "profile", "seed", "reev_version",
]  # fmt: skip
EPISODE_COLUMNS = [
    *KEYS, "source", "model", "status", "passed", "score", "state_score", "instruction_score",
    "transaction_score", "profile", "seed", "run_seed", "tags", "category", "tier", "started_at", "finished_at",
    "duration_ms", "steps", "tool_calls", "tool_errors", "transactions", "model_calls",
    "model_errors", "input_tokens", "output_tokens", "cost_usd", "model_latency_ms", "error",
    "session_file",
]  # fmt: skip
STEP_COLUMNS = [
    *KEYS, "step", "description", "status", "error", "model_calls", "tool_calls",
    "transactions", "final_answer", "duration_ms",
]  # fmt: skip
TOOL_CALL_COLUMNS = [
    *KEYS, "step", "index", "tool", "args", "ok", "error", "error_kind", "auto", "duration_ms",
]  # fmt: skip
MODEL_CALL_COLUMNS = [
    *KEYS, "step", "index", "provider", "model", "input_tokens", "output_tokens", "cost_usd",
    "latency_ms", "attempts", "finish_reason", "error",
]  # fmt: skip
TRANSACTION_COLUMNS = [
    *KEYS, "step", "index", "signature", "success", "error", "compute_units", "fee",
    "instructions", "logs",
]  # fmt: skip

COLUMNS = {
    "runs": RUN_COLUMNS,
    "episodes": EPISODE_COLUMNS,
    "steps": STEP_COLUMNS,
    "tool_calls": TOOL_CALL_COLUMNS,
    "model_calls": MODEL_CALL_COLUMNS,
    "transactions": TRANSACTION_COLUMNS,
}


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def _keys(e: Episode) -> dict[str, Any]:
    return {k: getattr(e, k) for k in KEYS}


def episodes_frame(data: Dataset) -> pd.DataFrame:
    rows = []
    for e in data.episodes:
        usage = e.usage
        rows.append(
            {
                **_keys(e),
                "source": e.source,
                "model": e.model,
                "status": e.status,
                "passed": e.passed,
                "score": e.score,
                "state_score": e.breakdown.get("state"),
                "instruction_score": e.breakdown.get("instruction"),
                "transaction_score": e.breakdown.get("transaction"),
                "profile": e.profile,
                "seed": e.seed,
                "run_seed": e.run_seed,
                "tags": ",".join(e.tags),
                "category": category_of(e.tags),
                "tier": tier_of(e.tags),
                "started_at": e.started_at,
                "finished_at": e.finished_at,
                "duration_ms": e.duration_ms,
                "steps": len(e.session.steps) if e.session else None,
                "tool_calls": int(usage.get("tool_calls", 0)),
                "tool_errors": int(usage.get("tool_errors", 0)),
                "transactions": int(usage.get("transactions", 0)),
                "model_calls": int(usage.get("model_calls", 0)),
                "model_errors": int(usage.get("model_errors", 0)),
                "input_tokens": int(usage.get("input_tokens", 0)),
                "output_tokens": int(usage.get("output_tokens", 0)),
                "cost_usd": float(usage.get("cost_usd", 0.0)),
                "model_latency_ms": e.model_latency_ms,
                "error": e.error,
                "session_file": e.session_file,
            }
        )
    frame = _frame(rows, EPISODE_COLUMNS)
    return frame.astype({"steps": "Int64", "seed": "Int64", "run_seed": "Int64"})


def runs_frame(data: Dataset) -> pd.DataFrame:
    """One row per arm (a run's agent): its totals, and the run's configuration when known."""
    config = {r.run: r.config for r in data.runs}
    rows = []
    for label in data.labels:
        episodes = [e for e in data.episodes if e.label == label]
        first = episodes[0]
        per_benchmark: dict[str, int] = {}
        for e in episodes:
            per_benchmark[e.benchmark_id] = per_benchmark.get(e.benchmark_id, 0) + 1
        conf = config.get(first.run, {})
        rows.append(
            {
                "run": first.run,
                "label": label,
                "agent": first.agent,
                "source": first.source,
                "episodes": len(episodes),
                "benchmarks": len(per_benchmark),
                "epochs": max(per_benchmark.values()),
                "mean_score": sum(e.score for e in episodes) / len(episodes),
                "pass_rate": sum(e.passed for e in episodes) / len(episodes),
                "input_tokens": sum(int(e.usage.get("input_tokens", 0)) for e in episodes),
                "output_tokens": sum(int(e.usage.get("output_tokens", 0)) for e in episodes),
                "cost_usd": sum(float(e.usage.get("cost_usd", 0.0)) for e in episodes),
                "profile": conf.get("profile", first.profile),
                "seed": conf.get("seed", first.run_seed),
                "reev_version": conf.get("reev_version"),
            }
        )
    return _frame(rows, RUN_COLUMNS)


def steps_frame(data: Dataset) -> pd.DataFrame:
    rows = []
    for e in data.episodes:
        for s in e.session.steps if e.session else []:
            rows.append(
                {
                    **_keys(e),
                    "step": s.step,
                    "description": s.description,
                    "status": s.status,
                    "error": s.error,
                    "model_calls": len(s.model_calls),
                    "tool_calls": len(s.tool_calls),
                    "transactions": len(s.transactions),
                    "final_answer": s.final_answer,
                    "duration_ms": s.duration_ms,
                }
            )
    return _frame(rows, STEP_COLUMNS)


def tool_calls_frame(data: Dataset) -> pd.DataFrame:
    rows = []
    for e in data.episodes:
        if e.session is None:
            for r in (e.db_children or {}).get("tool_calls", []):
                rows.append({**_keys(e), **_pick(r, TOOL_CALL_COLUMNS), "args": _json(r["args"])})
            continue
        for s in e.session.steps:
            for c in s.tool_calls:
                rows.append(
                    {
                        **_keys(e),
                        "step": s.step,
                        "index": c.index,
                        "tool": c.tool,
                        "args": _json(c.args),
                        "ok": c.ok,
                        "error": c.error,
                        "error_kind": c.error_kind,
                        "auto": c.auto,
                        "duration_ms": c.duration_ms,
                    }
                )
    return _frame(rows, TOOL_CALL_COLUMNS)


def model_calls_frame(data: Dataset) -> pd.DataFrame:
    rows = []
    for e in data.episodes:
        if e.session is None:
            for r in (e.db_children or {}).get("model_calls", []):
                rows.append({**_keys(e), **_pick(r, MODEL_CALL_COLUMNS)})
            continue
        for s in e.session.steps:
            for c in s.model_calls:
                rows.append(
                    {
                        **_keys(e),
                        "step": s.step,
                        "index": c.index,
                        "provider": c.provider,
                        "model": c.model,
                        "input_tokens": c.input_tokens,
                        "output_tokens": c.output_tokens,
                        "cost_usd": c.cost_usd,
                        "latency_ms": c.latency_ms,
                        "attempts": len(c.attempts),
                        "finish_reason": c.finish_reason,
                        "error": c.error,
                    }
                )
    return _frame(rows, MODEL_CALL_COLUMNS)


def transactions_frame(data: Dataset) -> pd.DataFrame:
    rows = []
    for e in data.episodes:
        if e.session is None:
            for r in (e.db_children or {}).get("transactions", []):
                rows.append(
                    {
                        **_keys(e),
                        **_pick(r, TRANSACTION_COLUMNS),
                        "instructions": None,  # the database keeps no instructions
                        "logs": "\n".join(r.get("logs") or []),
                    }
                )
            continue
        for s in e.session.steps:
            for i, tx in enumerate(s.transactions):
                rows.append(
                    {
                        **_keys(e),
                        "step": s.step,
                        "index": i,
                        "signature": tx.signature,
                        "success": tx.success,
                        "error": tx.error,
                        "compute_units": tx.compute_units,
                        "fee": tx.fee,
                        "instructions": _json(
                            [ix.model_dump(mode="json") for ix in tx.instructions]
                        ),
                        "logs": "\n".join(tx.logs),
                    }
                )
    return _frame(rows, TRANSACTION_COLUMNS)


FRAMES = {
    "runs": runs_frame,
    "episodes": episodes_frame,
    "steps": steps_frame,
    "tool_calls": tool_calls_frame,
    "model_calls": model_calls_frame,
    "transactions": transactions_frame,
}


def _pick(row: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    return {c: row[c] for c in columns if c in row and c not in KEYS}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)
