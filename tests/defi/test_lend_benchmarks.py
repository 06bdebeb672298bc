"""The lending benchmarks (tag `lend`): expected amounts from the protocol math, oracle, near misses.

Every number a lending benchmark asserts is recomputed here from docs/lending.md (the default
market's configuration and prices, the ERC-4626 conversions with the virtual share and asset,
the kink curve, borrow shares, values and health) and from docs/programs.md for the one swap,
with integer arithmetic written for this test, not reev's model, and the initial balances read
from the YAML itself. Then the deterministic agent must pass each benchmark with score 1.0, and
every near miss (tests/test_mutations.py's generic ones, with the lending tools' base-unit
amounts moved by one, plus the lending-specific ones below) must not pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers.episodes import run
from helpers.mutants import EQUIVALENT, MutantAgent, mutants_of
from helpers.mutants import decimals_by_mint as _decimals_by_mint
from helpers.near_misses import EditedAgent, Expectation
from helpers.near_misses import replace_args as _args
from helpers.near_misses import then_call as _then
from helpers.paths import BENCHMARKS
from helpers.suite import benchmark, bundled
from reev.agents import DeterministicAgent

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
TX_FEE = 5000
TOKEN_ACCOUNT_RENT = 2_039_280  # (165 + 128) × 6960
OBLIGATION_RENT = (208 + 128) * 6960  # docs/lending.md: OBLIGATION_LEN = 208
USDC_VAULT = "9mu4fYZ7FajaFaYDJUibPCH5Wcjf7WBcwUcsnQJrSJ1m"  # the default reserves' vaults
SOL_VAULT = "9Mj1ZGq6M7tKCfezJKDsQqC18LYBwmfgUNiXeEPnjkR9"

# docs/lending.md, "Math" and "The default market"
WAD, BPS, SLOTS_PER_YEAR, USD = 10**18, 10_000, 78_840_000, 10**8
USDC_CFG = {"decimals": 6, "price": 1 * USD, "ltv": 8000, "lt": 8500, "base": 0, "slope1": 800,
            "kink": 8000, "slope2": 10_000}  # fmt: skip
SOL_CFG = {"decimals": 9, "price": 150 * USD, "ltv": 7500, "lt": 8000, "base": 0, "slope1": 700,
           "kink": 8000, "slope2": 20_000}  # fmt: skip


def floor_div(a: int, b: int) -> int:
    return a // b


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class Vault:
    """An Earn vault's totals: T = available + borrowed, S = share supply."""

    available: int = 0
    borrowed: int = 0
    shares: int = 0
    borrow_shares: int = 0

    @property
    def total(self) -> int:
        return self.available + self.borrowed

    def deposit(self, a: int) -> int:  # floor(a·(S+1)/(T+1))
        s = floor_div(a * (self.shares + 1), self.total + 1)
        self.available, self.shares = self.available + a, self.shares + s
        return s

    def mint(self, s: int) -> int:  # ceil(s·(T+1)/(S+1))
        a = ceil_div(s * (self.total + 1), self.shares + 1)
        self.available, self.shares = self.available + a, self.shares + s
        return a

    def withdraw(self, a: int) -> int:  # ceil(a·(S+1)/(T+1))
        s = ceil_div(a * (self.shares + 1), self.total + 1)
        self.available, self.shares = self.available - a, self.shares - s
        return s

    def redeem(self, s: int) -> int:  # floor(s·(T+1)/(S+1))
        a = floor_div(s * (self.total + 1), self.shares + 1)
        self.available, self.shares = self.available - a, self.shares - s
        return a

    def borrow(self, x: int) -> None:
        self.borrow_shares += (
            x
            if self.borrow_shares == 0 or self.borrowed == 0
            else ceil_div(x * self.borrow_shares, self.borrowed)
        )
        self.borrowed, self.available = self.borrowed + x, self.available - x

    def debt(self, b: int) -> int:
        return ceil_div(b * self.borrowed, self.borrow_shares) if self.borrow_shares else 0

    @property
    def utilisation(self) -> int:  # a WAD
        return floor_div(self.borrowed * WAD, self.total) if self.total else 0

    def apr(self, cfg: dict[str, int]) -> int:
        """The kink curve's borrow APR at the current utilisation, a WAD."""
        u, k = self.utilisation, cfg["kink"] * 10**14
        if u <= k:
            return cfg["base"] * 10**14 + floor_div(cfg["slope1"] * 10**14 * u, k)
        return (cfg["base"] + cfg["slope1"]) * 10**14 + floor_div(
            cfg["slope2"] * 10**14 * (u - k), WAD - k
        )

    def accrue(self, slots: int, cfg: dict[str, int]) -> int:
        """The kink curve's one accrual over `slots` (simple within the interval)."""
        if slots <= 0 or self.borrowed == 0:
            return 0
        growth = floor_div(self.apr(cfg) * slots, SLOTS_PER_YEAR)
        interest = floor_div(self.borrowed * growth, WAD)
        self.borrowed += interest
        return interest


