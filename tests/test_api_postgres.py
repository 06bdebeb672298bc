"""The API scenarios on a real PostgreSQL: 20 concurrent runs, and a server killed mid-run.

A session fixture starts PostgreSQL on a free loopback port in a temporary directory (unix
sockets there too) and stops it at the end. PostgreSQL refuses to run as root, so as root the
server runs as the `postgres` user (`runuser -u postgres --`). `make test` and `.ci/run` install
Debian's `postgresql` when `initdb` is missing; without it these tests fail, never skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from helpers import postgres as pg
from helpers.api_scenarios import (
    MIX,
    concurrent_runs,
    restart_reconciles,
    restart_requeues,
    slow_agent_app,
)
from helpers.api_server import ApiServer, cli_scores, copy_benchmarks
from helpers.local_server import LocalServer
from helpers.postgres import PostgresServer

pytestmark = pytest.mark.postgres
postgres = pg.postgres  # the session fixture, shared with tests/test_store_queries.py


@pytest.fixture
def database_url(postgres: PostgresServer) -> str:
    """A fresh database per test: reconciliation sees only this test's executions."""
    return postgres.create_database()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-pg")


@pytest.fixture(scope="module")
def benchmarks(workdir: Path) -> Path:
    return copy_benchmarks(workdir / "benchmarks", MIX)


@pytest.fixture(scope="module")
def expected_scores(workdir: Path, benchmarks: Path) -> dict[str, float]:
    return cli_scores([benchmarks / f"{b}.yml" for b in MIX], workdir)


@pytest.fixture(scope="module")
def slow_agent():
    state: dict[str, Any] = {}
    with LocalServer(slow_agent_app(state)) as server:
        yield f"{server.url}/slow"
        state["release"] = True


def test_postgres_is_the_database_in_use(
    database_url: str, tmp_path: Path, benchmarks: Path
) -> None:
    with (
        ApiServer(tmp_path, db_url=database_url, benchmarks=benchmarks) as api,
        api.client() as client,
    ):
        assert {b["id"] for b in client.get("/benchmarks").json()} == set(MIX)
    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert {
            "benchmarks",
            "executions",
            "tool_calls",
            "model_calls",
            "transactions",
            "alembic_version",
        } <= tables
        assert conn.execute("SELECT count(*) FROM benchmarks").fetchone()[0] == len(MIX)


def test_twenty_concurrent_runs_postgres(
    database_url: str, tmp_path: Path, benchmarks: Path, expected_scores: dict[str, float]
) -> None:
    with ApiServer(
        tmp_path, db_url=database_url, benchmarks=benchmarks, args=["--max-concurrency", "4"]
    ) as api:
        concurrent_runs(api, expected_scores)


def test_server_killed_mid_run_restarts_and_fails_orphans_postgres(
    database_url: str, tmp_path: Path, benchmarks: Path, slow_agent: str
) -> None:
    restart_reconciles(tmp_path, database_url, benchmarks, slow_agent)


def test_server_killed_mid_run_requeues_orphans_postgres(
    database_url: str, tmp_path: Path, benchmarks: Path
) -> None:
    restart_requeues(tmp_path, database_url, benchmarks)
