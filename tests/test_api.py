"""The REST API over real HTTP: `reev serve` runs as a subprocess on a free loopback port with a
temporary SQLite database, log dir and copy of the benchmarks (issue 4, "What it must show")."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from helpers.api_scenarios import (
    MIX,
    concurrent_runs,
    db_rows,
    restart_reconciles,
    restart_requeues,
    slow_agent_app,
)
from helpers.api_server import (
    LOOPBACK_AGENTS,
    ApiServer,
    clean_env,
    cli_scores,
    copy_benchmarks,
    process_gone,
    sqlite_url,
    sse_events,
    status_of,
    submit,
    wait_status,
)
from helpers.local_server import LocalServer
from reev.store.models import BenchmarkRow

SECRET = "sk-test-never-echo-0123456789"


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="module")
def benchmarks(workdir: Path) -> Path:
    return copy_benchmarks(workdir / "benchmarks")


@pytest.fixture(scope="module")
def expected_scores(workdir: Path, benchmarks: Path) -> dict[str, float]:
    return cli_scores([benchmarks / f"{b}.yml" for b in MIX], workdir)


@pytest.fixture(scope="module")
def slow_agent():
    state: dict[str, Any] = {}
    with LocalServer(slow_agent_app(state)) as server:
        yield f"{server.url}/slow"
        state["release"] = True  # lets pending requests end so the server stops at once


@pytest.fixture(scope="module")
def server(workdir: Path, benchmarks: Path):
    """The shared server: SQLite, default settings, a fake provider key in its environment."""
    api = ApiServer(
        workdir / "main",
        db_url=sqlite_url(workdir / "main" / "reev.db"),
        benchmarks=benchmarks,
        args=LOOPBACK_AGENTS,
        env=clean_env(OPENAI_API_KEY=SECRET),
    )
    try:
        yield api.start()
    finally:
        api.stop()


@pytest.fixture
def client(server: ApiServer):
    with server.client() as c:
        yield c


def one_server(
    tmp_path: Path, benchmarks: Path, *args: str, env: dict[str, str] | None = None
) -> ApiServer:
    return ApiServer(
        tmp_path,
        db_url=sqlite_url(tmp_path / "reev.db"),
        benchmarks=benchmarks,
        args=[*LOOPBACK_AGENTS, *args],
        env=env,
    )


# ---------------------------------------------------------------------------- a run, end to end


@pytest.mark.slow
def test_run_goes_queued_running_completed_and_sse_agrees(
    server: ApiServer, client: httpx.Client
) -> None:
    seen: list[str] = []
    execution_id = submit(client, "001-sol-transfer", {"agent": "deterministic"})
    seen.append(status_of(client, "001-sol-transfer", execution_id)["status"])
    events = sse_events(client, execution_id)  # returns when the server closes the stream
    final = wait_status(client, "001-sol-transfer", execution_id, {"Completed", "Failed"})
    seen.append(final["status"])

    statuses = [e["status"] for name, e in events if name == "status"]
    assert statuses == ["Queued", "Running", "Completed"], events
    assert events[-1][1] == {"event": "status", "status": "Completed", "final": True}
    names = [name for name, _ in events]
    for name in ("episode_started", "tool_call", "transaction", "episode_finished"):
        assert name in names, names
    assert (
        names.index("episode_started") < names.index("tool_call") < names.index("episode_finished")
    )
    finished = next(e for name, e in events if name == "episode_finished")
    assert finished["execution_id"] == execution_id
    assert finished["status"] == final["status"] == "Completed"
    assert (
        finished["score"] == final["score"] == 1.0 and finished["passed"] is final["passed"] is True
    )
    running = next(e for name, e in events if e.get("status") == "Running")
    assert running["pid"] > 0 and process_gone(running["pid"])

    assert set(seen) <= {"Queued", "Running", "Completed"} and seen[-1] == "Completed"
    assert final["progress"] == 1.0 and final["error"] is None and final["source"] == "api"
    assert final["created_at"] <= final["started_at"] <= final["finished_at"]
    assert final["breakdown"] == {"state": 1.0, "instruction": 1.0, "transaction": 1.0}
    assert Path(final["session_file"]).is_file()
    # a subscriber that arrives after the end gets the same history, then the stream closes
    assert sse_events(client, execution_id) == events
    # the other views of the same execution agree
    assert client.get(f"/executions/{execution_id}").json()["status"] == "Completed"
    latest = client.get(
        "/benchmarks/001-sol-transfer/status", params={"agent": "deterministic"}
    ).json()
    assert latest["execution_id"] == execution_id
    detail = client.get("/benchmarks/001-sol-transfer").json()
    assert execution_id in [e["execution_id"] for e in detail["recent_executions"]]
    tree = client.get(
        "/execution-logs/001-sol-transfer", params={"execution_id": execution_id}
    ).json()
    assert tree["tree"]["score"] == 1.0 and tree["status"] == "Completed"
    flow = client.get(f"/flows/{execution_id}").json()
    assert flow["mermaid"].startswith("flowchart") or "graph" in flow["mermaid"]
    assert "<html" in client.get(f"/flows/{execution_id}", params={"format": "html"}).text.lower()
    txs = client.get(
        "/transaction-logs/001-sol-transfer", params={"execution_id": execution_id}
    ).json()
    assert len(txs["transactions"]) == 1
    for fmt in ("plain", "yaml"):
        assert (
            client.get(
                "/transaction-logs/001-sol-transfer",
                params={"execution_id": execution_id, "format": fmt},
            ).status_code
            == 200
        )
    assert client.get("/flow-logs/001-sol-transfer").status_code == 200
    performance = client.get("/agent-performance").json()
    deterministic = next(a for a in performance["agents"] if a["agent"] == "deterministic")
    assert deterministic["benchmarks"]["001-sol-transfer"]["best"] == 1.0


@pytest.mark.slow
def test_twenty_concurrent_runs_sqlite(
    tmp_path: Path, benchmarks: Path, expected_scores: dict[str, float]
) -> None:
    with one_server(tmp_path, benchmarks, "--max-concurrency", "4") as api:
        concurrent_runs(api, expected_scores)


# ---------------------------------------------------------------------------- runs that do not finish


def running_pid(client: httpx.Client, execution_id: str) -> int:
    events = sse_events(client, execution_id, until=lambda e: e.get("status") == "Running")
    return events[-1][1]["pid"]


def test_sigkilled_run_ends_failed_within_seconds(
    server: ApiServer, client: httpx.Client, slow_agent: str
) -> None:
    execution_id = submit(client, "001-sol-transfer", {"agent": slow_agent})
    pid = running_pid(client, execution_id)
    assert db_rows(server.db_url, [execution_id])["executions"][0]["worker_pid"] == pid
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    final = wait_status(
        client,
        "001-sol-transfer",
        execution_id,
        {"Completed", "Failed", "Timeout", "Cancelled"},
        timeout=10,
    )
    assert time.monotonic() - killed_at < 5
    assert final["status"] == "Failed", final
    assert "killed by signal 9" in final["error"], final
    assert process_gone(pid)


@pytest.mark.slow
def test_run_past_its_deadline_ends_timeout_and_its_process_is_gone(
    tmp_path: Path, benchmarks: Path, slow_agent: str
) -> None:
    with (
        one_server(tmp_path, benchmarks, "--execution-timeout", "2") as api,
        api.client() as client,
    ):
        execution_id = submit(client, "001-sol-transfer", {"agent": slow_agent})
        pid = running_pid(client, execution_id)
        final = wait_status(
            client, "001-sol-transfer", execution_id, {"Completed", "Failed", "Timeout"}, timeout=15
        )
        assert final["status"] == "Timeout", final
        assert "no result within 2 s" in final["error"]
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.slow
def test_stop_cancels_running_and_queued_runs(
    tmp_path: Path, benchmarks: Path, slow_agent: str
) -> None:
    with one_server(tmp_path, benchmarks, "--max-concurrency", "1") as api, api.client() as client:
        running = submit(client, "001-sol-transfer", {"agent": slow_agent})
        queued = submit(client, "001-sol-transfer", {"agent": slow_agent})
        pid = running_pid(client, running)
        assert status_of(client, "001-sol-transfer", queued)["status"] == "Queued"

        stopped = client.post(f"/benchmarks/001-sol-transfer/stop/{queued}")
        assert stopped.status_code == 200 and stopped.json()["status"] == "Cancelled", stopped.text
        stopped = client.post(f"/benchmarks/001-sol-transfer/stop/{running}")
        assert stopped.status_code == 200 and stopped.json()["status"] == "Cancelled", stopped.text
        assert stopped.json()["error"] == "stopped by request"
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        # the cancelled queued run never starts, and stopping twice is a conflict, not a change
        time.sleep(1.0)
        final = status_of(client, "001-sol-transfer", queued)
        assert final["status"] == "Cancelled" and final["started_at"] is None
        assert db_rows(api.db_url, [queued])["executions"][0]["worker_pid"] is None
        assert client.post(f"/benchmarks/001-sol-transfer/stop/{running}").status_code == 409
        assert [e["status"] for n, e in sse_events(client, running) if n == "status"][
            -1
        ] == "Cancelled"


@pytest.mark.slow
def test_server_killed_mid_run_restarts_and_fails_orphans(
    tmp_path: Path, benchmarks: Path, slow_agent: str
) -> None:
    restart_reconciles(tmp_path, sqlite_url(tmp_path / "reev.db"), benchmarks, slow_agent)


@pytest.mark.slow
def test_server_killed_mid_run_requeues_orphans(tmp_path: Path, benchmarks: Path) -> None:
    restart_requeues(tmp_path, sqlite_url(tmp_path / "reev.db"), benchmarks)


# ---------------------------------------------------------------------------- bad input


INVALID_FIELD = """\
id: 950-api-invalid
description: a benchmark with a wrong field type
tags: [system]
prompt: "Send 0.1 SOL to RECIPIENT_WALLET_PUBKEY."
initial_state:
  - pubkey: USER_WALLET_PUBKEY
    owner: "11111111111111111111111111111111"
    lamports: lots
