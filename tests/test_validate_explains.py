"""`reev validate` says why (issue 17, item 5): the failing checks of a reference solution that
does not pass, the closest tool names for an unknown tool, a warning for a name written once and
declared nowhere (a likely typo)."""

from __future__ import annotations

from pathlib import Path

from helpers.paths import BENCHMARKS
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
