"""The default `transaction_status` of a benchmark whose expected outcome needs no transaction
(issue 15: the original 114 is a query). A file that does not declare `transaction_status`,
has final-state assertions, and whose assertions all hold on the initial state is scored like
`Skip` when nothing is submitted; every other case still demands a transaction. The rule reads
the file and the chain, never a benchmark id."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers.episodes import ScriptedAgent, run
from reev.spec.loader import parse_benchmark

QUERY = [[("get_balance", {})]]  # looks, sends nothing
TRANSFER = [
    [
        ("sol_transfer", {"recipient": "{FRIEND_WALLET}", "amount": "0.1"}),
        ("submit_transaction", {}),
    ]
]


def bench(expected: int, status: str = "") -> str:
    return textwrap.dedent(
        f"""\
        id: status-test
        prompt: How much SOL do I have? (my friend is FRIEND_WALLET)
        initial_state:
          - pubkey: USER_WALLET_PUBKEY
            lamports: 1000000000
          - pubkey: FRIEND_WALLET
            lamports: 1000000000
        ground_truth:
          {status}
          final_state_assertions:
            - type: SolBalance
              pubkey: USER_WALLET_PUBKEY
              expected: {expected}
        """
    )


def checks(text: str, steps, tmp_path: Path) -> tuple[bool, float, list[str]]:
    benchmark = parse_benchmark(text, "status.yml").benchmark
    result, session = run(benchmark, ScriptedAgent(steps), tmp_path)
    assert result.status == "Completed", result.error
    names = [c.name for c in session.final_result.checks if not c.passed]
    components = [c.component for c in session.final_result.checks]
    assert result.passed == (not names)
    return result.passed, result.score, [*names, *(c for c in components if c == "transaction")]


def test_a_query_whose_outcome_holds_at_the_start_passes_without_a_transaction(tmp_path) -> None:
    passed, score, rest = checks(bench(10**9), QUERY, tmp_path)
    assert passed and score == pytest.approx(1.0) and rest == []  # no transaction check at all


def test_a_declared_success_still_demands_a_transaction(tmp_path) -> None:
    passed, _, rest = checks(bench(10**9, "transaction_status: Success"), QUERY, tmp_path)
    assert not passed and rest == ["transactions submitted", "transaction"]


def test_an_outcome_that_needs_a_change_still_demands_a_transaction(tmp_path) -> None:
    passed, _, rest = checks(bench(10**9 - 10**8 - 5000), QUERY, tmp_path)
    assert not passed
    assert rest == ["SolBalance USER_WALLET_PUBKEY", "transactions submitted", "transaction"]


def test_a_transaction_sent_anyway_must_succeed_and_is_scored(tmp_path) -> None:
    """The rule only waives the demand for a transaction: one sent is checked as before (here
    it succeeds but changes the balance the query was to leave alone)."""
    passed, _, rest = checks(bench(10**9), TRANSFER, tmp_path)
    assert not passed and rest == ["SolBalance USER_WALLET_PUBKEY", "transaction"]
