"""Resume and retry (issue 19, part 2): a run killed with SIGKILL midway and resumed ends with
the results an uninterrupted run has, no episode run twice; SIGINT stops cleanly and leaves a
resumable run; a changed benchmark file is refused; `reev retry` re-runs only what failed."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from helpers.fake_openai import FakeOpenAI, Reply, SolutionPlayer
from helpers.paths import BENCHMARKS
from helpers.reev_cli import load_json, only_run, reev, session_files, start_reev
from helpers.suite import bundled

pytestmark = pytest.mark.slow

NAMES = [
    "001-sol-transfer",
    "002-spl-transfer",
    "005-sol-transfer-multi",
    "009-wrap-sol",
]
FILES = [str(BENCHMARKS / f"{name}.yml") for name in NAMES]
EPOCHS = 2
PLAN = len(NAMES) * EPOCHS


class SlowPlayer(SolutionPlayer):
    """The competent model, taking a while per answer: a run lasts long enough to be killed."""

    def __call__(self, body: dict[str, Any]) -> Reply:
        reply = super().__call__(body)
        reply.delay_s = 0.1
        return reply


def run_args(server: FakeOpenAI, log_dir: Path, *extra: str) -> list[str]:
    return [
        "run",
        *FILES,
        "--agent",
        "local/scripted-model",
        "--base-url",
        server.base_url,
        "--epochs",
        str(EPOCHS),
        "--seed",
        "11",
        "--log-dir",
        str(log_dir),
        *extra,
    ]


def outcome(run_dir: Path) -> dict[tuple[str, int], tuple[str, float, list[str], int]]:
    """(benchmark, epoch) → (status, score, signatures, seed) from the run's session files."""
    found = {}
    for path in session_files(run_dir):
        s = load_json(path)
        signatures = [t["signature"] for step in s["steps"] for t in step["transactions"]]
        key = (s["benchmark_id"], s["epoch"])
        found[key] = (
            s["final_result"]["status"],
            s["final_result"]["score"],
            signatures,
            s["seed"],
        )
    return found


def wait_for_sessions(run_root: Path, at_least: int, proc: Any, limit_s: float = 60) -> int:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        count = len(list(run_root.glob("runs/*/sessions/*/epoch-*.json")))
        if count >= at_least:
            return count
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the run wrote no sessions in time")


@pytest.fixture(scope="module")
def server():
    benches = [bundled()[name] for name in NAMES]
    with FakeOpenAI(SlowPlayer(benches)) as fake:
        yield fake


@pytest.fixture(scope="module")
def uninterrupted(server: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory):
    log_dir = tmp_path_factory.mktemp("whole")
    done = reev(*run_args(server, log_dir, "--name", "whole"))
    assert done.returncode == 0, done.stderr
    return only_run(log_dir)


