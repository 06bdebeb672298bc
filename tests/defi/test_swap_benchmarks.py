"""The swap benchmarks (tag `swap`): expected amounts from the pool formulas, oracle, near misses.

Every number a swap benchmark asserts is recomputed here from the formulas of docs/programs.md
and the benchmark's own `pools:` declaration (reserves in token units, converted with each
mint's decimals), with an implementation of the math written for this test, not reev's model
or router: a benchmark whose comment arithmetic drifted from its pools, or a tool whose output
drifted from the formula, fails here. Then the deterministic agent must pass each benchmark
with score 1.0, and every near miss (the generic ones of tests/test_mutations.py plus the
swap-specific ones below: a slippage bound off by one, the wrong swap mode, the swap done
although the task says not to, the wrong branch of a price condition) must not pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import base58
import pytest
import yaml

from helpers.episodes import run
from helpers.mutants import EQUIVALENT, MutantAgent, decimals_by_mint, mutants_of
from helpers.near_misses import Call, Edit, EditedAgent, Expectation
from helpers.near_misses import replace_args as _args
from helpers.near_misses import then_call as _then
from helpers.paths import BENCHMARKS
from helpers.suite import benchmark, bundled
from reev.agents import DeterministicAgent
from reev.spec import Benchmark
from reev.spec.known_mints import KNOWN_MINTS

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
USDT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"
JUP = "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
GAME = "GAME_TOKEN_MINT"  # 077's Token-2022 fee mint, a placeholder

TX_FEE = 5000  # lamports per signature; the user signs alone
TOKEN_ACCOUNT_RENT = 2039280  # a 165-byte SPL token account (also the temporary wSOL account)
BPS = 10_000


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def exact_in(a: int, r_in: int, r_out: int, fee_bps: int) -> int:
    """docs/programs.md: fee = ceil(a·f/10000), a' = a − fee, out = floor(a'·R_out/(R_in + a'))."""
    net = a - ceil_div(a * fee_bps, BPS)
    return net * r_out // (r_in + net)


def exact_out(b: int, r_in: int, r_out: int, fee_bps: int) -> int:
    """docs/programs.md: a' = ceil(R_in·b/(R_out − b)), a = ceil(a'·10000/(10000 − f))."""
    net = ceil_div(r_in * b, r_out - b)
    return ceil_div(net * BPS, BPS - fee_bps)


def transfer_fee(amount: int, basis_points: int, maximum_fee: int) -> int:
    """Token-2022: min(ceil(amount·bps/10000), maximum_fee)."""
    return min(ceil_div(amount * basis_points, BPS), maximum_fee)


def min_out(out: int, slippage_bps: int) -> int:
    """The slippage bound of a quote: floor(out·(10000 − slippage)/10000), as Jupiter rounds."""
    return out * (BPS - slippage_bps) // BPS


@dataclass(frozen=True)
class Pool:
    reserves: dict[str, int]  # mint (address or placeholder as written) -> base units
    fee_bps: int

    def swap_in(self, input_mint: str, output_mint: str, a: int) -> int:
        return exact_in(a, self.reserves[input_mint], self.reserves[output_mint], self.fee_bps)

    def swap_out(self, input_mint: str, output_mint: str, b: int) -> int:
        return exact_out(b, self.reserves[input_mint], self.reserves[output_mint], self.fee_bps)


@dataclass(frozen=True)
class Declared:
    """What the benchmark file declares, read from the YAML itself (not through reev's models)."""

    pools: dict[str, Pool]
    lamports: dict[str, int]  # initial_state pubkey -> lamports
    tokens: dict[str, int]  # initial_state token account -> amount
    transfer_fees: dict[str, tuple[int, int]]  # declared mint -> (basis_points, maximum_fee)

    @classmethod
    def read(cls, path: Path) -> Declared:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        decimals = {m.address: m.decimals for m in KNOWN_MINTS.values()}
        fees: dict[str, tuple[int, int]] = {}
        for mint in raw.get("mints", []):
            decimals[mint["address"]] = int(mint["decimals"])
            if "transfer_fee" in mint:
                tf = mint["transfer_fee"]
                fees[mint["address"]] = (int(tf["basis_points"]), int(tf["maximum_fee"]))
        pools = {}
        for pool in raw.get("pools", []):
            units = {}
            for mint, reserve in zip(pool["mints"], pool["reserves"], strict=True):
                value = Decimal(str(reserve)).scaleb(decimals[mint])
                assert value == value.to_integral_value(), f"{pool['id']}: {reserve} of {mint}"
                units[mint] = int(value)
            pools[pool["id"]] = Pool(units, int(pool["fee_bps"]))
        lamports = {a["pubkey"]: int(a.get("lamports", 0)) for a in raw.get("initial_state", [])}
        tokens = {
            a["pubkey"]: int(a["data"].get("amount", 0))
            for a in raw.get("initial_state", [])
            if "data" in a
        }
        return cls(pools, lamports, tokens, fees)


def e070(d: Declared) -> Expectation:
    out = d.pools["SOL_USDC_POOL"].swap_in(SOL, USDC, 100_000_000)
    return {
        ("TokenAccountBalance", "USER_USDC_ATA"): out,
        # the temporary wSOL account's rent is paid and refunded in the same transaction
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - 100_000_000
        - TX_FEE,
    }


def e071(d: Declared) -> Expectation:
    out = d.pools["SOL_USDC_POOL"].swap_in(USDC, SOL, 100_000_000)
    return {
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"] + out - TX_FEE,
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] - 100_000_000,
    }


