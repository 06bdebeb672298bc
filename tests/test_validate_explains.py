"""`reev validate` says why (issue 17, item 5): the failing checks of a reference solution that
does not pass, the closest tool names for an unknown tool, a warning for a name written once and
declared nowhere (a likely typo)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers.api_server import clean_env
from helpers.paths import BENCHMARKS, subprocess_env
from reev.spec import load_many
from reev.validation import check_benchmark


def problems_of(tmp_path: Path, source: str, old: str, new: str) -> list[str]:
    """The diagnostics of bundled `source` with its first `old` replaced by `new`."""
    text = (BENCHMARKS / source).read_text("utf-8")
    assert old in text
    path = tmp_path / source
    path.write_text(text.replace(old, new, 1), "utf-8")
    loaded, errors = load_many([path], strict=False)
    assert errors == [] and len(loaded) == 1
    return [str(d) for d in check_benchmark(loaded[0])]


def test_a_solution_that_does_not_pass_names_its_failing_checks(tmp_path: Path) -> None:
    # 002 asserts the sender keeps 35 USDC; assert 34 and only that check fails.
    found = problems_of(
        tmp_path, "002-spl-transfer.yml", "expected: 35000000", "expected: 34000000"
    )
    assert len(found) == 1
    assert "does not pass" in found[0]
    failing = found[0].split("; failing checks: ", 1)[1]
    assert failing.startswith("[state] ") and "USER_USDC_ATA" in failing
    assert "RECIPIENT_USDC_ATA" not in failing  # the checks that pass are not listed


def test_an_unknown_tool_suggests_the_closest_name(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "011-sol-transfer-memo.yml", "tool: add_memo", "tool: memo")
    assert len(found) == 1
    assert "unknown tool 'memo' (did you mean 'add_memo'" in found[0]


def test_a_name_used_once_and_declared_nowhere_is_a_warning(tmp_path: Path) -> None:
    typo = "RECIPIENT_WALET_PUBKEY"
    found = problems_of(
        tmp_path,
        "001-sol-transfer.yml",
        "the recipient (RECIPIENT_WALLET_PUBKEY)",
        f"the recipient ({typo})",
    )
    warnings = [d for d in found if typo in d]
    assert len(warnings) == 1 and ": warning: " in warnings[0]


def test_the_bundled_suite_has_no_lone_names() -> None:
    loaded, errors = load_many([BENCHMARKS], strict=False)
    assert errors == []
    lone = [
        str(d)
        for item in loaded
        for d in check_benchmark(item, dry_run=False)
        if "appears once" in d.message
    ]
    assert lone == []


def validate(*args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env["PYTHONPATH"] = subprocess_env()["PYTHONPATH"]
    return subprocess.run(
        [sys.executable, "-m", "reev.cli", "validate", *args],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_schema_error_in_one_file_does_not_skip_the_others_dry_runs(tmp_path: Path) -> None:
    text = (BENCHMARKS / "002-spl-transfer.yml").read_text("utf-8")
    (tmp_path / "002-spl-transfer.yml").write_text(
        text.replace("expected: 35000000", "expected: 34000000", 1), "utf-8"
    )
    (tmp_path / "zz-broken.yml").write_text("id: zz-broken\nprompt: [\n", "utf-8")
    done = validate(str(tmp_path))
    assert done.returncode == 2
    assert "zz-broken.yml" in done.stderr  # the schema error
    assert "failing checks: [state]" in done.stderr  # and the valid file's dry run


@pytest.mark.slow
def test_strict_does_not_say_ignored(tmp_path: Path) -> None:
    text = (BENCHMARKS / "001-sol-transfer.yml").read_text("utf-8")
    path = tmp_path / "001-sol-transfer.yml"
    path.write_text(text + "colour: blue\n", "utf-8")
    done = validate("--strict", str(path))
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if "colour" in line]
    assert lines == [
        f"{path}:{len(text.splitlines()) + 1}: error: colour: unknown field (not allowed with --strict)"
    ]
