"""The contracts that cross process boundaries: execution status and the live events.

An episode's events travel runner → `reev run --events` (one JSON line each on stdout) →
execution manager → SSE stream (`GET /api/v1/executions/{id}/events`) → web pages and the TUI.
Every hop speaks the models below, so a field renamed in one place fails type checking in all
of them instead of turning into a silent `None` three processes away. The wire format is each
event's `wire()` dict: the same keys, in the same order, as the plain dicts it replaced.

This is the only module that spells a status. Session files, the database and the API store
and return these exact values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from reev.errors import InputError


class ExecutionStatus(StrEnum):
    """`Queued → Running → Completed | Failed | Timeout | Cancelled`.

    Completed means the episode ran to its end, whatever the score; Failed means the run itself
    broke (bad benchmark, crash, agent error)."""

    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TIMEOUT = "Timeout"
    CANCELLED = "Cancelled"

    @property
    def terminal(self) -> bool:
        """No status follows this one."""
        return self in TERMINAL

    @property
    def active(self) -> bool:
        """Waiting or running: the execution manager still owns it."""
        return self in ACTIVE


ACTIVE: tuple[ExecutionStatus, ...] = (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
TERMINAL: tuple[ExecutionStatus, ...] = (
    ExecutionStatus.COMPLETED,
    ExecutionStatus.FAILED,
    ExecutionStatus.TIMEOUT,
    ExecutionStatus.CANCELLED,
)


class _Event(BaseModel):
    """Frozen, strict about unknown keys (a typo is an error, not a dropped field)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Optional fields left out of the wire dict while they hold their default: the status
    # events never carried them then.
    OMITTED_WHEN_DEFAULT: ClassVar[frozenset[str]] = frozenset()

    def wire(self) -> dict[str, Any]:
        """The event as JSON-ready values, keys in declaration order (what `reev run --events`
        prints and the SSE stream sends)."""
        omit = {
            name
            for name in self.OMITTED_WHEN_DEFAULT
            if getattr(self, name) == type(self).model_fields[name].default
        }
        return self.model_dump(mode="json", exclude=omit)


class StatusEvent(_Event):
    """A status change, published by the execution manager; `final` marks the last event of
    an execution's stream, `pid` the worker process of a run that started."""

    event: Literal["status"] = "status"
    status: ExecutionStatus
    pid: int | None = None
    final: bool = False

    OMITTED_WHEN_DEFAULT: ClassVar[frozenset[str]] = frozenset({"pid", "final"})


class EpisodeStarted(_Event):
    event: Literal["episode_started"] = "episode_started"
    execution_id: str
    benchmark_id: str


class EpisodeFinished(_Event):
    event: Literal["episode_finished"] = "episode_finished"
    execution_id: str
    benchmark_id: str
    status: ExecutionStatus
    score: float
    passed: bool


class _StepEvent(_Event):
    """Something that happened inside a step of an episode."""

    execution_id: str
    step: int


class ModelCallEvent(_StepEvent):
    event: Literal["model_call"] = "model_call"
    model: str
    latency_ms: float
    input_tokens: int
    output_tokens: int
    error: str | None = None


class ToolCallEvent(_StepEvent):
    event: Literal["tool_call"] = "tool_call"
    tool: str
    ok: bool
    error: str | None = None


class TransactionEvent(_StepEvent):
    event: Literal["transaction"] = "transaction"
    signature: str | None
    success: bool
    error: str | None = None
    compute_units: int


LiveEvent = Annotated[
    StatusEvent
    | EpisodeStarted
    | ModelCallEvent
    | ToolCallEvent
    | TransactionEvent
    | EpisodeFinished,
    Field(discriminator="event"),
]
"""Every event of an execution's stream, told apart by its `event` field."""

EpisodeEvent = EpisodeStarted | ModelCallEvent | ToolCallEvent | TransactionEvent | EpisodeFinished
"""The events an episode itself emits (the runner's sink receives these; status events are
the execution manager's)."""

LIVE_EVENT: TypeAdapter[LiveEvent] = TypeAdapter(LiveEvent)


class EventParseError(InputError):
    """A line that is not one of the live events."""


def parse_event(data: str | bytes | dict[str, Any]) -> LiveEvent:
    """One event from a JSON line (or an already decoded dict); `EventParseError` names what
    is wrong when it is not a live event."""
    try:
        if isinstance(data, dict):
            return LIVE_EVENT.validate_python(data)
        return LIVE_EVENT.validate_json(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in exc.errors()
        )
        raise EventParseError(f"not a live event: {problems}") from None


def live_event_schemas(ref_template: str = "#/components/schemas/{model}") -> dict[str, Any]:
    """JSON schemas of the union and its members, keyed by name, for the OpenAPI components."""
    schema = LIVE_EVENT.json_schema(mode="serialization", ref_template=ref_template)
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {**definitions, "LiveEvent": schema}
