"""`reev run` exits 1 when episodes were not started (`Cancelled`), even when every episode that
ran completed: what docs/session.md ("Exit codes") and the README say, pinned to the code."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.fake_openai import FakeOpenAI, SolutionPlayer
from helpers.paths import BENCHMARKS
from helpers.reev_cli import reev
from helpers.suite import benchmark

BENCH = "001-sol-transfer"


def run_args(server: FakeOpenAI, tmp: Path, name: str, *extra: str) -> list[str]:
    return [
        "run",
        str(BENCHMARKS / f"{BENCH}.yml"),
        "--agent",
        "local/scripted-model",
        "--base-url",
        server.base_url,
        "--log-dir",
        str(tmp / name),
        "-o",
        str(tmp / f"{name}.json"),
        *extra,
    ]


def test_cancelled_episodes_alone_make_the_run_exit_1(tmp_path: Path):
    with FakeOpenAI(SolutionPlayer([benchmark(BENCH)])) as server:
        first = reev(*run_args(server, tmp_path, "one"))
        assert first.returncode == 0, first.stderr
        usage = json.loads((tmp_path / "one.json").read_text())["results"][0]["usage"]
        spent = usage["input_tokens"] + usage["output_tokens"]
        # A budget of exactly what epoch 0 spends: every one of its calls starts under the
        # limit, so it completes; then the limit is reached and epoch 1 is never started.
        budgeted = reev(
            *run_args(server, tmp_path, "two"),
            "--epochs",
            "2",
            "--max-concurrency",
            "1",
            "--max-tokens",
            str(spent),
        )
    results = json.loads((tmp_path / "two.json").read_text())
    assert [r["status"] for r in results["results"]] == ["Completed", "Cancelled"]
    assert results["summary"]["failed"] == 0 and results["summary"]["cancelled"] == 1
    assert "1 episodes not started" in budgeted.stderr
    assert budgeted.returncode == 1, budgeted.stderr