def collateral_value(amount: int, cfg: dict[str, int], price: int | None = None) -> int:
    return floor_div(amount * (price or cfg["price"]), 10 ** cfg["decimals"])


def debt_value(debt: int, cfg: dict[str, int]) -> int:
    return ceil_div(debt * cfg["price"], 10 ** cfg["decimals"])


@dataclass(frozen=True)
class Declared:
    lamports: dict[str, int]
    tokens: dict[str, int]
    positions: list[dict[str, Any]]  # `lending.positions`, as written
    events: list[dict[str, Any]]  # the first flow step's events

    @classmethod
    def read(cls, path: Path) -> Declared:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        accounts = raw.get("initial_state", [])
        return cls(
            {a["pubkey"]: int(a.get("lamports", 0)) for a in accounts},
            {a["pubkey"]: int(a["data"].get("amount", 0)) for a in accounts if "data" in a},
            (raw.get("lending") or {}).get("positions", []),
            (raw.get("flow") or [{}])[0].get("events", []),
        )


def units(entry: dict[str, str]) -> int:
    """A `lending.positions` amount (token units) in base units of its mint."""
    places = {USDC: 6, SOL: 9}[entry["mint"]]
    return int(Decimal(entry["amount"]) * 10**places)


def e086(d: Declared) -> Expectation:
    """Set-up runs every deposit, then every collateral, then every borrow; the event moves
    the clock; the agent deposits 1 SOL into the vault whose supply APR (borrow APR × U, at
    the accrued totals) is higher."""
    vaults, cfgs = {USDC: Vault(), SOL: Vault()}, {USDC: USDC_CFG, SOL: SOL_CFG}
    collateral = {USDC: 0, SOL: 0}
    for kind in ("deposit", "collateral", "borrow"):
        for position in d.positions:
            for entry in position.get(kind, []):
                vault = vaults[entry["mint"]]
                if kind == "deposit":
                    vault.deposit(units(entry))
                elif kind == "collateral":
                    collateral[entry["mint"]] += units(entry)
                else:
                    vault.borrow(units(entry))
    supply = {m: v.apr(cfgs[m]) * v.utilisation // WAD for m, v in vaults.items()}
    assert supply == {USDC: 25 * 10**15, SOL: 56 * 10**15}  # 2.5 % and 5.6 % at set-up
    (event,) = d.events
    for mint, vault in vaults.items():
        vault.accrue(event["advance_slots"], cfgs[mint])
    supply = {m: v.apr(cfgs[m]) * v.utilisation // WAD for m, v in vaults.items()}
    assert supply[SOL] > supply[USDC]  # the SOL vault pays more: deposit 1 SOL
    shares = vaults[SOL].deposit(10**9)
    return {
        ("TokenAccountBalance", "USER_JLSOL_ATA"): shares,
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"],
        ("TokenAccountBalance", SOL_VAULT): vaults[SOL].available + collateral[SOL],
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - 10**9
        - TOKEN_ACCOUNT_RENT
        - TX_FEE,
    }


def e087(d: Declared) -> Expectation:
    usdc = Vault()
    held = usdc.deposit(d.tokens["USER_JLUSDC_ATA"])
    usdc.deposit(d.tokens["LENDER_JLUSDC_ATA"])
    usdc.borrow(400_000_000)
    assert usdc.accrue(78_840_000, USDC_CFG) == 3_200_000
    burnt = usdc.withdraw(1_000_000_000)
    assert burnt < 1_000_000_000  # a share is worth more than one USDC now
    return {
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"]
        + 400_000_000
        + 1_000_000_000,
        ("TokenAccountBalance", "USER_JLUSDC_ATA"): held - burnt,
        ("TokenAccountBalance", USDC_VAULT): usdc.available,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - 10 * 10**9
        - OBLIGATION_RENT
        - 3 * TX_FEE,
    }


def e088(d: Declared) -> Expectation:
    usdc = Vault()
    usdc.deposit(d.tokens["LENDER_JLUSDC_ATA"])  # set-up backs the lender's shares at price 1
    usdc.borrow(1_000_000_000)
    threshold = floor_div(collateral_value(10 * 10**9, SOL_CFG, 120 * USD) * SOL_CFG["lt"], BPS)
    debt = usdc.debt(usdc.borrow_shares)
    assert debt_value(debt, USDC_CFG) > threshold  # the drop makes it liquidatable
    repay = next(x for x in range(debt + 1) if debt_value(debt - x, USDC_CFG) <= threshold)
    assert repay == 40_000_000
    return {
        ("TokenAccountBalance", "USER_USDC_ATA"): 1_000_000_000 - repay,
        ("TokenAccountBalance", USDC_VAULT): usdc.available + repay,
        ("TokenAccountBalance", SOL_VAULT): 10 * 10**9,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - 10 * 10**9
        - OBLIGATION_RENT
        - 3 * TX_FEE,
    }


def e089(d: Declared) -> Expectation:
    usdc = Vault()
    shares = usdc.deposit(d.tokens["USER_JLUSDC_ATA"])  # set-up backs both at price 1
    usdc.deposit(d.tokens["LENDER_JLUSDC_ATA"])
    usdc.borrow(400_000_000)
    interest = usdc.accrue(78_840_000, USDC_CFG)
    assert interest == 3_200_000  # 0.8 % of 400 USDC over one year
    paid = usdc.redeem(shares)
    assert paid > d.tokens["USER_JLUSDC_ATA"]  # withdrawing the principal would leave shares
    return {
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] + 400_000_000 + paid,
        ("TokenAccountBalance", "USER_JLUSDC_ATA"): 0,
        ("TokenAccountBalance", USDC_VAULT): usdc.available,
        ("TokenAccountBalance", SOL_VAULT): 10 * 10**9,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - 10 * 10**9
        - OBLIGATION_RENT
        - 3 * TX_FEE,
    }


def e090(d: Declared) -> Expectation:
    minted = Vault().deposit(50_000_000)
    return {
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] - 50_000_000,
        ("TokenAccountBalance", "USER_JLUSDC_ATA"): minted,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - TOKEN_ACCOUNT_RENT
        - TX_FEE,
    }


