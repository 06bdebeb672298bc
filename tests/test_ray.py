"""The Ray executor (issue 21 part 3) on a real local cluster: `ray start --head` on 127.0.0.1
with two CPUs, started once for the module and stopped after it.

The whole suite gives the same statuses, scores and session files on the cluster as in one
process; a worker SIGKILLed mid-episode loses no episode (Ray retries it); an agent's failure is
never retried; a resumed run and the API's executions run on the cluster too."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.api_server import (
    ApiServer,
    copy_benchmarks,
    free_port,
    sqlite_url,
    sse_events,
    submit,
    wait_status,
)
from helpers.paths import BENCHMARKS, subprocess_env
from helpers.ray_agents import (
    DOOMED,
    FAILING,
    attempts,
)
from helpers.reev_cli import only_run, reev
from helpers.sessions import comparable_session
from helpers.suite import bundled
from reev.events import ExecutionStatus

# The cluster's directory and auth token. A short path of its own: Ray's unix sockets live
# under it (their path length is bounded), and parallel test runs must not share a cluster.
# They reach every process of the cluster and every driver through `Cluster.env` (never this
# process's environment: pytest's process is no Ray driver, see helpers.ray_agents).
TEMP_DIR = Path(tempfile.mkdtemp(prefix="reev-ray-", dir="/tmp"))
RAY_ENV = {
    "RAY_AUTH_MODE": "token",  # Ray >= 2.59 asks local clusters for a token
    "RAY_AUTH_TOKEN_PATH": str(TEMP_DIR / "auth_token"),
    "RAY_USAGE_STATS_ENABLED": "0",
}
(TEMP_DIR / "auth_token").write_text(secrets.token_hex(32))
atexit.register(shutil.rmtree, TEMP_DIR, True)  # also when no test started the cluster

# reev imports without Ray (the executor imports it when a run asks); these tests need it.
pytest.importorskip("ray", reason="the Ray executor needs reev[ray]: pip install 'reev[ray]'")
pytestmark = pytest.mark.slow  # a Ray cluster, and episodes in its worker processes

RAY = str(Path(sys.executable).with_name("ray"))


@dataclass(frozen=True)
class Cluster:
    address: str
    temp_dir: Path  # the cluster's --temp-dir: its processes, sockets and logs
    env: dict[str, str]  # what a driver needs to reach it (its auth token file)


def _cluster_pids(temp_dir: Path) -> set[int]:
    """The processes of this cluster only: those whose command line names its temp dir, and
    their descendants (workers retitle themselves `ray::…`). No other cluster on the machine is
    touched (`ray stop` would stop every one)."""
    parents: dict[int, int] = {}
    roots: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        if str(temp_dir) in cmdline:
            roots.add(int(entry.name))
    found = set(roots)
    while True:
        more = {pid for pid, parent in parents.items() if parent in found} - found
        if not more:
            return found
        found |= more


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    temp_dir, ray_env = TEMP_DIR, RAY_ENV
    port = free_port()
    log = temp_dir / "ray-start.log"
    with log.open("w") as out:
        # --block: `ray start` stays up as the parent of the cluster's processes, in a session
        # of its own, so the teardown can end exactly this cluster.
        head = subprocess.Popen(
            [
                RAY,
                "start",
                "--head",
                "--block",
                "--port",
                str(port),
                "--num-cpus",
                "2",
                "--include-dashboard=false",
                "--node-ip-address",
                "127.0.0.1",
                "--temp-dir",
                str(temp_dir),
                "--disable-usage-stats",
            ],
            env=subprocess_env(**ray_env),  # the workers import this reev and tests/helpers
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while "Ray runtime started" not in log.read_text(errors="replace"):
            assert head.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "ray start: no cluster within 180 s"
            time.sleep(0.2)
        yield Cluster(address=f"127.0.0.1:{port}", temp_dir=temp_dir, env=ray_env)
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = _cluster_pids(temp_dir) | ({head.pid} if head.poll() is None else set())
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + (3 if sig == signal.SIGTERM else 10)
            while _cluster_pids(temp_dir) and time.monotonic() < deadline:
                time.sleep(0.2)
        head.wait(timeout=10)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _sessions(run: Path) -> dict[str, object]:
    """Every session file of a run directory, by benchmark/epoch, timing and fresh ids aside."""
    out: dict[str, object] = {}
    for path in sorted((run / "sessions").rglob("*.json")):
        out[str(path.relative_to(run))] = comparable_session(path)
    return out


def _results(run: Path) -> list[tuple[object, ...]]:
    data = json.loads((run / "results.json").read_text(encoding="utf-8"))
    return [
        (r["benchmark_id"], r["epoch"], r["seed"], r["status"], r["score"], r["passed"])
        for r in data["results"]
    ]


def test_the_suite_on_ray_gives_what_a_local_run_gives(cluster: Cluster, tmp_path: Path) -> None:
    common = ("--seed", "5", "--max-concurrency", "2", "--no-trace")
    local = reev("run", str(BENCHMARKS), "--log-dir", str(tmp_path / "local"), *common)
    assert local.returncode == 0, local.stderr
    on_ray = reev(
        "run",
        str(BENCHMARKS),
        "--log-dir",
        str(tmp_path / "ray"),
        "--executor",
        "ray",
        "--ray-address",
        cluster.address,
        *common,
        timeout=600,
        **cluster.env,
    )
    assert on_ray.returncode == 0, on_ray.stderr
    local_run, ray_run = only_run(tmp_path / "local"), only_run(tmp_path / "ray")
    expected = _results(local_run)
    assert len(expected) == len(bundled())  # every bundled benchmark, once
    assert _results(ray_run) == expected
    local_sessions, ray_sessions = _sessions(local_run), _sessions(ray_run)
    assert len(ray_sessions) == len(expected)  # written by the driver into the run directory
    assert ray_sessions == local_sessions  # same transactions, signatures, scores
    signatures = [
        s["signature"]
        for session in ray_sessions.values()
        for s in _walk(session)
        if isinstance(s, dict) and "signature" in s
    ]
    assert signatures, "the oracles' transactions are in the session files"


def _walk(value: object) -> Iterator[object]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def test_a_resumed_run_runs_its_missing_episodes_on_ray(cluster: Cluster, tmp_path: Path) -> None:
    files = [str(BENCHMARKS / f"{i}.yml") for i in ("001-sol-transfer", "002-spl-transfer")]
    ray = ("--executor", "ray", "--ray-address", cluster.address)
    first = reev("run", *files, "--log-dir", str(tmp_path), "--no-trace", *ray, **cluster.env)
    assert first.returncode == 0, first.stderr
    run = only_run(tmp_path)
    before = _sessions(run)
    lost = next(p for p in (run / "sessions").rglob("*.json") if DOOMED in str(p))
    lost.unlink()  # as if the episode never finished
    again = reev("run", "--resume", run.name, "--log-dir", str(tmp_path), *ray, **cluster.env)
    assert again.returncode == 0, again.stderr
    assert "1 of 2 episodes to run" in again.stderr
    assert _sessions(run) == before  # the same episode again: same seed, same session
    assert [r[3] for r in _results(run)] == ["Completed", "Completed"]


def _drive(cluster: Cluster, tmp_path: Path, agent: str, count: int, *retries: int) -> dict:
    """`helpers.ray_agents.drive` in a Ray driver process of its own (see its __main__)."""
    done = subprocess.run(
        [sys.executable, "-m", "helpers.ray_agents", agent, str(tmp_path / "attempts"),
         str(tmp_path), cluster.address, str(count), *map(str, retries)],
        check=False, capture_output=True, text=True, timeout=600,
        env=subprocess_env(**cluster.env),
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_worker_killed_mid_episode_is_retried_and_loses_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    markers = tmp_path / "attempts"
    out = _drive(cluster, tmp_path, "KillsItsWorkerOnce", 6)
    ids = out["planned"]
    assert DOOMED in ids
    results = out["results"]
    assert [r["benchmark_id"] for r in results] == ids  # every episode, once, in plan order
    assert sorted(out["seen"]) == sorted(ids)  # each streamed back once
    assert attempts(markers, DOOMED) == 2  # killed, then retried by Ray
    assert all(attempts(markers, i) == 1 for i in ids if i != DOOMED)
    doomed = next(r for r in results if r["benchmark_id"] == DOOMED)
    assert (doomed["status"], doomed["passed"]) == (str(ExecutionStatus.COMPLETED), True)
    assert doomed["session_file"] and Path(doomed["session_file"]).is_relative_to(tmp_path)


def test_when_retries_run_out_the_episode_fails_as_infrastructure(
    cluster: Cluster, tmp_path: Path
) -> None:
    markers = tmp_path / "attempts"
    out = _drive(cluster, tmp_path, "AlwaysKillsItsWorker", 3, 1)
    by_id = {r["benchmark_id"]: r for r in out["results"]}
    doomed = by_id.pop(DOOMED)
    assert attempts(markers, DOOMED) == 2  # the first attempt and its one retry
    assert doomed["status"] == str(ExecutionStatus.FAILED)
    assert doomed["error"] and doomed["error"].startswith("infrastructure: Ray gave up")
    assert all(r["status"] == str(ExecutionStatus.COMPLETED) for r in by_id.values())


def test_an_agent_failure_is_never_retried(cluster: Cluster, tmp_path: Path) -> None:
    markers = tmp_path / "attempts"
    out = _drive(cluster, tmp_path, "FailsOnce", 3)
    assert FAILING in out["planned"]
    failing = next(r for r in out["results"] if r["benchmark_id"] == FAILING)
    assert failing["status"] == str(ExecutionStatus.FAILED)
    assert failing["error"] and "the agent gave up" in failing["error"]
    assert not failing["error"].startswith("infrastructure")
    assert attempts(markers, FAILING) == 1  # run once: Ray retried nothing
    others = [r for r in out["results"] if r["benchmark_id"] != FAILING]
    assert others and all(r["status"] == str(ExecutionStatus.COMPLETED) for r in others)


def test_what_cannot_travel_is_refused_before_the_run(tmp_path: Path) -> None:
    bench = str(BENCHMARKS / "001-sol-transfer.yml")
    refused = reev("run", bench, "--log-dir", str(tmp_path), "--executor", "ray", "--workers", "2")
    assert refused.returncode == 2
    assert "--executor ray: --workers" in refused.stderr
    assert not (tmp_path / "runs").exists()  # refused before any run directory
    stray = reev("run", bench, "--log-dir", str(tmp_path), "--ray-address", "127.0.0.1:1")
    assert stray.returncode == 2
    assert "--ray-address goes with --executor ray" in stray.stderr


def test_an_address_where_no_cluster_listens_is_refused_in_seconds(tmp_path: Path) -> None:
    bench = str(BENCHMARKS / "001-sol-transfer.yml")
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    # Without the probe, ray.init retries such an address for many minutes: the helper's
    # timeout (180 s) would end the test with TimeoutExpired instead of an answer.
    done = reev(
        "run", bench, "--log-dir", str(tmp_path), "--executor", "ray", "--ray-address", address
    )
    assert done.returncode == 2, done.stderr
    assert f"no Ray cluster answers at {address}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()


def test_the_api_executions_run_on_the_cluster(cluster: Cluster, tmp_path: Path) -> None:
    benchmarks = copy_benchmarks(tmp_path / "benchmarks", ["001-sol-transfer"])
    server = ApiServer(
        tmp_path,
        db_url=sqlite_url(tmp_path / "reev.db"),
        benchmarks=benchmarks,
        args=["--executor", "ray", "--ray-address", cluster.address],
        env=subprocess_env(**cluster.env),
    )
    with server, server.client() as client:
        execution_id = submit(client, "001-sol-transfer", {"agent": "deterministic"})
        events = sse_events(client, execution_id)
        final = wait_status(client, "001-sol-transfer", execution_id, {"Completed", "Failed"})
    assert final["status"] == "Completed", (final, server.log_tail())
    assert final["score"] == 1.0
    pid = next(e["pid"] for name, e in events if name == "status" and e.get("pid"))
    # The execution's `reev run` connected to this cluster as a Ray driver: the cluster keeps a
    # log per driver process, named by its pid.
    drivers = list(cluster.temp_dir.glob(f"session_*/logs/python-core-driver-*_{pid}.log"))
    assert drivers, f"no Ray driver log for the execution's process {pid}"


def test_a_worker_with_another_reev_refuses_the_episode() -> None:
    """The version check on the worker's side (the driver raises it as an exit-2 error)."""
    from reev import __version__
    from reev.runner import ray_executor

    other = f"{__version__}.other"
    run = ray_executor._RayRun(
        params=None,  # type: ignore[arg-type]  # never read: the check comes first
        reev_version=other,
        shared_dir=False,
    )
    outcome = asyncio.run(ray_executor._episode_task(run, None))  # type: ignore[arg-type]
    assert outcome.result is None
    assert outcome.version_error is not None
    assert f"reev {__version__}" in outcome.version_error and other in outcome.version_error