def e072(d: Declared) -> Expectation:
    paid = d.pools["SOL_USDC_POOL"].swap_out(SOL, USDC, 100_000_000)
    return {
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] + 100_000_000,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"] - paid - TX_FEE,
    }


def e073(d: Declared) -> Expectation:
    out = d.pools["SOL_USDT_POOL"].swap_in(SOL, USDT, 2_000_000_000)
    return {
        ("TokenAccountBalance", "USER_USDT_ATA"): out,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - 2_000_000_000
        - TX_FEE,
    }


def e074(d: Declared) -> Expectation:
    usdc = d.pools["SOL_USDC_POOL"].swap_in(SOL, USDC, 1_000_000_000)
    jup = d.pools["USDC_JUP_POOL"].swap_in(USDC, JUP, usdc)
    direct = d.pools["SOL_JUP_POOL"].swap_in(SOL, JUP, 1_000_000_000)
    assert jup > direct, "the two-hop route must beat the direct pool"
    return {
        ("TokenAccountBalance", "USER_JUP_ATA"): jup,
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"],
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - 1_000_000_000
        - TX_FEE,
    }


def e075(d: Declared) -> Expectation:
    deep = d.pools["DEEP_SOL_USDC_POOL"]
    shallow = d.pools["SHALLOW_SOL_USDC_POOL"]
    assert deep.swap_in(SOL, USDC, 5_000_000_000) > shallow.swap_in(SOL, USDC, 5_000_000_000)
    # and the rule "lowest fee" / "best price" would be right for a small amount:
    assert shallow.swap_in(SOL, USDC, 100_000_000) > deep.swap_in(SOL, USDC, 100_000_000)
    return {
        ("TokenAccountBalance", "USER_USDC_ATA"): deep.swap_in(SOL, USDC, 5_000_000_000),
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - 5_000_000_000
        - TX_FEE,
    }


def e076(d: Declared) -> Expectation:
    pool = d.pools["SOL_USDC_POOL"]
    out = pool.swap_in(SOL, USDC, 40_000_000_000)
    at_pool_price = 40_000_000_000 * pool.reserves[USDC] // pool.reserves[SOL]
    assert (at_pool_price - out) * 100 > 10 * at_pool_price  # over 10% impact, the user allows 1%
    return {
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"],
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"],
    }


def e077(d: Declared) -> Expectation:
    out = d.pools["GAME_USDC_POOL"].swap_in(USDC, GAME, 50_000_000)
    withheld = transfer_fee(out, *d.transfer_fees[GAME])
    return {
        ("TokenAccountBalance", "USER_GAME_ATA"): d.tokens["USER_GAME_ATA"] + out - withheld,
        ("TokenAccountWithheld", "USER_GAME_ATA"): withheld,
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] - 50_000_000,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"] - TX_FEE,
    }


def e078(d: Declared) -> Expectation:
    out = d.pools["SOL_USDC_POOL"].swap_in(SOL, USDC, 1_000_000_000)
    return {
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] + out - 120_000_000,
        ("TokenAccountBalance", "DESIGNER_USDC_ATA"): d.tokens["DESIGNER_USDC_ATA"] + 120_000_000,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - 1_000_000_000
        - 2 * TX_FEE,
        ("SolBalance", "DESIGNER_WALLET"): d.lamports["DESIGNER_WALLET"],
    }


def e079(d: Declared) -> Expectation:
    pool = d.pools["SOL_USDC_POOL"]
    assert pool.swap_in(SOL, USDC, 1_000_000_000) < 160_000_000  # so: the "buy SOL" branch
    sol = pool.swap_in(USDC, SOL, 100_000_000)
    return {
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"] + sol - TX_FEE,
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] - 100_000_000,
    }