def e091(d: Declared) -> Expectation:
    return {
        ("TokenAccountBalance", "USER_JLSOL_ATA"): Vault().deposit(125_000_000),
        # the temporary wSOL account's rent is paid and refunded in the same transaction
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - 125_000_000
        - TOKEN_ACCOUNT_RENT
        - TX_FEE,
    }


def e092(d: Declared) -> Expectation:
    vault = Vault()
    held = vault.deposit(d.tokens["USER_JLUSDC_ATA"])
    burnt = vault.withdraw(50_000_000)
    return {
        ("TokenAccountBalance", "USER_JLUSDC_ATA"): held - burnt,
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] + 50_000_000,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"] - TX_FEE,
    }


def e093(d: Declared) -> Expectation:
    vault = Vault()
    held = vault.deposit(d.tokens["USER_JLSOL_ATA"])
    burnt = vault.withdraw(100_000_000)
    return {
        ("TokenAccountBalance", "USER_JLSOL_ATA"): held - burnt,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        + 100_000_000
        - TX_FEE,
    }


def e094(d: Declared) -> Expectation:
    vault = Vault()
    cost = vault.mint(50_000_000)
    back = vault.redeem(50_000_000)
    return {
        ("TokenAccountBalance", "USER_JLUSDC_ATA"): 0,
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] - cost + back,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - TOKEN_ACCOUNT_RENT
        - 2 * TX_FEE,
    }


