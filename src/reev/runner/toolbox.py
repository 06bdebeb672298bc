"""The `ToolBox` an agent acts through: runs tools, records every call, traces every action.

Each tool call, model call and transaction lands three ways, from the same objects: in the
step's session record, as a live event for subscribers (the API's event stream), and as an
OpenTelemetry span (`model_call` → `tool_call` → `transaction` under the step span).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from reev.agents.base import ModelCallRecord
from reev.chain.protocol import TxResult
from reev.events import EpisodeEvent, ModelCallEvent, ToolCallEvent, TransactionEvent
from reev.runner.session import StepRecord, ToolCallRecord, TransactionRecord
from reev.telemetry.tracing import add_span_event, set_span_attributes
from reev.tools import TOOLS, ToolContext, call_tool
from reev.tools.base import Tool

EventSink = Callable[[EpisodeEvent], None]


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """Whatever an agent passed, in a form the session file can hold (bytes become repr)."""
    return json.loads(json.dumps(value, default=repr))


class RecordingToolBox:
    def __init__(
        self,
        ctx: ToolContext,
        step: StepRecord,
        *,
        execution_id: str,
        tracer: Tracer,
        step_span: Span,
        sink: EventSink | None = None,
    ):
        self._ctx = ctx
        self._step = step
        self._sink = sink
        self._execution_id = execution_id
        self._tracer = tracer
        self._step_context = trace.set_span_in_context(step_span)
        self._turn: Span | None = (
            None  # the open model_call span: tool calls it asked for nest in it
        )

    @property
    def tools(self) -> list[Tool]:
        return list(TOOLS.values())

    def record_transaction(self, tx: TxResult) -> None:
        """A transaction an endpoint agent sent over JSON-RPC (not through a tool), as the
        runner's server saw it: recorded, traced and scored exactly like one sent by
        `submit_transaction`. The runner's, not part of the agent's `ToolBox`."""
        self._ctx.transactions.append(tx)
        self._record_in_step(tx, None, self._parent())

    def _parent(self) -> Context:
        return (
            trace.set_span_in_context(self._turn) if self._turn is not None else self._step_context
        )

    async def call(self, name: str, args: Any, *, auto: bool = False) -> dict[str, Any]:
        span = self._tracer.start_span("tool_call", context=self._parent())
        started = time.perf_counter()
        before = len(self._ctx.transactions)
        try:
            outcome = call_tool(self._ctx, name, args)
        except Exception as exc:  # ChainDataUnavailable: the episode stops; the span still ends
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            span.end()
            raise
        self._record_call(
            span,
            ToolCallRecord(
                index=len(self._step.tool_calls),
                tool=outcome.tool,
                args=_jsonable(outcome.args),
                ok=outcome.ok,
                result=outcome.result,
                error=outcome.error,
                error_kind=outcome.error_kind,
                auto=auto,
                duration_ms=(time.perf_counter() - started) * 1000,
            ),
            before,
        )
        return outcome.for_agent()

    def record_tool_call(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        ok: bool,
        result: dict[str, Any] | None,
        error: str | None,
        duration_ms: float,
    ) -> None:
        """A call to a tool outside reev's registry (an MCP server's, `--mcp-server`), recorded
        and traced like one of reev's; what it sent to the chain the endpoint records."""
        span = self._tracer.start_span("tool_call", context=self._parent())
        self._record_call(
            span,
            ToolCallRecord(
                index=len(self._step.tool_calls),
                tool=tool,
                args=_jsonable(args),
                ok=ok,
                result=result,
                error=error,
                error_kind=None if ok else "tool_error",
                duration_ms=duration_ms,
            ),
            len(self._ctx.transactions),
        )

    def _record_call(self, span: Span, record: ToolCallRecord, before: int) -> None:
        """Into the step record, the span's attributes and a live event; then the transactions
        the call sent (those after index `before`), under the call's span."""
        self._step.tool_calls.append(record)
        set_span_attributes(
            span,
            reev__execution_id=self._execution_id,
            gen_ai__tool__name=record.tool,
            reev__tool__index=record.index,
            reev__tool__arguments=record.args,
            reev__tool__result=record.result,
            reev__tool__error=record.error,
            reev__tool__error_kind=record.error_kind,
            reev__tool__auto=record.auto,
        )
        if not record.ok:
            span.set_status(Status(StatusCode.ERROR, record.error))
        if self._sink is not None:
            self._sink(
                ToolCallEvent(
                    execution_id=self._execution_id,
                    step=self._step.step,
                    tool=record.tool,
                    ok=record.ok,
                    error=record.error,
                )
            )
        for tx in self._ctx.transactions[before:]:
            self._record_in_step(tx, record.index, trace.set_span_in_context(span))
        span.end()

    def _record_in_step(self, tx: TxResult, tool_call_index: int | None, parent: Context) -> None:
        """Into the step record, as a span under `parent`, and as a live event."""
        self._step.transactions.append(
            TransactionRecord(
                **tx.model_dump(), step=self._step.step, tool_call_index=tool_call_index
            )
        )
        self._trace_transaction(tx, parent)
        self._emit_transaction(tx)

    def _emit_transaction(self, tx: TxResult) -> None:
        if self._sink is not None:
            self._sink(
                TransactionEvent(
                    execution_id=self._execution_id,
                    step=self._step.step,
                    signature=tx.signature,
                    success=tx.success,
                    error=tx.error,
                    compute_units=tx.compute_units,
                )
            )

    def _trace_transaction(self, tx: TxResult, parent: Context) -> None:
        span = self._tracer.start_span("transaction", context=parent)
        set_span_attributes(
            span,
            reev__execution_id=self._execution_id,
            solana__signature=tx.signature,
            solana__success=tx.success,
            solana__error=tx.error,
            solana__compute_units=tx.compute_units,
            solana__fee=tx.fee,
            solana__instructions=len(tx.instructions),
            solana__programs=[ix.program_id for ix in tx.instructions],
        )
        if not tx.success:
            span.set_status(Status(StatusCode.ERROR, tx.error))
        span.end()

    def record_model_call(self, record: ModelCallRecord) -> None:
        record.index = len(self._step.model_calls)
        self._step.model_calls.append(record)
        self.end_turn()
        now = time.time_ns()
        span = self._tracer.start_span(
            "model_call", context=self._step_context, start_time=now - int(record.latency_ms * 1e6)
        )
        response = record.response or {}
        tool_calls = response.get("tool_calls") or []
        set_span_attributes(
            span,
            reev__execution_id=self._execution_id,
            gen_ai__operation__name="chat",
            gen_ai__system=record.provider,
            gen_ai__request__model=record.model,
            gen_ai__usage__input_tokens=record.input_tokens,
            gen_ai__usage__output_tokens=record.output_tokens,
            gen_ai__response__finish_reasons=[record.finish_reason]
            if record.finish_reason
            else None,
            reev__model__latency_ms=round(record.latency_ms, 3),
            reev__model__attempts=len(record.attempts),
            reev__model__cost_usd=record.cost_usd,
            reev__model__tool_calls=[c["function"]["name"] for c in tool_calls if "function" in c]
            or None,
            reev__model__error=record.error,
        )
        last_user = next(
            (m for m in reversed(record.request_messages) if m.get("role") in ("user", "tool")),
            None,
        )
        if last_user is not None:
            add_span_event(span, "gen_ai.content.prompt", gen_ai__prompt=last_user.get("content"))
        if response.get("content"):
            add_span_event(
                span, "gen_ai.content.completion", gen_ai__completion=response["content"]
            )
        if record.error:
            span.set_status(Status(StatusCode.ERROR, record.error))
        # The span stays open while the tool calls this response asked for run.
        self._turn = span
        if self._sink is not None:
            self._sink(
                ModelCallEvent(
                    execution_id=self._execution_id,
                    step=self._step.step,
                    model=record.model,
                    latency_ms=round(record.latency_ms, 1),
                    input_tokens=record.input_tokens,
                    output_tokens=record.output_tokens,
                    error=record.error,
                )
            )

    def end_turn(self) -> None:
        if self._turn is not None:
            self._turn.end()
            self._turn = None

    def set_final_answer(self, text: str | None) -> None:
        self._step.final_answer = text
