"""The live note a running execution's row shows for each step event (reev.web.run.event_note).

The dashboard's Activity card calls it with the row's run agent for every tool call,
transaction and model call of an execution on screen; other events leave the note alone."""

from __future__ import annotations

from reev.events import (
    ExecutionStatus,
    ModelCallEvent,
    StatusEvent,
    ToolCallEvent,
    TransactionEvent,
)
from reev.web.run import event_note

AGENT = "local/m"
STEP = {"execution_id": "e1", "step": 0}


def test_each_step_event_gets_its_note_with_the_agent() -> None:
    ok = ToolCallEvent(**STEP, tool="spl_transfer", ok=True)
    bad = ToolCallEvent(**STEP, tool="sol_transfer", ok=False, error="no funds")
    assert event_note(AGENT, ok) == f"{AGENT} · spl_transfer ✓"
    assert event_note(AGENT, bad) == f"{AGENT} · sol_transfer ✗"
    tx = TransactionEvent(**STEP, signature="sig", success=True, compute_units=4_123)
    failed = TransactionEvent(**STEP, signature=None, success=False, compute_units=0)
    assert event_note(AGENT, tx) == f"{AGENT} · tx ✓ 4123 CU"
    assert event_note(AGENT, failed) == f"{AGENT} · tx ✗ 0 CU"
    call = ModelCallEvent(**STEP, model="m", latency_ms=212.6, input_tokens=10, output_tokens=2)
    assert event_note(AGENT, call) == f"{AGENT} · model call 213 ms"


def test_a_status_event_is_no_note() -> None:
    assert event_note(AGENT, StatusEvent(status=ExecutionStatus.RUNNING)) is None
