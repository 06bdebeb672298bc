"""`reev serve` says where everything is once it is ready (issue 17, item 3): the dashboard and
API URLs, the database URL without its password, the benchmark folder."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from helpers.api_server import ApiServer, copy_benchmarks, sqlite_url
from reev.store.engine import display_url

pytestmark = pytest.mark.slow


def banner_of(server: ApiServer, timeout: float = 10.0) -> str:
    """The server's output once the last banner line (the benchmark folder) is there."""
    deadline = time.monotonic() + timeout
    while "benchmarks " not in (text := server.output.read_text(errors="replace")):
        assert time.monotonic() < deadline, f"no banner within {timeout} s:\n{text}"
        time.sleep(0.05)
    return text


def test_serve_prints_its_urls_database_and_benchmarks_once_ready(tmp_path: Path) -> None:
    benchmarks = copy_benchmarks(tmp_path / "suite", ["001-sol-transfer"])
    db = sqlite_url(tmp_path / "reev.db")
    with ApiServer(tmp_path, db_url=db, benchmarks=benchmarks, args=["--dashboard"]) as server:
        text = banner_of(server)
    lines = {line.split()[0]: line.split()[1] for line in text.splitlines()[1:] if line.strip()}
    assert text.splitlines()[0] == "reev serve is ready"
    assert lines["dashboard"] == f"{server.url}/"
    assert lines["API"] == server.api
    assert lines["database"] == db
    assert lines["benchmarks"] == str(benchmarks.resolve())


def test_the_database_url_is_printed_without_its_password() -> None:
    secret = "s3cr3t-pw"
    shown = display_url(f"postgresql+psycopg://reev:{secret}@db.example:5432/reev")
    assert secret not in shown
    assert shown == "postgresql+psycopg://reev:***@db.example:5432/reev"
