"""Request and response bodies of the REST API (they are the OpenAPI schema)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import Row

from reev.events import ExecutionStatus
from reev.runner.session import SessionFile
from reev.runs import RUN_NAME
from reev.store.models import BenchmarkRow, ExecutionRow, RunRow
from reev.store.repository import RunSummary, run_status

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def _utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every time reev stores is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]

# NUL and the other C0/C1 controls (and DEL): a command line drops everything after a NUL, so
# `agent: "deterministic\u0000evil"` ran as "deterministic" while "…evil" was recorded; a
# newline forges log lines. Identifiers are refused with them, never cleaned.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def no_control_characters(value: str) -> str:
    if (found := CONTROL_CHARACTERS.search(value)) is not None:
        raise ValueError(
            f"must not contain control characters (found {found.group()!r} at {found.start()})"
        )
    return value


Identifier = Annotated[str, AfterValidator(no_control_characters)]


def _run_name(value: str) -> str:
    if not RUN_NAME.fullmatch(value) or value == "latest":
        raise ValueError("a run name is 1 to 64 letters, digits and . _ - (and not `latest`)")
    return value


class Health(BaseModel):
    status: str = Field(description="ok | degraded (see reason)")
    reason: str | None = Field(default=None, description="Why the service is degraded")
    version: str
    executions: dict[ExecutionStatus, int] = Field(description="Executions by status")


class BenchmarkSummary(BaseModel):
    id: str
    description: str
    tags: list[str]
    content_hash: str
    updated_at: UtcDatetime

    @classmethod
    def of(cls, row: BenchmarkRow) -> BenchmarkSummary:
        return cls(
            id=row.id,
            description=row.description,
            tags=list(row.tags or []),
            content_hash=row.content_hash,
            updated_at=row.updated_at,
        )


class ExecutionOut(BaseModel):
    execution_id: str
    benchmark_id: str
    run_id: str | None = Field(description="The run it belongs to (GET /runs/{run_id})")
    agent: str
    model: str | None
    profile: str
    seed: int
    epoch: int
    status: ExecutionStatus
    progress: float
    score: float | None
    passed: bool | None
    error: str | None
    source: str
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    heartbeat_at: UtcDatetime | None
    breakdown: dict[str, float | None] | None = None
    session_file: str | None

    @classmethod
    def of(cls, row: ExecutionRow | Row[Any]) -> ExecutionOut:
        """From the ORM row or a plain one with its columns (`repo.read_execution`)."""
        breakdown = None
        if row.result and isinstance(row.result.get("final_result"), dict):
            breakdown = row.result["final_result"].get("breakdown")
        return cls(
            execution_id=row.execution_id,
            benchmark_id=row.benchmark_id,
            run_id=row.run_id,
            agent=row.agent,
            model=row.model,
            profile=row.profile,
            seed=row.seed,
            epoch=row.epoch,
            status=row.status,
            progress=row.progress,
            score=row.score,
            passed=row.passed,
            error=row.error,
            source=row.source,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            heartbeat_at=row.heartbeat_at,
            breakdown=breakdown,
            session_file=row.session_file,
        )


class BenchmarkDetail(BenchmarkSummary):
    yaml: str
    recent_executions: list[ExecutionOut]

    @classmethod
    def with_recent(cls, row: BenchmarkRow, recent: list[ExecutionRow]) -> BenchmarkDetail:
        return cls(
            **BenchmarkSummary.of(row).model_dump(),
            yaml=row.yaml,
            recent_executions=[ExecutionOut.of(r) for r in recent],
        )


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: Identifier = Field(default="deterministic", min_length=1, max_length=256)
    model: Identifier | None = Field(default=None, max_length=256)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    epochs: int = Field(default=1, ge=1, le=100)
    profile: Identifier = Field(default="verified", max_length=16)
    name: Annotated[str, AfterValidator(_run_name)] | None = Field(
        default=None,
        description="A name for the run the request makes (letters, digits, . _ -; at most 64)",
    )


class RunAccepted(BaseModel):
    run_id: str = Field(description="The run the request made (GET /runs/{run_id})")
    execution_id: str
    execution_ids: list[str]
    status: ExecutionStatus


class RunSummaryOut(BaseModel):
    """What a run's executions add up to, computed from them at every read."""

    executions: int
    planned: int | None = Field(description="Episodes the run asked for (benchmarks × epochs)")
    queued: int
    running: int
    finished: int
    passed: int
    failed: int = Field(description="Failed or Timeout")
    cancelled: int
    mean_score: float | None = Field(description="Over the finished executions")
    pass_rate: float | None = Field(description="Passed over finished")

    @classmethod
    def of(cls, summary: RunSummary, planned: int | None) -> RunSummaryOut:
        return cls(
            executions=summary.executions,
            planned=planned,
            queued=summary.queued,
            running=summary.running,
            finished=summary.finished,
            passed=summary.passed,
            failed=summary.failed,
            cancelled=summary.cancelled,
            mean_score=summary.mean_score,
            pass_rate=summary.pass_rate,
        )


