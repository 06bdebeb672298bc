"""Scoring profiles: how checks become one score and a pass/fail.

- `verified` (default): state 0.6, instructions 0.3, transaction success 0.1, renormalised over
  the components the benchmark has. `passed` = every assertion holds, the transaction check
  holds (`Success`: at least one transaction and all succeeded; `Failure`: the last one failed;
  `Skip`: whatever was submitted succeeded), and the score reaches `min_score` when set. A
  benchmark that does not declare `transaction_status` and whose assertions all hold on the
  initial state needs no transaction: with none submitted it is scored as `Skip`.
- `reev`: the original formula, 0.75 × instruction score + 0.25 × (last transaction
  succeeded), assertions reported but unscored, so numbers compare with reev's published ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

from reev.chain.accounts import AccountState
from reev.chain.protocol import TxResult
from reev.scoring.assertions import evaluate_assertions
from reev.scoring.checks import Check, fraction
from reev.scoring.instructions import match_instructions
from reev.spec.models import Benchmark
from reev.spec.placeholders import KeyMap

Profile = Literal["verified", "reev"]
PROFILES: tuple[Profile, ...] = ("verified", "reev")
VERIFIED_WEIGHTS = {"state": 0.6, "instruction": 0.3, "transaction": 0.1}
REEV_INSTRUCTION_WEIGHT = 0.75
REEV_TRANSACTION_WEIGHT = 0.25


class Breakdown(BaseModel):
    state: float | None = None
    instruction: float | None = None
    transaction: float | None = None


class Score(BaseModel):
    profile: Profile
    score: float
    passed: bool
    breakdown: Breakdown
    checks: list[Check] = Field(default_factory=list)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


def _transaction_checks(benchmark: Benchmark, transactions: list[TxResult]) -> list[Check]:
    status = benchmark.ground_truth.transaction_status
    if not transactions:
        return [
            Check(
                component="transaction",
                name="transactions submitted",
                passed=False,
                weight=1.0,
                earned=0.0,
                reason="no transaction was submitted",
                expected=status,
                actual=None,
            )
        ]
    if status == "Failure":
        last = transactions[-1]
        return [
            Check(
                component="transaction",
                name="last transaction fails",
                passed=not last.success,
                weight=1.0,
                earned=0.0 if last.success else 1.0,
                reason="the last transaction succeeded, a failure was expected"
                if last.success
                else None,
                expected="Failure",
                actual=last.signature,
            )
        ]
    failed = [t for t in transactions if not t.success]
    return [
        Check(
            component="transaction",
            name="all transactions succeed",
            passed=not failed,
            weight=1.0,
            earned=0.0 if failed else 1.0,
            reason="; ".join(f"{t.signature or 'unsent'}: {t.error}" for t in failed) or None,
            expected="Success",
            actual=[t.signature for t in transactions],
        )
    ]


def _requires_no_transaction(
    benchmark: Benchmark, keys: KeyMap, initial: Mapping[str, AccountState | None]
) -> bool:
    """Whether the benchmark's expected outcome needs no transaction: it does not declare
    `transaction_status` (so the default `Success` stands for "whatever the task needs"), it
    has final-state assertions, and every one of them already holds on the initial state with
    nothing submitted (a query such as the original 114: "the wallet's SOL is unchanged").
    Then an agent that answers without sending anything is not failed by "transactions
    submitted"; a transaction it does send must still succeed. An explicit
    `transaction_status: Success` keeps demanding at least one (docs/design-choices.md,
    issue 15)."""
    truth = benchmark.ground_truth
    if "transaction_status" in truth.model_fields_set or not truth.final_state_assertions:
        return False
    checks = evaluate_assertions(benchmark, keys, initial, initial, [])
    return all(check.passed for check in checks)


def score_episode(
    benchmark: Benchmark,
    keys: KeyMap,
    initial: Mapping[str, AccountState | None],
    final: Mapping[str, AccountState | None],
    transactions: list[TxResult],
    profile: Profile = "verified",
) -> Score:
    """Score one episode from what the runner recorded; never reads a chain."""
    truth = benchmark.ground_truth
    state_checks = evaluate_assertions(benchmark, keys, initial, final, transactions)
    generated = [ix for tx in transactions for ix in tx.instructions]
    check_instructions = bool(truth.expected_instructions) and not truth.skip_instruction_validation
    instruction_checks = (
        match_instructions(truth.expected_instructions, generated, keys, profile)
        if check_instructions
        else []
    )
    state = fraction(state_checks)
    instruction = fraction(instruction_checks) if check_instructions else None
    all_succeeded = all(t.success for t in transactions)

    if profile == "reev":
        last_ok = bool(transactions) and transactions[-1].success
        instruction_score = 1.0 if instruction is None else instruction
        score = REEV_INSTRUCTION_WEIGHT * instruction_score + REEV_TRANSACTION_WEIGHT * (
            1.0 if last_ok else 0.0
        )
        tx_check = Check(
            component="transaction",
            name="last transaction succeeds",
            passed=last_ok,
            weight=1.0,
            earned=1.0 if last_ok else 0.0,
            reason=None
            if last_ok
            else (transactions[-1].error if transactions else "no transaction was submitted"),
        )
        threshold = truth.min_score if truth.min_score is not None else 1.0
        return Score(
            profile="reev",
            score=score,
            passed=score >= threshold - 1e-9,
            breakdown=Breakdown(
                state=state, instruction=instruction_score, transaction=1.0 if last_ok else 0.0
            ),
            checks=[*state_checks, *instruction_checks, tx_check],
        )

    skip = truth.transaction_status == "Skip" or (
        not transactions
        and not check_instructions
        and _requires_no_transaction(benchmark, keys, initial)
    )
    transaction_checks = [] if skip else _transaction_checks(benchmark, transactions)
    transaction = fraction(transaction_checks)
    components = {"state": state, "instruction": instruction, "transaction": transaction}
    present = {k: v for k, v in components.items() if v is not None}
    total_weight = sum(VERIFIED_WEIGHTS[k] for k in present)
    score = (
        sum(VERIFIED_WEIGHTS[k] * v for k, v in present.items()) / total_weight
        if total_weight
        else 0.0
    )
    # `passed`: the intended final state, and transactions that did what the benchmark says
    # they should (all succeed, or, for `Failure`, the last one fails as the chain must).
    passed = all(c.passed for c in state_checks)
    if skip:
        passed = passed and all_succeeded
    else:
        passed = passed and all(c.passed for c in transaction_checks)
    if truth.min_score is not None:
        passed = passed and score >= truth.min_score - 1e-9
    return Score(
        profile="verified",
        score=score,
        passed=passed,
        breakdown=Breakdown(**components),
        checks=[*state_checks, *instruction_checks, *transaction_checks],
    )
