"""Near-miss agents derived from a benchmark's reference solution (tests/test_mutations.py
describes the kinds), the agent that plays one, and the mutants allowlisted as equivalent.
Shared by the suite-wide mutation test and the swap benchmarks' tests (tests/defi)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from solders.keypair import Keypair

from reev.agents.base import Agent, AgentError, AgentTask, ToolBox
from reev.spec import Benchmark
from reev.spec.known_mints import KNOWN_MINTS
from reev.spec.models import ToolCallSpec
from reev.spec.placeholders import resolve_placeholders
from reev.tools import TOOLS

SEED = 0
SUBMIT = "submit_transaction"
# lamports_sol: create_account's funding, in SOL; shares: the lending tools' mint / redeem
AMOUNT_ARGS = ("amount", "lamports_sol", "shares")
# Tools whose amounts are in base units already (the original reev's Jupiter tools): ±1 is ±1.
BASE_UNIT_AMOUNT_TOOLS = (
    "jupiter_swap",
    "jupiter_lend_earn_deposit",
    "jupiter_lend_earn_withdraw",
    "jupiter_lend_earn_mint",
    "jupiter_lend_earn_redeem",
    "lend_deposit_collateral",
    "lend_borrow",
    "lend_repay",
    "lend_withdraw_collateral",
)
RECIPIENT_ARGS = ("recipient", "destination", "delegate", "vote_account")
SOL_DECIMALS = 9

# Mutants that provably change nothing in the final state, by name, with the reason. A name
# listed here must exist, must not be caught and must leave the state exactly as the reference.
EQUIVALENT: dict[str, str] = {
    "003-spl-transfer-fail:step1.call0:spl_transfer:amount+1": (
        "the transfer fails for any amount above the 10 USDC held, charging the same fee; the "
        "expected instruction does not pin the data (reev's original 003), so the score is equal too"
    ),
    "003-spl-transfer-fail:step1.call0:spl_transfer:amount-1": "as amount+1: 14.999999 USDC is still more than the 10 held",
    "011-sol-transfer-memo:step1.call1:add_memo:duplicate": (
        "a memo changes no account; the same memo twice still logs the expected lines"
    ),
    "020-spl-approve-delegate:step1.call0:approve_delegate:duplicate": (
        "ApproveChecked sets the delegate and allowance, it does not add: twice is the same state"
    ),
    "021-spl-revoke-delegate:step1.call0:revoke_delegate:duplicate": (
        "Revoke clears the delegate; clearing it again is a no-op"
    ),
    "033-flow-stake-lifecycle:step1.call0:stake_sol:amount+1": (
        "step 3 withdraws everything and closes the stake account, so the staked amount leaves "
        "no trace in any account (only in the cluster's stake-history sysvar)"
    ),
    "033-flow-stake-lifecycle:step1.call0:stake_sol:amount-1": "as amount+1",
    "058-flow-wrap-pay-unwrap:step1.call0:wrap_sol:amount+1": (
        "step 3 unwraps everything, so every wrapped lamport comes back: how much was wrapped "
        "leaves no trace after the flow"
    ),
    "058-flow-wrap-pay-unwrap:step1.call0:wrap_sol:amount-1": "as amount+1",
    "058-flow-wrap-pay-unwrap:step1.call0:wrap_sol:duplicate": (
        "wrapping 1 SOL twice into the same account, then unwrapping all of it, returns both"
    ),
    "059-flow-mint-to-self-forward:step1.call0:create_token_account:duplicate": (
        "create-idempotent of an account created (or staged) already does nothing"
    ),
}


@dataclass(frozen=True)
class Mutant:
    benchmark_id: str
    step: int  # the flow step's number (1 for a single-step benchmark)
    index: int  # position of the mutated call in the step's solution
    tool: str
    kind: str  # "amount+1", "amount-1", "<arg>->fresh", "drop", "duplicate"
    arg: str | None = None

    @property
    def name(self) -> str:
        return f"{self.benchmark_id}:step{self.step}.call{self.index}:{self.tool}:{self.kind}"

    @property
    def fresh_address(self) -> str:
        digest = hashlib.sha256(f"reev/mutant/{self.name}".encode()).digest()
        return str(Keypair.from_seed(digest).pubkey())


def steps_of(bench: Benchmark) -> list[tuple[int, list[ToolCallSpec]]]:
    if bench.flow:
        return [(s.step, s.solution or []) for s in bench.flow]
    return [(1, bench.solution or [])]


def is_action(tool: str) -> bool:
    spec = TOOLS.get(tool)
    return tool != SUBMIT and (spec is None or spec.kind != "query")


def _is_number(value: Any) -> bool:
    try:
        Decimal(str(value))
    except ArithmeticError:
        return False
    return True


def mutants_of(bench: Benchmark) -> list[Mutant]:
    found: list[Mutant] = []
    for step, calls in steps_of(bench):
        for index, call in enumerate(calls):
            if not is_action(call.tool):
                continue
            new = partial(Mutant, bench.id, step, index, call.tool)  # (kind, arg=None)
            for arg in AMOUNT_ARGS:
                # a word such as lend_repay's "all" has no neighbour one base unit away
                if call.args.get(arg) is not None and _is_number(call.args[arg]):
                    prefix = "amount" if arg == "amount" else arg
                    found += [new(f"{prefix}+1", arg), new(f"{prefix}-1", arg)]
            for arg in RECIPIENT_ARGS:
                if call.args.get(arg):
                    found.append(new(f"{arg}->fresh", arg))
            found += [new("drop"), new("duplicate")]
    return found


def decimals_by_mint(bench: Benchmark) -> dict[str, int]:
    keys = resolve_placeholders(bench, SEED)
    found = {address: mint.decimals for address, mint in KNOWN_MINTS.items()}
    for declared in bench.mints:
        found[str(keys.resolve(declared.address))] = declared.decimals
    return found


class MutantAgent(Agent):
    """Replays the reference solution with one mutation; stops at the first tool error."""

    name = "mutant"
    uses_reference_solution = True

    def __init__(self, mutant: Mutant | None, decimals: dict[str, int]):
        self.mutant = mutant
        self.decimals = decimals
        self.refused: str | None = None

    async def _shift(
        self, tools: ToolBox, tool: str, args: dict[str, Any], arg: str, sign: int
    ) -> str:
        if tool in BASE_UNIT_AMOUNT_TOOLS:
            return str(int(args[arg]) + sign)
        mint = args.get("mint")
        if mint is None:
            decimals = SOL_DECIMALS
        elif mint in self.decimals:
            decimals = self.decimals[mint]
        else:  # a mint neither declared nor well known: ask the chain
            info = await tools.call("get_account_info", {"address": mint})
            decimals = info["mint"]["decimals"]
        value = Decimal(str(args[arg])) + sign * Decimal(1).scaleb(-decimals)
        return format(value, "f")

    async def _mutate(
        self, tools: ToolBox, calls: list[tuple[str, dict]]
    ) -> list[tuple[str, dict]]:
        m = self.mutant
        assert m is not None and calls[m.index][0] == m.tool
        tool, args = calls[m.index]
        if m.kind == "drop":
            kept: list[tuple[str, dict]] = []
            pending = False  # an action staged since the last submit
            for name, call_args in calls[: m.index] + calls[m.index + 1 :]:
                if name == SUBMIT:
                    if not pending:
                        continue  # it would send nothing
                    pending = False
                elif is_action(name):
                    pending = True
                kept.append((name, call_args))
            return kept
        if m.kind == "duplicate":
            return [*calls[: m.index + 1], (tool, dict(args)), *calls[m.index + 1 :]]
        assert m.arg is not None
        if m.kind.endswith("->fresh"):
            changed = {**args, m.arg: m.fresh_address}
        else:
            changed = {
                **args,
                m.arg: await self._shift(
                    tools, tool, args, m.arg, 1 if m.kind.endswith("+1") else -1
                ),
            }
        return [*calls[: m.index], (tool, changed), *calls[m.index + 1 :]]

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        assert reference is not None, f"{task.benchmark_id}: no reference solution"
        calls = [(c.tool, dict(c.args)) for c in reference]
        if self.mutant is not None and task.step == self.mutant.step:
            calls = await self._mutate(tools, calls)
        for tool, args in calls:
            result = await tools.call(tool, args)
            if set(result) == {"error"}:
                self.refused = f"{tool}: {result['error']}"
                raise AgentError(self.refused)
