"""Issue 17, item 9: a fork benchmark without its snapshot says so instead of scoring 0.300.

A benchmark tagged `fork` is refused by `reev run` and `reev chain serve` on the bare embedded
chain, naming `--snapshot`; a benchmark whose expected instructions call a program that neither
the embedded chain nor `initial_state` has is a validation error at the program's line, whatever
its tags. With the snapshot both run (tests/test_fork.py).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers.paths import ROOT, TESTS, subprocess_env
from reev.spec import load_benchmark
from reev.validation import check_benchmark

FORK_BENCHMARK = TESTS / "fork" / "fork-001-upstream-programs.yml"
UPSTREAM_PROGRAMS = (
    "5M7U7vBbot8iqVcip84FBkuiqPBtph1zDDbp2rBxfuc5",  # the forked token program
    "FkQxyXCwGb1rCXMxZB7JpLbtC4gCMXecUXj4yn8aSdPH",  # the forked memo program
)


def reev(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reev.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,  # a regression serves forever: the timeout is the failure
        env=subprocess_env(COLUMNS="250"),
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [["run", str(FORK_BENCHMARK)], ["chain", "serve", str(FORK_BENCHMARK), "--port", "0"]],
    ids=["run", "chain-serve"],
)
def test_a_fork_benchmark_without_a_snapshot_is_refused_naming_snapshot(tmp_path, command):
    log_dir = tmp_path / "logs"
    extra = ["--log-dir", str(log_dir)] if command[0] == "run" else []
    result = reev(*command, *extra)
    assert result.returncode == 2, result.stderr
    assert f"{FORK_BENCHMARK}: fork-001-upstream-programs is a fork benchmark" in result.stderr
    assert "--snapshot DIR" in result.stderr and "--fork-url URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert not log_dir.exists(), "no episode may run (and score 0.300) without the accounts"


def test_validate_names_each_program_the_embedded_chain_lacks_at_its_line(tmp_path):
    # Untagged: the rule is what the chain has, not the tag.
    text = FORK_BENCHMARK.read_text().replace("tags: [fork, memo, system, t2]", "tags: [memo]")
    path = tmp_path / "undeclared-programs.yml"
    path.write_text(text)
    lines = text.splitlines()
    problems = check_benchmark(load_benchmark(path))
    missing = [p for p in problems if "does not exist on the embedded chain" in p.message]
    assert len(missing) == len(UPSTREAM_PROGRAMS)
    for problem, program in zip(missing, UPSTREAM_PROGRAMS, strict=True):
        assert program in problem.message and "--snapshot DIR" in problem.message
        assert problem.severity == "error"
        expected_line = next(
            i for i, line in enumerate(lines, 1) if f"program_id: {program}" in line
        )
        assert problem.line == expected_line


def test_no_bundled_benchmark_calls_a_program_the_embedded_chain_lacks():
    """The check must not fire where the programs exist (System, Memo, SPL, Stake, reev's own):
    every bundled benchmark expects only those."""
    flagged = [
        str(problem)
        for path in sorted((ROOT / "benchmarks").glob("*.yml"))
        for problem in check_benchmark(load_benchmark(path), dry_run=False)
        if "embedded chain" in problem.message
    ]
    assert flagged == []