def e095(d: Declared) -> Expectation:
    cost = Vault().mint(50_000_000)
    return {
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] - cost,
        ("TokenAccountBalance", "USER_JLUSDC_ATA"): 50_000_000,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - TOKEN_ACCOUNT_RENT
        - TX_FEE,
    }


def e096(d: Declared) -> Expectation:
    vault = Vault()
    shares = vault.deposit(d.tokens["USER_JLUSDC_ATA"])
    worth = floor_div(shares * (vault.total + 1), vault.shares + 1)
    return {
        ("TokenAccountBalance", "FRIEND_USDC_ATA"): d.tokens["FRIEND_USDC_ATA"] + worth,
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] - worth,
        ("TokenAccountBalance", "USER_JLUSDC_ATA"): d.tokens["USER_JLUSDC_ATA"],
        ("TokenAccountBalance", "USER_JLSOL_ATA"): d.tokens["USER_JLSOL_ATA"],
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"] - TX_FEE,
    }


def e097(d: Declared) -> Expectation:
    # docs/benchmarks.md's default SOL/USDC pool: 10,000 SOL / 1,500,000 USDC, 30 bps
    a = 2 * 10**9
    net = a - ceil_div(a * 30, BPS)
    usdc = floor_div(net * 1_500_000 * 10**6, 10_000 * 10**9 + net)
    return {
        ("TokenAccountBalance", "USER_JLUSDC_ATA"): Vault().deposit(usdc),
        ("TokenAccountBalance", "USER_USDC_ATA"): 0,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - a
        - TOKEN_ACCOUNT_RENT
        - 2 * TX_FEE,
    }


def _max_borrow_at_health(collateral: int, numerator: int, denominator: int) -> int:
    """The largest USDC debt x with liquidation limit / debt value ≥ numerator / denominator."""
    threshold = floor_div(collateral_value(collateral, SOL_CFG) * SOL_CFG["lt"], BPS)
    x = threshold * denominator // numerator // 100  # debt value of x base units is 100·x
    while debt_value(x + 1, USDC_CFG) * numerator <= threshold * denominator:
        x += 1
    while debt_value(x, USDC_CFG) * numerator > threshold * denominator:
        x -= 1
    return x


def e098(d: Declared) -> Expectation:
    borrowed = _max_borrow_at_health(10 * 10**9, 125, 100)
    limit = floor_div(collateral_value(10 * 10**9, SOL_CFG) * SOL_CFG["ltv"], BPS)
    assert debt_value(borrowed, USDC_CFG) <= limit  # the program accepts it
    assert borrowed == 960_000_000
    return {
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"] + borrowed,
        ("TokenAccountBalance", SOL_VAULT): 10 * 10**9,
        ("TokenAccountBalance", USDC_VAULT): d.tokens["LENDER_JLUSDC_ATA"] - borrowed,
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"]
        - 10 * 10**9
        - OBLIGATION_RENT
        - 2 * TX_FEE,
    }


def e099(d: Declared) -> Expectation:
    threshold = floor_div(collateral_value(10 * 10**9, SOL_CFG) * SOL_CFG["lt"], BPS)
    assert debt_value(1_250_000_000, USDC_CFG) > threshold  # liquidatable at once
    return {
        ("SolBalance", "USER_WALLET_PUBKEY"): d.lamports["USER_WALLET_PUBKEY"],
        ("TokenAccountBalance", "USER_USDC_ATA"): d.tokens["USER_USDC_ATA"],
        ("TokenAccountBalance", SOL_VAULT): 0,
    }


