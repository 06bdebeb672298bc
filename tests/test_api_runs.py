"""API executions belong to a run (issue 19, part 1): every request that queues executions makes
one run, and `GET /runs`, `GET /runs/{id}` list runs with a summary counted from their
executions. Over real HTTP: `reev serve` as a subprocess on a temporary SQLite database; a CLI
run recorded into the same database (`reev run --record`) is listed beside the API's."""

from __future__ import annotations

from pathlib import Path
from statistics import mean
from typing import Any

import httpx
import pytest

from helpers.api_scenarios import slow_agent_app
from helpers.api_server import (
    LOOPBACK_AGENTS,
    ApiServer,
    clean_env,
    copy_benchmarks,
    sqlite_url,
    wait_for,
    wait_status,
)
from helpers.local_server import LocalServer
from helpers.reev_cli import reev

pytestmark = pytest.mark.slow
PASS, FAIL = "001-sol-transfer", "003-spl-transfer-fail"
TERMINAL = {"Completed", "Failed", "Timeout", "Cancelled"}


@pytest.fixture(scope="module")
def slow_agent():
    state: dict[str, Any] = {}
    with LocalServer(slow_agent_app(state)) as server:
        yield f"{server.url}/slow"
        state["release"] = True


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("api-runs")
    api = ApiServer(
        workdir / "serve",
        db_url=sqlite_url(workdir / "reev.db"),
        benchmarks=copy_benchmarks(workdir / "benchmarks", [PASS, FAIL]),
        log_dir=workdir / "logs",
        args=["--max-concurrency", "2", *LOOPBACK_AGENTS],
        env=clean_env(),
    )
    api.start(timeout=120)
    yield api
    api.stop()


@pytest.fixture
def client(server: ApiServer):
    with server.client() as client:
        yield client


def start_run(client: httpx.Client, benchmark_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/benchmarks/{benchmark_id}/run", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def finish(client: httpx.Client, benchmark_id: str, accepted: dict[str, Any]) -> list[dict]:
    return [
        wait_status(client, benchmark_id, e, TERMINAL, timeout=120)
        for e in accepted["execution_ids"]
    ]


def get_run(client: httpx.Client, run_id: str, **query: Any) -> dict[str, Any]:
    response = client.get(f"/runs/{run_id}", params=query)
    assert response.status_code == 200, response.text
    return response.json()


def expected_summary(executions: list[dict[str, Any]], planned: int) -> dict[str, Any]:
    """The summary by its definition (docs/api.md), from the executions themselves."""
    finished = [e for e in executions if e["status"] in TERMINAL]
    passed = sum(1 for e in finished if e["passed"])
    scores = [e["score"] for e in finished if e["score"] is not None]
    return {
        "executions": len(executions),
        "planned": planned,
        "queued": sum(e["status"] == "Queued" for e in executions),
        "running": sum(e["status"] == "Running" for e in executions),
        "finished": len(finished),
        "passed": passed,
        "failed": sum(e["status"] in ("Failed", "Timeout") for e in executions),
        "cancelled": sum(e["status"] == "Cancelled" for e in executions),
        "mean_score": mean(scores) if scores else None,
        "pass_rate": passed / len(finished) if finished else None,
    }


def test_a_request_makes_one_run_its_executions_belong_to(client: httpx.Client) -> None:
    accepted = start_run(client, PASS, {"agent": "deterministic", "epochs": 2, "name": "nightly"})
    finals = finish(client, PASS, accepted)
    assert {f["run_id"] for f in finals} == {accepted["run_id"]}
    run = get_run(client, accepted["run_id"])
    assert (run["name"], run["source"], run["agent"], run["epochs"]) == (
        "nightly",
        "api",
        "deterministic",
        2,
    )
    assert run["benchmarks"] == [PASS] and run["status"] == "finished"
    assert [e["execution_id"] for e in run["executions"]] == accepted["execution_ids"]
    assert [e["epoch"] for e in run["executions"]] == [0, 1]
    assert run["summary"] == expected_summary(run["executions"], planned=2)
    assert run["summary"]["finished"] == 2  # the summary counts what the executions say
    # every execution the API made carries its run
    page = client.get("/executions", params={"limit": 500}).json()
    assert page["items"] and all(e["run_id"] for e in page["items"] if e["source"] == "api")


def test_a_run_is_running_while_an_execution_is_and_finished_after(
    client: httpx.Client, slow_agent: str
) -> None:
    accepted = start_run(client, PASS, {"agent": slow_agent})
    [execution_id] = accepted["execution_ids"]
    wait_status(client, PASS, execution_id, {"Running"}, timeout=60)
    running = get_run(client, accepted["run_id"])
    assert running["status"] == "running"
    assert (running["summary"]["running"], running["summary"]["finished"]) == (1, 0)
    assert running["summary"]["mean_score"] is None and running["summary"]["pass_rate"] is None
    stopped = client.post(f"/benchmarks/{PASS}/stop/{execution_id}")
    assert stopped.status_code == 200, stopped.text
    after = get_run(client, accepted["run_id"])
    assert after["status"] == "finished"
    assert after["summary"] == expected_summary(after["executions"], planned=1)
    assert after["summary"]["cancelled"] == 1


def test_runs_are_listed_newest_first_filtered_and_paged(client: httpx.Client) -> None:
    older = start_run(client, PASS, {"name": "pager-a"})
    newer = start_run(client, FAIL, {"name": "pager-b", "seed": 7})
    finish(client, PASS, older)
    finals = finish(client, FAIL, newer)
    listed = client.get("/runs", params={"limit": 500}).json()
    ids = [r["run_id"] for r in listed["items"]]
    assert listed["total"] == len(ids) >= 2
    assert ids.index(newer["run_id"]) < ids.index(older["run_id"])  # newest first
    created = [r["created_at"] for r in listed["items"]]
    assert created == sorted(created, reverse=True)
    one = client.get("/runs", params={"name": "pager-b"}).json()
    assert [r["run_id"] for r in one["items"]] == [newer["run_id"]] and one["total"] == 1
    [item] = one["items"]
    assert item["seed"] == 7 and item["benchmarks"] == [FAIL]
    # the list's summary is the one of GET /runs/{id}, counted from the executions
    assert item["summary"] == expected_summary(finals, planned=1)
    assert item["summary"]["mean_score"] == finals[0]["score"]
    first = client.get("/runs", params={"limit": 1}).json()
    second = client.get("/runs", params={"limit": 1, "offset": 1}).json()
    assert (first["limit"], first["offset"], second["offset"]) == (1, 0, 1)
    assert [r["run_id"] for r in first["items"] + second["items"]] == ids[:2]
    assert client.get("/runs", params={"agent": "nobody"}).json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }


