"""Near misses of every reference solution must not pass.

From each benchmark's reference solution (each flow step's) the test derives near-miss agents,
one change each, applied to one action call of one step:

- `amount+1` / `amount-1`: an `amount` (or `lamports_sol`) argument one base unit more or less:
  1 lamport for SOL, 10^-decimals for a token (the call's `mint`; decimals from the mint
  declarations and the known mints, else read from the chain with `get_account_info`);
  `jupiter_swap` takes base units, so its amount moves by 1;
- `<arg>->fresh`: a fresh address instead of a `recipient`, `destination`, `delegate` or
  `vote_account`;
- `drop`: the call removed (and a `submit_transaction` left with nothing to send, too: an agent
  that forgets the action does not submit an empty transaction);
- `duplicate`: the call made twice in a row.

Query calls (get_balance, get_wallet_overview, ...) stage nothing, so they get no mutants: the
reference's amounts are literals, and without the read the same actions follow.

Each mutant runs through the real runner. It is CAUGHT when it does not pass (verified profile),
or, for a benchmark with `expected_outcome: fail`, when anything differs from the reference
run (passed, score, or final state). A mutant whose mutated call a tool refuses stops there,
like the oracle, and does not pass: it is counted as caught, and reported as refused.

The test fails when a mutant that is not caught changes the final state (every account owned by
the System, token, stake and vote programs, plus every account an instruction named), and when
one that changes nothing is not in `EQUIVALENT` below, with the reason it provably changes
nothing. Counts and every mutant's outcome go to tests/artifacts/mutations.txt.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from conftest import ROOT, bundled, run
from reev.agents.base import Agent, AgentError, AgentTask, ToolBox
from reev.chain.litesvm import LiteSVMChain
from reev.constants import (
    STAKE_PROGRAM,
    SYSTEM_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
    VOTE_PROGRAM,
)
from reev.runner import EpisodeResult
from reev.runner.session import SessionFile
from reev.spec import Benchmark
from reev.spec.known_mints import KNOWN_MINTS
from reev.spec.models import ToolCallSpec
from reev.spec.placeholders import resolve_placeholders
from reev.tools import TOOLS

SEED = 0
SUBMIT = "submit_transaction"
AMOUNT_ARGS = ("amount", "lamports_sol")  # lamports_sol: create_account's funding, in SOL
# Tools whose `amount` is in base units already (the original reev's jupiter_swap): ±1 is ±1.
BASE_UNIT_AMOUNT_TOOLS = ("jupiter_swap",)
RECIPIENT_ARGS = ("recipient", "destination", "delegate", "vote_account")
SOL_DECIMALS = 9
SNAPSHOT_PROGRAMS = (SYSTEM_PROGRAM, TOKEN_PROGRAM, TOKEN_2022_PROGRAM, STAKE_PROGRAM, VOTE_PROGRAM)
SYSVAR = "Sysvar1111111111111111111111111111111111111"
REPORT = ROOT / "tests" / "artifacts" / "mutations.txt"

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


@dataclass
class Outcome:
    mutant: Mutant
    caught: bool
    state_changed: bool
    how: str  # why it was caught, or what it did


def _steps(bench: Benchmark) -> list[tuple[int, list[ToolCallSpec]]]:
    if bench.flow:
        return [(s.step, s.solution or []) for s in bench.flow]
    return [(1, bench.solution or [])]


def _is_action(tool: str) -> bool:
    spec = TOOLS.get(tool)
    return tool != SUBMIT and (spec is None or spec.kind != "query")


def mutants_of(bench: Benchmark) -> list[Mutant]:
    found: list[Mutant] = []
    for step, calls in _steps(bench):
        for index, call in enumerate(calls):
            if not _is_action(call.tool):
                continue
            new = lambda kind, arg=None: Mutant(bench.id, step, index, call.tool, kind, arg)  # noqa: E731
            for arg in AMOUNT_ARGS:
                if call.args.get(arg) is not None:
                    prefix = "amount" if arg == "amount" else arg
                    found += [new(f"{prefix}+1", arg), new(f"{prefix}-1", arg)]
            for arg in RECIPIENT_ARGS:
                if call.args.get(arg):
                    found.append(new(f"{arg}->fresh", arg))
            found += [new("drop"), new("duplicate")]
    return found


def _decimals_by_mint(bench: Benchmark) -> dict[str, int]:
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
                elif _is_action(name):
                    pending = True
                kept.append((name, call_args))
            return kept
        if m.kind == "duplicate":
            return calls[: m.index + 1] + [(tool, dict(args))] + calls[m.index + 1 :]
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
        return calls[: m.index] + [(tool, changed)] + calls[m.index + 1 :]

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


@dataclass
class Run:
    result: EpisodeResult
    session: SessionFile
    chain: LiteSVMChain
    addresses: set[str] = field(default_factory=set)  # every address the episode named
    preexisting: set[str] = field(default_factory=set)  # the VM's own accounts (a funded payer)


def _owned_accounts(chain: LiteSVMChain):
    for program in SNAPSHOT_PROGRAMS:
        for address, account in chain.accounts_owned_by(program):
            yield str(address), account


def _run(bench: Benchmark, agent: MutantAgent, tmp_path: Path) -> Run:
    chains: list[LiteSVMChain] = []
    preexisting: set[str] = set()

    def factory() -> LiteSVMChain:
        chains.append(LiteSVMChain())
        preexisting.update(address for address, _ in _owned_accounts(chains[-1]))
        return chains[-1]

    result, session = run(bench, agent, tmp_path, seed=SEED, chain_factory=factory)
    named = set(session.key_map.values())
    for step in session.steps:
        for tx in step.transactions:
            for ix in tx.instructions:
                named.update(meta.pubkey for meta in ix.accounts)
    return Run(result, session, chains[0], named, preexisting - named)


def _snapshot(run: Run, addresses: set[str]) -> dict[str, tuple | None]:
    chain = run.chain
    state: dict[str, tuple | None] = {}
    for address, account in _owned_accounts(chain):
        if address not in run.preexisting:
            state[address] = (account.lamports, str(account.owner), bytes(account.data))
    for address in addresses - set(state):
        account = chain.get_account(Pubkey.from_string(address))
        if account is not None and str(account.owner) == SYSVAR:
            continue  # cluster bookkeeping (stake history, clock), not anybody's funds
        live = account is not None and account.lamports > 0
        state[address] = (
            (account.lamports, str(account.owner), bytes(account.data)) if live else None
        )
    return state


def _differences(a: Run, b: Run) -> list[str]:
    addresses = a.addresses | b.addresses
    before, after = _snapshot(a, addresses), _snapshot(b, addresses)
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _how(mutated: Run, agent: MutantAgent) -> str:
    if agent.refused:
        return f"refused by a tool ({agent.refused[:90]})"
    failed = [c.name for c in mutated.session.final_result.checks if not c.passed]
    if mutated.result.status != "Completed":
        return f"{mutated.result.status}: {mutated.result.error}"
    if mutated.result.passed:
        mismatches = f"; instruction checks off: {'; '.join(failed)}" if failed else ""
        return f"passes (score {mutated.result.score:.3f}{mismatches})"
    return "failed: " + "; ".join(failed)


def _evaluate(bench: Benchmark, tmp_path: Path) -> tuple[list[Outcome], list[str]]:
    decimals = _decimals_by_mint(bench)
    reference = _run(bench, MutantAgent(None, decimals), tmp_path / "reference")
    problems = []
    if reference.result.status != "Completed" or reference.result.passed != (
        bench.expected_outcome == "pass"
    ):
        problems.append(f"{bench.id}: the reference solution does not reach its expected outcome")
    outcomes = []
    for number, mutant in enumerate(mutants_of(bench)):
        agent = MutantAgent(mutant, decimals)
        mutated = _run(bench, agent, tmp_path / f"m{number}")
        changed = bool(_differences(reference, mutated))
        if bench.expected_outcome == "fail":
            same_score = abs(mutated.result.score - reference.result.score) < 1e-9
            caught = (
                changed
                or not same_score
                or mutated.result.passed != reference.result.passed
                or mutated.result.status != reference.result.status
            )
            how = _how(mutated, agent) if caught else "same outcome as the reference"
            if caught and not agent.refused:
                how = f"differs from the reference ({'state' if changed else f'score {mutated.result.score:.3f}'})"
        else:
            caught = not mutated.result.passed
            how = _how(mutated, agent)
        outcomes.append(Outcome(mutant, caught, changed, how))
    return outcomes, problems


def test_every_near_miss_that_changes_the_state_is_caught(tmp_path):
    started = time.perf_counter()
    suite = bundled()
    outcomes: list[Outcome] = []
    problems: list[str] = []
    for benchmark_id in sorted(suite):
        found, trouble = _evaluate(suite[benchmark_id], tmp_path / benchmark_id)
        outcomes += found
        problems += trouble
    elapsed = time.perf_counter() - started

    names = {o.mutant.name for o in outcomes}
    for o in outcomes:
        if o.caught:
            if o.mutant.name in EQUIVALENT:
                problems.append(f"{o.mutant.name}: listed as equivalent but caught ({o.how})")
        elif o.state_changed:
            problems.append(
                f"{o.mutant.name}: NOT CAUGHT although it changes the final state ({o.how})"
            )
        elif o.mutant.name not in EQUIVALENT:
            problems.append(
                f"{o.mutant.name}: not caught and changes nothing: list it in EQUIVALENT with the reason"
            )
    problems += [
        f"{name}: in EQUIVALENT but no such mutant" for name in EQUIVALENT if name not in names
    ]

    caught = sum(o.caught for o in outcomes)
    refused = sum(o.caught and o.how.startswith("refused") for o in outcomes)
    allowed = sum(not o.caught and o.mutant.name in EQUIVALENT for o in outcomes)
    summary = (
        f"mutation test: {len(outcomes)} mutants of {len(suite)} benchmarks ran, {caught} caught "
        f"({refused} of them refused by a tool), {allowed} equivalent (allowlisted), "
        f"{len(outcomes) - caught - allowed} missed; {elapsed:.1f} s"
    )
    lines = [summary, ""]
    for o in outcomes:
        verdict = (
            "caught" if o.caught else ("EQUIVALENT" if o.mutant.name in EQUIVALENT else "MISSED")
        )
        lines.append(f"{verdict:10} {o.mutant.name}  {o.how}")
    if problems:
        lines += ["", "problems:", *problems]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(summary)
    assert outcomes
    assert not problems, "\n".join(problems)
