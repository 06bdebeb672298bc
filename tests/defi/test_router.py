"""The router over pools written on a chain: best routes, exact amounts (formulas of
docs/programs.md worked in the test), deterministic ties, price impact, Token-2022 fees, and the
instruction sequence it builds."""

from __future__ import annotations

import struct
from fractions import Fraction

import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import ACCOUNT_LEN, TRANSFER_FEE_CONFIG_LAYOUT, pack_mint
from reev.chain.litesvm import LiteSVMChain
from reev.constants import (
    ATA_PROGRAM,
    NATIVE_MINT,
    SYSTEM_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
)
from reev.defi.amm.layout import (
    AMM_PROGRAM_ID,
    PoolState,
    lp_mint_address,
    order_mints,
    pool_authority,
    vault_address,
)
from reev.defi.router import (
    NoRoute,
    SwapError,
    best_quote,
    format_fraction,
    pools_on,
    swap_instructions,
)


def ceil_div(n: int, d: int) -> int:
    return -(-n // d)


def out_for(a: int, r_in: int, r_out: int, fee_bps: int) -> int:
    """docs/programs.md: fee = ceil(a·f/10000), a' = a − fee, out = floor(a'·R_out/(R_in+a'))."""
    net = a - ceil_div(a * fee_bps, 10_000)
    return net * r_out // (r_in + net)


def mint(chain: LiteSVMChain, fee: tuple[int, int] | None = None, address: Pubkey | None = None):
    address = address or Pubkey.new_unique()
    data = pack_mint(decimals=6, supply=0, mint_authority=None, freeze_authority=None)
    owner = TOKEN_PROGRAM
    if fee is not None:
        bps, maximum = fee
        transfer_fee = {"epoch": 0, "maximum_fee": maximum, "transfer_fee_basis_points": bps}
        config = TRANSFER_FEE_CONFIG_LAYOUT.build(
            {
                "transfer_fee_config_authority": bytes(32),
                "withdraw_withheld_authority": bytes(32),
                "withheld_amount": 0,
                "older_transfer_fee": transfer_fee,
                "newer_transfer_fee": transfer_fee,
            }
        )
        data = data.ljust(ACCOUNT_LEN, b"\0") + bytes([1]) + struct.pack("<HH", 1, len(config))
        data += config
        owner = TOKEN_2022_PROGRAM
    chain.set_account(address, Account(10**7, data, owner, False, 0))
    return address


def pool(chain, x, y, rx, ry, fee_bps=30, address=None) -> Pubkey:
    address = address or Pubkey.new_unique()
    a, b = order_mints(x, y)
    ra, rb = (rx, ry) if a == x else (ry, rx)
    program = {m: chain.get_account(m).owner for m in (a, b)}
    state = PoolState(
        fee_bps=fee_bps, mint_a=a, mint_b=b,
        vault_a=vault_address(address, a, program[a]), vault_b=vault_address(address, b, program[b]),
        lp_mint=lp_mint_address(address)[0], token_program_a=program[a], token_program_b=program[b],
        reserve_a=ra, reserve_b=rb, lp_supply=1, creator=Pubkey.new_unique(),
        authority_bump=pool_authority(address)[1], lp_mint_bump=lp_mint_address(address)[1],
    )  # fmt: skip
    chain.set_account(address, Account(10**7, state.encode(), AMM_PROGRAM_ID, False, 0))
    return address


@pytest.fixture
def chain() -> LiteSVMChain:
    return LiteSVMChain()


def test_direct_route_is_the_formula(chain) -> None:
    x, y = mint(chain), mint(chain)
    p = pool(chain, x, y, 1_000_000, 2_000_000)
    q = best_quote(chain, x, y, 10_000, slippage_bps=50)
    # fee ceil(300000/10000) = 30, a' = 9970, floor(9970·2e6 / 1,009,970) = 19,743
    assert q.out_amount == out_for(10_000, 1_000_000, 2_000_000, 30) == 19_743
    assert q.in_amount == 10_000 and q.swap_mode == "ExactIn"
    assert q.other_amount_threshold == 19_743 * 9950 // 10_000 == 19_644
    assert [(h.pool, h.fee_amount, h.fee_bps) for h in q.hops] == [(p, 30, 30)]
    # impact: 1 − (out / a') / (R_out / R_in) = 1 − 19743·1e6 / (9970·2e6)
    assert q.price_impact_pct == format_fraction(1 - Fraction(19_743 * 10**6, 9970 * 2 * 10**6))
    assert q.price_impact_pct == "0.00987963891675"
    # the other direction through the same pool
    back = best_quote(chain, y, x, 20_000)
    assert back.out_amount == out_for(20_000, 2_000_000, 1_000_000, 30)


def test_two_hops_beat_a_shallow_direct_pool(chain) -> None:
    x, y, z = mint(chain), mint(chain), mint(chain)
    pool(chain, x, y, 1_000_000, 2_000_000)
    hop2 = pool(chain, y, z, 2_000_000, 2_000_000)
    pool(chain, x, z, 10_000, 10_000)  # direct: 4992 out
    q = best_quote(chain, x, z, 10_000)
    middle = out_for(10_000, 1_000_000, 2_000_000, 30)
    assert out_for(10_000, 10_000, 10_000, 30) == 4992
    assert q.out_amount == out_for(middle, 2_000_000, 2_000_000, 30) == 19_491
    assert [h.output_mint for h in q.hops] == [y, z] and q.hops[1].pool == hop2
    assert q.hops[1].amount_in == q.hops[0].amount_out == middle


def test_better_of_two_pools_and_deterministic_ties(chain) -> None:
    x, y = mint(chain), mint(chain)
    deep_cheap = pool(chain, x, y, 1_000_000, 1_000_000, fee_bps=5)
    pool(chain, x, y, 1_000_000, 1_000_000, fee_bps=100)
    assert best_quote(chain, x, y, 1000).hops[0].pool == deep_cheap
    # two identical pools: the byte-wise smaller address wins, every time
    u, v = mint(chain), mint(chain)
    twins = [pool(chain, u, v, 5000, 5000) for _ in range(3)]
    chosen = {best_quote(chain, u, v, 100).hops[0].pool for _ in range(5)}
    assert chosen == {min(twins, key=bytes)}


def test_exact_out_is_the_least_input(chain) -> None:
    x, y = mint(chain), mint(chain)
    pool(chain, x, y, 1_000_000, 2_000_000)
    q = best_quote(chain, x, y, 19_743, swap_mode="ExactOut", slippage_bps=100)
    # a' = ceil(1e6·19743 / (2e6 − 19743)), a = ceil(a'·10000 / 9970)
    net = ceil_div(10**6 * 19_743, 2 * 10**6 - 19_743)
    assert q.in_amount == ceil_div(net * 10_000, 9970)
    assert q.out_amount == 19_743 and q.hops[0].pool_out == 19_743
    assert q.other_amount_threshold == ceil_div(q.in_amount * 10_100, 10_000)
    assert out_for(q.in_amount, 10**6, 2 * 10**6, 30) >= 19_743  # enough …
    assert out_for(q.in_amount - 1, 10**6, 2 * 10**6, 30) < 19_743  # … and not a unit more


def test_token_2022_transfer_fees_are_exact(chain) -> None:
    f, y = mint(chain, fee=(100, 10**9)), mint(chain)
    pool(chain, f, y, 1_000_000, 1_000_000, fee_bps=0)
    # 10,100 F sent: ceil(101) = 101 withheld, 9999 reach the vault
    q = best_quote(chain, f, y, 10_100)
    assert q.out_amount == out_for(9999, 10**6, 10**6, 0)
    # Y → F: 9900 leave the vault, the user is credited 9900 − ceil(99) = 9801
    back = best_quote(chain, y, f, 10_000)
    assert back.hops[0].pool_out == out_for(10_000, 10**6, 10**6, 0) == 9900
    assert back.out_amount == 9801
    # exact out into the fee mint: the vault must pay 9900 for 9801 to arrive
    want = best_quote(chain, y, f, 9801, swap_mode="ExactOut")
    assert want.hops[0].pool_out == 9900
    assert want.in_amount == ceil_div(10**6 * 9900, 10**6 - 9900)
    # exact out from a fee mint is refused by the program: no route
    with pytest.raises(NoRoute):
        best_quote(chain, f, y, 100, swap_mode="ExactOut")


def test_no_route_and_bad_requests(chain) -> None:
    x, y, z = mint(chain), mint(chain), mint(chain)
    pool(chain, x, y, 1000, 1000)
    with pytest.raises(NoRoute, match="no pool route"):
        best_quote(chain, x, z, 10)
    with pytest.raises(NoRoute):
        best_quote(chain, x, y, 10**6, swap_mode="ExactOut")  # more than the pool holds
    with pytest.raises(NoRoute, match="same"):
        best_quote(chain, x, x, 10)
    with pytest.raises(ValueError, match="amount"):
        best_quote(chain, x, y, 0)
    assert [address for address, _ in pools_on(chain)] != []


def test_swap_instructions_wrap_and_unwrap_sol(chain) -> None:
    sol = mint(chain, address=NATIVE_MINT)
    usdc = mint(chain)
    p = pool(chain, sol, usdc, 10**12, 150 * 10**9)
    user = Keypair().pubkey()
    q = best_quote(chain, sol, usdc, 100_000_000)
    ixs = swap_instructions(chain, user, q)
    programs = [ix.program_id for ix in ixs]
    assert programs == [
        ATA_PROGRAM,
        SYSTEM_PROGRAM,
        TOKEN_PROGRAM,
        ATA_PROGRAM,
        AMM_PROGRAM_ID,
        TOKEN_PROGRAM,
    ]
    wsol = get_associated_token_address(user, NATIVE_MINT, TOKEN_PROGRAM)
    out = get_associated_token_address(user, usdc, TOKEN_PROGRAM)
    swap = ixs[4]
    assert bytes(swap.data) == struct.pack("<BQQ", 3, 100_000_000, q.other_amount_threshold)
    assert [m.pubkey for m in swap.accounts][:2] == [user, p]
    assert [m.pubkey for m in swap.accounts][7:9] == [wsol, out]
    assert bytes(ixs[2].data) == bytes([17])  # SyncNative
    assert bytes(ixs[5].data) == bytes([9])  # CloseAccount
    # USDC in: no wrap; the user's input account must exist
    with pytest.raises(SwapError, match="no token account"):
        swap_instructions(chain, user, best_quote(chain, usdc, sol, 10**6))
    assert str(NATIVE_MINT) == "So11111111111111111111111111111111111111112"
