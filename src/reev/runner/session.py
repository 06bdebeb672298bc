"""Session files: the complete, human-readable record of one episode.

`logs/sessions/session_{execution_id}.json`, written atomically (temp file + rename) so a reader
(the API, the dashboard) never sees half a file. The schema is documented in docs/session.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    field_serializer,
    field_validator,
)

from reev.agents.base import ModelAttempt, ModelCallRecord, Observation  # noqa: F401 (re-exported)
from reev.chain.protocol import Forked, TxResult
from reev.events import ExecutionStatus
from reev.files import write_text_atomic
from reev.runner.history import expand_calls, request_deltas, stored_call
from reev.scoring import Breakdown, Check

SESSION_SCHEMA_VERSION = 2
"""2: model calls store only the messages they added (reev.runner.history); 1: whole requests."""
StepStatus = Literal["completed", "failed", "timeout", "skipped"]


class ToolCallRecord(BaseModel):
    index: int
    tool: str
    args: dict[str, Any]
    ok: bool
    result: dict[str, Any] | None = None
    error: str | None = None
    error_kind: str | None = None
    auto: bool = Field(default=False, description="Submitted by the runner for staged leftovers")
    duration_ms: float = 0.0


class TransactionRecord(TxResult):
    step: int
    tool_call_index: int | None = None


class StepRecord(BaseModel):
    step: int
    description: str = ""
    prompt: str
    status: StepStatus = "completed"
    error: str | None = None
    observation: Observation | None = None
    model_calls: list[ModelCallRecord] = Field(default_factory=list)
    final_answer: str | None = None
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    transactions: list[TransactionRecord] = Field(default_factory=list)
    duration_ms: float = 0.0

    @field_validator("model_calls", mode="before")
    @classmethod
    def _whole_requests(cls, calls: Any) -> Any:
        """Stored calls (deltas since version 2) back to full requests: in memory a call always
        holds the messages it sent."""
        return expand_calls(calls)

    @field_serializer("model_calls", mode="wrap")
    def _request_deltas(
        self, calls: list[ModelCallRecord], handler: SerializerFunctionWrapHandler
    ) -> Any:
        """Each call's request as stored: only what it added to the step's conversation, so a
        file grows linearly with its turns (reev.runner.history)."""
        deltas = request_deltas(calls)
        dumped = handler(
            [
                call.model_copy(update={"request_messages": delta})
                for call, (_, delta) in zip(calls, deltas, strict=True)
            ]
        )
        return [stored_call(d, shared) for d, (shared, _) in zip(dumped, deltas, strict=True)]


class FinalResult(BaseModel):
    success: bool = Field(description="The episode ran to its end (status Completed)")
    passed: bool
    score: float
    status: ExecutionStatus
    profile: str
    breakdown: Breakdown
    checks: list[Check] = Field(default_factory=list)


class Usage(BaseModel):
    tool_calls: int = 0
    tool_errors: int = 0
    transactions: int = 0
    model_calls: int = 0
    model_errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @classmethod
    def of_steps(cls, steps: list[StepRecord]) -> Usage:
        calls = [c for s in steps for c in s.model_calls]
        return cls(
            tool_calls=sum(len(s.tool_calls) for s in steps),
            tool_errors=sum(1 for s in steps for c in s.tool_calls if not c.ok),
            transactions=sum(len(s.transactions) for s in steps),
            model_calls=len(calls),
            model_errors=sum(1 for c in calls if c.error),
            input_tokens=sum(c.input_tokens for c in calls),
            output_tokens=sum(c.output_tokens for c in calls),
            cost_usd=round(sum(c.cost_usd for c in calls), 8),
        )


class ForkAccount(BaseModel):
    address: str
    exists: bool
    slot: int = Field(description="The upstream slot the account was recorded at")
    sha256: str | None = None


class ForkRecord(BaseModel):
    """Which accounts of the episode came from a fork's snapshot: the provenance of a score
    that depends on mainnet state."""

    mode: Literal["record", "replay"]
    snapshot: str
    upstream: str | None = Field(
        default=None, description="scheme://host:port only: URLs carry API keys"
    )
    accounts: list[ForkAccount] = Field(default_factory=list)

    @classmethod
    def of(cls, chain: Any) -> ForkRecord | None:
        if not isinstance(chain, Forked) or chain.source is None:
            return None
        return cls(
            **chain.source.describe(),
            accounts=[
                ForkAccount(address=e.address, exists=e.exists, slot=e.slot, sha256=e.sha256)
                for e in chain.forked
            ],
        )


class SessionFile(BaseModel):
    schema_version: int = Field(
        default=SESSION_SCHEMA_VERSION,
        description="The file's format. Versions 1 and 2 are read; the model read is always the "
        "current version (it is what it serializes to)",
    )
    execution_id: str
    benchmark_id: str
    agent: str
    seed: int = Field(description="This episode's seed, derived from the run seed")
    run_seed: int | None = None
    epoch: int = 0
    profile: str
    started_at: str
    finished_at: str
    duration_ms: float
    error: str | None = None
    prompt: str
    key_map: dict[str, str]
    final_result: FinalResult
    steps: list[StepRecord]
    state: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Account states the assertions read: {initial: {address: state}, final: {...}}",
    )
    usage: Usage
    fork: ForkRecord | None = Field(
        default=None, description="Set when the chain was a fork (--snapshot)"
    )

    @field_validator("schema_version")
    @classmethod
    def _readable_version(cls, version: int) -> int:
        if not 1 <= version <= SESSION_SCHEMA_VERSION:
            raise ValueError(
                f"session schema_version {version} is not one this reev reads "
                f"(1 to {SESSION_SCHEMA_VERSION}): a newer reev wrote it"
                if version > SESSION_SCHEMA_VERSION
                else f"session schema_version {version} does not exist (versions start at 1)"
            )
        return SESSION_SCHEMA_VERSION


def session_path(log_dir: Path, execution_id: str) -> Path:
    return log_dir / "sessions" / f"session_{execution_id}.json"


def write_json_atomic(path: Path, data: Any) -> None:
    """Indented JSON, atomically: for the small files people open by hand."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_session(log_dir: Path | None, session: SessionFile, path: Path | None = None) -> Path:
    """Write `session` to `path`, or to its place under `log_dir` (`session_path`). Compact
    JSON from pydantic's (Rust) serializer: a session file is written once per episode and read
    by tools, and indenting it in Python cost more than a minimal episode's whole transaction
    (issue 18). `python -m json.tool FILE` or `jq .` pretty-prints it."""
    if path is None:
        if log_dir is None:
            raise ValueError("write_session needs a log directory or a path")
        path = session_path(log_dir, session.execution_id)
    write_text_atomic(path, session.model_dump_json() + "\n")
    return path


def read_session(path: str | Path) -> SessionFile:
    return SessionFile.model_validate_json(Path(path).read_text(encoding="utf-8"))
