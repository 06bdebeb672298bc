"""The lending tools (docs/tools.md, "Lending") on a real chain with reev Lend's default market:
every expected amount is computed here from the documented formulas (docs/lending.md), not
from the reference model the tools use."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from helpers.chain_env import ChainEnv
from helpers.episodes import ScriptedAgent, run
from reev.defi.lend.default_market import market_address
from reev.defi.lend.events import advance_slots, set_price
from reev.defi.lend.layout import JL_SOL_MINT, JL_USDC_MINT, LendError, ReserveState
from reev.defi.lend.reader import read_market
from reev.spec.loader import BenchmarkError, parse_benchmark
from reev.tools import ToolContext, call_tool

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
WAD, BPS, SLOTS_PER_YEAR = 10**18, 10**4, 78_840_000
FEE = 5_000  # one signature

BENCH = textwrap.dedent(
    f"""\
    id: lend-tools
    prompt: Lend.
    initial_state:
      - pubkey: USER_WALLET_PUBKEY
        lamports: 50000000000
      - pubkey: USER_USDC_ATA
        owner: {TOKEN}
        data: {{mint: {USDC}, owner: USER_WALLET_PUBKEY, amount: "5000000000"}}
      - pubkey: USER_JLUSDC_ATA
        owner: {TOKEN}
        data: {{mint: {JL_USDC_MINT}, owner: USER_WALLET_PUBKEY, amount: "50000000"}}
      - pubkey: BORROWER_WALLET
        lamports: 50000000000
      - pubkey: BORROWER_USDC_ATA
        owner: {TOKEN}
        data: {{mint: {USDC}, owner: BORROWER_WALLET, amount: "0"}}
    """
)


def env() -> ChainEnv:
    return ChainEnv.build(parse_benchmark(BENCH, "lend.yml").benchmark)


def call(ctx: ToolContext, name: str, **args: Any) -> dict[str, Any]:
    """Call a tool that must succeed; submit when it staged something."""
    outcome = call_tool(ctx, name, args)
    assert outcome.ok, outcome.error
    assert outcome.result is not None
    if outcome.result.get("status") == "staged":
        result = ctx.submit()
        assert result.success, (result.error, result.logs[-4:])
    return outcome.result


def error_of(ctx: ToolContext, name: str, **args: Any) -> str:
    outcome = call_tool(ctx, name, args)
    assert not outcome.ok and outcome.error_kind == "tool_error", outcome
    assert outcome.error is not None
    return outcome.error


def borrower(e: ChainEnv) -> ToolContext:
    return ToolContext(chain=e.chain, user=e.keys.keypairs[e.addr("BORROWER_WALLET")])


def balance(e: ChainEnv, address: Pubkey) -> int:
    account = e.chain.get_account(address)
    return int.from_bytes(bytes(account.data)[64:72], "little") if account else 0


def lamports(e: ChainEnv, address: Pubkey) -> int:
    account = e.chain.get_account(address)
    return account.lamports if account else 0


def reserve(e: ChainEnv, index: int) -> ReserveState:
    view = read_market(e.chain, market_address(), e.chain.svm.get_clock().slot)
    return view.reserves[index][1]


def share_ata(owner: Pubkey, share_mint: Pubkey) -> Pubkey:
    return get_associated_token_address(owner, share_mint)


# --- the documented formulas, written out ------------------------------------------------


def apr(state: ReserveState) -> int:
    a, b, c = state.available, state.borrowed, state.config
    u = b * WAD // (a + b)
    k = c.kink_bps * 10**14
    if u <= k:
        return c.base_rate_bps * 10**14 + c.slope1_bps * 10**14 * u // k
    return (c.base_rate_bps + c.slope1_bps) * 10**14 + c.slope2_bps * 10**14 * (u - k) // (WAD - k)


def interest(state: ReserveState, slots: int) -> int:
    growth = apr(state) * slots // SLOTS_PER_YEAR
    return state.borrowed * growth // WAD


def test_initial_state_shares_are_backed_at_price_one_and_withdraw_to_empty() -> None:
    e = env()
    usdc = reserve(e, 0)
    assert (usdc.available, usdc.supply_shares, usdc.borrowed) == (50_000_000, 50_000_000, 0)
    result = call(e.ctx, "jupiter_lend_earn_withdraw", asset_mint=USDC, amount="50000000")
    # shares burnt = ceil(a (S + 1) / (T + 1)) = a while T == S
    assert result["preview"] == {"assets": "50000000", "shares": "50000000"}
    assert balance(e, e.addr("USER_JLUSDC_ATA")) == 0
    assert balance(e, e.addr("USER_USDC_ATA")) == 5_050_000_000


def test_deposit_usdc_and_sol_mint_shares_at_price_one() -> None:
    e = env()
    wallet = e.ctx.wallet
    call(e.ctx, "jupiter_lend_earn_deposit", asset_mint=USDC, amount=25_000_000)
    assert balance(e, e.addr("USER_JLUSDC_ATA")) == 75_000_000
    assert balance(e, e.addr("USER_USDC_ATA")) == 4_975_000_000
    before = lamports(e, wallet)
    result = call(
        e.ctx,
        "jupiter_lend_earn_deposit",
        asset_mint=SOL,
        amount="100000000",
        user_pubkey=str(wallet),
    )
    assert result["preview"] == {"assets": "100000000", "shares": "100000000"}
    jl_sol = share_ata(wallet, JL_SOL_MINT)
    assert balance(e, jl_sol) == 100_000_000
    rent = e.chain.rent_exempt_minimum(165)
    # 0.1 SOL, one signature and the new share account's rent; the wSOL account is closed
    assert before - lamports(e, wallet) == 100_000_000 + FEE + rent
    assert (
        e.chain.get_account(get_associated_token_address(wallet, Pubkey.from_string(SOL))) is None
    )
    assert reserve(e, 1).available == 100_000_000
    # and back: redeem all shares as plain SOL
    before = lamports(e, wallet)
    call(e.ctx, "jupiter_lend_earn_redeem", asset=SOL, shares="100000000", signer=str(wallet))
    assert balance(e, jl_sol) == 0
    assert lamports(e, wallet) - before == 100_000_000 - FEE


def test_the_agents_mistakes_are_tool_errors() -> None:
    e = env()
    other = str(e.addr("BORROWER_WALLET"))
    assert "not an asset of the lending market" in error_of(
        e.ctx,
        "jupiter_lend_earn_deposit",
        asset_mint="JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN",
        amount=1,
    )
    assert "greater than zero" in error_of(
        e.ctx, "jupiter_lend_earn_deposit", asset_mint=USDC, amount=0
    )
    assert "not your wallet" in error_of(
        e.ctx, "jupiter_lend_earn_deposit", asset_mint=USDC, amount=1, user_pubkey=other
    )
    assert "not your wallet" in error_of(
        e.ctx, "jupiter_lend_earn_mint", asset=USDC, shares=1, signer=other
    )
    assert "not your wallet" in error_of(e.ctx, "get_lend_positions", user_pubkey=other)
    assert "owe nothing" in error_of(e.ctx, "lend_repay", mint=USDC, amount="all")
    assert "deposit collateral first" in error_of(e.ctx, "lend_borrow", mint=USDC, amount=1)
    assert "base units" in error_of(e.ctx, "lend_borrow", mint=USDC, amount="1.5")
    assert e.ctx.staged == []


def open_loan(e: ChainEnv, sol: int, usdc: int) -> ToolContext:
    """The borrower puts `sol` lamports of collateral in and borrows `usdc` base units."""
    b = borrower(e)
    call(b, "lend_deposit_collateral", mint=SOL, amount=sol)
    call(b, "lend_borrow", mint=USDC, amount=usdc)
    return b


def test_positions_health_liquidation_price_and_max_borrow() -> None:
    e = env()
    call(e.ctx, "jupiter_lend_earn_deposit", asset_mint=USDC, amount=2_000_000_000)
    b = open_loan(e, 10 * 10**9, 1_000_000_000)  # 10 SOL at 150 USD, 1,000 USDC
    assert balance(e, e.addr("BORROWER_USDC_ATA")) == 1_000_000_000
    got = call(b, "get_lend_positions")
    sol = next(a for a in got["assets"] if a["mint"] == SOL)
    usdc = next(a for a in got["assets"] if a["mint"] == USDC)
    # CV = 10 SOL · 150 = 1,500 USD; T = 80 % of it = 1,200; D = 1,000; HF = 1.2
    assert (got["collateral_value_usd"], got["liquidation_limit_usd"], got["debt_value_usd"]) == (
        "1500",
        "1200",
        "1000",
    )
    assert got["borrow_limit_usd"] == "1125"  # 75 % LTV
    assert Fraction(got["health_factor"]) == Fraction(1200, 1000)
    assert got["ltv"] == "0." + "6" * 18  # 1000 / 1500, 18 places, rounded down
    # p_liq = D · BPS / (collateral · lt) per whole token = 1000 · 10^4 / (10 · 8000) = 125 USD
    assert Fraction(sol["liquidation_price_usd"]) == 125
    # the borrow limit leaves 1,125 − 1,000 = 125 USD = 125 USDC
    assert usdc["max_borrow"] == "125000000"
    over = call_tool(b, "lend_borrow", {"mint": USDC, "amount": 125_000_001})
    assert over.ok and over.result is not None
    assert over.result["preview"] == {
        "expected_error": "BorrowLimitExceeded",
        "expected_error_code": 32,
    }
    before = reserve(e, 0)
    failed = b.submit()
    assert not failed.success and f"custom program error {LendError.BORROW_LIMIT_EXCEEDED:#x}:" in (
        failed.error or ""
    )
    assert reserve(e, 0) == before  # nothing changed
    # after a fall to 110 USD the position is liquidatable (T = 880 < D = 1000)
    set_price(e.chain, Pubkey.from_string(SOL), 110 * 10**8)
    assert Fraction(call(b, "get_lend_positions")["health_factor"]) == Fraction(880, 1000)


def test_repay_all_pays_exactly_the_debt_with_interest() -> None:
    e = env()
    call(e.ctx, "jupiter_lend_earn_deposit", asset_mint=USDC, amount=2_000_000_000)
    b = open_loan(e, 10 * 10**9, 1_000_000_000)
    state = reserve(e, 0)
    slots = 2_592_000  # 12 days
    advance_slots(e.chain, slots)
    owed = state.borrowed + interest(state, slots)  # one borrower: debt = borrowed
    usdc = e.addr("BORROWER_USDC_ATA")
    # give the borrower what it needs to pay the interest
    extra = owed - balance(e, usdc)
    call(
        e.ctx,
        "spl_transfer",
        mint=USDC,
        recipient=str(b.wallet),
        amount=str(Decimal(extra).scaleb(-6)),
    )
    result = call(b, "lend_repay", mint=USDC, amount="all")
    assert result["preview"]["repaid"] == str(owed) and result["preview"]["debt_after"] == "0"
    assert balance(e, usdc) == 0
    assert reserve(e, 0).borrowed == 0


def test_interest_deposit_advance_withdraw_everything_is_exact() -> None:
    """Deposit, time passes (an environment event), redeem every share: the assets are
    floor(shares · (T + 1) / (S + 1)) with T grown by exactly one accrual of the documented
    rate over the interval."""
    e = env()
    deposit = 2_000_000_000
    call(e.ctx, "jupiter_lend_earn_deposit", asset_mint=USDC, amount=deposit)
    b = open_loan(e, 20 * 10**9, 1_500_000_000)
    state = reserve(e, 0)
    shares = balance(e, e.addr("USER_JLUSDC_ATA"))
    assert shares == deposit + 50_000_000  # price 1 until interest
    slots = 7_884_000  # a tenth of a year
    advance_slots(e.chain, slots)
    total = state.available + state.borrowed + interest(state, slots)
    expected = shares * (total + 1) // (state.supply_shares + 1)
    assert expected > shares  # interest was earned
    earned = call(e.ctx, "jupiter_earn", operation="both", position_address=USDC)
    assert earned["positions"][0]["assets"] == str(expected)
    # net deposited: 50 initial shares at price 1 plus this episode's deposit
    assert earned["earnings"][0]["net_deposited"] == str(deposit + 50_000_000)
    assert earned["earnings"][0]["earnings"] == str(expected - deposit - 50_000_000)
    # the borrower pays everything back (the interest from the user), so the vault has the
    # cash; a repayment moves debt into cash and leaves total assets as they are
    owed = state.borrowed + interest(state, slots)
    extra = Decimal(owed - balance(e, e.addr("BORROWER_USDC_ATA"))).scaleb(-6)
    call(e.ctx, "spl_transfer", mint=USDC, recipient=str(b.wallet), amount=str(extra))
    call(b, "lend_repay", mint=USDC, amount="all")
    before = balance(e, e.addr("USER_USDC_ATA"))
    result = call(e.ctx, "jupiter_lend_earn_redeem", asset=USDC, shares=shares)
    assert result["preview"] == {"assets": str(expected), "shares": str(shares)}
    assert balance(e, e.addr("USER_USDC_ATA")) - before == expected
    assert balance(e, e.addr("USER_JLUSDC_ATA")) == 0
    after = call(
        e.ctx, "jupiter_earn", operation="earnings", position_address=JL_USDC_MINT.__str__()
    )
    assert after["earnings"][0]["assets"] == "0" and "positions" not in after


def test_collateral_withdrawal_that_leaves_the_position_unhealthy_fails() -> None:
    e = env()
    call(e.ctx, "jupiter_lend_earn_deposit", asset_mint=USDC, amount=2_000_000_000)
    b = open_loan(e, 10 * 10**9, 1_000_000_000)
    # T after = (10 − x) · 150 · 0.8 ≥ 1000 ⇔ x ≤ 1.666… SOL; 2 SOL is too much
    staged = call_tool(b, "lend_withdraw_collateral", {"mint": SOL, "amount": 2 * 10**9})
    assert staged.result is not None and staged.result["preview"] == {
        "expected_error": "Unhealthy",
        "expected_error_code": 33,
    }
    failed = b.submit()
    assert not failed.success and f"custom program error {LendError.UNHEALTHY:#x}:" in (
        failed.error or ""
    )
    before = lamports(e, b.wallet)
    call(b, "lend_withdraw_collateral", mint=SOL, amount=1 * 10**9)
    assert lamports(e, b.wallet) - before == 10**9 - FEE


def test_collateral_calls_staged_together_create_the_obligation_once() -> None:
    """wrap_sol, then two collateral deposits in one transaction: one InitObligation, first."""
    e = env()
    staged = [
        call_tool(e.ctx, "wrap_sol", {"amount": "0.5"}),
        call_tool(e.ctx, "lend_deposit_collateral", {"mint": USDC, "amount": 7_000_000}),
        call_tool(e.ctx, "lend_deposit_collateral", {"mint": SOL, "amount": 2 * 10**9}),
    ]
    assert all(o.ok for o in staged), [o.error for o in staged]
    result = e.ctx.submit()
    assert result.success, (result.error, result.logs[-4:])
    got = call(e.ctx, "get_lend_positions")
    held = {a["mint"]: a["collateral"] for a in got["assets"]}
    assert held == {USDC: "7000000", SOL: "2000000000"}
    # 7 USDC · 1 + 2 SOL · 150 = 307 USD
    assert got["collateral_value_usd"] == "307" and got["health_factor"] is None


def test_stale_prices_make_a_borrow_fail_with_stale_price() -> None:
    e = env()
    call(e.ctx, "jupiter_lend_earn_deposit", asset_mint=USDC, amount=2_000_000_000)
    b = open_loan(e, 10 * 10**9, 100_000_000)
    advance_slots(e.chain, 151, stale_prices=True)  # max_price_age_slots is 150
    staged = call_tool(b, "lend_borrow", {"mint": USDC, "amount": 1_000_000})
    assert staged.result is not None
    assert staged.result["preview"] == {"expected_error": "StalePrice", "expected_error_code": 29}
    failed = b.submit()
    assert not failed.success and f"custom program error {LendError.STALE_PRICE:#x}:" in (
        failed.error or ""
    )
    advance_slots(e.chain, 1)  # an ordinary advance re-publishes: the borrow goes through
    call(b, "lend_borrow", mint=USDC, amount=1_000_000)
    assert balance(e, e.addr("BORROWER_USDC_ATA")) == 101_000_000


FLOW = textwrap.dedent(
    f"""\
    id: lend-flow
    prompt: Deposit, wait, withdraw.
    initial_state:
      - pubkey: USER_WALLET_PUBKEY
        lamports: 5000000000
      - pubkey: USER_USDC_ATA
        owner: {TOKEN}
        data: {{mint: {USDC}, owner: USER_WALLET_PUBKEY, amount: "100000000"}}
    flow:
      - step: 1
        prompt: Deposit 100 USDC.
      - step: 2
        prompt: How much do you hold now?
        events:
          - advance_seconds: 86400
          - set_price: {{mint: {SOL}, price: "120.5"}}
    """
)


def test_flow_events_run_before_their_step(tmp_path: Path) -> None:
    bench = parse_benchmark(FLOW, "flow.yml").benchmark
    assert [e.slots for e in bench.flow[1].events] == [216_000, 0]  # 86,400 s · 5 / 2
    slots: list[int] = []

    class Watching(ScriptedAgent):
        async def run_step(self, task, tools, reference=None):  # type: ignore[no-untyped-def]
            result = await tools.call("get_lend_positions", {})
            slots.append(int(result.get("assets", [{}])[1].get("price_usd", "0").split(".")[0]))
            await super().run_step(task, tools, reference)

    agent = Watching(
        [[("jupiter_lend_earn_deposit", {"asset_mint": USDC, "amount": "100000000"})], []]
    )
    result, _ = run(bench, agent, tmp_path)
    assert slots == [150, 120]  # the price event is visible as chain state in step 2
    assert agent.seen_tasks[1].observation is not None
    assert result.status == "Completed"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("{advance_slots: 0}", "greater than or equal to 1"),
        ("{advance_slots: 5, set_price: {mint: USDC_MINT_X, price: '1'}}", "exactly one of"),
        (f"{{set_price: {{mint: {SOL}, price: '-3'}}}}", "price"),
        (f"{{set_price: {{mint: {SOL}, price: '1.123456789'}}}}", "price"),
        ("{advance_hours: 3}", "advance_hours"),
        (f"{{set_price: {{mint: {SOL}, price: '2'}}, stale_prices: true}}", "stale_prices"),
    ],
)
def test_bad_events_are_reported_with_their_field(event: str, message: str) -> None:
    source = FLOW.replace("      - advance_seconds: 86400\n", f"      - {event}\n")
    assert source != FLOW
    with pytest.raises(BenchmarkError) as raised:
        parse_benchmark(source, "flow.yml")
    text = str(raised.value)
    assert "flow.yml:" in text and message in text, text
