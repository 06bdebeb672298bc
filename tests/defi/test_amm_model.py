"""The AMM reference model against docs/programs.md's formulas, worked by hand on small numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from reev.constants import U64_MAX
from reev.defi.amm.layout import (
    AMM_PROGRAM_ID,
    POOL_LEN,
    AmmError,
    PoolState,
    order_mints,
    pool_authority,
)
from reev.defi.amm.model import (
    AmmModelError,
    PoolModel,
    TransferFee,
    isqrt,
    swap_in,
    swap_out,
    transfer_fee,
)


def _fails(code: AmmError, fn, *args) -> None:
    with pytest.raises(AmmModelError) as info:
        fn(*args)
    assert info.value.code == code


def test_swap_out_formula() -> None:
    # fee = ceil(1000·30/10000) = 3, a' = 997, out = floor(997·20000 / (10000+997)) =
    # floor(19,940,000 / 10,997) = 1813 (10,997·1813 = 19,937,561; remainder 2,439)
    assert swap_out(1000, 10_000, 20_000, 30) == 1813
    # no fee: floor(100·1000/1100) = floor(90.9) = 90
    assert swap_out(100, 1000, 1000, 0) == 90


def test_swap_out_fee_rounds_up_in_the_pools_favour() -> None:
    # 1 base unit at 30 bps: fee = ceil(0.003) = 1, nothing left to swap -> out 0 -> refused
    _fails(AmmError.INSUFFICIENT_LIQUIDITY, swap_out, 1, 1000, 1000, 30)
    # 10 at 30 bps: fee ceil(0.03) = 1, a' = 9, out = floor(9·1000/1009) = 8
    assert swap_out(10, 1000, 1000, 30) == 8


def test_swap_out_refusals() -> None:
    _fails(AmmError.ZERO_AMOUNT, swap_out, 0, 1000, 1000, 30)
    _fails(AmmError.INSUFFICIENT_LIQUIDITY, swap_out, 10, 0, 1000, 30)
    _fails(AmmError.MATH_OVERFLOW, swap_out, 10, U64_MAX - 5, 1000, 30)


def test_swap_in_formula() -> None:
    # no fee: a' = ceil(1000·90 / 910) = ceil(98.9) = 99; and 99 in gives floor(99000/1099) = 90
    assert swap_in(90, 1000, 1000, 0) == 99
    assert swap_out(99, 1000, 1000, 0) == 90
    # 30 bps: a = ceil(99·10000 / 9970) = ceil(99.298) = 100; 100 in: fee 1, a' 99 -> 90 out
    assert swap_in(90, 1000, 1000, 30) == 100
    assert swap_out(100, 1000, 1000, 30) == 90


def test_swap_in_refusals() -> None:
    _fails(AmmError.ZERO_AMOUNT, swap_in, 0, 1000, 1000, 30)
    _fails(AmmError.INSUFFICIENT_LIQUIDITY, swap_in, 1000, 1000, 1000, 30)  # b == R_out
    # a' = ceil(2^63 · 999 / 1) does not fit a u64
    _fails(AmmError.MATH_OVERFLOW, swap_in, 999, 2**63, 1000, 0)


def test_transfer_fee() -> None:
    assert transfer_fee(1000, 50, 3) == 3  # ceil(5) capped at the maximum 3
    assert transfer_fee(1001, 50, 100) == 6  # ceil(5.005)
    assert transfer_fee(1000, 0, 100) == 0


def test_the_150_usdc_per_sol_example() -> None:
    # 0.1 SOL into 1000 SOL / 150,000 USDC at 30 bps: fee = ceil(1e8·30/1e4) = 300,000,
    # a' = 99,700,000; out = floor(99,700,000 · 150e9 / (1e12 + 99,700,000))
    #     = floor(14,955,000 · 1e12 / 1,000,099,700,000) = 14,953,509 (0.1495 USDC below 15 USDC)
    out = swap_out(100_000_000, 10**12, 150 * 10**9, 30)
    assert out == 14_953_509
    assert out * 1_000_099_700_000 <= 99_700_000 * 150 * 10**9 < (out + 1) * 1_000_099_700_000


def test_liquidity_first_and_later_deposits() -> None:
    pool = PoolModel(fee_bps=30)
    # first deposit: both maxima, lp = floor(sqrt(400·900)) = 600
    assert pool.add_liquidity(400, 900, 0) == (400, 900, 600)
    # later: lp = min(floor(100·600/400), floor(300·600/900)) = min(150, 200) = 150;
    # takes ceil(150·400/600) = 100 and ceil(150·900/600) = 225
    assert pool.add_liquidity(100, 300, 0) == (100, 225, 150)
    assert (pool.reserve_a, pool.reserve_b, pool.lp_supply) == (500, 1125, 750)
    # rounding up the take: lp = min(floor(7·750/500)=10, floor(100·750/1125)=66) = 10,
    # takes ceil(10·500/750) = ceil(6.67) = 7 and 10·1125/750 = 15
    assert pool.add_liquidity(7, 100, 0) == (7, 15, 10)
    _fails(AmmError.SLIPPAGE_EXCEEDED, pool.add_liquidity, 100, 300, 10**6)
    _fails(
        AmmError.ZERO_LIQUIDITY, pool.add_liquidity, 1, 1, 0
    )  # min(floor(760/507), floor(760/1140)) = 0
    assert (pool.reserve_a, pool.reserve_b, pool.lp_supply) == (507, 1140, 760)


def test_remove_liquidity_rounds_down() -> None:
    pool = PoolModel(reserve_a=500, reserve_b=1125, lp_supply=750)
    # floor(1·500/750) = 0, floor(1·1125/750) = 1
    assert pool.remove_liquidity(1, 0, 0) == (0, 1)
    # floor(149·500/749) = floor(99.47) = 99, floor(149·1124/749) = floor(223.6) = 223
    _fails(AmmError.SLIPPAGE_EXCEEDED, pool.remove_liquidity, 149, 100, 0)
    assert pool.remove_liquidity(149, 99, 223) == (99, 223)
    _fails(AmmError.INSUFFICIENT_LIQUIDITY, pool.remove_liquidity, 10**6, 0, 0)
    _fails(AmmError.ZERO_AMOUNT, pool.remove_liquidity, 0, 0, 0)


def test_swaps_on_the_pool_and_slippage_changes_nothing() -> None:
    pool = PoolModel(reserve_a=1000, reserve_b=1000, lp_supply=1000, fee_bps=30)
    _fails(AmmError.SLIPPAGE_EXCEEDED, pool.swap_exact_in, "a", 100, 91)
    assert (pool.reserve_a, pool.reserve_b) == (1000, 1000)
    # fee 1 stays in the pool: R_a += 100 (not 99), R_b -= 90
    assert pool.swap_exact_in("a", 100, 90) == (100, 90)
    assert (pool.reserve_a, pool.reserve_b) == (1100, 910)
    # back: exact out of 100 A: a' = ceil(910·100/1000) = 91, a = ceil(91·10000/9970) = 92
    _fails(AmmError.SLIPPAGE_EXCEEDED, pool.swap_exact_out, "b", 100, 91)
    assert pool.swap_exact_out("b", 100, 92) == (92, 100)
    assert (pool.reserve_a, pool.reserve_b) == (1000, 1002)


def test_transfer_fee_mints_in_swaps() -> None:
    fee_a = TransferFee(basis_points=100, maximum_fee=10**9)
    pool = PoolModel(
        reserve_a=1000, reserve_b=1000, lp_supply=1000, fee_bps=0, transfer_fee_a=fee_a
    )
    # 101 sent: ceil(1.01) = 2 withheld, 99 arrives: out = floor(99·1000/1099) = 90
    assert pool.swap_exact_in("a", 101, 90) == (101, 90)
    assert (pool.reserve_a, pool.reserve_b) == (1099, 910)
    # B -> A: 100 B gives floor(100·1099/1010) = 108 A out of the vault, the user gets
    # 108 − ceil(1.08) = 106
    assert pool.swap_exact_in("b", 100, 106) == (100, 106)
    _fails(AmmError.UNSUPPORTED_TRANSFER_FEE, pool.swap_exact_out, "a", 10, 10**6)


def test_invalid_fee() -> None:
    _fails(AmmError.INVALID_FEE, PoolModel, 0, 0, 0, 10_000)


@given(st.integers(1, 10**12), st.integers(1, 10**12), st.integers(1, 10**10), st.integers(0, 9999))
def test_k_never_decreases_and_rounding_favours_the_pool(
    r_in: int, r_out: int, amount: int, fee_bps: int
) -> None:
    try:
        out = swap_out(amount, r_in, r_out, fee_bps)
    except AmmModelError:
        return
    assert (r_in + amount) * (r_out - out) >= r_in * r_out
    # exact out for that output never asks for more than was paid
    assert swap_in(out, r_in, r_out, fee_bps) <= amount
    assert isqrt(r_in * r_out) ** 2 <= r_in * r_out


def test_pool_state_round_trip_and_pdas() -> None:
    x, y = Pubkey.new_unique(), Pubkey.new_unique()
    a, b = order_mints(y, x)
    assert bytes(a) < bytes(b)
    pool = Pubkey.new_unique()
    authority, bump = pool_authority(pool)
    assert authority == Pubkey.create_program_address(
        [b"authority", bytes(pool), bytes([bump])], AMM_PROGRAM_ID
    )
    state = PoolState(
        fee_bps=30,
        mint_a=a,
        mint_b=b,
        vault_a=Pubkey.new_unique(),
        vault_b=Pubkey.new_unique(),
        lp_mint=Pubkey.new_unique(),
        token_program_a=Pubkey.new_unique(),
        token_program_b=Pubkey.new_unique(),
        reserve_a=5,
        reserve_b=7,
        lp_supply=6,
        creator=Pubkey.new_unique(),
        authority_bump=bump,
        lp_mint_bump=254,
        flags=2,
    )
    data = state.encode()
    assert len(data) == POOL_LEN and data[:8] == b"reevpool"
    assert data[240:248] == (5).to_bytes(8, "little")  # reserve_a at offset 240
    assert data[12:14] == (30).to_bytes(2, "little")  # fee_bps at offset 12
    assert PoolState.decode(data) == state
    assert state.reserves_for(b) == (7, 5)
    with pytest.raises(ValueError, match="discriminator"):
        PoolState.decode(b"x" * POOL_LEN)
    with pytest.raises(ValueError, match="304 bytes"):
        PoolState.decode(data[:-1])