"""

INVALID_SYNTAX = "id: 951-api-broken\ndescription: [unclosed\nprompt: x\n"


def benchmark_row(db_url: str, benchmark_id: str) -> BenchmarkRow | None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(BenchmarkRow.__table__).where(BenchmarkRow.id == benchmark_id)
            ).first()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("text", "benchmark_id"),
    [(INVALID_FIELD, "950-api-invalid"), (INVALID_SYNTAX, "951-api-broken")],
)
def test_invalid_yaml_is_422_with_line_and_field_and_stores_nothing(
    server: ApiServer, client: httpx.Client, text: str, benchmark_id: str
) -> None:
    before = sorted(p.name for p in server.benchmarks.iterdir())
    response = client.post("/upsert-yml", json={"yml_content": text})
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert errors and all(isinstance(e["line"], int) and e["line"] >= 1 for e in errors), errors
    assert all(e["message"] for e in errors)
    if benchmark_id == "950-api-invalid":
        assert any(e["line"] == 8 and "lamports" in (e["field"] or "") for e in errors), errors
    assert (
        sorted(p.name for p in server.benchmarks.iterdir()) == before
    )  # no file, not even a temp one
    assert benchmark_row(server.db_url, benchmark_id) is None
    assert client.get(f"/benchmarks/{benchmark_id}").status_code == 404


@pytest.mark.slow
def test_valid_yaml_is_stored_as_file_and_row_and_runs(
    server: ApiServer, client: httpx.Client
) -> None:
    text = (
        (server.benchmarks / "001-sol-transfer.yml")
        .read_text()
        .replace("id: 001-sol-transfer", "id: 952-api-upserted", 1)
    )
    assert "id: 952-api-upserted" in text
    response = client.post("/upsert-yml", json={"yml_content": text})
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "created"
    path = server.benchmarks / "952-api-upserted.yml"
    assert Path(response.json()["file"]).resolve() == path.resolve() and path.read_text() == text
    row = benchmark_row(server.db_url, "952-api-upserted")
    assert row is not None and row.yaml == text
    assert client.post("/upsert-yml", json={"yml_content": text}).json()["outcome"] == "unchanged"
    execution_id = submit(client, "952-api-upserted", {"agent": "deterministic"})
    final = wait_status(client, "952-api-upserted", execution_id, {"Completed", "Failed"})
    assert final["status"] == "Completed" and final["score"] == 1.0, final


def test_upserted_id_cannot_escape_the_benchmarks_folder(
    server: ApiServer, client: httpx.Client
) -> None:
    text = (
        (server.benchmarks / "001-sol-transfer.yml")
        .read_text()
        .replace("id: 001-sol-transfer", "id: ../../escaped", 1)
    )
    response = client.post("/upsert-yml", json={"yml_content": text})
    assert response.status_code == 422, response.text
    assert not list(server.workdir.parent.rglob("escaped*"))


def test_unknown_benchmark_is_404(client: httpx.Client) -> None:
    assert client.get("/benchmarks/999-no-such-benchmark").status_code == 404
    assert (
        client.post(
            "/benchmarks/999-no-such-benchmark/run", json={"agent": "deterministic"}
        ).status_code
        == 404
    )
    assert client.get("/benchmarks/999-no-such-benchmark/status").status_code == 404
    assert client.get("/benchmarks/001-sol-transfer/status/no-such-execution").status_code == 404
    assert client.post("/benchmarks/001-sol-transfer/stop/no-such-execution").status_code == 404
    assert client.get("/executions/no-such-execution/events").status_code == 404
    assert client.get("/transaction-logs/999-no-such-benchmark").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"agent": "no-such-agent"},
        {"agent": "glm-4.6"},
        {"agent": "openrouter"},
        {"agent": "deterministic", "profile": "nope"},
        {"agent": "deterministic", "x": 1},
        {"agent": ""},
        {"agent": "deterministic", "epochs": 0},
    ],
)
def test_unknown_agent_or_bad_run_body_is_422_and_queues_nothing(
    server: ApiServer, client: httpx.Client, body: dict[str, Any]
) -> None:
    before = client.get("/executions").json()["total"]
    response = client.post("/benchmarks/001-sol-transfer/run", json=body)
    assert response.status_code == 422, response.text
    if body["agent"] == "glm-4.6":  # ZAI_API_KEY is not set for the server
        assert "ZAI_API_KEY" in response.text
    assert client.get("/executions").json()["total"] == before


@pytest.mark.parametrize(
    "path",
    [
        "/benchmarks/..%2F..%2Fetc%2Fpasswd",
        "/benchmarks/%2E%2E",
        "/benchmarks/..%2Fbenchmarks%2F001-sol-transfer",
        "/benchmarks/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd/run",
        "/transaction-logs/..%2F..%2Fetc%2Fpasswd",
        "/execution-logs/%2Fetc%2Fpasswd",
        "/executions/..%2F..%2Fetc%2Fpasswd/session",
        "/flows/..%2F..%2Fetc%2Fpasswd",
        "/benchmarks/001-sol-transfer/status/..%2F..%2Fx",
    ],
)
def test_path_traversal_ids_are_rejected(client: httpx.Client, path: str) -> None:
    method = "POST" if path.endswith("/run") else "GET"
    response = client.request(
        method, path, json={"agent": "deterministic"} if method == "POST" else None
    )
    assert response.status_code in (404, 422), (path, response.status_code, response.text)
    assert "root:" not in response.text


def test_oversized_body_is_413(server: ApiServer, client: httpx.Client) -> None:
    big = "x" * 2_000_000
    response = client.post("/upsert-yml", json={"yml_content": big})
    assert response.status_code == 413, response.text

    def chunks():  # no content-length: the limit holds on the bytes actually received
        for _ in range(40):
            yield b"x" * 64_000

    response = client.post(
        "/upsert-yml", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert client.get("/health").status_code == 200


def test_provider_keys_are_never_echoed(client: httpx.Client) -> None:
    response = client.get("/agents")
    assert response.status_code == 200
    assert SECRET not in response.text
    agents = {a["agent"]: a for a in response.json()}
    assert agents["openai"]["key"] == "set" and agents["openai"]["key_env"] == "OPENAI_API_KEY"
    assert agents["glm-4.6"]["key"] == "missing"
    assert {a["key"] for a in agents.values()} <= {"set", "missing", "not needed"}
    for path in ("/health", "/benchmarks", "/executions", "/agent-performance", "/openapi.json"):
        assert SECRET not in client.get(path).text


@pytest.mark.slow
def test_token_is_required_on_mutating_endpoints(tmp_path: Path, benchmarks: Path) -> None:
    token = "t0ken-for-the-test"
    with (
        one_server(tmp_path, benchmarks, env=clean_env(REEV_API_TOKEN=token)) as api,
        api.client() as client,
    ):
        good = {"authorization": f"Bearer {token}"}
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": token}):
            assert client.post("/sync", headers=headers).status_code == 401
            assert (
                client.post(
                    "/benchmarks/001-sol-transfer/run",
                    json={"agent": "deterministic"},
                    headers=headers,
                ).status_code
                == 401
            )
            assert (
                client.post(
                    "/upsert-yml", json={"yml_content": "id: x"}, headers=headers
                ).status_code
                == 401
            )
            assert (
                client.post(
                    "/benchmarks/001-sol-transfer/stop/whatever", headers=headers
                ).status_code
                == 401
            )
        assert (
            client.get("/executions").json()["total"] == 0
        )  # nothing was queued without the token
        assert client.get("/health").status_code == 200  # reads stay open
        assert client.get("/benchmarks").status_code == 200
        sync = client.post("/sync", headers=good)
        assert sync.status_code == 200 and sync.json()["unchanged"], sync.text
        execution_id = submit(client, "001-sol-transfer", {"agent": "deterministic"}, headers=good)
        assert (
            wait_status(client, "001-sol-transfer", execution_id, {"Completed", "Failed"})["status"]
            == "Completed"
        )
        assert token not in client.get("/openapi.json").text


@pytest.mark.slow
def test_sync_reports_created_updated_unchanged_and_errors(tmp_path: Path) -> None:
    folder = copy_benchmarks(tmp_path / "benchmarks", ["001-sol-transfer", "002-spl-transfer"])
    with one_server(tmp_path, folder) as api, api.client() as client:
        assert [b["id"] for b in client.get("/benchmarks").json()] == [
            "001-sol-transfer",
            "002-spl-transfer",
        ]
        (folder / "002-spl-transfer.yml").write_text(
            (folder / "002-spl-transfer.yml")
            .read_text()
            .replace("description:", "description: changed,", 1)
        )
        copy_benchmarks(folder, ["005-sol-transfer-multi"])
        (folder / "zz-broken.yml").write_text("id: zz-broken\nprompt: [\n")
        report = client.post("/sync").json()
        assert report["created"] == ["005-sol-transfer-multi"]
        assert report["updated"] == ["002-spl-transfer"]
        assert report["unchanged"] == ["001-sol-transfer"]
        assert len(report["errors"]) == 1 and "zz-broken" in report["errors"][0]


# ---------------------------------------------------------------------------- reev run --record


@pytest.mark.slow
def test_cli_run_record_is_listed_by_the_api(
    server: ApiServer, client: httpx.Client, tmp_path: Path
) -> None:
    """`reev run benchmarks/001-sol-transfer.yml --record --db URL`, from another folder, while
    the server runs: the API lists the execution (source "cli") and can still run the benchmark."""
    copy_benchmarks(tmp_path / "benchmarks", ["001-sol-transfer"])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reev.cli",
            "run",
            "benchmarks/001-sol-transfer.yml",
            "--record",
            "--db",
            server.db_url,
            "--log-dir",
            "logs",
            "--execution-id",
            "cli-recorded-1",
        ],
        check=False,
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listed = client.get("/executions", params={"benchmark": "001-sol-transfer"}).json()["items"]
    recorded = next(e for e in listed if e["execution_id"] == "cli-recorded-1")
    assert (
        recorded["source"] == "cli"
        and recorded["status"] == "Completed"
        and recorded["score"] == 1.0
    )
    assert recorded["seed"] == 0
    assert (
        client.get("/executions/cli-recorded-1/session").json()["execution_id"] == "cli-recorded-1"
    )
    rows = db_rows(server.db_url, ["cli-recorded-1"])
    assert rows["counts"]["tool_calls"]["cli-recorded-1"] == 2
    assert rows["counts"]["transactions"]["cli-recorded-1"] == 1
    performance = client.get("/agent-performance").json()
    assert any(a["agent"] == "deterministic" for a in performance["agents"])
    # the server's benchmark still points at its own file, even once the CLI's copy is gone
    shutil.rmtree(tmp_path / "benchmarks")
    execution_id = submit(client, "001-sol-transfer", {"agent": "deterministic"})
    final = wait_status(client, "001-sol-transfer", execution_id, {"Completed", "Failed"})
    assert final["status"] == "Completed", final


@pytest.mark.slow
def test_api_and_epochs_seed_are_the_run_seed(client: httpx.Client) -> None:
    """`seed` in an execution is the run seed that was asked for (what `reev run --seed` takes)."""
    response = client.post(
        "/benchmarks/001-sol-transfer/run", json={"agent": "deterministic", "seed": 7, "epochs": 2}
    )
    assert response.status_code == 202, response.text
    ids = response.json()["execution_ids"]
    assert len(ids) == 2 and response.json()["execution_id"] == ids[0]
    finals = [wait_status(client, "001-sol-transfer", i, {"Completed", "Failed"}) for i in ids]
    assert [f["seed"] for f in finals] == [7, 7]
    assert [f["epoch"] for f in finals] == [0, 1]
    sessions = [client.get(f"/executions/{i}/session").json() for i in ids]
    assert [s["epoch"] for s in sessions] == [0, 1]
    assert sessions[0]["seed"] != sessions[1]["seed"], "both epochs ran with the same derived seed"
