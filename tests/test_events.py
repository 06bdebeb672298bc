"""The cross-process contracts (reev.events): statuses and live events through the parser, the
exact JSON lines the execution manager reads, the SSE events in the OpenAPI schema, and the
API's refusal to start on a database nobody migrated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers.episodes import run
from helpers.suite import bundled
from reev.agents import DeterministicAgent
from reev.events import (
    ACTIVE,
    LIVE_EVENT,
    TERMINAL,
    EpisodeFinished,
    EpisodeStarted,
    EventParseError,
    ExecutionStatus,
    ModelCallEvent,
    StatusEvent,
    ToolCallEvent,
    TransactionEvent,
    parse_event,
)
from reev.service.app import create_app
from reev.service.settings import ServiceSettings
from reev.store import SchemaOutOfDate, upgrade

# The spellings in session files and databases written before the enum existed.
SPELLED = ["Queued", "Running", "Completed", "Failed", "Timeout", "Cancelled"]

EXAMPLES: list[Any] = [
    StatusEvent(status=ExecutionStatus.QUEUED),
    StatusEvent(status=ExecutionStatus.RUNNING, pid=4242),
    StatusEvent(status=ExecutionStatus.TIMEOUT, final=True),
    EpisodeStarted(execution_id="e-1", benchmark_id="001-sol-transfer"),
    ModelCallEvent(
        execution_id="e-1",
        step=1,
        model="glm-4.6",
        latency_ms=12.5,
        input_tokens=10,
        output_tokens=3,
        error=None,
    ),
    ToolCallEvent(execution_id="e-1", step=1, tool="sol_transfer", ok=False, error="bad amount"),
    TransactionEvent(
        execution_id="e-1", step=2, signature="5sig", success=True, error=None, compute_units=150
    ),
    EpisodeFinished(
        execution_id="e-1",
        benchmark_id="001-sol-transfer",
        status=ExecutionStatus.COMPLETED,
        score=0.75,
        passed=False,
    ),
]


@pytest.fixture
def migrated_db(tmp_path: Path) -> str:
    """A database at the newest migration: what `create_app` expects (`reev serve` and
    `reev db upgrade` migrate; the app factory does not)."""
    url = f"sqlite:///{tmp_path / 'reev.db'}"
    upgrade(url)
    return url


def settings_for(tmp_path: Path, url: str) -> ServiceSettings:
    return ServiceSettings(
        database_url=url,
        benchmarks_dir=tmp_path / "benchmarks",
        log_dir=tmp_path / "logs",
        max_concurrency=0,  # no worker: nothing here runs an episode
        allowed_hosts=["testserver"],  # TestClient's Host; the server checks Host (issue 16)
    )


def test_statuses_keep_their_spelling_and_order() -> None:
    assert [s.value for s in ExecutionStatus] == SPELLED
    assert [s for s in ExecutionStatus if s.active] == list(ACTIVE) == SPELLED[:2]
    assert [s for s in ExecutionStatus if s.terminal] == list(TERMINAL) == SPELLED[2:]
    for spelled in SPELLED:  # the database and old session files hold plain strings
        assert ExecutionStatus(spelled) == spelled and json.dumps(ExecutionStatus(spelled)) == (
            f'"{spelled}"'
        )


@pytest.mark.parametrize("spelled", SPELLED)
def test_a_status_event_round_trips_through_the_parser(spelled: str) -> None:
    line = json.dumps({"event": "status", "status": spelled, "final": True})
    event = parse_event(line)
    assert isinstance(event, StatusEvent)
    assert event.status is ExecutionStatus(spelled) and event.final and event.pid is None
    assert json.dumps(event.wire()) == line


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: f"{e.event}")
def test_every_event_kind_round_trips_through_a_json_line(event: Any) -> None:
    line = json.dumps(event.wire())
    parsed = parse_event(line)
    assert parsed == event and type(parsed) is type(event)
    assert parse_event(line.encode()) == event == parse_event(json.loads(line))


def test_the_wire_format_is_the_plain_dicts_of_before() -> None:
    """Key for key and in order: what `reev run --events` printed and SSE clients parse."""
    queued, running, final = EXAMPLES[:3]
    assert json.dumps(queued.wire()) == '{"event": "status", "status": "Queued"}'
    assert running.wire() == {"event": "status", "status": "Running", "pid": 4242}
    assert final.wire() == {"event": "status", "status": "Timeout", "final": True}
    tool = EXAMPLES[5].wire()
    assert list(tool) == ["execution_id", "step", "event", "tool", "ok", "error"]
    assert list(EXAMPLES[0].wire()) == ["event", "status"]
    finished = EXAMPLES[-1].wire()
    assert list(finished) == ["event", "execution_id", "benchmark_id", "status", "score", "passed"]


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ('{"event": "nope"}', "'nope'"),
        ('{"event": "status", "status": "Done"}', "status.status"),
        ('{"event": "tool_call", "tool": "x", "ok": true}', "execution_id"),
        ('{"event": "status", "status": "Queued", "extra": 1}', "extra"),
        ("not json", "json"),
    ],
)
def test_a_bad_line_is_an_error_naming_what_is_wrong(line: str, names: str) -> None:
    with pytest.raises(EventParseError, match="not a live event") as caught:
        parse_event(line)
    assert names.lower() in str(caught.value).lower()


def test_an_episode_emits_typed_events_that_survive_the_wire(tmp_path: Path) -> None:
    events: list[Any] = []
    result, session = run(
        bundled()["001-sol-transfer"], DeterministicAgent(), tmp_path, on_event=events.append
    )
    assert isinstance(events[0], EpisodeStarted) and isinstance(events[-1], EpisodeFinished)
    assert events[-1].status is result.status is ExecutionStatus.COMPLETED
    transactions = [e for e in events if isinstance(e, TransactionEvent)]
    assert [t.signature for t in transactions] == [
        t.signature for s in session.steps for t in s.transactions
    ]
    assert all(parse_event(json.dumps(e.wire())) == e for e in events)
    # the session file keeps the spelled status
    on_disk = json.loads(Path(result.session_file or "").read_text())
    assert on_disk["final_result"]["status"] == "Completed"


def test_the_sse_events_are_in_the_openapi_schema(tmp_path: Path, migrated_db: str) -> None:
    with TestClient(create_app(settings_for(tmp_path, migrated_db))) as client:
        schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    union = components["LiveEvent"]
    kinds = {
        components[ref["$ref"].rsplit("/", 1)[1]]["properties"]["event"]["const"]
        for ref in union["oneOf"]
    }
    assert kinds == set(union["discriminator"]["mapping"]) == {e.event for e in EXAMPLES}, (
        "every event kind is documented"
    )
    stream = schema["paths"]["/api/v1/executions/{execution_id}/events"]["get"]["responses"]
    item = stream["200"]["content"]["text/event-stream"]["itemSchema"]
    assert item["properties"]["data"]["contentSchema"] == {"$ref": "#/components/schemas/LiveEvent"}
    status_schema = components["StatusEvent"]["properties"]["status"]
    assert components[status_schema["$ref"].rsplit("/", 1)[1]]["enum"] == SPELLED
    # the schema matches what the parser accepts
    assert LIVE_EVENT.json_schema()["discriminator"]["propertyName"] == "event"


def test_the_app_refuses_a_database_nobody_migrated(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}"))
    with pytest.raises(SchemaOutOfDate, match="reev db upgrade"), TestClient(app):
        pass


def test_a_migrated_database_serves(tmp_path: Path, migrated_db: str) -> None:
    with TestClient(create_app(settings_for(tmp_path, migrated_db))) as client:
        health = client.get("/api/v1/health")
    assert health.status_code == 200 and health.json()["executions"] == {}
