"""The alias bomb against a real `reev serve` and a real `reev validate` (issue 16 item 1): refused
with a 4xx / exit 2 and a file:line message, memory flat, each process capped so a regression
fails the test instead of taking the machine down."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers.api_server import ApiServer, clean_env, copy_benchmarks, sqlite_url
from helpers.yaml_bombs import alias_bomb, bomb_refusal_line
from reev.spec import bounded_yaml

# a live `reev serve` under a memory limit and subprocesses: `slow` (the full suite runs it; `make test-fast` does not)
pytestmark = pytest.mark.slow

HEADROOM = 1 << 30  # 1 GiB of address space beyond what the process already has


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    workdir = tmp_path_factory.mktemp("hostile-yaml")
    api = ApiServer(
        workdir,
        db_url=sqlite_url(workdir / "reev.db"),
        benchmarks=copy_benchmarks(workdir / "benchmarks", ["001-sol-transfer"]),
        env=clean_env(),
    )
    api.start()
    try:
        assert api.process is not None
        pid = api.process.pid
        limit = status_kib(pid, "VmSize") * 1024 + HEADROOM
        resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))
        yield api
    finally:
        api.stop()


def test_the_bomb_posted_to_upsert_yml_is_a_422_naming_the_line(server: ApiServer) -> None:
    assert server.process is not None
    pid = server.process.pid
    before = sorted(p.name for p in server.benchmarks.iterdir())
    rss_before = status_kib(pid, "VmRSS")
    line = bomb_refusal_line(9, 9, bounded_yaml.MAX_NODES)
    with server.client() as client:
        for _ in range(3):  # repeated: nothing accumulates either
            response = client.post("/upsert-yml", json={"yml_content": alias_bomb()}, timeout=30)
            assert response.status_code == 422, response.text
            errors = response.json()["errors"]
            assert len(errors) == 1, errors
            assert errors[0]["line"] == line
            assert "nodes" in errors[0]["message"]
        assert client.get("/health").status_code == 200
    assert server.process.poll() is None  # alive, under its address-space cap
    rss_growth_mib = (status_kib(pid, "VmRSS") - rss_before) / 1024
    assert rss_growth_mib < 100, f"the server grew by {rss_growth_mib:.0f} MiB"
    assert sorted(p.name for p in server.benchmarks.iterdir()) == before


def test_reev_validate_of_the_bomb_exits_2_with_one_line(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yml"
    bomb.write_text(alias_bomb(), encoding="utf-8")

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (HEADROOM, HEADROOM))

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "reev.cli", "validate", str(bomb)],
        capture_output=True,
        text=True,
        env=clean_env(),  # PYTHONPATH (a worktree's src) is kept
        preexec_fn=cap,
        timeout=120,  # a guard against a hang, not a speed assertion
        check=False,
    )
    assert result.returncode == 2, (result.stdout, result.stderr[-2000:])
    output = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    line = bomb_refusal_line(9, 9, bounded_yaml.MAX_NODES)
    assert len(output) == 1, output
    assert output[0].startswith(f"{bomb}:{line}: error: "), output
    assert time.monotonic() - started < 120


def test_the_bomb_through_sync_is_reported_and_the_good_files_still_sync(
    server: ApiServer,
) -> None:
    bomb = server.benchmarks / "990-bomb.yml"
    bomb.write_text(alias_bomb(), encoding="utf-8")
    try:
        with server.client() as client:
            response = client.post("/sync", headers=server.auth(), timeout=60)
        assert response.status_code < 500, response.text
        assert "990-bomb.yml" in response.text
    finally:
        bomb.unlink()
    assert isinstance(httpx.get(f"{server.api}/health", timeout=5).json(), dict)
