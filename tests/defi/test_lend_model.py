"""reev Lend's layouts and reference model (docs/lending.md).

The worked examples compute their expected values by hand from the documented formulas (the
arithmetic is in the comments and in the test, not taken from the model); the property tests
run random operation sequences on the model alone and check the protocol's promises: the
books always hold, nobody takes out more than they are owed, the share price never falls, and a
failing operation changes nothing.
"""

from __future__ import annotations

import copy
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from reev.chain.accounts import decode_mint
from reev.constants import U64_MAX
from reev.defi.lend import layout
from reev.defi.lend.layout import (
    LEND_PROGRAM_ID,
    LendError,
    MarketState,
    ObligationState,
    OracleState,
    ReserveConfig,
    ReserveState,
)
from reev.defi.lend.model import (
    SLOTS_PER_YEAR,
    WAD,
    LendingModel,
    LendModelError,
    OracleModel,
    ReserveModel,
    borrow_apr,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lending.md"

# the default market's configs (docs/lending.md, "The default market")
USDC_CONFIG = ReserveConfig(8000, 8500, 500, 8000, 0, 800, 10_000, 150)
SOL_CONFIG = ReserveConfig(7500, 8000, 500, 8000, 0, 700, 20_000, 150)
USDC, SOL = 0, 1
USD = 10**8  # prices and values are USD × 10^8


def market(usdc_price: int = 1 * USD, sol_price: int = 150 * USD) -> LendingModel:
    return LendingModel(
        reserves=[ReserveModel(USDC_CONFIG, 6), ReserveModel(SOL_CONFIG, 9)],
        oracles=[OracleModel(usdc_price), OracleModel(sol_price)],
        close_factor_bps=5_000,
    )


def code_of(call: Callable[[], object]) -> LendError:
    """The program error code `call` fails with."""
    with pytest.raises(LendModelError) as caught:
        call()
    return caught.value.code


# ---------------------------------------------------------------- layouts


def test_program_id_is_32_bytes_and_layouts_have_the_documented_sizes() -> None:
    assert len(bytes(LEND_PROGRAM_ID)) == 32
    assert str(LEND_PROGRAM_ID) == "ReevLend11111111111111111111111111111111111"
    sizes = (layout.MARKET_LEN, layout.RESERVE_LEN, layout.ORACLE_LEN, layout.OBLIGATION_LEN)
    assert sizes == (560, 256, 64, 208)


def _key(n: int) -> Pubkey:
    return Pubkey.from_bytes(bytes([n]) * 32)


def test_reserve_round_trip_at_the_documented_offsets() -> None:
    state = ReserveState(
        index=3,
        authority_bump=254,
        decimals=6,
        config=USDC_CONFIG,
        market=_key(1),
        asset_mint=_key(2),
        vault=_key(3),
        share_mint=_key(4),
        oracle=_key(5),
        last_update_slot=300_000_000,
        available=11,
        borrowed=12,
        supply_shares=13,
        borrow_shares=14,
        total_collateral=15,
    )
    data = state.encode()
    assert ReserveState.decode(data) == state
    assert data[:8] == b"reevresv" and data[8] == 1 and data[9] == 3 and data[11] == 6
    assert struct.unpack_from("<HHHH", data, 12) == (8000, 8500, 500, 8000)
    assert struct.unpack_from("<IIII", data, 20) == (0, 800, 10_000, 150)
    for offset, key in ((40, 1), (72, 2), (104, 3), (136, 4), (168, 5)):
        assert data[offset : offset + 32] == bytes([key]) * 32
    assert struct.unpack_from("<7Q", data, 200) == (300_000_000, 11, 12, 13, 14, 15, 0)
    with pytest.raises(ValueError, match="discriminator"):
        ReserveState.decode(b"x" * 256)
    with pytest.raises(ValueError, match="256 bytes"):
        ReserveState.decode(data[:-1])


def test_market_oracle_obligation_round_trip_at_the_documented_offsets() -> None:
    m = MarketState(admin=_key(9), close_factor_bps=5000, reserves=((_key(1), _key(2)),))
    data = m.encode()
    assert MarketState.decode(data) == m
    assert data[9] == 1 and struct.unpack_from("<H", data, 10) == (5000,)
    assert data[16:48] == bytes([9]) * 32 and data[48:80] == bytes([1]) * 32
    assert data[80:112] == bytes([2]) * 32 and data[112:] == bytes(448)

    o = OracleState(mint=_key(7), price=150 * USD, publish_slot=42)
    data = o.encode()
    assert OracleState.decode(data) == o
    assert data[16:48] == bytes([7]) * 32
    assert struct.unpack_from("<QQ", data, 48) == (150 * USD, 42)

    ob = ObligationState(
        market=_key(1),
        owner=_key(2),
        bump=250,
        collateral=(0, 5, 0, 0, 0, 0, 0, 0),
        borrow_shares=(7, 0, 0, 0, 0, 0, 0, 0),
    )
    data = ob.encode()
    assert ObligationState.decode(data) == ob
    assert ob.positions() == (0, 1)
    assert struct.unpack_from("<Q", data, 80 + 8) == (5,)
    assert struct.unpack_from("<Q", data, 144) == (7,)


def test_pdas_and_share_mint_written_at_set_up() -> None:
    reserve, owner, mkt = _key(1), _key(2), _key(3)
    authority, bump = layout.reserve_authority(reserve)
    assert authority == Pubkey.create_program_address(
        [b"authority", bytes(reserve), bytes([bump])], LEND_PROGRAM_ID
    )
    obligation, bump = layout.obligation_address(mkt, owner)
    assert obligation == Pubkey.create_program_address(
        [b"obligation", bytes(mkt), bytes(owner), bytes([bump])], LEND_PROGRAM_ID
    )
    mint = decode_mint(layout.share_mint_data(reserve, 6))
    assert (mint.supply, mint.decimals) == (0, 6)
    assert mint.mint_authority == str(authority) and mint.freeze_authority is None
    assert str(layout.JL_USDC_MINT) == "9BEcn9aPEmhSPbPQeFGjidRiEKki46fVQDyPpSQXPA2D"
    assert str(layout.JL_SOL_MINT) == "2uQsyo1fXXQkDtcpXnLofWy88PxcvnfH2L8FPSE62FVU"
    assert layout.default_keypair("market") == layout.default_keypair("market")
    assert layout.default_keypair("market") != layout.default_keypair("admin")


def _table(section: str) -> dict[int, str]:
    """`| N | `Name` |` rows of one section of docs/lending.md."""
    text = DOCS.read_text().split(section, 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|", text, re.MULTILINE)
    return {int(code): name for code, name in rows}


def _camel(name: str) -> str:
    return "".join(word.capitalize() for word in name.split("_"))


def test_error_and_instruction_tables_in_the_docs_are_the_enums() -> None:
    assert _table("### Errors") == {e.value: _camel(e.name) for e in LendError}
    assert _table("## Instructions") == {t.value: _camel(t.name) for t in layout.Tag}


def test_config_checks() -> None:
    assert USDC_CONFIG.problem() is None and SOL_CONFIG.problem() is None
    bad = [
        ReserveConfig(8500, 8500, 500, 8000, 0, 800, 10_000, 150),  # ltv == lt
        ReserveConfig(8000, 9600, 500, 8000, 0, 800, 10_000, 150),  # 9600 · 10500 > 10^8
        ReserveConfig(8000, 8500, 500, 0, 0, 800, 10_000, 150),  # kink 0
        ReserveConfig(8000, 8500, 500, 8000, 1, 50_000, 50_000, 150),  # > 1000 %
        ReserveConfig(8000, 8500, 500, 8000, 0, 800, 10_000, 0),  # max age 0
    ]
    for config in bad:
        assert config.problem() is not None
        with pytest.raises(LendModelError) as caught:
            LendingModel([ReserveModel(config, 6)], [OracleModel(USD)])
        assert caught.value.code is LendError.INVALID_CONFIG


# ---------------------------------------------------------------- worked examples


def test_rate_curve_below_and_above_the_kink() -> None:
    # U = 600/1000 = 0.6 ≤ kink 0.8: apr = 0 + 8 % · 0.6 / 0.8 = 6 %
    assert borrow_apr(USDC_CONFIG, available=400, borrowed=600) == 6 * 10**16
    # U = 0.9 > kink: apr = 8 % + 100 % · (0.9 − 0.8) / (1 − 0.8) = 58 %
    assert borrow_apr(USDC_CONFIG, available=100, borrowed=900) == 58 * 10**16
    # U = 1: 8 % + 100 %
    assert borrow_apr(USDC_CONFIG, available=0, borrowed=900) == 108 * 10**16
    assert borrow_apr(USDC_CONFIG, available=0, borrowed=0) == 0


def test_share_price_starts_at_exactly_one() -> None:
    m = market()
    assert m.deposit(USDC, 50_000_000) == 50_000_000
    m.advance(10_000_000)  # no borrower: nothing accrues
    assert m.withdraw(USDC, 50_000_000, share_balance=50_000_000) == 50_000_000
    assert m.reserves[USDC].supply_shares == 0 and m.reserves[USDC].available == 0
    assert m.mint(SOL, 100_000_000) == 100_000_000
    assert m.redeem(SOL, 100_000_000, share_balance=100_000_000) == 100_000_000


def test_conversions_round_in_the_vaults_favour() -> None:
    m = market()
    r = m.reserves[USDC]
    r.available, r.supply_shares = 1000, 900  # a price above 1: (1000 + 1) / (900 + 1)
    state = copy.deepcopy(m)
    assert m.deposit(USDC, 100) == 100 * 901 // 1001 == 90  # 90.0099 rounded down
    m = copy.deepcopy(state)
    assert m.mint(USDC, 90) == -(-90 * 1001 // 901) == 100  # 99.989 rounded up
    m = copy.deepcopy(state)
    assert m.withdraw(USDC, 100, share_balance=900) == -(-100 * 901 // 1001) == 91  # 90.0099 up
    m = copy.deepcopy(state)
    assert m.redeem(USDC, 90, share_balance=900) == 90 * 1001 // 901 == 99  # 99.989 down


def test_deposit_advance_repay_withdraw_everything_pays_the_documented_rate() -> None:
    m = market()
    lender_shares = m.deposit(USDC, 1_000_000_000)  # 1,000 USDC at price 1
    assert lender_shares == 1_000_000_000
    m.deposit_collateral("bob", SOL, 10_000_000_000)  # 10 SOL, $1,500
    m.borrow("bob", USDC, 600_000_000)  # 600 USDC: utilisation 0.6, apr 6 %
    slots = SLOTS_PER_YEAR // 10  # a tenth of a year
    m.advance(slots)
    # the documented accrual, by hand: g = floor(apr · Δ / year), I = floor(B · g / WAD)
    apr = 6 * 10**16
    growth = apr * slots // SLOTS_PER_YEAR
    assert growth == 6 * 10**15  # 0.6 %
    accrued = 600_000_000 * growth // WAD
    assert accrued == 3_600_000  # 3.6 USDC of interest
    # bob repays everything: his 600,000,000 shares owe ceil(shares · B / Sb) = B
    assert m.repay("bob", USDC, U64_MAX) == (600_000_000 + accrued, 600_000_000)
    # the lender redeems every share: floor(s · (T + 1) / (S + 1)), T = 1,003,600,000
    total = 1_000_000_000 + accrued
    expected = lender_shares * (total + 1) // (lender_shares + 1)
    assert expected == 1_003_599_999  # 1.0036 · 10^9 · (1 − 10^-9): the virtual share keeps 1
    assert m.redeem(USDC, lender_shares, share_balance=lender_shares) == expected
    assert m.reserves[USDC].available == total - expected == 1  # stays in the vault


def test_interest_compounds_at_each_accrual() -> None:
    m = market()
    m.deposit(USDC, 1_000_000_000)
    m.deposit_collateral("bob", SOL, 10_000_000_000)
    m.borrow("bob", USDC, 600_000_000)
    half = SLOTS_PER_YEAR // 20
    m.advance(half)
    first = m.accrue_interest(USDC)
    assert first == 600_000_000 * (6 * 10**16 * half // SLOTS_PER_YEAR) // WAD == 1_800_000
    m.advance(half)
    # second interval: B = 601.8 USDC, U = 601.8 / 1001.8, apr = 8 % · U / 0.8
    b, a = 601_800_000, 400_000_000
    u = b * WAD // (a + b)
    apr = 800 * 10**14 * u // (8000 * 10**14)
    assert m.accrue_interest(USDC) == b * (apr * half // SLOTS_PER_YEAR) // WAD
    assert m.reserves[USDC].borrowed > 600_000_000 + 2 * first  # compounding and rate rise


def _borrower_with_10_sol(m: LendingModel) -> None:
    m.deposit(USDC, 2_000_000_000)
    m.deposit_collateral("bob", SOL, 10_000_000_000)


def test_borrow_past_the_ltv_fails_and_changes_nothing() -> None:
    m = market()
    _borrower_with_10_sol(m)
    # collateral value 10 SOL · $150 = 1500 · 10^8; limit 75 % = 1125 · 10^8; a USDC base
    # unit of debt is worth ceil(10^8 / 10^6) = 100, so at most 1,125,000,000 base units
    assert m.max_borrow("bob", USDC) == 1_125_000_000
    before = copy.deepcopy(m)
    assert code_of(lambda: m.borrow("bob", USDC, 1_125_000_001)) is LendError.BORROW_LIMIT_EXCEEDED
    assert m == before
    health = m.borrow("bob", USDC, 1_125_000_000)
    assert (health.debt_value, health.borrow_limit) == (1125 * USD, 1125 * USD)
    assert health.liquidation_limit == 1200 * USD  # 80 %
    assert health.health_factor == Fraction(1200, 1125)


def test_collateral_withdrawal_only_while_healthy() -> None:
    m = market()
    _borrower_with_10_sol(m)
    m.borrow("bob", USDC, 1_000_000_000)  # debt value 1000 · 10^8
    # healthy needs T = floor(CV · 0.8) ≥ 1000 · 10^8: CV ≥ 1250 · 10^8, i.e. at least
    # 8,333,333,334 lamports left (floor(8,333,333,334 · 150 · 10^8 / 10^9) = 125,000,000,010)
    before = copy.deepcopy(m)
    assert code_of(lambda: m.withdraw_collateral("bob", SOL, 1_666_666_667)) is LendError.UNHEALTHY
    assert m == before
    after = m.withdraw_collateral("bob", SOL, 1_666_666_666)
    assert after.liquidation_limit == 125_000_000_010 * 8000 // 10_000 == 100_000_000_008
    assert code_of(lambda: m.withdraw_collateral("bob", SOL, 10**10)) is (
        LendError.INSUFFICIENT_COLLATERAL
    )


def test_liquidation_after_a_price_drop_pays_the_documented_bonus() -> None:
    m = market()
    _borrower_with_10_sol(m)
    m.borrow("bob", USDC, 1_000_000_000)
    assert code_of(lambda: m.liquidate("bob", USDC, SOL, U64_MAX)) is LendError.NOT_LIQUIDATABLE
    m.set_price(SOL, 120 * USD)  # CV 1200, T = 960 < D = 1000: HF 0.96
    assert m.health("bob").health_factor == Fraction(960, 1000)
    # close factor 50 %: at most 500 USDC; value 500 · 10^8, with the 5 % bonus 525 · 10^8,
    # at $120 per SOL: 525 · 10^8 · 10^9 / (120 · 10^8) = 4,375,000,000 lamports
    before = copy.deepcopy(m)
    too_greedy = 4_375_000_001
    assert code_of(lambda: m.liquidate("bob", USDC, SOL, U64_MAX, too_greedy)) is (
        LendError.SLIPPAGE_EXCEEDED
    )
    assert m == before
    assert m.liquidate("bob", USDC, SOL, U64_MAX, 4_375_000_000) == (500_000_000, 4_375_000_000)
    ob = m.obligations["bob"]
    assert ob.collateral[SOL] == 5_625_000_000
    assert m.reserves[USDC].debt(ob.borrow_shares[USDC]) == 500_000_000
    assert m.reserves[SOL].total_collateral == 5_625_000_000


def test_liquidation_price_solves_the_documented_equation() -> None:
    m = market()
    _borrower_with_10_sol(m)
    m.borrow("bob", USDC, 1_000_000_000)
    # D = 1000 · 10^8 = 10 SOL · p / 10^9 · 10^9 ... : p = D · BPS · 10^9 / (10^10 · 8000)
    assert m.liquidation_price("bob", SOL) == Fraction(1000 * USD * 10_000 * 10**9, 10**10 * 8000)
    assert m.liquidation_price("bob", SOL) == 125 * USD
    assert m.liquidation_price("alice", SOL) is None


def test_liquidation_price_with_a_debt_in_the_collateral_asset_is_where_health_flips() -> None:
    m = market()
    _borrower_with_10_sol(m)
    m.deposit(SOL, 100 * 10**9)
    m.borrow("bob", USDC, 500_000_000)
    m.borrow("bob", SOL, 2 * 10**9)
    # (D_others − T_others) · BPS · 10^9 / (collateral · lt − debt_SOL · BPS)
    expected = Fraction(500 * USD * 10_000 * 10**9, 10**10 * 8000 - 2 * 10**9 * 10_000)
    price = m.liquidation_price("bob", SOL)
    assert price == expected == Fraction(500 * USD, 6)  # about $83.33
    for factor, healthy in ((Fraction(1001, 1000), True), (Fraction(999, 1000), False)):
        trial = copy.deepcopy(m)
        trial.set_price(SOL, int(price * factor))
        assert trial.health("bob").healthy is healthy


def test_stale_and_zero_prices() -> None:
    m = market()
    _borrower_with_10_sol(m)
    m.advance(151, refresh_prices=False)  # max age 150 slots
    before = copy.deepcopy(m)
    assert code_of(lambda: m.borrow("bob", USDC, 1)) is LendError.STALE_PRICE
    assert m == before  # nothing accrued either
    m.advance(0)  # the oracle network publishes again
    m.set_price(SOL, 0)
    assert code_of(lambda: m.borrow("bob", USDC, 1)) is LendError.INVALID_PRICE
    m.deposit_collateral("bob", SOL, 1)  # needs no price


def test_errors_of_the_earn_instructions() -> None:
    m = market()
    assert code_of(lambda: m.deposit(USDC, 0)) is LendError.ZERO_AMOUNT
    m.deposit(USDC, 100)
    assert code_of(lambda: m.withdraw(USDC, 101, share_balance=200)) is (
        LendError.INSUFFICIENT_LIQUIDITY
    )
    assert code_of(lambda: m.withdraw(USDC, 100, share_balance=99)) is LendError.INSUFFICIENT_SHARES
    assert code_of(lambda: m.redeem(USDC, 100, share_balance=99)) is LendError.INSUFFICIENT_SHARES
    assert code_of(lambda: m.repay("bob", USDC, 5)) is LendError.NO_DEBT
    r = m.reserves[USDC]
    r.available, r.supply_shares = 1000, 9  # a share worth 100: floor(1 · 10 / 1001) = 0
    assert code_of(lambda: m.deposit(USDC, 1)) is LendError.ZERO_SHARES
    r.available, r.supply_shares = 1, 10  # worth less than its shares (unreachable): 2 / 11
    assert code_of(lambda: m.redeem(USDC, 1, share_balance=10)) is LendError.ZERO_ASSETS


def test_u64_overflow_is_an_error() -> None:
    m = market()
    m.deposit(USDC, U64_MAX - 5)
    assert code_of(lambda: m.deposit(USDC, 10)) is LendError.MATH_OVERFLOW


# ---------------------------------------------------------------- properties


LENDERS = ("l0", "l1")
BORROWERS = ("b0", "b1")
LIQUIDATOR = "liq"
SCALE = (10**6, 10**9)  # one whole token of each reserve


@dataclass
class Books:
    """What the test itself counts: token balances the model does not hold."""

    shares: dict[tuple[str, int], int] = field(default_factory=dict)
    vault: list[int] = field(default_factory=lambda: [0, 0])
    earn_in: list[int] = field(default_factory=lambda: [0, 0])
    earn_out: list[int] = field(default_factory=lambda: [0, 0])
    debt_out: list[int] = field(default_factory=lambda: [0, 0])  # borrowed
    debt_in: list[int] = field(default_factory=lambda: [0, 0])  # repaid (liquidators too)
    collateral_in: dict[tuple[str, int], int] = field(default_factory=dict)
    collateral_out: dict[tuple[str, int], int] = field(default_factory=dict)

    def share(self, user: str, r: int) -> int:
        return self.shares.get((user, r), 0)

    def move_shares(self, user: str, r: int, delta: int) -> None:
        self.shares[(user, r)] = self.share(user, r) + delta


fraction = st.integers(1, 10_000).map(lambda bps: -bps)  # that many bps of what makes sense
amounts = st.one_of(fraction, st.just(-10_000), st.integers(1, 10**13))  # or raw base units
reserve_ix = st.sampled_from((USDC, SOL))
operations = st.one_of(
    st.tuples(st.sampled_from(("deposit", "mint", "withdraw", "redeem")), st.sampled_from(LENDERS),
              reserve_ix, amounts),
    st.tuples(st.sampled_from(("collateral", "uncollateral", "borrow", "repay")),
              st.sampled_from(BORROWERS), reserve_ix, amounts),
    st.tuples(
        st.just("liquidate"),
        st.sampled_from(BORROWERS),
        st.one_of(reserve_ix, st.none()),  # None: the largest debt / collateral
        st.one_of(reserve_ix, st.none()),
        amounts,
    ),
    st.tuples(
        st.just("advance"),
        st.one_of(st.integers(0, 150), st.integers(0, 5_000_000)),
        st.sampled_from((True,) * 9 + (False,)),  # prices go stale one time in ten
    ),
    st.tuples(st.just("price"), reserve_ix, st.integers(0, 400)),
)  # fmt: skip


def _amount(x: int, ceiling: int) -> int:
    """A raw amount, or `-bps` as that fraction of `ceiling` (at least 1)."""
    return x if x > 0 else max(1, ceiling * -x // 10_000)


def _apply(m: LendingModel, books: Books, op: tuple[Any, ...]) -> None:
    kind = op[0]
    view = m.accrued()  # the totals the instruction sees after its accrual
    if kind == "advance":
        m.advance(op[1], refresh_prices=op[2])
        return
    if kind == "price":
        r, dollars = op[1], op[2]
        # USDC near $1 (0.5 .. 1.5), SOL $0 .. $400; a price of 0 is possible
        price = (USD // 2 + USD * dollars // 400) if r == USDC else dollars * USD
        m.set_price(r, price)
        return
    if kind == "liquidate":
        _, owner, d, c, x = op
        ob = view.obligation(owner)  # the view is a copy: an absent one is empty
        if d is None:
            d = max((USDC, SOL), key=lambda i: view.reserves[i].debt(ob.borrow_shares[i]))
        if c is None:
            c = max((USDC, SOL), key=lambda i: ob.collateral[i])
        owed = view.reserves[d].debt(ob.borrow_shares[d])
        repaid, seized = m.liquidate(owner, d, c, _amount(x, max(owed, 1)))
        books.debt_in[d] += repaid
        books.vault[d] += repaid
        books.vault[c] -= seized
        key = (owner, c)
        books.collateral_out[key] = books.collateral_out.get(key, 0) + seized
        # the liquidator gets no more than the repaid value plus the bonus
        price_d, price_c = m.oracles[d].price, m.oracles[c].price
        bonus = Fraction(10_000 + m.reserves[c].config.liquidation_bonus_bps, 10_000)
        assert Fraction(seized * price_c, SCALE[c]) <= Fraction(repaid * price_d, SCALE[d]) * bonus
        owes = m.reserves[d].debt(m.obligations[owner].borrow_shares[d])
        assert owed - owes <= repaid  # the debt falls by at most what was paid
        return
    _, user, r, x = op
    before = view.reserves[r]
    t, s = before.total_assets, before.supply_shares
    if kind == "deposit":
        a = _amount(x, 1000 * SCALE[r])
        got = m.deposit(r, a)
        assert got * (t + 1) <= a * (s + 1)  # no more shares than paid for
        books.move_shares(user, r, got)
        books.vault[r] += a
        books.earn_in[r] += a
    elif kind == "mint":
        want = _amount(x, 1000 * SCALE[r])
        paid = m.mint(r, want)
        assert paid * (s + 1) >= want * (t + 1)
        books.move_shares(user, r, want)
        books.vault[r] += paid
        books.earn_in[r] += paid
    elif kind == "withdraw":
        held = books.share(user, r)
        a = _amount(x, max(1, before.assets_for_redeem(held)))
        burnt = m.withdraw(r, a, held)
        assert burnt * (t + 1) >= a * (s + 1)  # no fewer shares burnt than the assets are worth
        books.move_shares(user, r, -burnt)
        books.vault[r] -= a
        books.earn_out[r] += a
    elif kind == "redeem":
        held = books.share(user, r)
        want = _amount(x, max(1, held))
        paid = m.redeem(r, want, held)
        assert paid * (s + 1) <= want * (t + 1)
        books.move_shares(user, r, -want)
        books.vault[r] -= paid
        books.earn_out[r] += paid
    elif kind == "collateral":
        a = _amount(x, 100 * SCALE[r])
        m.deposit_collateral(user, r, a)
        books.vault[r] += a
        books.collateral_in[(user, r)] = books.collateral_in.get((user, r), 0) + a
    elif kind == "uncollateral":
        a = _amount(x, max(1, view.obligation(user).collateral[r]))
        m.withdraw_collateral(user, r, a)
        books.vault[r] -= a
        books.collateral_out[(user, r)] = books.collateral_out.get((user, r), 0) + a
    elif kind == "borrow":
        owed = before.debt(view.obligation(user).borrow_shares[r])
        a = _amount(x, max(1, view.max_borrow(user, r)))
        m.borrow(user, r, a)
        assert m.reserves[r].debt(m.obligations[user].borrow_shares[r]) >= owed + a
        books.vault[r] -= a
        books.debt_out[r] += a
    elif kind == "repay":
        owed = before.debt(view.obligation(user).borrow_shares[r])
        repaid, _ = m.repay(user, r, U64_MAX if x == -10_000 else _amount(x, max(1, owed)))
        owes = m.reserves[r].debt(m.obligations[user].borrow_shares[r])
        assert owed - owes <= repaid  # the debt falls by at most what was paid
        books.vault[r] += repaid
        books.debt_in[r] += repaid


def _check_books(m: LendingModel, books: Books, prices: list[Fraction]) -> None:
    view = m.accrued()
    for r, reserve in enumerate(view.reserves):
        # the vault holds exactly the lendable cash and the collateral
        assert books.vault[r] == reserve.available + reserve.total_collateral
        assert sum(v for (_, i), v in books.shares.items() if i == r) == reserve.supply_shares
        obligations = view.obligations.values()
        assert sum(ob.collateral[r] for ob in obligations) == reserve.total_collateral
        assert sum(ob.borrow_shares[r] for ob in obligations) == reserve.borrow_shares
        # total assets >= total claims: what every share holder can redeem is covered by the
        # cash plus what borrowers owe
        claims = sum(reserve.assets_for_redeem(v) for (_, i), v in books.shares.items() if i == r)
        debts = sum(reserve.debt(ob.borrow_shares[r]) for ob in obligations)
        assert claims <= reserve.total_assets <= reserve.available + debts
        price = reserve.share_price()
        assert price >= prices[r]  # the share price never decreases
        prices[r] = price


def _wind_down(m: LendingModel, books: Books) -> None:
    """Everyone repays, takes their collateral back and redeems: all of it must succeed."""
    m.set_price(USDC, USD)
    m.set_price(SOL, 150 * USD)
    for owner, ob in list(m.obligations.items()):
        for r in (USDC, SOL):
            if ob.borrow_shares[r]:
                repaid, _ = m.repay(owner, r, U64_MAX)
                books.vault[r] += repaid
                books.debt_in[r] += repaid
        for r in (USDC, SOL):
            if ob.collateral[r]:
                amount = ob.collateral[r]
                m.withdraw_collateral(owner, r, amount)
                books.vault[r] -= amount
                key = (owner, r)
                books.collateral_out[key] = books.collateral_out.get(key, 0) + amount
    for (user, r), held in list(books.shares.items()):
        if held:
            paid = m.redeem(r, held, held)
            books.move_shares(user, r, -held)
            books.vault[r] -= paid
            books.earn_out[r] += paid


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(st.lists(operations, max_size=30))
def test_random_sequences_keep_the_books(ops: list[tuple[Any, ...]]) -> None:
    m = market()
    books = Books()
    prices = [Fraction(1), Fraction(1)]
    prelude = [
        ("deposit", "l0", USDC, 10_000 * SCALE[USDC]),
        ("deposit", "l1", SOL, 100 * SCALE[SOL]),
        ("collateral", "b0", SOL, 20 * SCALE[SOL]),
        ("collateral", "b1", USDC, 5_000 * SCALE[USDC]),
        ("borrow", "b0", USDC, 2_200 * SCALE[USDC]),  # near the limits: prices move
        ("borrow", "b1", SOL, 25 * SCALE[SOL]),  # them either way
    ]
    for op in prelude:
        _apply(m, books, op)
    for op in ops:
        saved_model, saved_books = copy.deepcopy(m), copy.deepcopy(books)
        try:
            _apply(m, books, op)
        except LendModelError:
            assert m == saved_model  # a failing operation changes nothing
            books = saved_books
        _check_books(m, books, prices)
    _wind_down(m, books)
    _check_books(m, books, prices)
    for r, reserve in enumerate(m.reserves):
        assert reserve.supply_shares == reserve.borrow_shares == reserve.total_collateral == 0
        assert reserve.borrowed == 0
        # lenders took out at most what they put in plus what borrowers paid beyond the loans
        assert books.earn_out[r] - books.earn_in[r] <= books.debt_in[r] - books.debt_out[r]
        assert books.vault[r] == reserve.available >= 0
    # nobody took out more collateral than they put in
    for key, out in books.collateral_out.items():
        assert out <= books.collateral_in.get(key, 0)
