"""get_swap_quote / jupiter_swap on a real chain with the real AMM: declared pools and the
default market, exact outputs from the pool formula, and the errors an agent sees."""

from __future__ import annotations

import textwrap
from math import isqrt

from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from helpers.chain_env import ChainEnv
from reev.chain.observe import read_account
from reev.defi.amm.layout import AMM_PROGRAM_ID, PoolState
from reev.defi.market import MARKET_CREATOR, MARKET_POOLS, market_pool_address
from reev.defi.router import pools_on
from reev.spec.loader import parse_benchmark
from reev.spec.placeholders import POOL_CREATOR
from reev.tools import call_tool

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
JUP = "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022 = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")

DECLARED = textwrap.dedent(
    f"""\
    id: swap-tools
    prompt: Swap 0.1 SOL for USDC.
    mints:
      - address: CAKE_TOKEN_MINT
        decimals: 2
      - address: FEE_TOKEN_MINT
        decimals: 6
        program: token-2022
        transfer_fee: {{basis_points: 100, maximum_fee: "1000000000"}}
    pools:
      - id: SOL_USDC_POOL
        mints: [{SOL}, {USDC}]
        reserves: ["1000", "150000"]
        fee_bps: 30
      - id: FEE_USDC_POOL
        mints: [FEE_TOKEN_MINT, {USDC}]
        reserves: ["5000", "5000"]
        fee_bps: 0
    initial_state:
      - pubkey: USER_WALLET_PUBKEY
        lamports: 2000000000
      - pubkey: USER_USDC_ATA
        owner: TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA
        data: {{mint: {USDC}, owner: USER_WALLET_PUBKEY, amount: "0"}}
    """
)


def env(source: str = DECLARED) -> ChainEnv:
    return ChainEnv.build(parse_benchmark(source, "swap.yml").benchmark)


def call(e: ChainEnv, name: str, **args):
    return call_tool(e.ctx, name, args)


