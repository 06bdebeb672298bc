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
one that changes nothing is not in `EQUIVALENT` (tests/helpers/mutants.py), with the reason it provably changes
nothing. Each mutant is its own test (`test_every_near_miss_that_changes_the_state_is_caught[<name>]`,
so one failure hides no other); counts and every outcome go to `mutations.txt` in the
`artifacts` folder (conftest.py: under pytest's temporary folder).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from helpers.episodes import run
from helpers.mutants import (
    EQUIVALENT,
    SEED,
    Mutant,
    MutantAgent,
    decimals_by_mint,
    is_action,
    mutants_of,
    steps_of,
)
from helpers.suite import bundled
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

# A sweep of the whole suite (a reference run per benchmark and about 250 mutant runs): `slow`.
pytestmark = pytest.mark.slow

SNAPSHOT_PROGRAMS = (SYSTEM_PROGRAM, TOKEN_PROGRAM, TOKEN_2022_PROGRAM, STAKE_PROGRAM, VOTE_PROGRAM)
SYSVAR = "Sysvar1111111111111111111111111111111111111"


@dataclass
class Outcome:
    mutant: Mutant
    caught: bool
    state_changed: bool
    how: str  # why it was caught, or what it did


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


def _outcome(bench: Benchmark, reference: Run, mutant: Mutant, tmp_path: Path) -> Outcome:
    agent = MutantAgent(mutant, decimals_by_mint(bench))
    mutated = _run(bench, agent, tmp_path)
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
    return Outcome(mutant, caught, changed, how)


def _problem(o: Outcome) -> str | None:
    if o.caught:
        if o.mutant.name in EQUIVALENT:
            return f"{o.mutant.name}: listed as equivalent but caught ({o.how})"
    elif o.state_changed:
        return f"{o.mutant.name}: NOT CAUGHT although it changes the final state ({o.how})"
    elif o.mutant.name not in EQUIVALENT:
        return f"{o.mutant.name}: not caught and changes nothing: list it in EQUIVALENT with the reason"
    return None


# Collected once, from the YAML alone (no chain): one test id per benchmark and per mutant.
SUITE = bundled()
MUTANTS = [mutant for benchmark_id in sorted(SUITE) for mutant in mutants_of(SUITE[benchmark_id])]


class References:
    """The reference run of each benchmark, made once for all its mutants. Tests run in
    parametrisation order (grouped by benchmark), so only the latest run is kept: a run holds a
    whole chain."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory):
        self.tmp_path_factory = tmp_path_factory
        self.latest: tuple[str, Run] | None = None

    def of(self, bench: Benchmark) -> Run:
        if self.latest is None or self.latest[0] != bench.id:
            folder = self.tmp_path_factory.mktemp(f"reference-{bench.id}")
            run = _run(bench, MutantAgent(None, decimals_by_mint(bench)), folder)
            self.latest = (bench.id, run)
        return self.latest[1]


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> References:
    return References(tmp_path_factory)


@pytest.fixture(scope="module")
def report(artifacts: Path) -> Iterator[list[Outcome]]:
    """Collects the outcomes of the mutants that ran; writes mutations.txt when the module ends."""
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    yield outcomes
    elapsed = time.perf_counter() - started
    caught = sum(o.caught for o in outcomes)
    refused = sum(o.caught and o.how.startswith("refused") for o in outcomes)
    allowed = sum(not o.caught and o.mutant.name in EQUIVALENT for o in outcomes)
    benchmarks = len({o.mutant.benchmark_id for o in outcomes})
    summary = (
        f"mutation test: {len(outcomes)} mutants of {benchmarks} benchmarks ran, {caught} caught "
        f"({refused} of them refused by a tool), {allowed} equivalent (allowlisted), "
        f"{len(outcomes) - caught - allowed} missed; {elapsed:.1f} s"
    )
    lines = [summary, ""]
    for o in outcomes:
        verdict = (
            "caught" if o.caught else ("EQUIVALENT" if o.mutant.name in EQUIVALENT else "MISSED")
        )
        lines.append(f"{verdict:10} {o.mutant.name}  {o.how}")
    problems = [p for p in map(_problem, outcomes) if p is not None]
    if problems:
        lines += ["", "problems:", *problems]
    (artifacts / "mutations.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(summary)


def test_the_suite_has_mutants() -> None:
    """Every benchmark whose reference stages an action yields at least `drop` and `duplicate`."""
    with_actions = {
        bench.id
        for bench in SUITE.values()
        if any(is_action(c.tool) for _, calls in steps_of(bench) for c in calls)
    }
    assert with_actions
    assert {m.benchmark_id for m in MUTANTS if m.kind in ("drop", "duplicate")} == with_actions
    assert len(MUTANTS) >= 2 * len(with_actions)


def test_every_equivalent_mutant_exists() -> None:
    names = {m.name for m in MUTANTS}
    assert not [name for name in EQUIVALENT if name not in names], (
        "in EQUIVALENT but no such mutant"
    )


@pytest.mark.parametrize("benchmark_id", sorted(SUITE))
def test_reference_reaches_its_expected_outcome(benchmark_id: str, references: References) -> None:
    bench = SUITE[benchmark_id]
    reference = references.of(bench).result
    assert reference.status == "Completed", reference.error
    assert reference.passed == (bench.expected_outcome == "pass")


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_every_near_miss_that_changes_the_state_is_caught(
    mutant: Mutant, references: References, report: list[Outcome], tmp_path: Path
) -> None:
    bench = SUITE[mutant.benchmark_id]
    outcome = _outcome(bench, references.of(bench), mutant, tmp_path)
    report.append(outcome)
    problem = _problem(outcome)
    assert problem is None, problem
