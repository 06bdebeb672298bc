"""Runs as first-class objects (issue 19, parts 1 and 6): the run directory and its run.json,
`reev runs`, `show`/`flow`/`tx-logs` by run and benchmark, and the fail-fast endpoint check."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from helpers.fake_openai import FakeOpenAI, SolutionPlayer
from helpers.paths import BENCHMARKS
from helpers.reev_cli import load_json, only_run, reev, session_files
from helpers.suite import bundled
from reev.runs import RunConfig, RunDir, RunNotFound, create_run, redact_url, resolve_run, url_host

NAMES = ["001-sol-transfer", "002-spl-transfer"]
FILES = [BENCHMARKS / f"{name}.yml" for name in NAMES]


def config(run_id: str, name: str | None = None, created: str = "2026-01-01T00:00:00+00:00"):
    return RunConfig(
        run_id=run_id,
        name=name,
        created_at=created,
        reev_version="0",
        agent="deterministic",
        seed=0,
        profile="verified",
        epochs=1,
        max_concurrency=1,
        benchmarks=[],
    )


def test_resolve_run_by_latest_id_prefix_name_and_path(tmp_path: Path) -> None:
    with pytest.raises(RunNotFound, match="no runs in"):
        resolve_run("latest", tmp_path)
    old = create_run(tmp_path, config("20260101-000000-aaaa", "nightly"))
    new = create_run(
        tmp_path, config("20260102-000000-bbbb", "nightly", "2026-01-02T00:00:00+00:00")
    )
    create_run(tmp_path, config("20260102-000000-bbbc", None, "2026-01-02T00:00:01+00:00"))
    assert resolve_run("latest", tmp_path).config.run_id == "20260102-000000-bbbc"
    assert resolve_run("nightly", tmp_path).path == new.path  # the newest run of the name
    assert resolve_run("20260101", tmp_path).path == old.path  # a unique prefix
    assert resolve_run(str(old.path), tmp_path).path == old.path
    with pytest.raises(RunNotFound, match="ambiguous"):
        resolve_run("20260102-000000-bbb", tmp_path)
    with pytest.raises(RunNotFound, match="no run 'other'"):
        resolve_run("other", tmp_path)
    with pytest.raises(RunNotFound, match="not a run directory"):
        RunDir(tmp_path / "nowhere").config  # noqa: B018 (reading it is the test)


def test_urls_are_stored_without_credentials() -> None:
    assert redact_url("https://user:s3cret@api.example.com:8443/v1?api-key=k#x") == (
        "https://api.example.com:8443/v1"
    )
    assert url_host("https://user:s3cret@api.example.com:8443/v1") == "api.example.com:8443"
    assert url_host("http://127.0.0.1/v1") == "127.0.0.1"
    assert url_host("deterministic") is None


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    log_dir = tmp_path_factory.mktemp("logs")
    done = reev(
        "run",
        *map(str, FILES),
        "--epochs",
        "2",
        "--seed",
        "5",
        "--name",
        "pair",
        "--log-dir",
        str(log_dir),
        "--output",
        str(log_dir / "out.json"),
    )
    assert done.returncode == 0, done.stderr
    return log_dir, done.stdout


@pytest.mark.slow
def test_a_run_directory_holds_its_configuration_results_and_sessions(two_epochs) -> None:
    log_dir, stdout = two_epochs
    run_dir = only_run(log_dir)
    assert f"run {run_dir.name} (pair): {run_dir}" in stdout  # printed at the end
    config = load_json(run_dir / "run.json")
    assert config["name"] == "pair" and config["status"] == "finished"
    assert (config["seed"], config["epochs"], config["agent"]) == (5, 2, "deterministic")
    assert [b["id"] for b in config["benchmarks"]] == NAMES
    for entry, path in zip(config["benchmarks"], FILES, strict=True):
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [p.relative_to(run_dir).as_posix() for p in session_files(run_dir)] == [
        f"sessions/{name}/epoch-{epoch}.json" for name in NAMES for epoch in (0, 1)
    ]
    for path in session_files(run_dir):
        session = load_json(path)
        assert f"sessions/{session['benchmark_id']}/epoch-{session['epoch']}.json" in str(path)
    results = load_json(run_dir / "results.json")
    output = load_json(log_dir / "out.json")
    assert results["run_id"] == run_dir.name and results["run_name"] == "pair"
    assert results["results"] == output["results"]  # the shape of --output
    assert results["summary"] == output["summary"]


@pytest.mark.slow
def test_reev_runs_lists_the_run(two_epochs) -> None:
    log_dir, _ = two_epochs
    listed = reev("runs", "--log-dir", str(log_dir))
    assert listed.returncode == 0, listed.stderr
    run_id = only_run(log_dir).name
    row = next(line for line in listed.stdout.splitlines() if run_id in line)
    summary = load_json(only_run(log_dir) / "results.json")["summary"]
    for cell in ("pair", "deterministic", "finished", "4/4", f"{summary['mean_score']:.3f}"):
        assert cell in row
    empty = reev("runs", "--log-dir", str(log_dir / "none"))
    assert empty.returncode == 0 and "no runs in" in empty.stdout


@pytest.mark.slow
def test_show_flow_and_tx_logs_take_a_run_and_a_benchmark(two_epochs) -> None:
    log_dir, _ = two_epochs
    run_dir = only_run(log_dir)
    session = load_json(run_dir / "sessions" / "002-spl-transfer" / "epoch-1.json")
    signature = session["steps"][0]["transactions"][0]["signature"]
    at = ["--log-dir", str(log_dir)]
    for ref in ("latest", "pair", run_dir.name[:15], str(run_dir)):
        shown = reev("show", ref, "002-spl-transfer", "--epoch", "1", *at)
        assert shown.returncode == 0, shown.stderr
        assert signature in shown.stdout
    assert signature in reev("tx-logs", "pair", "002", "--epoch", "1", *at).stdout
    flow = reev("flow", "latest", "002-spl-transfer", "--epoch", "1", *at)
    assert flow.returncode == 0 and flow.stdout.startswith("flowchart")
    errors = {
        ("show", "latest"): "has 2 benchmarks: name one",
        ("show", "latest", "999-nothing"): "is not in it",
        ("show", "latest", "001", "--epoch", "7"): "has epochs 0..1, not 7",
        ("show", str(log_dir)): "a directory, not a session file or a run directory",
        ("show", "no-such-run", "001"): "no such file or run",
        ("flow", "no-such.jsonl"): "no such file",
    }
    for args, message in errors.items():
        failed = reev(*args, *at)
        assert failed.returncode == 2, (args, failed.stderr)
        assert message in failed.stderr and "Traceback" not in failed.stderr, failed.stderr


@pytest.mark.slow
def test_a_dead_endpoint_stops_the_run_in_seconds_naming_only_its_host(tmp_path: Path) -> None:
    started = time.monotonic()
    done = reev(
        "run",
        str(FILES[0]),
        "--agent",
        "openai/gpt-4o",
        "--base-url",
        "http://alice:hunter2@127.0.0.1:1/v1?key=k",
        "--log-dir",
        str(tmp_path),
        OPENAI_API_KEY="sk-unused",
    )
    assert time.monotonic() - started < 10
    assert done.returncode == 2, done.stderr
    assert "127.0.0.1:1" in done.stderr
    for secret in ("alice", "hunter2", "key=k", "sk-unused"):
        assert secret not in done.stderr + done.stdout
    assert not (tmp_path / "runs").exists()  # no run started


@pytest.mark.slow
def test_a_rejected_key_and_a_missing_model_fail_before_any_episode(tmp_path: Path) -> None:
    benches = [bundled()[NAMES[0]]]
    with FakeOpenAI(SolutionPlayer(benches), models=["scripted-model"], api_key="right") as server:
        args = ["run", str(FILES[0]), "--base-url", server.base_url, "--log-dir", str(tmp_path)]
        args += ["--api-key-env", "SCRIPTED_KEY"]
        wrong = reev(*args, "--agent", "local/scripted-model", SCRIPTED_KEY="wrong")
        assert wrong.returncode == 2 and "rejected the key (HTTP 401)" in wrong.stderr
        assert "SCRIPTED_KEY" in wrong.stderr and "wrong" not in wrong.stderr.replace(
            "rejected", ""
        )
        missing = reev(*args, "--agent", "local/other-model", SCRIPTED_KEY="right")
        assert missing.returncode == 2
        assert "model 'other-model' is not offered" in missing.stderr
        assert "scripted-model" in missing.stderr  # what it does offer
        assert server.requests == []  # no chat request was ever sent
        fine = reev(*args, "--agent", "local/scripted-model", SCRIPTED_KEY="right")
        assert fine.returncode == 0, fine.stderr
        assert server.model_list_requests == 3


@pytest.mark.slow
def test_without_a_terminal_progress_is_one_line_per_episode(two_epochs) -> None:
    log_dir, _ = two_epochs
    done = reev("run", "--resume", "pair", "--log-dir", str(log_dir))
    assert done.returncode == 0
    assert "0 of 4 episodes to run" in done.stderr
    fresh = reev("run", str(FILES[0]), "--log-dir", str(log_dir / "again"))
    lines = [line for line in fresh.stderr.splitlines() if line.startswith("[")]
    assert lines == [lines[0]] and lines[0].startswith("[1/1] 001-sol-transfer epoch 0 · Completed")


@pytest.mark.slow
def test_record_stores_the_run_and_its_executions(tmp_path: Path) -> None:
    from sqlalchemy import select

    from reev.store.engine import make_engine, session_factory
    from reev.store.models import ExecutionRow
    from reev.store.repository import get_run

    url = f"sqlite:///{tmp_path / 'reev.db'}"
    done = reev(
        "run",
        *map(str, FILES),
        "--record",
        "--db",
        url,
        "--name",
        "rec",
        "--log-dir",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    run_id = only_run(tmp_path).name
    with session_factory(make_engine(url))() as session:
        row = get_run(session, run_id)
        assert row is not None
        assert (row.name, row.status, row.agent, row.epochs) == (
            "rec",
            "finished",
            "deterministic",
            1,
        )
        assert row.config["benchmarks"][0]["id"] == NAMES[0]
        executions = session.scalars(select(ExecutionRow)).all()
        assert sorted(e.benchmark_id for e in executions) == NAMES
        assert {e.run_id for e in executions} == {run_id}
