"""Hostile clients and failing parts against a real `reev serve` (issue 16 items 2-5, 7, 8, 11, 12).

Each test drives the server over HTTP the way the probe of the issue did and checks the answer a
hostile request must get: a 4xx naming what is wrong, an execution that ends (never one left
Running or Queued), a server that keeps answering.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from helpers.api_scenarios import db_rows, slow_agent_app
from helpers.api_server import (
    LOOPBACK_AGENTS,
    ApiServer,
    clean_env,
    copy_benchmarks,
    process_gone,
    sqlite_url,
    sse_events,
    submit,
    wait_for,
    wait_status,
)
from helpers.local_server import LocalServer
from reev.report.txlogs import MAX_NESTING

BENCHMARK = "001-sol-transfer"
NON_FINITE = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}  # JSON literal: Python repr


@pytest.fixture(scope="module")
def benchmarks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_benchmarks(tmp_path_factory.mktemp("hostile-api") / "benchmarks", [BENCHMARK])


def make_server(workdir: Path, benchmarks: Path, *args: str, **env: str) -> ApiServer:
    return ApiServer(
        workdir,
        db_url=sqlite_url(workdir / "reev.db"),
        benchmarks=benchmarks,
        args=list(args),
        env=clean_env(**env),
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, benchmarks: Path) -> Iterator[ApiServer]:
    """Default settings: no remote agents, loopback hosts only, no token."""
    api = make_server(tmp_path_factory.mktemp("default"), benchmarks)
    api.start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture(scope="module")
def completed(server: ApiServer) -> dict[str, Any]:
    """One deterministic run of the default server, Completed."""
    with server.client() as client:
        execution_id = submit(client, BENCHMARK, {"agent": "deterministic"})
        return wait_status(client, BENCHMARK, execution_id, {"Completed"}, timeout=60)


@pytest.fixture(scope="module")
def slow_agent() -> Iterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {}
    with LocalServer(slow_agent_app(state)) as agent:
        yield f"{agent.url}/slow", state
        state["release"] = True


def json_post(client: httpx.Client, path: str, raw: str, **headers: str) -> httpx.Response:
    return client.post(path, content=raw, headers={"content-type": "application/json", **headers})


# ---------------------------------------------------------------------------- item 2: SSRF, Host, CSRF


@pytest.mark.slow
def test_hostile_remote_agent_is_refused_by_default_saying_how_to_allow_it(
    server: ApiServer,
) -> None:
    with server.client() as client:
        before = client.get("/executions").json()["total"]
        response = client.post(
            f"/benchmarks/{BENCHMARK}/run", json={"agent": f"{server.url}/api/v1/sync"}
        )
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert "--allow-remote-agents" in detail and "REEV_ALLOW_REMOTE_AGENTS" in detail
        assert client.get("/executions").json()["total"] == before  # nothing was queued


@pytest.mark.slow
def test_hostile_allowed_remote_agents_never_include_the_server_itself(
    tmp_path: Path, benchmarks: Path
) -> None:
    with (
        make_server(tmp_path, benchmarks, "--allow-remote-agents", "http://*") as api,
        api.client() as client,
    ):
        for host in ("127.0.0.1", "localhost", "[::1]", "0.0.0.0", os.uname().nodename):
            agent = f"http://{host}:{api.port}/api/v1/sync"
            response = client.post(f"/benchmarks/{BENCHMARK}/run", json={"agent": agent})
            assert response.status_code == 422, (host, response.text)
            assert "this reev server itself" in response.json()["detail"], host
        # the pattern still governs what is allowed: https is not matched by http://*
        response = client.post(
            f"/benchmarks/{BENCHMARK}/run", json={"agent": "https://10.0.0.5/agent"}
        )
        assert response.status_code == 422
        assert "not allowed" in response.json()["detail"]
        # another port of this machine is allowed by the pattern: accepted and run
        agent = "http://127.0.0.1:9/agent"  # discard port: the run fails, it is not refused
        response = client.post(f"/benchmarks/{BENCHMARK}/run", json={"agent": agent})
        assert response.status_code == 202, response.text


@pytest.mark.slow
def test_hostile_foreign_host_header_is_refused(server: ApiServer) -> None:
    with server.client() as client:
        response = client.get("/health", headers={"host": "evil.example"})
        assert response.status_code == 400, response.text
        assert client.post(
            "/sync", headers={"host": f"evil.example:{server.port}"}
        ).status_code == (400)
        assert (
            client.get("/health", headers={"host": f"localhost:{server.port}"}).status_code == 200
        )


@pytest.mark.slow
def test_hostile_allowed_host_is_accepted(tmp_path: Path, benchmarks: Path) -> None:
    with (
        make_server(tmp_path, benchmarks, "--allowed-host", "reev.internal") as api,
        api.client() as client,
    ):
        assert client.get("/health", headers={"host": "reev.internal"}).status_code == 200
        assert client.get("/health", headers={"host": "evil.example"}).status_code == 400


@pytest.mark.slow
def test_hostile_cross_site_writes_are_refused_without_a_token(server: ApiServer) -> None:
    with server.client() as client:
        form = client.post(
            f"/benchmarks/{BENCHMARK}/run",
            content="agent=deterministic",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 415, form.text
        assert "application/json" in form.json()["detail"]
        text = client.post("/sync", content="x", headers={"content-type": "text/plain"})
        assert text.status_code == 415
        foreign = json_post(client, "/sync", "{}", origin="http://evil.example")
        assert foreign.status_code == 403, foreign.text
        assert "--cors-origin" in foreign.json()["detail"]
        fetch = client.post("/sync", headers={"sec-fetch-site": "cross-site"})
        assert fetch.status_code == 403
        same = client.post("/sync", headers={"origin": server.url})
        assert same.status_code == 200, same.text


# ---------------------------------------------------------------------------- item 7: bad bodies


@pytest.mark.slow
@pytest.mark.parametrize("literal", sorted(NON_FINITE))
def test_hostile_non_finite_numbers_in_a_body_are_a_422(server: ApiServer, literal: str) -> None:
    with server.client() as client:
        for path, raw in [
            (f"/benchmarks/{BENCHMARK}/run", f'{{"agent": "deterministic", "seed": {literal}}}'),
            (f"/benchmarks/{BENCHMARK}/run", f'{{"epochs": {literal}}}'),
            ("/upsert-yml", f'{{"yml_content": {literal}}}'),
        ]:
            response = json_post(client, path, raw)
            assert response.status_code == 422, (path, raw, response.text)
            errors = response.json()["detail"]  # it parses: the 422 serialised
            assert errors and errors[0]["input"] == NON_FINITE[literal]


@pytest.mark.slow
def test_hostile_non_ascii_authorization_is_a_401(tmp_path: Path, benchmarks: Path) -> None:
    token = "t0ken-for-the-test"
    with make_server(tmp_path, benchmarks, REEV_API_TOKEN=token) as api, api.client() as client:
        for value in ("Bearer \xe9t\xe9".encode("latin-1"), "Bearer ☃".encode()):
            response = client.post("/sync", headers={b"authorization": value})
            assert response.status_code == 401, response.text
        assert client.post("/sync", headers={"authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.slow
def test_hostile_deeply_nested_invocations_render_in_every_format(
    server: ApiServer, completed: dict[str, Any]
) -> None:
    """3,000 nested `invoke` lines in a recorded transaction: every renderer answers, and the
    tree it sends is at most MAX_NESTING (+1 for the top level) deep."""
    depth = 3_000
    path = Path(completed["session_file"])
    record = json.loads(path.read_text())
    tx = next(t for step in record["steps"] for t in step["transactions"])
    program = "11111111111111111111111111111111"
    tx["logs"] = [f"Program {program} invoke [{d}]" for d in range(1, depth + 1)] + [
        f"Program {program} success" for _ in range(depth)
    ]
    path.write_text(json.dumps(record))
    params = {"execution_id": completed["execution_id"]}
    with server.client() as client:
        tree = client.get(f"/transaction-logs/{BENCHMARK}", params=params)
        assert tree.status_code == 200, tree.text[:500]
        nested = json.loads(tree.content)
        invocation = next(
            t["tree"]["invocations"][0] for t in nested["transactions"] if t["tree"]["invocations"]
        )
        levels, count = 0, 0
        frontier = [invocation]
        while frontier:  # breadth first: how deep, and every invocation kept
            levels += 1
            count += len(frontier)
            frontier = [child for node in frontier for child in node["children"]]
        assert count == depth and levels == MAX_NESTING + 1
        for fmt in ("plain", "yaml"):
            response = client.get(
                f"/transaction-logs/{BENCHMARK}", params={**params, "format": fmt}
            )
            assert response.status_code == 200, (fmt, response.text[:300])
            assert response.text.count(program[:8]) >= depth or fmt == "plain"


# ---------------------------------------------------------------------------- item 12: identifiers, queue cap


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["\u0000", "\n", "\u001b[31m", "\u007f", "\u0085"])
def test_hostile_control_characters_in_identifiers_are_a_422(server: ApiServer, bad: str) -> None:
    with server.client() as client:
        before = client.get("/executions").json()["total"]
        for body in (
            {"agent": f"deterministic{bad}evil"},
            {"agent": "deterministic", "model": f"m{bad}"},
            {"agent": "deterministic", "profile": f"verified{bad}"},
        ):
            response = client.post(f"/benchmarks/{BENCHMARK}/run", json=body)
            assert response.status_code == 422, (body, response.text)
            assert "control characters" in response.text
        for path, params in (
            ("/executions", {"agent": f"a{bad}"}),
            ("/executions", {"benchmark": f"b{bad}"}),
            (f"/benchmarks/{BENCHMARK}/status", {"agent": f"a{bad}"}),
        ):
            assert client.get(path, params=params).status_code == 422, (path, params)
        assert client.get(f"/benchmarks/{BENCHMARK}{quote(bad)}x").status_code in (404, 422)
        assert client.get("/executions").json()["total"] == before


@pytest.mark.slow
def test_hostile_queue_cap_is_a_429_with_retry_after(
    tmp_path: Path, benchmarks: Path, slow_agent: tuple[str, dict[str, Any]]
) -> None:
    url, _ = slow_agent
    cap = 3
    args = ["--max-queued", str(cap), "--max-concurrency", "1", *LOOPBACK_AGENTS]
    with make_server(tmp_path, benchmarks, *args) as api, api.client() as client:
        too_many = client.post(f"/benchmarks/{BENCHMARK}/run", json={"epochs": cap + 1})
        assert too_many.status_code == 429, too_many.text
        assert int(too_many.headers["retry-after"]) >= 1
        running = submit(client, BENCHMARK, {"agent": url})
        wait_status(client, BENCHMARK, running, {"Running"}, timeout=30)
        accepted = client.post(f"/benchmarks/{BENCHMARK}/run", json={"epochs": cap})
        assert accepted.status_code == 202, accepted.text
        full = client.post(f"/benchmarks/{BENCHMARK}/run", json={"agent": "deterministic"})
        assert full.status_code == 429, full.text
        assert f"--max-queued {cap}" in full.json()["detail"]
        assert int(full.headers["retry-after"]) >= 1
        queued = client.get("/executions", params={"status": "Queued"}).json()["total"]
        assert queued == cap
        client.post(f"/benchmarks/{BENCHMARK}/stop/{running}")


# ---------------------------------------------------------------------------- item 3: what a child prints


def tool_name_agent(length: int) -> FastAPI:
    """A remote agent whose one tool call has a name `length` characters long."""
    app = FastAPI()

    @app.post("/agent")
    async def agent() -> JSONResponse:
        return JSONResponse({"tool_calls": [{"name": "x" * length, "arguments": {}}]})

    return app


@pytest.mark.slow
@pytest.mark.parametrize(
    ("length", "expected"),
    [(200_000, None), (3_000_000, "event line over")],
    ids=["200KB-name-ends", "3MB-name-is-killed"],
)
def test_hostile_huge_event_lines_never_orphan_a_run(
    tmp_path: Path, benchmarks: Path, length: int, expected: str | None
) -> None:
    """A 200 KB tool name (over asyncio's 64 KiB line default) and a 3 MB one (over the
    manager's 1 MiB line limit): both runs end, with no process left, and `stop` has nothing
    to stop; the second one is Failed naming the limit."""
    args = [*LOOPBACK_AGENTS, "--execution-timeout", "60"]
    with (
        LocalServer(tool_name_agent(length)) as agent,
        make_server(tmp_path, benchmarks, *args) as api,
        api.client() as client,
    ):
        execution_id = submit(client, BENCHMARK, {"agent": f"{agent.url}/agent"})
        final = wait_status(
            client, BENCHMARK, execution_id, {"Completed", "Failed", "Timeout"}, timeout=50
        )
        if expected is not None:
            assert final["status"] == "Failed" and expected in final["error"], final
        pid = db_rows(api.db_url, [execution_id])["executions"][0]["worker_pid"]
        assert pid and process_gone(pid)
        assert client.get("/health").json()["status"] == "ok"


# ---------------------------------------------------------------------------- items 4 and 5: a locked database


class HeldLock:
    """Another connection holding `BEGIN EXCLUSIVE` on the server's SQLite file: in WAL mode
    readers go on, every writer waits (the busy timeout, 10 s) and then fails "database is
    locked" — what a full disk or a stuck writer looks like to the server."""

    def __init__(self, db_file: Path):
        self.connection = sqlite3.connect(db_file, timeout=30, isolation_level=None)

    def __enter__(self) -> HeldLock:
        self.connection.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.execute("ROLLBACK")
        self.connection.close()


@pytest.mark.slow
def test_hostile_a_held_database_lock_neither_freezes_health_nor_strands_executions(
    tmp_path: Path, benchmarks: Path, slow_agent: tuple[str, dict[str, Any]]
) -> None:
    url, state = slow_agent
    state.pop("release", None)
    args = ["--max-concurrency", "1", *LOOPBACK_AGENTS]
    with make_server(tmp_path, benchmarks, *args) as api, api.client() as client:
        running = submit(client, BENCHMARK, {"agent": url})
        queued = [submit(client, BENCHMARK, {"agent": "deterministic"}) for _ in range(2)]
        wait_status(client, BENCHMARK, running, {"Running"}, timeout=30)
        answers: list[int] = []
        with HeldLock(tmp_path / "reev.db"):
            # a write waits for the lock in a worker thread: the loop still answers
            writer = threading.Thread(
                target=lambda: answers.append(
                    client.post(f"/benchmarks/{BENCHMARK}/run", json={}).status_code
                )
            )
            writer.start()
            time.sleep(0.5)
            started = time.monotonic()
            health = client.get("/health", timeout=3)
            assert health.status_code == 200 and time.monotonic() - started < 2
            state["release"] = True  # the slow run ends: its result cannot be written yet
            degraded = wait_for(
                lambda: (
                    (h := client.get("/health", timeout=3).json())["status"] == "degraded" and h
                ),
                25,
                "/health to say degraded",
            )
            assert "database is locked" in degraded["reason"], degraded
            writer.join(timeout=20)
        assert answers == [503]  # the submission during the lock: refused, with the reason
        for execution_id in [running, *queued]:
            wait_status(client, BENCHMARK, execution_id, {"Completed", "Failed"}, timeout=90)
        rows = {r["execution_id"]: r for r in db_rows(api.db_url, [running, *queued])["executions"]}
        assert rows[running]["status"] == "Failed"  # the agent answered 503 once released
        assert [rows[i]["status"] for i in queued] == ["Completed", "Completed"]
        wait_for(lambda: client.get("/health").json()["status"] == "ok", 15, "/health ok again")
        assert client.get("/executions", params={"status": "Queued"}).json()["total"] == 0


# ---------------------------------------------------------------------------- item 8: SIGTERM


@pytest.mark.slow
def test_hostile_sigterm_cancels_runs_ends_streams_and_keeps_the_queue(
    tmp_path: Path, benchmarks: Path, slow_agent: tuple[str, dict[str, Any]]
) -> None:
    url, state = slow_agent
    state.pop("release", None)
    db_url = sqlite_url(tmp_path / "reev.db")
    first = ApiServer(
        tmp_path / "first",
        db_url=db_url,
        benchmarks=benchmarks,
        args=["--max-concurrency", "1", *LOOPBACK_AGENTS],
    )
    second = ApiServer(
        tmp_path / "second", db_url=db_url, benchmarks=benchmarks, args=["--requeue"]
    )
    try:
        first.start()
        with first.client() as client:
            running = submit(client, BENCHMARK, {"agent": url})
            queued = [submit(client, BENCHMARK, {"agent": "deterministic"}) for _ in range(2)]
            wait_status(client, BENCHMARK, running, {"Running"}, timeout=30)
            pid = db_rows(db_url, [running])["executions"][0]["worker_pid"]
            streams: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            readers = [
                threading.Thread(target=lambda i=i: streams.__setitem__(i, sse_events(client, i)))
                for i in (running, queued[0])
            ]
            for reader in readers:
                reader.start()
            time.sleep(1)  # the streams are open
            assert first.process is not None
            sent = time.monotonic()
            first.process.send_signal(signal.SIGTERM)
            first.process.wait(timeout=15)
            took = time.monotonic() - sent
            for reader in readers:
                reader.join(timeout=5)
        assert took < 10, f"reev serve took {took:.1f} s to exit after SIGTERM"
        assert streams[running][-1][1] == {"event": "status", "status": "Cancelled", "final": True}
        assert streams[queued[0]][-1][1]["final"] is True
        rows = {r["execution_id"]: r for r in db_rows(db_url, [running, *queued])["executions"]}
        assert rows[running]["status"] == "Cancelled"
        assert rows[running]["error"] == "cancelled: the server stopped"
        assert [rows[i]["status"] for i in queued] == ["Queued", "Queued"]  # never started
        assert [rows[i]["started_at"] for i in queued] == [None, None]
        assert process_gone(pid)

        second.start()
        with second.client() as client:
            for execution_id in queued:
                final = wait_status(client, BENCHMARK, execution_id, {"Completed"}, timeout=60)
                assert final["score"] == 1.0
    finally:
        state["release"] = True
        first.stop()
        second.stop()


# ---------------------------------------------------------------------------- item 11: lost results


@pytest.mark.slow
def test_hostile_a_result_deleted_before_it_was_read_is_lost_not_failed(
    tmp_path: Path, benchmarks: Path
) -> None:
    """The session file is deleted the moment it appears (before the manager reads it): the
    run exited 0, so the execution says its result was lost, not that the agent failed."""
    with make_server(tmp_path, benchmarks) as api, api.client() as client:
        sessions = api.log_dir / "sessions"
        stop = threading.Event()

        def delete_sessions() -> None:
            while not stop.is_set():
                for file in sessions.glob("session_*.json") if sessions.is_dir() else []:
                    file.unlink(missing_ok=True)

        deleter = threading.Thread(target=delete_sessions)
        deleter.start()
        try:
            # The deleter races the manager's read; on a loaded machine it can lose: a run that
            # still Completed says nothing, so up to three runs are tried.
            for _ in range(3):
                execution_id = submit(client, BENCHMARK, {"agent": "deterministic"})
                final = wait_status(client, BENCHMARK, execution_id, {"Completed", "Failed"})
                if final["status"] != "Completed":
                    break
        finally:
            stop.set()
            deleter.join()
        assert final["status"] == "Failed", final
        assert final["error"].startswith("result lost: the run exited 0"), final
        assert "is missing" in final["error"]
        response = client.get(f"/executions/{execution_id}/session")
        assert response.status_code == 404
        assert "has no session file yet" not in response.json()["detail"]


@pytest.mark.slow
def test_hostile_a_completed_run_never_says_it_has_no_session_file_yet(
    server: ApiServer, completed: dict[str, Any]
) -> None:
    path = Path(completed["session_file"])
    execution_id = completed["execution_id"]
    with server.client() as client:
        assert client.get(f"/executions/{execution_id}/session").status_code == 200
        moved = path.with_name(path.name + ".away")
        path.rename(moved)
        try:
            gone = client.get(f"/executions/{execution_id}/session")
        finally:
            moved.rename(path)
        assert gone.status_code == 404
        assert gone.json()["detail"] == (
            f"execution {execution_id} ended Completed and its session file is missing "
            "(deleted since)"
        )
        assert client.get(f"/executions/{execution_id}/session").status_code == 200
