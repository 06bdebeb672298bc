"""API scenarios run on SQLite (test_api.py) and on PostgreSQL (test_api_postgres.py)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, func, select

from helpers.api_server import (
    LOOPBACK_AGENTS,
    ApiServer,
    process_gone,
    submit,
    wait_for,
    wait_status,
)
from reev.store.models import ExecutionRow, ModelCallRow, ToolCallRow, TransactionRow

# Five benchmarks whose deterministic scores differ (1.0, 0.9 for the designed-to-fail one, the
# partial instruction score of 004); 4 runs of each make the 20.
MIX = [
    "001-sol-transfer",
    "002-spl-transfer",
    "003-spl-transfer-fail",
    "004-partial-score-spl-transfer",
    "005-sol-transfer-multi",
]


# ---------------------------------------------------------------------------- a slow agent


def slow_agent_app(state: dict[str, Any]) -> FastAPI:
    """A remote agent that answers after 30 s (or as soon as `state["release"]` is set): runs
    that use it stay Running long enough to be killed, stopped or timed out."""
    app = FastAPI()

    @app.post("/slow")
    async def slow() -> JSONResponse:
        state["calls"] = state.get("calls", 0) + 1
        for _ in range(300):
            if state.get("release"):
                break
            await asyncio.sleep(0.1)
        return JSONResponse({"error": "released"}, status_code=503)

    return app


# ---------------------------------------------------------------------------- database checks


def db_rows(db_url: str, execution_ids: list[str]) -> dict[str, Any]:
    """The executions and their child rows, straight from the database."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            executions = (
                conn.execute(
                    select(ExecutionRow.__table__).where(
                        ExecutionRow.execution_id.in_(execution_ids)
                    )
                )
                .mappings()
                .all()
            )
            duplicates = {}
            counts = {}
            for model in (ToolCallRow, ModelCallRow, TransactionRow):
                table = model.__table__
                key = (table.c.execution_id, table.c.step, table.c.index)
                duplicates[table.name] = conn.execute(
                    select(*key, func.count())
                    .where(table.c.execution_id.in_(execution_ids))
                    .group_by(*key)
                    .having(func.count() > 1)
                ).all()
                counts[table.name] = dict(
                    conn.execute(
                        select(table.c.execution_id, func.count())
                        .where(table.c.execution_id.in_(execution_ids))
                        .group_by(table.c.execution_id)
                    ).all()
                )
    finally:
        engine.dispose()
    return {"executions": [dict(r) for r in executions], "duplicates": duplicates, "counts": counts}


def max_overlap(rows: list[dict[str, Any]]) -> int:
    """The most executions Running at the same moment (from started_at / finished_at)."""
    points = []
    for row in rows:
        start, end = row["started_at"], row["finished_at"]
        start, end = (t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in (start, end))
        points += [(start, 1), (end, -1)]
    running = peak = 0
    for _, delta in sorted(points, key=lambda p: (p[0], p[1])):  # an end before a start at a tie
        running += delta
        peak = max(peak, running)
    return peak


# ---------------------------------------------------------------------------- scenarios


def concurrent_runs(server: ApiServer, expected: dict[str, float]) -> None:
    """20 runs submitted at once with --max-concurrency 4: all Completed with the CLI's scores,
    20 distinct rows, child rows neither lost nor duplicated, never more than 4 running."""
    plan = [MIX[i % len(MIX)] for i in range(20)]

    async def submit_all() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=server.api, timeout=30) as client:
            responses = await asyncio.gather(
                *(
                    client.post(f"/benchmarks/{b}/run", json={"agent": "deterministic"})
                    for b in plan
                )
            )
        for response in responses:
            assert response.status_code == 202, response.text
        return [r.json() for r in responses]

    accepted = asyncio.run(submit_all())
    ids = [a["execution_id"] for a in accepted]
    assert len(set(ids)) == 20
    run_ids = [a["run_id"] for a in accepted]
    assert len(set(run_ids)) == 20, "two requests share a run"
    with server.client() as client:
        finals = {
            i: wait_status(
                client, b, i, {"Completed", "Failed", "Timeout", "Cancelled"}, timeout=180
            )
            for i, b in zip(ids, plan, strict=True)
        }
        for final, benchmark_id in zip(finals.values(), plan, strict=True):
            assert final["status"] == "Completed", final
            assert final["score"] == expected[benchmark_id], (
                benchmark_id,
                final["score"],
                expected[benchmark_id],
            )
            assert final["error"] is None
        sessions = {i: client.get(f"/executions/{i}/session").json() for i in ids}
        listed = client.get(
            "/executions", params={"agent": "deterministic", "status": "Completed", "limit": 500}
        ).json()
        assert {item["execution_id"] for item in listed["items"]} >= set(ids)
        # each request is its own run, holding its one execution (issue 19)
        for run_id, execution_id in zip(run_ids, ids, strict=True):
            run = client.get(f"/runs/{run_id}").json()
            assert [e["execution_id"] for e in run["executions"]] == [execution_id], run
            passed = 1 if finals[execution_id]["passed"] else 0  # 003 is built to fail
            assert run["status"] == "finished" and run["summary"]["passed"] == passed, run

    data = db_rows(server.db_url, ids)
    rows = data["executions"]
    assert len(rows) == 20 and {r["execution_id"] for r in rows} == set(ids), (
        "an execution row is missing"
    )
    assert all(r["status"] == "Completed" and r["progress"] == 1.0 for r in rows)
    assert all(r["source"] == "api" and r["worker_pid"] for r in rows)
    for name, dupes in data["duplicates"].items():
        assert not dupes, f"duplicated {name} rows: {dupes}"
    for execution_id, record in sessions.items():
        tool_calls = sum(len(s["tool_calls"]) for s in record["steps"])
        transactions = sum(len(s["transactions"]) for s in record["steps"])
        assert tool_calls > 0 and transactions > 0
        assert data["counts"]["tool_calls"].get(execution_id, 0) == tool_calls, execution_id
        assert data["counts"]["transactions"].get(execution_id, 0) == transactions, execution_id
    peak = max_overlap(rows)
    assert 2 <= peak <= 4, f"{peak} executions ran at once with --max-concurrency 4"


