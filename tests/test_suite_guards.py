"""The bundled suite's assertions pin the whole intended final state.

For every benchmark the oracle is expected to pass, a mutant agent replays the reference
solution and does one thing more in the last step:

- `sol`: send 0.001 SOL to a fresh address;
- `token`: for every token account the user holds when the last step starts (the observation's
  accounts whose `token.owner` is the wallet), send 1 base unit of that mint to a fresh wallet.

Each extra action is placed two ways: in the same transaction as the reference, staged just
before its final `submit_transaction` (`same_tx`), and as a transaction of its own, sent before
the reference of the last step (`own_tx`). No mutant may pass in the `verified` profile.

A mutant whose transactions all succeeded is a real near miss: it must be caught by a state
assertion that reads what the extra action changed (the user's wallet for SOL; the source token
account for tokens, or the wallet when the source is wrapped SOL). A `same_tx` mutant may also be
rejected by the chain (the reference closes the source account before the extra transfer, as in
010); that is caught by the transaction check, and its `own_tx` twin then has to be caught by an
assertion.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from solders.keypair import Keypair

from helpers.episodes import run
from helpers.suite import benchmark, bundled
from reev.agents.base import Agent, AgentError, AgentTask, ToolBox
from reev.chain.accounts import AccountState
from reev.runner import run_episode
from reev.spec.models import ToolCallSpec
from reev.spec.placeholders import resolve_placeholders

SEED = 0  # run_episode's default: the placeholders below must resolve as the episode's do
PLACEMENTS = ("same_tx", "own_tx")
SOL_MUTANT_AMOUNT = "0.001"
SUBMIT = "submit_transaction"


def _passing_ids() -> list[str]:
    return sorted(i for i, b in bundled().items() if b.expected_outcome == "pass")


class _Probe(Agent):
    """Replays the reference and remembers what the last step's observation showed."""

    name = "probe"
    uses_reference_solution = True

    def __init__(self) -> None:
        self.last_task: AgentTask | None = None

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        assert reference is not None
        if task.step == task.step_count:
            self.last_task = task
        for call in reference:
            result = await tools.call(call.tool, call.args)
            if set(result) == {"error"}:
                raise AgentError(f"{call.tool}: {result['error']}")


def _user_token_accounts(task: AgentTask) -> list[AccountState]:
    wallet = task.observation.wallet
    return [a for a in task.observation.accounts if a.token is not None and a.token.owner == wallet]


@cache
def _last_step_token_accounts(benchmark_id: str) -> tuple[AccountState, ...]:
    """The user's token accounts when the last step starts (seen by a reference replay)."""
    probe = _Probe()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(
            run_episode(benchmark(benchmark_id), probe, log_dir=Path(tmp), seed=SEED)
        )
    assert result.passed and probe.last_task is not None, f"{benchmark_id}: the oracle must pass"
    return tuple(_user_token_accounts(probe.last_task))


@dataclass(frozen=True)
class Mutant:
    benchmark_id: str
    kind: str  # "sol" | "token"
    placement: str  # "same_tx" | "own_tx"
    source: str | None = None  # the token account (token mutants)
    source_name: str | None = None  # its placeholder name, for the test id
    mint: str | None = None
    decimals: int | None = None
    is_native: bool = False

    @property
    def id(self) -> str:
        what = "sol" if self.kind == "sol" else f"token-{self.source_name or self.source}"
        return f"{self.benchmark_id}:{what}:{self.placement}"

    def extra_calls(self) -> list[tuple[str, dict[str, Any]]]:
        stranger = str(Keypair().pubkey())
        if self.kind == "sol":
            return [("sol_transfer", {"recipient": stranger, "amount": SOL_MUTANT_AMOUNT})]
        assert self.decimals is not None
        one_base_unit = str(Decimal(1).scaleb(-self.decimals))
        args = {
            "recipient": stranger,
            "mint": self.mint,
            "amount": one_base_unit,
            "source": self.source,
        }
        return [("spl_transfer", args)]


