"""An execution's logs: the trace tree (`/execution-logs`) and transaction logs."""

from __future__ import annotations

import io
from enum import StrEnum
from typing import Any

import yaml
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from rich.console import Console

from reev.report.txlogs import render_tree, session_log_trees, transaction_tree
from reev.service import schemas
from reev.service.deps import PickedExecutionDep, SettingsDep, read_record

router = APIRouter()


class TransactionLogFormat(StrEnum):
    TREE = "tree"
    PLAIN = "plain"
    YAML = "yaml"


@router.get("/execution-logs/{benchmark_id}")
def execution_logs(row: PickedExecutionDep, settings: SettingsDep) -> dict[str, Any]:
    record = read_record(settings, row)
    return {
        "execution_id": row.execution_id,
        "status": row.status,
        "tree": schemas.trace_tree(record),
    }


@router.get("/transaction-logs/{benchmark_id}", response_model=None)
def transaction_logs(
    row: PickedExecutionDep,
    settings: SettingsDep,
    format: TransactionLogFormat = TransactionLogFormat.TREE,
) -> dict[str, Any] | PlainTextResponse:
    record = read_record(settings, row)
    trees = session_log_trees(record)
    if format is TransactionLogFormat.YAML:
        return PlainTextResponse(
            yaml.safe_dump(trees, sort_keys=False), media_type="application/yaml"
        )
    if format is TransactionLogFormat.PLAIN:
        buffer = io.StringIO()
        console = Console(file=buffer, width=120, no_color=True, force_terminal=False)
        for step in record.steps:
            for tx in step.transactions:
                title = f"step {step.step} · {tx.signature} · {tx.compute_units} CU"
                console.print(render_tree(transaction_tree(tx), title))
        return PlainTextResponse(buffer.getvalue())
    return {"execution_id": row.execution_id, "transactions": trees}