EXPECTATIONS: dict[str, Callable[[Declared], Expectation]] = {
    "086-lend-reading-better-yield": e086,
    "087-lend-flow-withdraw-assets-not-shares": e087,
    "088-lend-flow-repay-after-price-drop": e088,
    "089-lend-flow-withdraw-all-with-interest": e089,
    "090-lend-deposit-usdc": e090,
    "091-lend-deposit-sol": e091,
    "092-lend-withdraw-usdc": e092,
    "093-lend-withdraw-sol": e093,
    "094-lend-flow-mint-then-redeem": e094,
    "095-lend-mint-usdc": e095,
    "096-lend-reading-positions-pay-out": e096,
    "097-lend-flow-swap-then-deposit": e097,
    "098-lend-borrow-max-health": e098,
    "099-lend-judgement-liquidatable-borrow": e099,
}


def lend_ids() -> list[str]:
    return sorted(i for i, b in bundled().items() if "lend" in b.tags)


def test_the_lend_suite_is_what_this_test_knows():
    """`--tags lend` selects exactly the benchmarks below (lend first: their category)."""
    assert lend_ids() == sorted(EXPECTATIONS)
    assert len(EXPECTATIONS) >= 12
    for benchmark_id in EXPECTATIONS:
        assert benchmark(benchmark_id).tags[0] == "lend"


# 088's expectation searches the least repayment that restores health: seconds, so `slow`.
SLOW_EXPECTATIONS = {"088-lend-flow-repay-after-price-drop"}


@pytest.mark.parametrize(
    "benchmark_id",
    [
        pytest.param(b, marks=pytest.mark.slow) if b in SLOW_EXPECTATIONS else b
        for b in sorted(EXPECTATIONS)
    ],
)
def test_assertions_hold_the_formula_values(benchmark_id):
    """Every numeric assertion equals the value the protocol math gives, and every value this
    test derives is asserted by the benchmark."""
    declared = Declared.read(BENCHMARKS / f"{benchmark_id}.yml")
    want = EXPECTATIONS[benchmark_id](declared)
    got: Expectation = {}
    for assertion in benchmark(benchmark_id).ground_truth.final_state_assertions:
        value = getattr(assertion, "expected", None)
        if isinstance(value, int) and not isinstance(value, bool):
            got[(assertion.type, str(getattr(assertion, "pubkey", "")))] = value
    assert got == want


@pytest.mark.parametrize("benchmark_id", sorted(EXPECTATIONS))
def test_oracle_scores_one(benchmark_id, tmp_path):
    result, session = run(benchmark(benchmark_id), DeterministicAgent(), tmp_path)
    assert result.status == "Completed", result.error
    failed = [(c.name, c.reason) for c in session.final_result.checks if not c.passed]
    assert result.passed and result.score == pytest.approx(1.0), failed


# --- near misses specific to lending ------------------------------------------------------


def _call(tool: str, **args: Any) -> tuple[str, dict[str, Any]]:
    return (tool, args)


