"""Placeholder resolution is linear in the number of accounts (issue 16 item 9).

Counted, not timed: every account name is a `str` subclass that counts the equality tests made on
it. A membership test on a list compares a name with every element (quadratic over all names);
on a dict or set it hashes and compares only on a hash match (a bounded number per name)."""

from __future__ import annotations

from typing import Any, ClassVar

from reev.spec import parse_benchmark, resolve_placeholders
from reev.spec.models import Benchmark, TokenAccountBalance

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
SYSTEM = "11111111111111111111111111111111"


class CountingName(str):
    """A placeholder name that counts how often it is compared for equality."""

    comparisons: ClassVar[int] = 0

    def __eq__(self, other: object) -> bool:
        CountingName.comparisons += 1
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__


def many_accounts(accounts: int) -> Benchmark:
    pairs = accounts // 2
    lines = ["id: scale", "prompt: send from W0_USDC_ATA to W1_WALLET", "initial_state:"]
    for i in range(pairs):
        lines.append(f'  - pubkey: W{i}_WALLET\n    owner: "{SYSTEM}"\n    lamports: 1000')
        lines.append(
            f"  - pubkey: W{i}_USDC_ATA\n    owner: {TOKEN_PROGRAM}\n    lamports: 2039280\n"
            f'    data:\n      mint: {USDC}\n      owner: W{i}_WALLET\n      amount: "5"'
        )
    lines.append("ground_truth:\n  final_state_assertions:")
    for i in range(pairs):
        lines.append(
            f"    - type: TokenAccountBalance\n      pubkey: W{i}_USDC_ATA\n      expected: 5"
        )
    benchmark = parse_benchmark("\n".join(lines) + "\n", "scale.yml").benchmark
    # Every name the resolver sees becomes a counting one (assignment keeps the subclass, and
    # `model_dump` hands the same objects back).
    names: dict[str, CountingName] = {}

    def counting(name: str) -> Any:
        return names.setdefault(name, CountingName(name))

    for account in benchmark.initial_state:
        account.pubkey = counting(account.pubkey)
        if account.data is not None:
            account.data.owner = counting(account.data.owner)
    for assertion in benchmark.ground_truth.final_state_assertions:
        assert isinstance(assertion, TokenAccountBalance)
        assertion.pubkey = counting(assertion.pubkey)
    return benchmark


def comparisons_to_resolve(accounts: int) -> int:
    benchmark = many_accounts(accounts)
    CountingName.comparisons = 0
    keys = resolve_placeholders(benchmark, 0)
    assert len(keys.addresses) == accounts + 1  # every account and the user's wallet
    return CountingName.comparisons


def test_resolution_compares_each_name_a_bounded_number_of_times() -> None:
    small, large = 400, 800
    counts = {n: comparisons_to_resolve(n) for n in (small, large)}
    # Linear: at most a few comparisons per name at either size, so doubling the accounts at
    # most doubles the count (a list scan would make it about n**2 / 2: 80,000 at 400).
    for accounts, count in counts.items():
        assert count <= 4 * accounts, counts
    assert counts[large] <= 2 * counts[small] + 4 * small, counts


def test_the_counter_sees_a_quadratic_scan() -> None:
    """The probe can fail: a list membership test over the same names is counted quadratically."""
    benchmark = many_accounts(400)
    names = [account.pubkey for account in benchmark.initial_state]
    CountingName.comparisons = 0
    seen: list[str] = []
    for name in names:
        if name not in seen:
            seen.append(name)
    assert CountingName.comparisons >= len(names) * (len(names) - 1) // 2