def test_a_worker_of_another_reev_refuses_before_it_unpickles_the_run() -> None:
    """The worker process compares versions first: the run's object (which another reev may
    not unpickle) is never fetched; every episode sent to it answers with the version error."""
    from reev import __version__
    from reev.runner import ray_executor

    other = f"{__version__}.other"
    worker = ray_executor._EpisodeRunner(other, [None])  # no object reference to fetch
    assert worker.spec is None
    outcome = asyncio.run(worker.run(None))  # type: ignore[arg-type]
    assert outcome.result is None and outcome.version_error is not None
    assert f"reev {__version__}" in outcome.version_error and other in outcome.version_error


def test_only_what_an_agent_needs_of_the_environment_travels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reev.runner.ray_executor import environment_to_send

    monkeypatch.setenv("SOME_PROVIDER_API_KEY", "k1")
    monkeypatch.setenv("REEV_JUPITER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MY_KEY_VAR", "k2")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "ray's own")
    # The server's settings and tokens that are no agent's stay on the driver.
    monkeypatch.setenv("REEV_API_TOKEN", "the server's bearer token")
    monkeypatch.setenv("REEV_DATABASE_URL", "postgresql://u:pw@db/reev")
    monkeypatch.setenv("GITHUB_TOKEN", "not an agent's")
    sent = environment_to_send(("MY_KEY_VAR",))
    assert sent["SOME_PROVIDER_API_KEY"] == "k1" and sent["MY_KEY_VAR"] == "k2"
    assert sent["REEV_JUPITER_URL"] == "http://127.0.0.1:9"
    never = {"PATH", "HOME", "PYTHONPATH", "RAY_AUTH_TOKEN", "REEV_API_TOKEN", "GITHUB_TOKEN"}
    assert not (never | {"REEV_DATABASE_URL"}) & set(sent)