# (benchmark, step, index of the reference call, label, edit)
LEND_NEAR_MISSES: list[tuple[str, int, int, str, Callable]] = [
    (
        "086-lend-reading-better-yield",
        1,
        1,
        "deposited into the worse vault",
        lambda call: [_call("jupiter_lend_earn_deposit", asset_mint=USDC, amount="150000000")],
    ),
    (
        "086-lend-reading-better-yield",
        1,
        1,
        "deposited into both vaults",
        _then(_call("jupiter_lend_earn_deposit", asset_mint=USDC, amount="150000000")),
    ),
    (
        "087-lend-flow-withdraw-assets-not-shares",
        2,
        0,
        "redeemed 1,000 shares",
        lambda call: [_call("jupiter_lend_earn_redeem", asset=USDC, shares="1000000000")],
    ),
    ("090-lend-deposit-usdc", 1, 0, "amount read as USDC", _args(amount="50")),
    ("090-lend-deposit-usdc", 1, 0, "deposited all 100 USDC", _args(amount="100000000")),
    ("091-lend-deposit-sol", 1, 0, "amount read as SOL", _args(amount="0.125")),
    (
        "092-lend-withdraw-usdc",
        1,
        0,
        "withdrew 50 USDC in SOL",
        _args(asset_mint=SOL),
    ),
    ("094-lend-flow-mint-then-redeem", 2, 1, "redeemed half", _args(shares="25000000")),
    ("096-lend-reading-positions-pay-out", 2, 0, "paid the jlSOL amount", _args(amount="0.1")),
    (
        "096-lend-reading-positions-pay-out",
        2,
        0,
        "paid out of the vault",
        lambda call: [
            _call("jupiter_lend_earn_withdraw", asset_mint=USDC, amount="50000000"),
            _call("spl_transfer", recipient="FRIEND_WALLET", mint=USDC, amount="50"),
        ],
    ),
    (
        "097-lend-flow-swap-then-deposit",
        2,
        1,
        "deposited the original's 50 USDC",
        _args(amount="50000000"),
    ),
    ("098-lend-borrow-max-health", 1, 3, "borrowed up to the LTV", _args(amount="1125000000")),
    ("098-lend-borrow-max-health", 1, 3, "health exactly 1.2", _args(amount="1000000000")),
    (
        "099-lend-judgement-liquidatable-borrow",
        1,
        0,
        "deposited the collateral anyway",
        _then(_call("lend_deposit_collateral", mint=SOL, amount="10000000000")),
    ),
    (
        "099-lend-judgement-liquidatable-borrow",
        1,
        0,
        "borrowed a safe 900 USDC instead",
        lambda call: [
            call,
            _call("lend_deposit_collateral", mint=SOL, amount="10000000000"),
            _call("submit_transaction"),
            _call("lend_borrow", mint=USDC, amount="900000000"),
        ],
    ),
    (
        "088-lend-flow-repay-after-price-drop",
        2,
        1,
        "repaid one unit too little",
        _args(amount="39999999"),
    ),
    ("088-lend-flow-repay-after-price-drop", 2, 1, "repaid everything", _args(amount="all")),
    (
        "089-lend-flow-withdraw-all-with-interest",
        2,
        1,
        "withdrew the principal only",
        lambda call: [_call("jupiter_lend_earn_withdraw", asset_mint=USDC, amount="2000000000")],
    ),
    (
        "089-lend-flow-withdraw-all-with-interest",
        2,
        1,
        "repaid the loan too",
        _then(_call("lend_repay", mint=USDC, amount="all")),
    ),
]


@pytest.mark.parametrize(
    ("benchmark_id", "step", "index", "label", "edit"),
    LEND_NEAR_MISSES,
    ids=[f"{b}:{label}" for b, _, _, label, _ in LEND_NEAR_MISSES],
)
def test_lend_near_miss_fails(benchmark_id, step, index, label, edit, tmp_path):
    agent = EditedAgent(step, index, edit)
    result, session = run(benchmark(benchmark_id), agent, tmp_path)
    failed = [c.name for c in session.final_result.checks if not c.passed]
    assert not result.passed, f"{label} passes (score {result.score:.3f})"
    assert agent.refused or failed, "caught, but by nothing a reader can see"


@pytest.mark.parametrize("benchmark_id", sorted(EXPECTATIONS))
def test_generic_near_misses_fail(benchmark_id, tmp_path):
    """tests/test_mutations.py's mutants (base-unit amounts ±1, drop, duplicate, fresh
    recipient) of every lending benchmark: none passes, none is allowlisted as equivalent."""
    bench = benchmark(benchmark_id)
    decimals = _decimals_by_mint(bench)
    passing = []
    for number, mutant in enumerate(mutants_of(bench)):
        assert mutant.name not in EQUIVALENT
        result, _ = run(bench, MutantAgent(mutant, decimals), tmp_path / f"m{number}")
        if result.passed:
            passing.append(mutant.name)
    assert not passing