def _mutants() -> list[Mutant]:
    found: list[Mutant] = []
    for benchmark_id in _passing_ids():
        keys = resolve_placeholders(benchmark(benchmark_id), SEED)
        for placement in PLACEMENTS:
            found.append(Mutant(benchmark_id, "sol", placement))
        for account in _last_step_token_accounts(benchmark_id):
            token = account.token
            assert token is not None and token.decimals is not None
            if token.amount == 0 or token.state == "frozen":
                continue  # nothing could leave it: no near miss to build
            for placement in PLACEMENTS:
                found.append(
                    Mutant(
                        benchmark_id,
                        "token",
                        placement,
                        source=account.address,
                        source_name=keys.name_of(account.address),
                        mint=token.mint,
                        decimals=token.decimals,
                        is_native=token.is_native,
                    )
                )
    return found


MUTANTS = _mutants()


class MutantAgent(Agent):
    """The reference solution plus the mutant's extra calls in the last step."""

    name = "mutant"
    uses_reference_solution = True

    def __init__(self, mutant: Mutant):
        self.mutant = mutant
        self.extra_ran = False

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        assert reference is not None
        calls = [(c.tool, c.args) for c in reference]
        if task.step == task.step_count:
            extra = self.mutant.extra_calls()
            if self.mutant.placement == "own_tx":
                calls = [*extra, (SUBMIT, {}), *calls]
            else:
                submits = [i for i, (tool, _) in enumerate(calls) if tool == SUBMIT]
                at = submits[-1] if submits else len(calls)  # leftovers are auto-submitted
                calls[at:at] = extra
            self.extra_ran = True
        for tool, args in calls:
            result = await tools.call(tool, args)
            if set(result) == {"error"}:
                raise AgentError(f"{tool}: {result['error']}")


def test_every_passing_benchmark_has_mutants():
    ids = _passing_ids()
    assert {m.benchmark_id for m in MUTANTS if m.kind == "sol"} == set(ids)
    # Benchmarks where the user holds tokens get token mutants too (001 holds none; 002 holds USDC).
    assert any(m.benchmark_id == "002-spl-transfer" and m.kind == "token" for m in MUTANTS)
    assert not any(m.benchmark_id == "001-sol-transfer" and m.kind == "token" for m in MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_reference_plus_extra_action_does_not_pass(mutant: Mutant, tmp_path):
    bench = benchmark(mutant.benchmark_id)
    agent = MutantAgent(mutant)
    result, session = run(bench, agent, tmp_path, seed=SEED)
    assert agent.extra_ran
    assert result.status == "Completed", result.error
    assert not result.passed, f"{mutant.id}: the reference plus an extra transfer passed"

    transactions = [t for step in session.steps for t in step.transactions]
    if not all(t.success for t in transactions):
        # Rejected by the chain: the transaction check catches it. Only a same-transaction
        # mutant may end up here (its extra transfer follows the reference, which may have
        # closed the source); a transaction of its own before the reference must go through.
        # Then only the reference can fail, when it spends the whole balance the extra transfer
        # took a unit of (054 sends all its JUP).
        extra = session.steps[-1].transactions[0]
        assert mutant.placement == "same_tx" or extra.success, [t.error for t in transactions]
        return

    keys = resolve_placeholders(bench, SEED)
    wallet = str(keys.user.pubkey())
    guarded = {wallet} if mutant.kind == "sol" else {mutant.source}
    if mutant.is_native:
        guarded.add(wallet)  # wrapped SOL comes back to the wallet when its account closes
    caught_by = []
    for check in session.final_result.checks:
        if check.component != "state" or check.passed or check.name.startswith("TransactionLogs"):
            continue
        _type, name = check.name.split(" ", 1)
        if str(keys.resolve(name)) in guarded:
            caught_by.append(check.name)
    assert caught_by, (
        f"{mutant.id}: not caught by an assertion on what it changed; failed checks: "
        f"{[c.name for c in session.final_result.checks if not c.passed]}"
    )