class RunOut(BaseModel):
    run_id: str
    name: str | None
    source: str = Field(description="api (a request) | cli (reev run --record)")
    status: str = Field(description="running | finished | interrupted")
    agent: str
    model: str | None
    profile: str
    seed: int
    epochs: int
    benchmarks: list[str]
    created_at: UtcDatetime
    finished_at: UtcDatetime | None
    summary: RunSummaryOut

    @classmethod
    def of(cls, row: RunRow, summary: RunSummary | None) -> RunOut:
        summary = summary or RunSummary()
        config = row.config if isinstance(row.config, dict) else {}
        benchmarks = [
            str(b["id"]) for b in config.get("benchmarks", []) if isinstance(b, dict) and "id" in b
        ]
        return cls(
            run_id=row.run_id,
            name=row.name,
            source=row.source,
            status=run_status(row, summary),
            agent=row.agent,
            model=row.model,
            profile=row.profile,
            seed=row.seed,
            epochs=row.epochs,
            benchmarks=benchmarks,
            created_at=row.created_at,
            finished_at=row.finished_at,
            summary=RunSummaryOut.of(summary, len(benchmarks) * row.epochs or None),
        )


class RunPage(BaseModel):
    items: list[RunOut]
    total: int
    limit: int
    offset: int


class RunDetail(RunOut):
    executions: list[ExecutionOut] = Field(description="In run order (limit/offset page them)")
    limit: int
    offset: int


class ExecutionPage(BaseModel):
    items: list[ExecutionOut]
    total: int
    limit: int
    offset: int


class AgentOut(BaseModel):
    agent: str
    provider: str
    model: str | None
    base_url: str | None
    key_env: str | None = Field(description="The variable the key is read from (never the key)")
    key: str = Field(description="set | missing | not needed")
    needs_model: bool


class SyncReport(BaseModel):
    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)


class UpsertRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    yml_content: str = Field(min_length=1, max_length=500_000)


class UpsertResult(BaseModel):
    benchmark_id: str
    outcome: str
    file: str
    warnings: list[str]


def trace_tree(record: SessionFile) -> dict[str, Any]:
    """The episode as a JSON tree: execution → steps → model calls / tool calls → transactions."""
    steps = []
    for step in record.steps:
        calls = []
        for call in step.tool_calls:
            txs = [t for t in step.transactions if t.tool_call_index == call.index]
            calls.append(
                {
                    "name": call.tool,
                    "kind": "tool_call",
                    "ok": call.ok,
                    "args": call.args,
                    "result": call.result,
                    "error": call.error,
                    "children": [
                        {
                            "name": t.signature or "(not sent)",
                            "kind": "transaction",
                            "ok": t.success,
                            "error": t.error,
                            "compute_units": t.compute_units,
                            "fee": t.fee,
                        }
                        for t in txs
                    ],
                }
            )
        steps.append(
            {
                "name": f"step {step.step}",
                "kind": "step",
                "status": step.status,
                "prompt": step.prompt,
                "error": step.error,
                "model_calls": len(step.model_calls),
                "final_answer": step.final_answer,
                "children": calls,
            }
        )
    result = record.final_result
    return {
        "name": record.benchmark_id,
        "kind": "episode",
        "agent": record.agent,
        "status": result.status,
        "score": result.score,
        "passed": result.passed,
        "breakdown": result.breakdown.model_dump(),
        "checks": [c.model_dump(mode="json") for c in result.checks],
        "children": steps,
    }
