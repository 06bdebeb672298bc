"""Flow diagrams of an execution: `GET /flows/{execution_id}` and `GET /flow-logs/{benchmark}`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, PlainTextResponse

from reev.report.flow import flow_html, mermaid, nodes_from_session
from reev.service.deps import (
    BenchmarkId,
    ExecutionDep,
    PickedExecutionDep,
    SettingsDep,
    read_record,
)

router = APIRouter()


class FlowFormat(StrEnum):
    JSON = "json"
    HTML = "html"
    MERMAID = "mermaid"


@router.get("/flows/{execution_id}", response_model=None)
def flows(
    row: ExecutionDep, settings: SettingsDep, format: FlowFormat = FlowFormat.JSON
) -> dict[str, Any] | PlainTextResponse | HTMLResponse:
    record = read_record(settings, row)
    nodes = nodes_from_session(record)
    diagram = mermaid(nodes)
    if format is FlowFormat.MERMAID:
        return PlainTextResponse(diagram)
    if format is FlowFormat.HTML:
        title = f"reev · {record.benchmark_id} · {row.execution_id}"
        return HTMLResponse(flow_html(diagram, title, script_src="/static/mermaid.min.js"))
    return {
        "execution_id": row.execution_id,
        "benchmark_id": record.benchmark_id,
        "mermaid": diagram,
        "nodes": [{"kind": n.kind, "lines": list(n.lines)} for n in nodes],
    }


@router.get("/flow-logs/{benchmark_id}")
def flow_logs(
    benchmark_id: BenchmarkId, row: PickedExecutionDep, settings: SettingsDep
) -> dict[str, Any]:
    record = read_record(settings, row)
    return {
        "execution_id": row.execution_id,
        "benchmark_id": benchmark_id,
        "mermaid": mermaid(nodes_from_session(record)),
    }