def sol_out(a: int, r_in: int, r_out: int, fee_bps: int) -> int:
    net = a - -(-a * fee_bps // 10_000)
    return net * r_out // (r_in + net)


def pool_state(e: ChainEnv, name: str) -> PoolState:
    account = e.chain.get_account(e.addr(name))
    assert account is not None and account.owner == AMM_PROGRAM_ID
    return PoolState.decode(bytes(account.data))


def test_declared_pools_hold_the_declared_reserves() -> None:
    e = env()
    state = pool_state(e, "SOL_USDC_POOL")
    reserves = {state.mint_a: state.reserve_a, state.mint_b: state.reserve_b}
    assert reserves == {Pubkey.from_string(SOL): 10**12, Pubkey.from_string(USDC): 150 * 10**9}
    assert state.fee_bps == 30 and state.lp_supply == isqrt(10**12 * 150 * 10**9)
    creator = e.addr(POOL_CREATOR)
    lp = read_account(e.chain, get_associated_token_address(creator, state.lp_mint, TOKEN))
    assert lp is not None and lp.token is not None and lp.token.amount == state.lp_supply
    for vault, reserve in ((state.vault_a, state.reserve_a), (state.vault_b, state.reserve_b)):
        held = read_account(e.chain, vault)
        assert held is not None and held.token is not None and held.token.amount == reserve
    # the transfer-fee mint's reserve is exactly the declared 5000 tokens: the creator sent the
    # gross amount whose 1% fee leaves 5,000,000,000 base units in the vault
    fee_pool = pool_state(e, "FEE_USDC_POOL")
    assert {fee_pool.reserve_a, fee_pool.reserve_b} == {5_000_000_000}
    assert TOKEN_2022 in (fee_pool.token_program_a, fee_pool.token_program_b)
    # pools are not named to the agent
    assert "SOL_USDC_POOL" not in e.keys.visible_map() and POOL_CREATOR not in e.keys.visible


def test_quote_and_swap_sol_to_usdc_exactly() -> None:
    e = env()
    quote = call(e, "get_swap_quote", input_mint=SOL, output_mint=USDC, amount="100000000")
    assert quote.ok, quote.error
    expected = sol_out(100_000_000, 10**12, 150 * 10**9, 30)
    assert quote.result["out_amount"] == str(expected) == "14953509"
    assert quote.result["other_amount_threshold"] == str(expected * 9950 // 10_000)
    assert quote.result["route"][0]["pool"] == e.a("SOL_USDC_POOL")
    staged = call(e, "jupiter_swap", input_mint=SOL, output_mint=USDC, amount=100_000_000,
                  user_pubkey=e.a("USER_WALLET_PUBKEY"))  # fmt: skip
    assert staged.ok, staged.error
    result = call(e, "submit_transaction")
    assert result.ok and result.result["success"], result
    usdc = read_account(e.chain, e.addr("USER_USDC_ATA"))
    assert usdc is not None and usdc.token is not None and usdc.token.amount == expected
    wallet = read_account(e.chain, e.addr("USER_WALLET_PUBKEY"))
    assert wallet is not None and wallet.lamports == 2_000_000_000 - 100_000_000 - 5000
    wsol = get_associated_token_address(e.addr("USER_WALLET_PUBKEY"), Pubkey.from_string(SOL))
    assert e.chain.get_account(wsol) is None  # the temporary wSOL account was closed
    state = pool_state(e, "SOL_USDC_POOL")
    assert {state.reserve_a, state.reserve_b} == {10**12 + 100_000_000, 150 * 10**9 - expected}
    # the same state gives the same quote; the new state a smaller one
    again = call(e, "get_swap_quote", input_mint=SOL, output_mint=USDC, amount="100000000")
    assert int(again.result["out_amount"]) == sol_out(
        100_000_000, 10**12 + 100_000_000, 150 * 10**9 - expected, 30
    )


def test_errors_the_agent_sees() -> None:
    e = env()

    def error(name: str, **args) -> str:
        outcome = call(e, name, **args)
        assert not outcome.ok and outcome.error_kind == "tool_error", outcome
        return outcome.error or ""

    unknown = str(Pubkey.new_unique())
    assert "not a token mint" in error("get_swap_quote", input_mint=unknown, output_mint=USDC,
                                       amount=5)  # fmt: skip
    assert "greater than zero" in error("jupiter_swap", input_mint=SOL, output_mint=USDC,
                                        amount="0")  # fmt: skip
    assert "base units" in error("jupiter_swap", input_mint=SOL, output_mint=USDC, amount="0.1")
    cake = e.a("CAKE_TOKEN_MINT")
    assert "no pool route" in error("get_swap_quote", input_mint=SOL, output_mint=cake,
                                    amount=100)  # fmt: skip
    other = str(Pubkey.new_unique())
    assert "is not your wallet" in error("jupiter_swap", input_mint=SOL, output_mint=USDC,
                                         amount=100, user_pubkey=other)  # fmt: skip
    assert "is not your wallet" in error("get_swap_quote", input_mint=SOL, output_mint=USDC,
                                         amount=100, user_pubkey=other)  # fmt: skip
    assert e.ctx.staged == []


def test_insufficient_balance_fails_on_chain_and_changes_nothing() -> None:
    e = env()
    before = pool_state(e, "SOL_USDC_POOL")
    staged = call(e, "jupiter_swap", input_mint=SOL, output_mint=USDC, amount=5 * 10**9)
    assert staged.ok, staged.error  # staging does not judge the balance: the chain does
    result = call(e, "submit_transaction")
    assert result.ok and not result.result["success"]
    assert pool_state(e, "SOL_USDC_POOL") == before


def test_a_benchmark_without_pools_gets_the_default_market() -> None:
    source = textwrap.dedent(
        """\
        id: no-pools
        prompt: Swap.
        initial_state:
          - pubkey: USER_WALLET_PUBKEY
            lamports: 2000000000
        """
    )
    e = env(source)
    found = {address for address, _ in pools_on(e.chain)}
    assert found == {market_pool_address(p.name) for p in MARKET_POOLS}
    # SOL/USDC: 10,000 SOL and 1,500,000 USDC at 30 bps
    quote = call(e, "get_swap_quote", input_mint=SOL, output_mint=USDC, amount=100_000_000)
    assert quote.ok, quote.error
    assert int(quote.result["out_amount"]) == sol_out(100_000_000, 10**13, 15 * 10**11, 30)
    assert float(quote.result["price_impact_pct"]) < 0.001  # 0.1 SOL moves it < 0.1%
    # the market's mints exist though the benchmark named none; its reserves are outside the
    # supply, which stays what the benchmark's accounts hold (none here)
    usdc = read_account(e.chain, Pubkey.from_string(USDC))
    assert usdc is not None and usdc.mint is not None and usdc.mint.supply == 0
    assert read_account(e.chain, Pubkey.from_string(JUP)) is not None
    assert str(MARKET_CREATOR.pubkey()) not in e.keys.visible_map().values()
    # two episodes get identical market state
    other = env(source)
    for address in found:
        assert other.chain.get_account(address) == e.chain.get_account(address)


def test_the_documented_market_is_the_market() -> None:
    """docs/benchmarks.md's table of the default market: addresses, reserves, fees."""
    from helpers.paths import ROOT

    doc = (ROOT / "docs" / "benchmarks.md").read_text()
    for pool in MARKET_POOLS:
        address = str(market_pool_address(pool.name))
        (row,) = [line for line in doc.splitlines() if f"`{address}`" in line]
        assert f"{pool.fee_bps} bps" in row
        for reserve in pool.reserves:
            assert f"{int(reserve):,}" in row