def test_a_run_pages_its_executions(client: httpx.Client) -> None:
    accepted = start_run(client, PASS, {"epochs": 3})
    finish(client, PASS, accepted)
    page = get_run(client, accepted["run_id"], limit=2, offset=1)
    assert [e["execution_id"] for e in page["executions"]] == accepted["execution_ids"][1:3]
    assert page["summary"]["executions"] == 3  # the summary is the whole run's


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/runs", {"limit": 0}),
        ("/runs", {"limit": 501}),
        ("/runs", {"offset": -1}),
        ("/runs", {"source": "elsewhere"}),
        ("/runs/some-run", {"limit": 1001}),
        ("/runs/bad%20id", {}),
    ],
)
def test_bad_queries_are_refused_with_422(client: httpx.Client, path: str, query: dict) -> None:
    response = client.get(path, params=query)
    assert response.status_code == 422, response.text


def test_an_unknown_run_is_a_404_naming_it(client: httpx.Client) -> None:
    response = client.get("/runs/20990101-000000-beef")
    assert response.status_code == 404
    assert "20990101-000000-beef" in response.json()["detail"]


@pytest.mark.parametrize("name", ["latest", "two words", "x" * 65, "", "a/b"])
def test_a_bad_run_name_is_refused_and_nothing_is_queued(client: httpx.Client, name: str) -> None:
    before = client.get("/runs").json()["total"]
    executions = client.get("/executions").json()["total"]
    response = client.post(f"/benchmarks/{PASS}/run", json={"name": name})
    assert response.status_code == 422, response.text
    assert "name" in response.text
    assert client.get("/runs").json()["total"] == before
    assert client.get("/executions").json()["total"] == executions


def test_a_cli_run_recorded_in_the_database_is_listed_beside_the_api_runs(
    server: ApiServer, client: httpx.Client, tmp_path: Path
) -> None:
    done = reev(
        "run",
        str(server.benchmarks / f"{PASS}.yml"),
        str(server.benchmarks / f"{FAIL}.yml"),
        "--record",
        "--db",
        server.db_url,
        "--log-dir",
        str(tmp_path / "logs"),
        "--name",
        "from-cli",
        "--no-trace",
    )
    assert done.returncode == 0, done.stderr
    found = wait_for(
        lambda: client.get("/runs", params={"source": "cli"}).json()["items"] or None,
        30,
        "the CLI run in GET /runs",
    )
    assert [r["name"] for r in found] == ["from-cli"]
    run = get_run(client, found[0]["run_id"])
    assert run["status"] == "finished" and run["benchmarks"] == [PASS, FAIL]
    assert sorted(e["benchmark_id"] for e in run["executions"]) == [PASS, FAIL]
    assert all(e["source"] == "cli" for e in run["executions"])
    assert run["summary"] == expected_summary(run["executions"], planned=2)