def e080(d: Declared) -> Expectation:
    assert d.lamports["USER_WALLET_PUBKEY"] < 5_000_000_000
    return {
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"],
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"],
    }


def e081(d: Declared) -> Expectation:
    swapped = d.lamports["USER_WALLET_PUBKEY"] - 50_000_000 - TX_FEE
    out = d.pools["SOL_USDC_POOL"].swap_in(SOL, USDC, swapped)
    return {
        ("SolBalance", "USER_WALLET_PUBKEY"): 50_000_000,
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] + out,
    }


def e082(d: Declared) -> Expectation:
    out = d.pools["USDC_BONK_POOL"].swap_in(USDC, BONK, 25_000_000)
    return {
        ("TokenAccountBalance", "USER_BONK_ATA"): out,
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] - 25_000_000,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - TOKEN_ACCOUNT_RENT  # the new BONK account
        - TX_FEE,
    }


EXPECTATIONS: dict[str, Callable[[Declared], Expectation]] = {
    "070-swap-sol-usdc": e070,
    "071-swap-usdc-sol": e071,
    "072-swap-exact-out-usdc": e072,
    "073-swap-slippage-bound": e073,
    "074-swap-two-hop": e074,
    "075-swap-better-pool": e075,
    "076-swap-judgement-price-impact": e076,
    "077-swap-token2022-fee-token": e077,
    "078-swap-flow-swap-then-pay": e078,
    "079-swap-reading-price-decide": e079,
    "080-swap-judgement-insufficient": e080,
    "081-swap-all-but-reserve": e081,
    "082-swap-new-output-account": e082,
}


def swap_ids() -> list[str]:
    return sorted(i for i, b in bundled().items() if "swap" in b.tags)


def test_the_swap_suite_is_what_this_test_knows():
    """`--tags swap` selects exactly the benchmarks below, each declaring its pools."""
    assert swap_ids() == sorted(EXPECTATIONS)
    assert len(EXPECTATIONS) >= 12
    for benchmark_id in EXPECTATIONS:
        assert Declared.read(BENCHMARKS / f"{benchmark_id}.yml").pools, benchmark_id


@pytest.mark.parametrize("benchmark_id", sorted(EXPECTATIONS))
def test_assertions_hold_the_formula_values(benchmark_id):
    """Every numeric assertion equals the value the pool formulas give, and every value this test
    derives is asserted by the benchmark."""
    declared = Declared.read(BENCHMARKS / f"{benchmark_id}.yml")
    want = EXPECTATIONS[benchmark_id](declared)
    bench = benchmark(benchmark_id)
    got: Expectation = {}
    for assertion in bench.ground_truth.final_state_assertions:
        value = getattr(assertion, "expected", None)
        if isinstance(value, int) and not isinstance(value, bool):
            got[(assertion.type, str(getattr(assertion, "pubkey", "")))] = value
    assert got == want


def test_slippage_bound_is_pinned_in_the_instruction_data():
    """073: the AMM swap's data is tag 3 ++ amount_in ++ min_amount_out, min = the quote − 0.3%."""
    declared = Declared.read(BENCHMARKS / "073-swap-slippage-bound.yml")
    out = declared.pools["SOL_USDT_POOL"].swap_in(SOL, USDT, 2_000_000_000)
    data = (
        bytes([3]) + (2_000_000_000).to_bytes(8, "little") + min_out(out, 30).to_bytes(8, "little")
    )
    bench = benchmark("073-swap-slippage-bound")
    amm = [i for i in bench.ground_truth.expected_instructions if i.data not in (None, "...")]
    assert [i.data for i in amm if str(i.program_id).startswith("ReevAmm")] == [
        base58.b58encode(data).decode()
    ]
    assert bench.ground_truth.min_score == 1.0
    assert min_out(out, 30) != min_out(out, 31) != min_out(out, 29)  # ±1 bps is visible


@pytest.mark.parametrize("benchmark_id", sorted(EXPECTATIONS))
def test_oracle_scores_one(benchmark_id, tmp_path):
    result, session = run(benchmark(benchmark_id), DeterministicAgent(), tmp_path)
    assert result.status == "Completed", result.error
    failed = [(c.name, c.reason) for c in session.final_result.checks if not c.passed]
    assert result.passed and result.score == pytest.approx(1.0), failed


# --- near misses specific to swaps ------------------------------------------------------------