def restart_reconciles(workdir: Path, db_url: str, benchmarks: Path, slow_url: str) -> None:
    """A server SIGKILLed with two runs Running and two Queued; a new one on the same database
    fails all four with "interrupted: server restarted" and kills the orphaned processes."""
    first = ApiServer(
        workdir / "first",
        db_url=db_url,
        benchmarks=benchmarks,
        args=["--max-concurrency", "2", *LOOPBACK_AGENTS],
    )
    second = ApiServer(workdir / "second", db_url=db_url, benchmarks=benchmarks)
    try:
        first.start()
        with first.client() as client:
            running = [submit(client, "001-sol-transfer", {"agent": slow_url}) for _ in range(2)]
            queued = [
                submit(client, "002-spl-transfer", {"agent": "deterministic"}) for _ in range(2)
            ]
            for execution_id in running:
                wait_status(client, "001-sol-transfer", execution_id, {"Running"}, timeout=30)
            pids = [r["worker_pid"] for r in db_rows(db_url, running)["executions"]]
            assert all(pids)
            assert [
                status_of_row["status"] for status_of_row in db_rows(db_url, queued)["executions"]
            ] == ["Queued"] * 2
        first.kill()
        assert not any(process_gone(pid) for pid in pids), (
            "the runs died with the server: nothing to reconcile"
        )

        second.start()  # reconciles before it answers /health
        with second.client() as client:
            for execution_id, benchmark_id in [(i, "001-sol-transfer") for i in running] + [
                (i, "002-spl-transfer") for i in queued
            ]:
                final = client.get(f"/benchmarks/{benchmark_id}/status/{execution_id}").json()
                assert final["status"] == "Failed", final
                assert final["error"] == "interrupted: server restarted", final
                assert final["finished_at"] is not None
            assert client.get("/executions", params={"status": "Running"}).json()["total"] == 0
            assert client.get("/executions", params={"status": "Queued"}).json()["total"] == 0
        wait_for(
            lambda: all(process_gone(pid) for pid in pids), 10, "the orphaned runs to be killed"
        )
    finally:
        first.stop()
        second.stop()


def restart_requeues(workdir: Path, db_url: str, benchmarks: Path) -> None:
    """The same crash with `--requeue`: every interrupted execution runs again to Completed."""
    first = ApiServer(
        workdir / "first", db_url=db_url, benchmarks=benchmarks, args=["--max-concurrency", "1"]
    )
    second = ApiServer(
        workdir / "second",
        db_url=db_url,
        benchmarks=benchmarks,
        args=["--requeue", "--max-concurrency", "2"],
    )
    try:
        first.start()
        with first.client() as client:
            ids = [submit(client, "001-sol-transfer", {"agent": "deterministic"}) for _ in range(5)]
            wait_for(
                lambda: any(r["status"] == "Running" for r in db_rows(db_url, ids)["executions"]),
                30,
                "a run to start",
            )
        first.kill()
        interrupted = [
            r for r in db_rows(db_url, ids)["executions"] if r["status"] in ("Queued", "Running")
        ]
        assert len(interrupted) >= 3, "the server finished its queue before it was killed"

        second.start()
        with second.client() as client:
            for execution_id in ids:
                final = wait_status(
                    client, "001-sol-transfer", execution_id, {"Completed", "Failed"}, timeout=90
                )
                assert final["status"] == "Completed" and final["score"] == 1.0, final
        data = db_rows(db_url, ids)
        assert len(data["executions"]) == 5
        for name, dupes in data["duplicates"].items():
            assert not dupes, f"duplicated {name} rows: {dupes}"
    finally:
        first.stop()
        second.stop()


def elapsed(since: float) -> float:
    return time.monotonic() - since