def test_sigkill_midway_then_resume_equals_an_uninterrupted_run(
    server: FakeOpenAI, uninterrupted: Path, tmp_path: Path
) -> None:
    proc = start_reev(*run_args(server, tmp_path, "--name", "killed"))
    wait_for_sessions(tmp_path, 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    run_dir = only_run(tmp_path)
    before = {p: p.read_bytes() for p in session_files(run_dir)}
    assert 3 <= len(before) < PLAN, "the kill came too late to test a resume"
    assert load_json(run_dir / "run.json")["status"] == "running"  # it never got to finish

    requests_before = len(server.requests)
    resumed = reev("run", "--resume", "killed", "--log-dir", str(tmp_path))
    assert resumed.returncode == 0, resumed.stderr
    assert f"{PLAN - len(before)} of {PLAN} episodes to run" in resumed.stderr
    # Kept episodes were not run again: their files are byte for byte what the killed run wrote.
    for path, data in before.items():
        assert path.read_bytes() == data
    assert len(session_files(run_dir)) == PLAN
    assert outcome(run_dir) == outcome(uninterrupted)
    results = load_json(run_dir / "results.json")
    keys = [(r["benchmark_id"], r["epoch"]) for r in results["results"]]
    assert len(keys) == len(set(keys)) == PLAN
    whole = load_json(uninterrupted / "results.json")
    assert [
        (r["benchmark_id"], r["epoch"], r["status"], r["score"]) for r in results["results"]
    ] == [(r["benchmark_id"], r["epoch"], r["status"], r["score"]) for r in whole["results"]]
    assert results["summary"]["episodes"] == PLAN
    assert results["summary"]["cancelled"] == 0
    config = load_json(run_dir / "run.json")
    assert config["status"] == "finished" and len(config["resumes"]) == 1
    # Only the missing episodes spoke to the model: each makes (its tool calls + 1) requests.
    assert len(server.requests) > requests_before
    again = reev("run", "--resume", "killed", "--log-dir", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert f"0 of {PLAN} episodes to run" in again.stderr


def test_sigint_records_cancelled_and_leaves_a_resumable_run(
    server: FakeOpenAI, uninterrupted: Path, tmp_path: Path
) -> None:
    proc = start_reev(*run_args(server, tmp_path))
    wait_for_sessions(tmp_path, 2, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    run_dir = only_run(tmp_path)
    config = load_json(run_dir / "run.json")
    assert config["status"] == "interrupted"
    assert f"reev run --resume {config['run_id']}" in stderr
    results = load_json(run_dir / "results.json")
    finished = len(session_files(run_dir))
    assert finished < PLAN
    statuses = [r["status"] for r in results["results"]]
    assert len(statuses) == PLAN  # the whole plan is accounted for
    assert statuses.count("Cancelled") == PLAN - finished
    resumed = reev("run", "--resume", "latest", "--log-dir", str(tmp_path))
    assert resumed.returncode == 0, resumed.stderr
    assert outcome(run_dir) == outcome(uninterrupted)


def test_a_changed_benchmark_is_refused_unless_forced(tmp_path: Path) -> None:
    bench = tmp_path / "b.yml"
    bench.write_text((BENCHMARKS / "001-sol-transfer.yml").read_text())
    log_dir = tmp_path / "logs"
    first = reev("run", str(bench), "--log-dir", str(log_dir), "--name", "one")
    assert first.returncode == 0, first.stderr
    bench.write_text(bench.read_text() + "\n# edited\n")
    refused = reev("run", "--resume", "one", "--log-dir", str(log_dir))
    assert refused.returncode == 2
    assert "001-sol-transfer changed since the run started" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    forced = reev("run", "--resume", "one", "--force", "--log-dir", str(log_dir))
    assert forced.returncode == 0, forced.stderr
    other = reev("run", "--resume", "one", "--seed", "3", "--log-dir", str(log_dir))
    assert other.returncode == 2 and "drop --seed" in other.stderr
    unknown = reev("run", "--resume", "nope", "--log-dir", str(log_dir))
    assert unknown.returncode == 2 and "no run 'nope'" in unknown.stderr


def test_retry_reruns_only_failed_and_timeout_episodes(tmp_path: Path) -> None:
    """A model that errors on one benchmark's first run, then plays the solution: `reev retry`
    runs that benchmark's episode alone and the run ends all passed."""
    names = ["001-sol-transfer", "002-spl-transfer"]
    benches = [bundled()[name] for name in names]
    player = SolutionPlayer(benches)
    broken = {"on": True}

    def script(body: dict[str, Any]) -> Reply:
        if broken["on"] and "15 USDC" in str(body["messages"][1]["content"]):
            return Reply(status=400, error_message="scripted bad request")
        return player(body)

    with FakeOpenAI(script) as server:
        log_dir = tmp_path / "logs"
        args = ["--agent", "local/scripted-model", "--base-url", server.base_url]
        files = [str(BENCHMARKS / f"{n}.yml") for n in names]
        first = reev("run", *files, *args, "--log-dir", str(log_dir), "--name", "flaky")
        assert first.returncode == 1, first.stderr
        run_dir = only_run(log_dir)
        statuses = {
            r["benchmark_id"]: r["status"] for r in load_json(run_dir / "results.json")["results"]
        }
        assert statuses == {"001-sol-transfer": "Completed", "002-spl-transfer": "Failed"}
        kept = (run_dir / "sessions" / "001-sol-transfer" / "epoch-0.json").read_bytes()
        broken["on"] = False
        seen = len(server.requests)
        retried = reev("retry", "flaky", "--log-dir", str(log_dir))
        assert retried.returncode == 0, retried.stderr
        assert "1 of 2 episodes to run" in retried.stderr
        assert (run_dir / "sessions" / "001-sol-transfer" / "epoch-0.json").read_bytes() == kept
        asked = server.requests[seen:]
        assert asked and all("15 USDC" in str(b["messages"][1]["content"]) for b in asked)
        summary = load_json(run_dir / "results.json")["summary"]
        assert summary["passed"] == 2 and summary["failed"] == 0


def test_a_run_being_run_cannot_be_resumed_twice(tmp_path: Path) -> None:
    benches = [bundled()[name] for name in NAMES]

    class VerySlow(SolutionPlayer):
        delay_s = 1.0

        def __call__(self, body: dict[str, Any]) -> Reply:
            reply = super().__call__(body)
            reply.delay_s = self.delay_s
            return reply

    player = VerySlow(benches)
    with FakeOpenAI(player) as slow:
        proc = start_reev(*run_args(slow, tmp_path))
        try:
            deadline = time.monotonic() + 60
            while not list(tmp_path.glob("runs/*/run.lock")):
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.05)
            second = reev("run", "--resume", "latest", "--log-dir", str(tmp_path))
            assert second.returncode == 2
            assert f"is being run by process {proc.pid}" in second.stderr
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        assert (only_run(tmp_path) / "run.lock").exists()  # SIGKILL left it: stale, taken over
        player.delay_s = 0.0
        resumed = reev("run", "--resume", "latest", "--log-dir", str(tmp_path))
        assert resumed.returncode == 0, resumed.stderr
    assert not (only_run(tmp_path) / "run.lock").exists()