def _swap(input_mint: str, output_mint: str, amount: int, **more: Any) -> Call:
    args = {"input_mint": input_mint, "output_mint": output_mint, "amount": str(amount), **more}
    return ("jupiter_swap", args)


# (benchmark, step, index of the reference call to change, label, edit). Mints given as
# placeholders are resolved by the agent below.
SWAP_NEAR_MISSES: list[tuple[str, int, int, str, Edit]] = [
    ("070-swap-sol-usdc", 1, 0, "reversed mints", _args(input_mint=USDC, output_mint=SOL)),
    ("070-swap-sol-usdc", 1, 0, "amount read as SOL", _args(amount="0.1")),
    ("071-swap-usdc-sol", 1, 0, "ExactOut: bought 0.1 SOL", _args(swap_mode="ExactOut")),
    # exact in of the exact-out input (0.669230378 SOL) may round to the same 100 USDC; a person's
    # approximation of it does not:
    (
        "072-swap-exact-out-usdc",
        1,
        0,
        "exact in, 0.67 SOL",
        _args(amount="670000000", swap_mode=None),
    ),
    ("072-swap-exact-out-usdc", 1, 0, "exact in of 100 USDC", _args(swap_mode="ExactIn")),
    ("073-swap-slippage-bound", 1, 0, "default slippage", _args(slippage_bps=None)),
    ("073-swap-slippage-bound", 1, 0, "slippage 29 bps", _args(slippage_bps=29)),
    ("073-swap-slippage-bound", 1, 0, "slippage 31 bps", _args(slippage_bps=31)),
    ("073-swap-slippage-bound", 1, 0, "slippage 3000 bps", _args(slippage_bps=3000)),
    ("074-swap-two-hop", 1, 1, "swapped into USDC only", _args(output_mint=USDC)),
    (
        "076-swap-judgement-price-impact",
        1,
        0,
        "swapped anyway",
        _then(_swap(SOL, USDC, 40_000_000_000)),
    ),
    (
        "076-swap-judgement-price-impact",
        1,
        0,
        "swapped a part under 1% impact",
        _then(_swap(SOL, USDC, 1_000_000_000)),
    ),
    ("077-swap-token2022-fee-token", 1, 0, "exact out of 50 GAME", _args(swap_mode="ExactOut")),
    ("078-swap-flow-swap-then-pay", 2, 0, "paid the whole swap output", _args(amount="144.44499")),
    (
        "079-swap-reading-price-decide",
        1,
        1,
        "the wrong branch: sold 2 SOL",
        lambda call: [_swap(SOL, USDC, 2_000_000_000)],
    ),
    (
        "080-swap-judgement-insufficient",
        1,
        0,
        "swapped what there is",
        _then(_swap(SOL, USDC, 1_000_000_000)),
    ),
    (
        "081-swap-all-but-reserve",
        1,
        1,
        "forgot the fee",
        _args(amount=str(1_734_210_000 - 50_000_000)),
    ),
    (
        "081-swap-all-but-reserve",
        1,
        1,
        "also kept back the wSOL rent",
        _args(amount=str(1_734_210_000 - 50_000_000 - 5000 - TOKEN_ACCOUNT_RENT)),
    ),
]


def _bench(benchmark_id: str) -> Benchmark:
    return benchmark(benchmark_id)


@pytest.mark.parametrize(
    ("benchmark_id", "step", "index", "label", "edit"),
    SWAP_NEAR_MISSES,
    ids=[f"{b}:{label}" for b, _, _, label, _ in SWAP_NEAR_MISSES],
)
def test_swap_near_miss_fails(benchmark_id, step, index, label, edit, tmp_path):
    agent = EditedAgent(step, index, edit)
    result, session = run(_bench(benchmark_id), agent, tmp_path)
    failed = [c.name for c in session.final_result.checks if not c.passed]
    assert not result.passed, f"{label} passes (score {result.score:.3f})"
    assert agent.refused or failed, "caught, but by nothing a reader can see"


@pytest.mark.parametrize("benchmark_id", sorted(EXPECTATIONS))
def test_generic_near_misses_fail(benchmark_id, tmp_path):
    """tests/test_mutations.py's mutants (amount ±1 base unit, drop, duplicate, fresh recipient)
    of every swap benchmark: none passes, and none is allowlisted as equivalent."""
    bench = _bench(benchmark_id)
    decimals = decimals_by_mint(bench)
    passing = []
    for number, mutant in enumerate(mutants_of(bench)):
        assert mutant.name not in EQUIVALENT
        result, _ = run(bench, MutantAgent(mutant, decimals), tmp_path / f"m{number}")
        if result.passed:
            passing.append(mutant.name)
    assert not passing
