"""The `reev` command as a user runs it: a real subprocess, real files, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.paths import BENCHMARKS, ROOT

REEV = [sys.executable, "-m", "reev.cli"]


def reev(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # A wide virtual terminal so Rich does not wrap signatures across lines.
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run(
        [*REEV, *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=120,
        env=env,
    )


GOOD = (BENCHMARKS / "001-sol-transfer.yml").read_text()


def line_of(text: str, marker: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "mutate", "marker", "field"),
    [
        (
            "bad-indent",
            lambda t: t.replace("    lamports: 0", "       lamports: 0"),
            "       lamports: 0",
            None,
        ),
        (
            "missing-prompt",
            lambda t: "\n".join(line for line in t.splitlines() if not line.startswith("prompt:")),
            None,
            "prompt",
        ),
        (
            "unknown-assertion",
            lambda t: t.replace(
                "- type: SolBalance\n      pubkey: RECIPIENT",
                "- type: SolBalanz\n      pubkey: RECIPIENT",
            ),
            "type: SolBalanz",
            "ground_truth.final_state_assertions[0]",
        ),
        (
            "non-numeric",
            lambda t: t.replace("expected: 100000000 # 0.1 SOL", "expected: lots"),
            "expected: lots",
            "ground_truth.final_state_assertions[0].expected",
        ),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_malformed_yaml_exits_2_with_file_line_field(
    tmp_path, name, mutate, marker, field, command
):
    text = mutate(GOOD)
    assert text != GOOD
    path = tmp_path / f"{name}.yml"
    path.write_text(text)
    proc = reev(command, str(path), *(["--log-dir", str(tmp_path)] if command == "run" else []))
    assert proc.returncode == 2, proc.stderr
    expected_line = line_of(text, marker) if marker else 1
    assert f"{path}:{expected_line}:" in proc.stderr, proc.stderr
    if field:
        assert field in proc.stderr


@pytest.mark.slow
def test_bundled_suite_validates_and_lists():
    proc = reev("validate", "benchmarks/")
    assert proc.returncode == 0, proc.stderr
    listing = reev("list", "benchmarks/")
    assert listing.returncode == 0
    for path in BENCHMARKS.glob("*.yml"):
        assert path.stem in listing.stdout


@pytest.mark.slow
def test_run_writes_results_json_and_sessions(tmp_path):
    out = tmp_path / "results.json"
    proc = reev(
        "run",
        "benchmarks/",
        "--output",
        str(out),
        "--seed",
        "7",
        "--log-dir",
        str(tmp_path / "logs"),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    ids = sorted(p.stem for p in BENCHMARKS.glob("*.yml"))
    assert sorted(r["benchmark_id"] for r in data["results"]) == ids
    for r in data["results"]:
        assert set(r) >= {
            "benchmark_id",
            "epoch",
            "execution_id",
            "score",
            "passed",
            "status",
            "breakdown",
            "duration_ms",
            "session_file",
        }
        assert set(r["breakdown"]) == {"state", "instruction", "transaction"}
        assert r["run_seed"] == 7
        session = json.loads(Path(r["session_file"]).read_text())
        assert session["execution_id"] == r["execution_id"]
        assert session["final_result"]["score"] == pytest.approx(r["score"])
        assert isinstance(session["final_result"]["success"], bool)
    assert data["summary"]["episodes"] == len(ids)


@pytest.mark.slow
def test_execution_id_names_the_session_file_and_show_prints_the_tree(tmp_path):
    proc = reev(
        "run",
        "benchmarks/001-sol-transfer.yml",
        "--execution-id",
        "abc123",
        "--log-dir",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    session_file = tmp_path / "sessions" / "session_abc123.json"
    session = json.loads(session_file.read_text())
    signature = session["steps"][0]["transactions"][0]["signature"]
    shown = reev("show", str(session_file))
    assert shown.returncode == 0
    assert signature in shown.stdout
    assert "CU=150" in shown.stdout  # a System transfer costs 150 compute units


@pytest.mark.slow
def test_reev_profile_from_cli(tmp_path):
    out = tmp_path / "r.json"
    proc = reev(
        "run",
        "benchmarks/004-partial-score-spl-transfer.yml",
        "--profile",
        "reev",
        "-o",
        str(out),
        "--log-dir",
        str(tmp_path),
    )
    assert proc.returncode == 0
    assert json.loads(out.read_text())["results"][0]["score"] == pytest.approx(
        0.75 * 1.25 / 1.75 + 0.25, abs=1e-6
    )


@pytest.mark.slow
def test_bad_options_exit_2(tmp_path):
    assert reev("run", "benchmarks/", "--agent", "nope", "--log-dir", str(tmp_path)).returncode == 2
    assert (
        reev("run", "benchmarks/", "--profile", "nope", "--log-dir", str(tmp_path)).returncode == 2
    )
    assert reev("run", str(tmp_path / "missing.yml")).returncode == 2
    assert reev("show", str(tmp_path / "missing.json")).returncode == 2


@pytest.mark.slow
def test_fail_under_exits_3(tmp_path):
    proc = reev(
        "run",
        "benchmarks/003-spl-transfer-fail.yml",
        "--fail-under",
        "0.95",
        "--log-dir",
        str(tmp_path),
    )
    assert proc.returncode == 3
    ok = reev(
        "run",
        "benchmarks/003-spl-transfer-fail.yml",
        "--fail-under",
        "0.85",
        "--log-dir",
        str(tmp_path),
    )
    assert ok.returncode == 0


@pytest.mark.slow
def test_failed_episode_exits_1(tmp_path):
    path = tmp_path / "nosolution.yml"
    path.write_text("\n".join(line for line in GOOD.split("solution:")[0].splitlines()))
    proc = reev("run", str(path), "--log-dir", str(tmp_path))
    assert proc.returncode == 1
    assert "no `solution`" in proc.stderr


@pytest.mark.slow
def test_unknown_field_warns_and_strict_fails(tmp_path):
    path = tmp_path / "extra.yml"
    path.write_text(GOOD.replace("tags:", "colour: blue\ntags:"))
    proc = reev("validate", str(path))
    assert proc.returncode == 0
    assert (
        f"{path}:{line_of(path.read_text(), 'colour')}: warning: colour: unknown field"
        in proc.stderr
    )
    assert reev("validate", "--strict", str(path)).returncode == 2


@pytest.mark.slow
def test_list_groups_by_category_with_a_tier_column_in_80_columns():
    from helpers.suite import bundled
    from reev.spec.categories import CATEGORIES, OTHER, category_of, tier_of

    assert category_of(["transfer", "flow", "wsol", "t3"]) == "flow"  # the first known category
    assert category_of(["transfer", "t1"]) == OTHER and tier_of(["transfer"]) is None
    suite = bundled()
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.run(
        [*REEV, "list", "benchmarks/"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    group, groups, rows = None, [], {}
    for line in lines:
        words = line.split()
        if len(words) == 2 and words[1].startswith("(") and words[0] in (*CATEGORIES, OTHER):
            group = words[0]
            groups.append(group)
            assert int(words[1].strip("()")) == sum(
                category_of(b.tags) == group for b in suite.values()
            )
        elif words and words[0] in suite:
            rows[words[0]] = (group, words[1], words[2])  # category, tier, steps
    assert groups == sorted(groups, key=lambda c: (*CATEGORIES, OTHER).index(c))
    assert set(rows) == set(suite)
    for benchmark_id, (group, tier, steps) in rows.items():
        bench = suite[benchmark_id]
        assert group == category_of(bench.tags)
        assert tier == (tier_of(bench.tags) or "-")
        assert steps == str(bench.step_count)

    filtered = reev("list", "benchmarks/", "--tags", "flow,t3")
    assert filtered.returncode == 0, filtered.stderr
    wanted = {i for i, b in suite.items() if {"flow", "t3"} <= set(b.tags)}
    assert (
        wanted
        and {w for line in filtered.stdout.splitlines() for w in line.split()[:1] if w in suite}
        == wanted
    )


def test_the_option_enums_are_the_choices_the_code_knows():
    """`--profile` offers exactly the scoring profiles, and `reev run --help` shows the choices."""
    from reev.cli.options import ChainKind, Profile
    from reev.scoring import PROFILES

    assert [p.value for p in Profile] == list(PROFILES)
    shown = reev("run", "--help").stdout
    assert "verified|reev" in shown and "litesvm|rpc" in shown
    assert {c.value for c in ChainKind} == {"litesvm", "rpc"}
