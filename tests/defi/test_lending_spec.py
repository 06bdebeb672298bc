"""`lending:` in a benchmark: other wallets' positions in reev Lend's default market, opened at
set-up by real transactions. The model's load-time errors (file:line:field), what set-up leaves
on chain (the reserves' totals, the obligation, the wallets' balances, derived here from the
declared amounts), a position the program refuses (the field and the program's error named),
and a chain without the default market (a fork) refusing a lending benchmark with its reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from helpers.chain_env import ChainEnv
from helpers.local_server import LocalServer
from helpers.suite import benchmark
from reev.chain.accounts import decode_token_account
from reev.chain.fork import AccountSource
from reev.chain.litesvm import LiteSVMChain
from reev.constants import NATIVE_MINT
from reev.defi.lend.default_market import market_address
from reev.defi.lend.events import current_slot
from reev.defi.lend.layout import OBLIGATION_LEN, ReserveState, default_keypair, obligation_address
from reev.defi.lend.reader import read_market
from reev.rpc.app import RpcServer
from reev.rpc.node import ChainNode
from reev.setup import build_initial_state
from reev.setup.errors import SetupError
from reev.spec import load_benchmark
from reev.spec.loader import BenchmarkError, parse_benchmark
from reev.spec.placeholders import resolve_placeholders
from reev.tools import call_tool

ORIGINALS = Path(__file__).parent / "original"
SOL = str(NATIVE_MINT)
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def source(positions: str) -> str:
    return textwrap.dedent(
        """\
        id: lending-test
        prompt: Deposit 1 USDC.
        initial_state:
          - pubkey: USER_WALLET_PUBKEY
            lamports: 1000000000
        lending:
          positions:
        {positions}
        """
    ).format(positions=textwrap.indent(textwrap.dedent(positions), "    "))


def error_of(text: str) -> str:
    with pytest.raises(BenchmarkError) as info:
        parse_benchmark(text, "lending.yml")
    assert len(info.value.diagnostics) == 1, info.value.diagnostics
    return str(info.value.diagnostics[0])


LENDER = f"""\
- wallet: LENDER_WALLET
  deposit:
    - {{mint: {USDC}, amount: "5000"}}
