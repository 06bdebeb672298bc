"""Near-miss agents never pass in `verified`, and get exactly the partial scores the rules give.

Every expected figure below is computed from the scoring rules (verified weights 0.6 / 0.3 / 0.1;
reev 0.75 / 0.25; 001's expected instruction is worth 4 points: program 1, two accounts 1 each,
data 1), not read from a run.
"""

from __future__ import annotations

import pytest

from helpers.episodes import ScriptedAgent, run
from helpers.suite import benchmark
from reev.scoring.profiles import REEV_INSTRUCTION_WEIGHT as R_I
from reev.scoring.profiles import REEV_TRANSACTION_WEIGHT as R_T
from reev.scoring.profiles import VERIFIED_WEIGHTS as W

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def verified(state: float, instruction: float, transaction: float) -> float:
    return W["state"] * state + W["instruction"] * instruction + W["transaction"] * transaction


SEND = ("sol_transfer", {"recipient": "{RECIPIENT_WALLET_PUBKEY}", "amount": "0.1"})
SUBMIT = ("submit_transaction", {})

CASES_001 = {
    # 0.2 SOL instead of 0.1: both balances wrong; data differs (3 of 4 points).
    "wrong_amount": (
        [("sol_transfer", {"recipient": "{RECIPIENT_WALLET_PUBKEY}", "amount": "0.2"}), SUBMIT],
        verified(0 / 2, 3 / 4, 1),
        R_I * 3 / 4 + R_T * 1,
    ),
    # Right amount to the wrong wallet (the user's own): the user's balance still drops by the
    # fee only, so both assertions fail; account 1 differs (3 of 4 points).
    "wrong_recipient": (
        [("sol_transfer", {"recipient": "{USER_WALLET_PUBKEY}", "amount": "0.1"}), SUBMIT],
        verified(0 / 2, 3 / 4, 1),
        R_I * 3 / 4 + R_T * 1,
    ),
    # Nothing at all: no state change, no instruction, no transaction.
    "nothing_submitted": ([], verified(0, 0, 0), R_I * 0 + R_T * 0),
    # The right transfer plus a duplicate in the same transaction: the recipient gets 0.2 SOL;
    # the duplicate is an extra instruction costing the mean expected weight (4 of 8 points).
    "extra_transfer": ([SEND, SEND, SUBMIT], verified(0 / 2, 4 / 8, 1), R_I * 1 + R_T * 1),
    # Two separate transactions, the second a duplicate: two fees, 0.2 SOL sent.
    "extra_transaction": (
        [SEND, SUBMIT, SEND, SUBMIT],
        verified(0 / 2, 4 / 8, 1),
        R_I * 1 + R_T * 1,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES_001))
def test_near_misses_on_001_never_pass(case, tmp_path):
    calls, expected_verified, _ = CASES_001[case]
    result, session = run(benchmark("001-sol-transfer"), ScriptedAgent([calls]), tmp_path)
    assert result.status == "Completed"
    assert not result.passed
    assert result.score == pytest.approx(expected_verified)
    assert any(not c.passed and c.reason for c in session.final_result.checks)


@pytest.mark.parametrize("case", sorted(CASES_001))
def test_near_misses_on_001_reev_profile(case, tmp_path):
    calls, _, expected_reev = CASES_001[case]
    result, _ = run(benchmark("001-sol-transfer"), ScriptedAgent([calls]), tmp_path, profile="reev")
    assert result.score == pytest.approx(expected_reev)


def test_staged_leftovers_are_submitted_for_the_agent(tmp_path):
    result, session = run(benchmark("001-sol-transfer"), ScriptedAgent([[SEND]]), tmp_path)
    assert result.passed and result.score == pytest.approx(1.0)
    auto = [c for c in session.steps[0].tool_calls if c.auto]
    assert [c.tool for c in auto] == ["submit_transaction"]


def test_wrong_amount_spl_transfer_fails_state(tmp_path):
    # 002: 15 USDC expected; sending 14 leaves 36 and 14, so both token assertions (weight 1
    # each) fail, while the user's SOL guard (weight 0.5: one fee paid) holds. The instruction's
    # data is "..." (unchecked), so the instruction component is perfect.
    calls = [
        ("spl_transfer", {"recipient": "{RECIPIENT_USDC_ATA}", "mint": USDC, "amount": "14"}),
        SUBMIT,
    ]
    result, session = run(benchmark("002-spl-transfer"), ScriptedAgent([calls]), tmp_path)
    assert not result.passed
    assert result.breakdown.state == pytest.approx(0.5 / 2.5)
    assert result.breakdown.instruction == pytest.approx(1.0)
    assert result.score == pytest.approx(verified(0.5 / 2.5, 1, 1))
    reasons = [c.reason for c in session.final_result.checks if not c.passed]
    assert any("36000000" in r for r in reasons) and any("14000000" in r for r in reasons)


def test_agent_tool_errors_are_recorded_not_fatal(tmp_path):
    calls = [
        ("no_such_tool", {}),
        ("sol_transfer", {"recipient": "{RECIPIENT_WALLET_PUBKEY}", "amount": "0.1", "memo": "x"}),
        ("sol_transfer", {"recipient": "{RECIPIENT_WALLET_PUBKEY}", "amount": "0.0000000001"}),
        SEND,
        SUBMIT,
    ]
    agent = ScriptedAgent([calls])
    result, session = run(benchmark("001-sol-transfer"), agent, tmp_path)
    kinds = [c.error_kind for c in session.steps[0].tool_calls]
    assert kinds == ["unknown_tool", "invalid_arguments", "tool_error", None, None]
    assert session.usage.tool_errors == 3
    assert result.passed  # the agent recovered
    assert "decimal places" in agent.seen_results[2]["error"]


def test_payment_without_its_memo_does_not_pass(tmp_path):
    # 011 pays 0.05 SOL with memo "INV-4521"; a payment with no memo, or another memo, leaves the
    # same balances but not the Memo program's log lines.
    pay = ("sol_transfer", {"recipient": "{MERCHANT_WALLET_PUBKEY}", "amount": "0.05"})
    for calls in ([pay, SUBMIT], [pay, ("add_memo", {"text": "INV-4522"}), SUBMIT]):
        result, session = run(benchmark("011-sol-transfer-memo"), ScriptedAgent([calls]), tmp_path)
        assert not result.passed
        failed = [
            c.name for c in session.final_result.checks if not c.passed and c.component == "state"
        ]
        assert failed == ["TransactionLogs 'Program log: INV-4521'"]