"""


# line numbers: `positions:` is line 7; the second position starts on line 11
@pytest.mark.parametrize(
    ("position", "where", "message"),
    [
        (
            f"""\
            - wallet: BORROWER_WALLET
              collateral:
                - {{mint: {SOL}, amount: "1.5"}}
              borrow:
                - {{mint: Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB, amount: "1"}}
            """,
            "lending.yml:15: error: lending.positions[1].borrow[0].mint:",
            "is not an asset of reev Lend's default market",
        ),
        (
            f"""\
            - wallet: BORROWER_WALLET
              collateral:
                - {{mint: {USDC}, amount: "1.0000001"}}
            """,
            "lending.yml:13: error: lending.positions[1].collateral[0].amount:",
            "decimal",
        ),
        (
            f"""\
            - wallet: BORROWER_WALLET
              borrow:
                - {{mint: {USDC}, amount: "1"}}
            """,
            "lending.yml:11: error: lending.positions[1]:",
            "a borrow needs collateral in the same position",
        ),
        (
            f"""\
            - wallet: BORROWER_WALLET
              deposit:
                - {{mint: {USDC}, amount: 1.5}}
            """,
            "lending.yml:13: error: lending.positions[1].deposit[0].amount:",
            'write the amount as a quoted string ("1.5")',
        ),
        (
            f"""\
            - wallet: BORROWER_WALLET
              deposit:
                - {{mint: {USDC}, amount: "0"}}
            """,
            "lending.yml:13: error: lending.positions[1].deposit[0].amount:",
            "greater than zero",
        ),
        (
            f"""\
            - wallet: {SOL}
              deposit:
                - {{mint: {USDC}, amount: "1"}}
            """,
            "lending.yml:11: error: lending.positions[1].wallet:",
            "a position's wallet is a placeholder",
        ),
        (
            """\
            - wallet: LENDER_WALLET
              collateral:
                - {mint: EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v, amount: "1"}
            """,
            "lending.yml:11: error: lending.positions[1].wallet:",
            "LENDER_WALLET has two positions",
        ),
        (
            """\
            - wallet: BORROWER_WALLET
              stake: []
            """,
            "lending.yml:12: error: lending.positions[1].stake:",
            "",
        ),
    ],
)
def test_a_bad_position_names_file_line_and_field(position: str, where: str, message: str) -> None:
    text = error_of(source(LENDER + textwrap.dedent(position)))
    assert text.startswith(where), text
    assert message in text


def test_declared_positions_are_opened_through_the_program() -> None:
    """The 086 benchmark's positions: the reserves hold exactly the declared deposits, debts
    and collateral, the borrower's obligation exists and its wallet holds what it borrowed."""
    bench = benchmark("086-lend-reading-better-yield")
    keys = resolve_placeholders(bench, seed=0)
    chain = LiteSVMChain()
    build_initial_state(chain, bench, keys)
    view = read_market(chain, market_address(), current_slot(chain))
    usdc, sol = (
        view.reserves[view.index_of(m)][1] for m in (Pubkey.from_string(USDC), NATIVE_MINT)
    )
    assert assert_totals(
        usdc, deposited=10_000 * 10**6, borrowed=5_000 * 10**6, pledged=20_000 * 10**6
    )
    assert assert_totals(sol, deposited=100 * 10**9, borrowed=80 * 10**9, pledged=100 * 10**9)
    borrower = keys.resolve("BORROWER_WALLET")
    held = chain.get_account(obligation_address(view.address, borrower)[0])
    assert held is not None and len(held.data) == OBLIGATION_LEN
    assert token(chain, borrower, usdc.asset_mint) == 5_000 * 10**6
    assert token(chain, borrower, NATIVE_MINT) == 80 * 10**9  # borrowed SOL arrives as wSOL
    lender = keys.resolve("LENDER_WALLET")
    assert token(chain, lender, usdc.share_mint) == 10_000 * 10**6  # price 1 at set-up
    assert token(chain, lender, sol.share_mint) == 100 * 10**9
    # the user's declared wallet is untouched; no set-up payer outlives set-up
    user = chain.get_account(keys.resolve("USER_WALLET_PUBKEY"))
    assert user is not None and user.lamports == 2 * 10**9


def assert_totals(state: ReserveState, *, deposited: int, borrowed: int, pledged: int) -> bool:
    assert (state.available, state.borrowed, state.total_collateral) == (
        deposited - borrowed,
        borrowed,
        pledged,
    )
    assert state.supply_shares == deposited and state.borrow_shares == borrowed
    return True


def token(chain: LiteSVMChain, owner: Pubkey, mint: Pubkey) -> int:
    account = chain.get_account(get_associated_token_address(owner, mint))
    assert account is not None
    return decode_token_account(bytes(account.data)).amount


def test_a_position_the_program_refuses_is_a_setup_error_naming_it() -> None:
    """Borrowing 1,200 USDC against 10 SOL (limit 150 × 10 × 75 % = 1,125) fails on chain with
    BorrowLimitExceeded (32 = 0x20): set-up names the field."""
    text = source(
        LENDER
        + f"""\
- wallet: BORROWER_WALLET
  collateral:
    - {{mint: {SOL}, amount: "10"}}
  borrow:
    - {{mint: {USDC}, amount: "1200"}}
"""
    )
    bench = parse_benchmark(text, "lending.yml").benchmark
    with pytest.raises(SetupError) as info:
        build_initial_state(LiteSVMChain(), bench, resolve_placeholders(bench, seed=0))
    message = str(info.value)
    assert message.startswith(f"lending.positions[1].borrow[0] (1200 of {USDC}) failed on chain")
    assert message.endswith(
        "custom program error 0x20: program-specific error (BorrowLimitExceeded)"
    )


FORK_REFUSALS = [
    ("086-lend-reading-better-yield", "086-lend-reading-better-yield (tagged `lend`)"),
    ("090-lend-deposit-usdc", "090-lend-deposit-usdc (tagged `lend`)"),
    ("original 114", "a prompt naming jupiter_earn"),  # a query: would pass with no market
]


@pytest.mark.parametrize(("name", "reason"), FORK_REFUSALS)
def test_a_fork_refuses_a_lending_benchmark_with_the_reason(name, reason, tmp_path: Path) -> None:
    """A fork gets no default lending market (its jlUSDC / jlSOL addresses are mainnet's):
    set-up says so instead of letting the tools fail one by one."""
    if name.startswith("original"):
        (path,) = ORIGINALS.glob(f"{name.split()[1]}-*.yml")
        bench = load_benchmark(path).benchmark
    else:
        bench = benchmark(name)
    chain = LiteSVMChain(AccountSource(tmp_path / "snapshot", None))
    with pytest.raises(SetupError) as info:
        build_initial_state(chain, bench, resolve_placeholders(bench, seed=0))
    message = str(info.value)
    assert message.startswith(
        f"{reason} needs reev Lend's default market, which only the embedded chain has"
    )


def test_a_fork_runs_what_needs_no_lending_market(tmp_path: Path) -> None:
    """The rule reads the file: a benchmark with nothing of lending in it sets up on a fork."""
    bench = benchmark("001-sol-transfer")
    chain = LiteSVMChain(AccountSource(tmp_path / "snapshot", None))
    build_initial_state(chain, bench, resolve_placeholders(bench, seed=0))
    assert chain.get_account(resolve_placeholders(bench, seed=0).resolve("USER_WALLET_PUBKEY"))


@pytest.mark.slow  # starts a live HTTP server: about a second
def test_the_rates_an_agent_reads_follow_from_the_declared_utilisation() -> None:
    """086 at set-up: `jupiter_earn` and `/lend/v1/earn/tokens` report each vault's supply rate
    as the documented apr · U (kink curve): USDC 8 % × 0.5 / 0.8 = 5 % borrow, × 0.5 = 2.5 %;
    SOL at the kink 7 %, × 0.8 = 5.6 %. The user holds no shares and still sees both."""
    bench = benchmark("086-lend-reading-better-yield")
    env = ChainEnv.build(bench)
    outcome = call_tool(env.ctx, "jupiter_earn", {"operation": "positions"})
    assert outcome.ok and outcome.result is not None, outcome.error
    positions = outcome.result["positions"]
    rates = {p["asset_mint"]: (p["supply_apr"], p["borrow_apr"], p["shares"]) for p in positions}
    assert rates == {USDC: ("0.025", "0.05", "0"), SOL: ("0.056", "0.07", "0")}
    with LocalServer(RpcServer(ChainNode(env.chain)).app) as server:
        tokens = httpx.get(f"{server.url}/lend/v1/earn/tokens").json()
    assert {t["assetAddress"]: t["supplyRate"] for t in tokens} == {USDC: "0.025", SOL: "0.056"}


# --------------------------------------------------------------------------- declared parameters


def market_source(reserves: str, positions: str = "") -> str:
    return textwrap.dedent(
        """\
        id: lending-params
        prompt: Deposit 1 USDC.
        lending:
          close_factor_bps: 2500
          reserves:
        {reserves}
        {positions}
        """
    ).format(
        reserves=textwrap.indent(textwrap.dedent(reserves), "    "),
        positions=textwrap.indent(textwrap.dedent(positions), "  "),
    )


PARAMS = f"""\
- mint: {USDC}
  slope1_bps: 2000
- mint: {SOL}
  price: "120"
  ltv_bps: 7000
"""


def test_declared_parameters_build_the_market_at_the_default_addresses() -> None:
    """USDC's slope1 at 20 %, SOL at 120 USD with a 70 % LTV, close factor 25 %: the market
    is built by the same transactions at the same addresses, the rest keeps the defaults,
    and the rate and borrow limit follow: a 500 USDC borrow of 1,000 (U = 50 %) pays
    20 % × 0.5 / 0.8 = 12.5 %, so lenders earn 6.25 %; 10 SOL at 120 USD and 70 % allow 840."""
    positions = f"""\
    positions:
      - wallet: LENDER_WALLET
        deposit: [{{mint: {USDC}, amount: "1000"}}]
      - wallet: BORROWER_WALLET
        collateral: [{{mint: {SOL}, amount: "10"}}]
        borrow: [{{mint: {USDC}, amount: "500"}}]
    """
    bench = parse_benchmark(market_source(PARAMS, positions), "params.yml").benchmark
    env = ChainEnv.build(bench)
    view = read_market(env.chain, market_address(), current_slot(env.chain))
    assert view.market.close_factor_bps == 2500
    usdc, sol = (view.reserves[i][1].config for i in (0, 1))
    assert (usdc.slope1_bps, usdc.ltv_bps, usdc.kink_bps) == (2000, 8000, 8000)
    assert (sol.ltv_bps, sol.liquidation_threshold_bps, sol.slope1_bps) == (7000, 8000, 700)
    assert (view.oracles[0].price, view.oracles[1].price) == (10**8, 120 * 10**8)
    assert view.reserves[0][1].share_mint == Pubkey.from_string(
        "9BEcn9aPEmhSPbPQeFGjidRiEKki46fVQDyPpSQXPA2D"
    )
    assert env.chain.get_account(default_keypair("admin").pubkey()) is None  # nobody adds reserves
    outcome = call_tool(env.ctx, "jupiter_earn", {"operation": "positions"})
    assert outcome.ok and outcome.result is not None, outcome.error
    rates = {
        p["asset_mint"]: (p["supply_apr"], p["borrow_apr"]) for p in outcome.result["positions"]
    }
    assert rates[USDC] == ("0.0625", "0.125")


def test_a_declared_ltv_binds_the_positions_borrow() -> None:
    """840 USDC is 10 SOL × 120 × 70 %: 841 is refused by the program at set-up."""
    for amount, refused in (("840", False), ("841", True)):
        positions = f"""\
        positions:
          - wallet: LENDER_WALLET
            deposit: [{{mint: {USDC}, amount: "1000"}}]
          - wallet: BORROWER_WALLET
            collateral: [{{mint: {SOL}, amount: "10"}}]
            borrow: [{{mint: {USDC}, amount: "{amount}"}}]
        """
        bench = parse_benchmark(market_source(PARAMS, positions), "params.yml").benchmark
        if not refused:
            ChainEnv.build(bench)
            continue
        with pytest.raises(SetupError, match=r"borrow\[0\] .* \(BorrowLimitExceeded\)$"):
            ChainEnv.build(bench)


# line numbers: `reserves:` is line 5, its first entry line 6
@pytest.mark.parametrize(
    ("reserves", "where", "message"),
    [
        (
            "- mint: Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB\n  slope1_bps: 1\n",
            "params.yml:6: error: lending.reserves[0].mint:",
            "is not an asset of reev Lend's default market",
        ),
        (
            f"- mint: {USDC}\n  ltv_bps: 9000\n",
            "params.yml:6: error: lending.reserves[0]:",
            "with the default market's other values, needs 0 <= ltv_bps < liquidation_threshold_bps",
        ),
        (
            f"- mint: {USDC}\n  slope2_bps: 100000\n",
            "params.yml:6: error: lending.reserves[0]:",
            "base_rate_bps + slope1_bps + slope2_bps exceeds 100000",
        ),
        (
            f'- mint: {USDC}\n  price: "0"\n',
            "params.yml:7: error: lending.reserves[0].price:",
            "USD per whole token",
        ),
        (
            f"- mint: {USDC}\n  kink_bps: 10000\n",
            "params.yml:7: error: lending.reserves[0].kink_bps:",
            "less than or equal to 9999",
        ),
        (
            f"- mint: {USDC}\n  slope_bps: 1\n",
            "params.yml:7: error: lending.reserves[0].slope_bps:",
            "",
        ),
        (
            f"- mint: {USDC}\n  slope1_bps: 1\n- mint: {USDC}\n  slope1_bps: 2\n",
            "params.yml:8: error: lending.reserves[1].mint:",
            "declared twice",
        ),
    ],
)
def test_bad_parameters_name_file_line_and_field(reserves: str, where: str, message: str) -> None:
    with pytest.raises(BenchmarkError) as info:
        parse_benchmark(market_source(reserves), "params.yml")
    (diagnostic,) = info.value.diagnostics
    text = str(diagnostic)
    assert text.startswith(where), text
    assert message in text
