"""The AMM program on LiteSVM through real transactions: pools over SPL Token and Token-2022
(with a transfer fee), liquidity, swaps, and every error code of docs/programs.md provoked by a
wrong account or a bad amount, with the state unchanged after each failure."""

from __future__ import annotations

import base64
import inspect
import struct
import sys
from pathlib import Path

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import decode_mint
from reev.constants import TOKEN_2022_PROGRAM, TOKEN_PROGRAM
from reev.defi.amm import instructions as amm
from reev.defi.amm.layout import (
    AMM_PROGRAM_ID,
    FLAG_FEE_A,
    FLAG_FEE_B,
    AmmError,
    lp_mint_address,
    pool_authority,
    vault_address,
)
from reev.defi.amm.model import PoolModel, TransferFee

from .amm_env import (
    AmmEnv,
    Pool,
    Trader,
    add_liquidity_ix,
    assert_fails,
    funded_pool,
    remove_liquidity_ix,
    swap_ix,
    trader,
)

SWAP_CU_BUDGET = 12_000  # issue 14: a single-hop swap costs at most this


def return_data(logs: list[str]) -> tuple[int, int]:
    line = next(line for line in logs if line.startswith(f"Program return: {AMM_PROGRAM_ID} "))
    debited, credited = struct.unpack("<QQ", base64.b64decode(line.split()[-1]))
    return debited, credited


def assert_matches(env: AmmEnv, pool: Pool, model: PoolModel) -> None:
    state = env.state(pool)
    assert (state.reserve_a, state.reserve_b, state.lp_supply) == (
        model.reserve_a,
        model.reserve_b,
        model.lp_supply,
    )
    lp = env.chain.get_account(state.lp_mint)
    assert lp is not None and decode_mint(bytes(lp.data)).supply == state.lp_supply
    # reserves are what the vaults hold (no donations in these tests)
    assert env.balance(state.vault_a) == state.reserve_a
    assert env.balance(state.vault_b) == state.reserve_b


# --------------------------------------------------------------------------- pools


@pytest.mark.parametrize("programs", [("spl", "spl"), ("spl", "2022"), ("2022", "fee")])
def test_initialize_pool_writes_the_documented_state(
    env: AmmEnv, programs: tuple[str, str]
) -> None:
    fee = TransferFee(100, 5_000)
    kinds = {"spl": {}, "2022": {"token_2022": True}, "fee": {"fee": fee}}
    x, y = (env.mint(**kinds[p]) for p in programs)  # type: ignore[arg-type]
    pool = env.create_pool(x, y, fee_bps=25)
    state = env.state(pool)
    authority, authority_bump = pool_authority(pool.address)
    lp_mint, lp_bump = lp_mint_address(pool.address)
    assert bytes(state.mint_a) < bytes(state.mint_b)
    assert (state.mint_a, state.mint_b) == (pool.mint_a.address, pool.mint_b.address)
    assert (state.token_program_a, state.token_program_b) == (
        pool.mint_a.program,
        pool.mint_b.program,
    )
    assert state.vault_a == vault_address(pool.address, state.mint_a, state.token_program_a)
    assert state.vault_b == vault_address(pool.address, state.mint_b, state.token_program_b)
    assert (state.lp_mint, state.lp_mint_bump, state.authority_bump) == (
        lp_mint,
        lp_bump,
        authority_bump,
    )
    assert (state.fee_bps, state.reserve_a, state.reserve_b, state.lp_supply) == (25, 0, 0, 0)
    assert state.creator == env.payer.pubkey()
    expected_flags = (FLAG_FEE_A if pool.mint_a.fee else 0) | (FLAG_FEE_B if pool.mint_b.fee else 0)
    assert state.flags == expected_flags
    account = env.chain.get_account(lp_mint)
    assert account is not None and account.owner == TOKEN_PROGRAM
    assert account.lamports == env.chain.rent_exempt_minimum(82)
    mint = decode_mint(bytes(account.data))
    assert (mint.decimals, mint.supply, mint.mint_authority, mint.freeze_authority) == (
        9,
        0,
        str(authority),
        None,
    )


def test_the_lp_mint_is_created_even_when_someone_funded_its_address(env: AmmEnv) -> None:
    x, y = env.mint(), env.mint()
    pool = env.keypair()
    lp_mint, _ = lp_mint_address(pool.pubkey())
    env.ok(
        [
            transfer(
                TransferParams(
                    from_pubkey=env.payer.pubkey(), to_pubkey=lp_mint, lamports=1_000_000
                )
            )
        ]
    )
    env.ok(env.pool_instructions(pool.pubkey(), x, y, 30), [pool])
    account = env.chain.get_account(lp_mint)
    assert account is not None and account.owner == TOKEN_PROGRAM
    assert account.lamports == env.chain.rent_exempt_minimum(82)


# --------------------------------------------------------------------------- liquidity and swaps


@pytest.mark.parametrize("token_2022", [False, True])
def test_liquidity_and_swaps_agree_with_the_model(env: AmmEnv, token_2022: bool) -> None:
    x, y = env.mint(token_2022=token_2022), env.mint(decimals=9)
    pool, provider, model = funded_pool(env, x, y, 1_000_000_000, 150_000_000_000)
    # first deposit: floor(sqrt(a·b)) LP; isqrt(1.5e20) = 12,247,448,713.9…
    assert env.state(pool).lp_supply == 12_247_448_713
    assert_matches(env, pool, model)

    user = trader(env, pool, 10**12, 10**12)
    for side, amount in [("a", 1_000_000), ("b", 77_777_777), ("a", 5_000), ("b", 123_456_789_012)]:
        before_in = env.balance(user.a if side == "a" else user.b)
        result = env.ok([swap_ix(env, pool, user, side, amount, 0)], [user.keypair])
        debited, credited = model.swap_exact_in(side, amount, 0)  # type: ignore[arg-type]
        assert return_data(result.logs) == (debited, credited) == (amount, credited)
        assert f"Program log: reev-amm swap in={debited} out={credited}" in result.logs
        assert before_in - env.balance(user.a if side == "a" else user.b) == debited
        assert_matches(env, pool, model)

    for side, amount in [("a", 1_000_000), ("b", 3)]:
        result = env.ok(
            [swap_ix(env, pool, user, side, amount, 10**15, exact_in=False)], [user.keypair]
        )
        debited, credited = model.swap_exact_out(side, amount, 10**15)  # type: ignore[arg-type]
        assert return_data(result.logs) == (debited, credited)
        assert credited == amount
        assert_matches(env, pool, model)

    second = trader(env, pool, 10**12, 10**12)
    env.ok([add_liquidity_ix(env, pool, second, 3_000_000, 10**12)], [second.keypair])
    taken_a, taken_b, minted = model.add_liquidity(3_000_000, 10**12, 0)
    assert env.balance(second.lp) == minted
    assert (10**12 - env.balance(second.a), 10**12 - env.balance(second.b)) == (taken_a, taken_b)
    assert_matches(env, pool, model)

    env.ok([remove_liquidity_ix(env, pool, second, minted)], [second.keypair])
    out_a, out_b = model.remove_liquidity(minted, 0, 0)
    assert (env.balance(second.a), env.balance(second.b)) == (
        10**12 - taken_a + out_a,
        10**12 - taken_b + out_b,
    )
    assert out_a <= taken_a and out_b <= taken_b  # a round trip never pays more than it took
    assert env.balance(second.lp) == 0
    assert_matches(env, pool, model)

    lp = env.balance(provider.lp)
    env.ok([remove_liquidity_ix(env, pool, provider, lp)], [provider.keypair])
    model.remove_liquidity(lp, 0, 0)
    assert env.state(pool).lp_supply == 0
    assert_matches(env, pool, model)


def test_a_swap_follows_the_documented_formula(env: AmmEnv) -> None:
    x, y = env.mint(), env.mint()
    pool, _, _ = funded_pool(env, x, y, 10_000, 20_000)
    user = trader(env, pool, 1_000, 0)
    env.ok([swap_ix(env, pool, user, "a", 1_000, 0)], [user.keypair])
    # fee = ceil(1000·30/10000) = 3, a' = 997, out = floor(997·20000 / (10000 + 997)) = 1813
    assert env.balance(user.b) == 1813
    state = env.state(pool)
    assert (state.reserve_a, state.reserve_b) == (11_000, 20_000 - 1813)


def test_a_transfer_fee_mint_is_charged_and_measured(env: AmmEnv) -> None:
    fee = TransferFee(250, 1_000_000)  # 2.5 %, capped
    x, y = env.mint(fee=fee), env.mint()
    pool, _, model = funded_pool(env, x, y, 400_000_000, 900_000_000)
    assert_matches(env, pool, model)
    fee_side = "a" if pool.mint_a == x else "b"
    plain_side = "b" if fee_side == "a" else "a"
    user = trader(env, pool, 10**9, 10**9)
    for side, amount in [(fee_side, 10_000_000), (plain_side, 50_000_000), (fee_side, 999)]:
        result = env.ok([swap_ix(env, pool, user, side, amount, 0)], [user.keypair])
        assert return_data(result.logs) == model.swap_exact_in(side, amount, 0)  # type: ignore[arg-type]
        assert_matches(env, pool, model)
    # exact out paying in the plain mint, the fee mint leaving the pool
    result = env.ok(
        [swap_ix(env, pool, user, plain_side, 1_000_000, 10**9, exact_in=False)], [user.keypair]
    )
    debited, credited = model.swap_exact_out(plain_side, 1_000_000, 10**9)  # type: ignore[arg-type]
    assert return_data(result.logs) == (debited, credited)
    assert credited == 1_000_000 - fee.on(1_000_000)
    assert_matches(env, pool, model)
    # exact out paying in the fee mint is refused
    watched = [pool.address, user.a, user.b]
    assert_fails(
        env,
        [swap_ix(env, pool, user, fee_side, 1_000, 10**9, exact_in=False)],
        [user.keypair],
        AmmError.UNSUPPORTED_TRANSFER_FEE,
        watched,
    )
    # a deposit into the fee side mints LP for what arrived
    second = trader(env, pool, 10**9, 10**9)
    env.ok([add_liquidity_ix(env, pool, second, 5_000_000, 5_000_000)], [second.keypair])
    assert (*model.add_liquidity(5_000_000, 5_000_000, 0)[2:],) == (env.balance(second.lp),)
    assert_matches(env, pool, model)


@pytest.mark.parametrize("token_2022", [False, True])
def test_a_single_hop_swap_costs_at_most_12000_cu(env: AmmEnv, token_2022: bool) -> None:
    x, y = env.mint(token_2022=token_2022), env.mint(token_2022=token_2022)
    pool, _, _ = funded_pool(env, x, y, 10**15, 10**15)
    user = trader(env, pool, 10**12, 10**12)
    exact_in = env.ok([swap_ix(env, pool, user, "a", 123_456_789, 1)], [user.keypair])
    exact_out = env.ok(
        [swap_ix(env, pool, user, "b", 123_456_789, 10**12, exact_in=False)], [user.keypair]
    )
    assert exact_in.compute_units <= SWAP_CU_BUDGET
    assert exact_out.compute_units <= SWAP_CU_BUDGET


# --------------------------------------------------------------------------- slippage


def test_a_swap_below_its_minimum_out_fails_and_changes_nothing(env: AmmEnv) -> None:
    x, y = env.mint(), env.mint()
    pool, _provider, model = funded_pool(env, x, y, 5_000_000, 7_000_000)
    user = trader(env, pool, 1_000_000, 1_000_000)
    state = env.state(pool)
    watched = [pool.address, user.a, user.b, state.vault_a, state.vault_b]
    expected = PoolModel(model.reserve_a, model.reserve_b, model.lp_supply, 30).swap_exact_in(
        "a", 100_000, 0
    )[1]
    assert_fails(
        env,
        [swap_ix(env, pool, user, "a", 100_000, expected + 1)],
        [user.keypair],
        AmmError.SLIPPAGE_EXCEEDED,
        watched,
    )
    needed = PoolModel(model.reserve_a, model.reserve_b, model.lp_supply, 30).swap_exact_out(
        "a", 100_000, 10**9
    )[0]
    assert_fails(
        env,
        [swap_ix(env, pool, user, "a", 100_000, needed - 1, exact_in=False)],
        [user.keypair],
        AmmError.SLIPPAGE_EXCEEDED,
        watched,
    )
    # at the bound itself both succeed
    env.ok([swap_ix(env, pool, user, "a", 100_000, expected)], [user.keypair])
    assert env.balance(user.b) == 1_000_000 + expected


def test_liquidity_bounds_fail_with_slippage_exceeded(env: AmmEnv) -> None:
    x, y = env.mint(), env.mint()
    pool, provider, model = funded_pool(env, x, y, 5_000_000, 7_000_000)
    user = trader(env, pool, 10**9, 10**9)
    state = env.state(pool)
    watched = [pool.address, user.a, user.b, user.lp, state.vault_a, state.vault_b, state.lp_mint]
    lp = PoolModel(model.reserve_a, model.reserve_b, model.lp_supply, 30).add_liquidity(
        1_000, 1_000, 0
    )[2]
    assert_fails(
        env,
        [add_liquidity_ix(env, pool, user, 1_000, 1_000, lp + 1)],
        [user.keypair],
        AmmError.SLIPPAGE_EXCEEDED,
        watched,
    )
    held = env.balance(provider.lp)
    out_a, out_b = PoolModel(
        model.reserve_a, model.reserve_b, model.lp_supply, 30
    ).remove_liquidity(held // 2, 0, 0)
    watched = [pool.address, provider.a, provider.b, provider.lp, state.vault_a, state.vault_b]
    for min_a, min_b in [(out_a + 1, 0), (0, out_b + 1)]:
        assert_fails(
            env,
            [remove_liquidity_ix(env, pool, provider, held // 2, min_a, min_b)],
            [provider.keypair],
            AmmError.SLIPPAGE_EXCEEDED,
            watched,
        )


# --------------------------------------------------------------------------- every error code


@pytest.fixture
def market(env: AmmEnv) -> tuple[AmmEnv, Pool, Trader, list[Pubkey]]:
    x, y = env.mint(), env.mint(decimals=9)
    pool, _, _ = funded_pool(env, x, y, 10**12, 10**12)
    user = trader(env, pool, 10**9, 10**9)
    state = env.state(pool)
    watched = [pool.address, user.a, user.b, user.lp, state.vault_a, state.vault_b, state.lp_mint]
    return env, pool, user, watched


def _with_account(ix: Instruction, index: int, meta: AccountMeta) -> Instruction:
    accounts = list(ix.accounts)
    accounts[index] = meta
    return Instruction(ix.program_id, ix.data, accounts)


def test_errors_of_the_swap_accounts(market: tuple[AmmEnv, Pool, Trader, list[Pubkey]]) -> None:
    env, pool, user, watched = market
    swap = swap_ix(env, pool, user, "a", 1_000, 0)
    other = env.mint()
    foreign = env.token_account(env.keypair().pubkey(), pool.mint_a)
    cases: list[tuple[AmmError, Instruction, list[Keypair]]] = [
        (
            AmmError.INVALID_INSTRUCTION,
            Instruction(AMM_PROGRAM_ID, bytes([9]), list(swap.accounts)),
            [user.keypair],
        ),
        (
            AmmError.INVALID_INSTRUCTION,
            Instruction(AMM_PROGRAM_ID, bytes(swap.data)[:-1], list(swap.accounts)),
            [user.keypair],
        ),
        (
            AmmError.INVALID_INSTRUCTION,
            Instruction(AMM_PROGRAM_ID, b"", list(swap.accounts)),
            [user.keypair],
        ),
        (
            AmmError.NOT_ENOUGH_ACCOUNTS,
            Instruction(AMM_PROGRAM_ID, bytes(swap.data), list(swap.accounts)[:10]),
            [user.keypair],
        ),
        (
            AmmError.MISSING_SIGNER,
            _with_account(swap, 0, AccountMeta(user.pubkey, False, False)),
            [],
        ),
        (
            AmmError.INVALID_POOL,
            _with_account(swap, 1, AccountMeta(user.a, False, True)),
            [user.keypair],
        ),
        (
            AmmError.INVALID_POOL,
            _with_account(swap, 1, AccountMeta(pool.address, False, False)),
            [user.keypair],
        ),
        (
            AmmError.INVALID_AUTHORITY,
            _with_account(swap, 2, AccountMeta(env.keypair().pubkey(), False, False)),
            [user.keypair],
        ),
        (
            AmmError.WRONG_MINT,
            _with_account(swap, 3, AccountMeta(other.address, False, False)),
            [user.keypair],
        ),
        (
            AmmError.WRONG_MINT,
            _with_account(swap, 4, AccountMeta(pool.mint_a.address, False, False)),
            [user.keypair],
        ),
        (
            AmmError.WRONG_VAULT,
            _with_account(swap, 5, AccountMeta(foreign, False, True)),
            [user.keypair],
        ),
        (
            AmmError.WRONG_VAULT,
            _with_account(swap, 6, AccountMeta(user.b, False, True)),
            [user.keypair],
        ),
        (
            AmmError.WRONG_TOKEN_PROGRAM,
            _with_account(swap, 9, AccountMeta(TOKEN_2022_PROGRAM, False, False)),
            [user.keypair],
        ),
        (
            AmmError.WRONG_TOKEN_PROGRAM,
            _with_account(swap, 10, AccountMeta(TOKEN_2022_PROGRAM, False, False)),
            [user.keypair],
        ),
        (
            AmmError.INVALID_TOKEN_ACCOUNT,
            _with_account(swap, 7, AccountMeta(user.b, False, True)),
            [user.keypair],
        ),
        (
            AmmError.INVALID_TOKEN_ACCOUNT,
            _with_account(swap, 8, AccountMeta(env.state(pool).vault_b, False, True)),
            [user.keypair],
        ),
        (AmmError.ZERO_AMOUNT, swap_ix(env, pool, user, "a", 0, 0), [user.keypair]),
        (
            AmmError.ZERO_AMOUNT,
            swap_ix(env, pool, user, "a", 0, 10**9, exact_in=False),
            [user.keypair],
        ),
        (
            AmmError.INSUFFICIENT_LIQUIDITY,
            swap_ix(env, pool, user, "a", 10**12, 10**15, exact_in=False),
            [user.keypair],
        ),
        (
            AmmError.INSUFFICIENT_LIQUIDITY,
            swap_ix(env, pool, user, "a", 1, 0),
            [user.keypair],
        ),  # pays 0
        (
            AmmError.MATH_OVERFLOW,
            swap_ix(env, pool, user, "a", 10**12 - 1, 2**64 - 1, exact_in=False),
            [user.keypair],
        ),
    ]
    for code, ix, signers in cases:
        assert_fails(env, [ix], signers, code, watched)


def test_errors_of_the_liquidity_accounts(
    market: tuple[AmmEnv, Pool, Trader, list[Pubkey]],
) -> None:
    env, pool, user, watched = market
    add = add_liquidity_ix(env, pool, user, 1_000_000, 1_000_000)
    other_lp = env.token_account(user.pubkey, env.mint(decimals=9))
    cases: list[tuple[AmmError, Instruction]] = [
        (
            AmmError.INVALID_INSTRUCTION,
            Instruction(AMM_PROGRAM_ID, bytes(add.data) + b"\0", list(add.accounts)),
        ),
        (
            AmmError.NOT_ENOUGH_ACCOUNTS,
            Instruction(AMM_PROGRAM_ID, bytes(add.data), list(add.accounts)[:13]),
        ),
        (
            AmmError.INVALID_LP_MINT,
            _with_account(add, 3, AccountMeta(pool.mint_a.address, False, True)),
        ),
        (
            AmmError.WRONG_MINT,
            _with_account(add, 4, AccountMeta(pool.mint_b.address, False, False)),
        ),
        (AmmError.WRONG_VAULT, _with_account(add, 7, AccountMeta(user.b, False, True))),
        (
            AmmError.WRONG_TOKEN_PROGRAM,
            _with_account(add, 13, AccountMeta(TOKEN_2022_PROGRAM, False, False)),
        ),
        (
            AmmError.INVALID_TOKEN_ACCOUNT,
            _with_account(add, 10, AccountMeta(other_lp, False, True)),
        ),
        (AmmError.INVALID_TOKEN_ACCOUNT, _with_account(add, 8, AccountMeta(user.b, False, True))),
        (AmmError.ZERO_AMOUNT, add_liquidity_ix(env, pool, user, 0, 1_000)),
        (AmmError.ZERO_AMOUNT, remove_liquidity_ix(env, pool, user, 0)),
        (
            AmmError.INSUFFICIENT_LIQUIDITY,
            remove_liquidity_ix(env, pool, user, env.state(pool).lp_supply + 1),
        ),
    ]
    for code, ix in cases:
        assert_fails(env, [ix], [user.keypair], code, watched)


def test_zero_liquidity_when_a_deposit_mints_no_lp(env: AmmEnv) -> None:
    x, y = env.mint(), env.mint()
    pool, _, _ = funded_pool(env, x, y, 10**12, 1)  # S = isqrt(10^12) = 10^6 < R_a
    user = trader(env, pool, 10**9, 10**9)
    # floor(1 · 10^6 / 10^12) = 0 LP
    assert_fails(
        env,
        [add_liquidity_ix(env, pool, user, 1, 10**9)],
        [user.keypair],
        AmmError.ZERO_LIQUIDITY,
        [pool.address, user.a, user.b, user.lp],
    )


def test_errors_of_initialize_pool(env: AmmEnv) -> None:
    x, y = env.mint(), env.mint()
    a, b = sorted([x, y], key=lambda m: bytes(m.address))
    keypair = env.keypair()
    good = env.pool_instructions(keypair.pubkey(), a, b, 30)
    create, vaults, init = good[0], good[1:3], good[3]
    pool = keypair.pubkey()
    env.ok([create, *vaults], [keypair])  # the pool account and the vaults exist; not initialised
    authority, _ = pool_authority(pool)
    user_ata = env.token_account(env.payer.pubkey(), a)
    funded_vault = get_associated_token_address(authority, a.address, a.program)
    watched = [pool, lp_mint_address(pool)[0], funded_vault]

    def init_with(index: int, meta: AccountMeta) -> Instruction:
        return _with_account(init, index, meta)

    reversed_init = amm.initialize_pool(
        env.payer.pubkey(), pool, b.address, a.address, b.program, a.program, 30
    )
    same_init = amm.initialize_pool(
        env.payer.pubkey(), pool, a.address, a.address, a.program, a.program, 30
    )
    cases: list[tuple[AmmError, Instruction]] = [
        (
            AmmError.INVALID_INSTRUCTION,
            Instruction(AMM_PROGRAM_ID, bytes(init.data)[:2], list(init.accounts)),
        ),
        (
            AmmError.NOT_ENOUGH_ACCOUNTS,
            Instruction(AMM_PROGRAM_ID, bytes(init.data), list(init.accounts)[:11]),
        ),
        (AmmError.INVALID_POOL, init_with(1, AccountMeta(user_ata, False, True))),
        (
            AmmError.INVALID_FEE,
            amm.initialize_pool(
                env.payer.pubkey(), pool, a.address, b.address, a.program, b.program, 10_000
            ),
        ),
        (AmmError.INVALID_MINT_ORDER, reversed_init),
        (AmmError.INVALID_MINT_ORDER, same_init),
        (AmmError.WRONG_TOKEN_PROGRAM, init_with(8, AccountMeta(TOKEN_2022_PROGRAM, False, False))),
        (
            AmmError.WRONG_TOKEN_PROGRAM,
            init_with(10, AccountMeta(TOKEN_2022_PROGRAM, False, False)),
        ),
        (AmmError.WRONG_MINT, init_with(4, AccountMeta(user_ata, False, False))),
        (AmmError.INVALID_SYSTEM_PROGRAM, init_with(11, AccountMeta(TOKEN_PROGRAM, False, False))),
        (
            AmmError.INVALID_AUTHORITY,
            init_with(2, AccountMeta(env.keypair().pubkey(), False, False)),
        ),
        (AmmError.INVALID_LP_MINT, init_with(3, AccountMeta(env.keypair().pubkey(), False, True))),
        (AmmError.INVALID_VAULT, init_with(6, AccountMeta(user_ata, False, False))),
    ]
    for code, ix in cases:
        assert_fails(env, [ix], [], code, watched)
    # the payer must sign
    unsigned = init_with(0, AccountMeta(env.keypair().pubkey(), False, True))
    assert_fails(env, [unsigned], [], AmmError.MISSING_SIGNER, watched)
    # a vault already holding tokens is refused
    env.ok([env.mint_to_ix(a, funded_vault, 1)])
    assert_fails(env, [init], [], AmmError.INVALID_VAULT, [pool, lp_mint_address(pool)[0]])


def test_initialize_twice_is_already_initialized(
    market: tuple[AmmEnv, Pool, Trader, list[Pubkey]],
) -> None:
    env, pool, _user, watched = market
    init = amm.initialize_pool(
        env.payer.pubkey(),
        pool.address,
        pool.mint_a.address,
        pool.mint_b.address,
        pool.mint_a.program,
        pool.mint_b.program,
        30,
    )
    assert_fails(env, [init], [], AmmError.ALREADY_INITIALIZED, watched)


def test_every_documented_error_code_is_provoked() -> None:
    """The tests above and those of the mint extensions (test_amm_mint_extensions.py) name
    every code of docs/programs.md (this guards the list)."""
    extensions = Path(__file__).with_name("test_amm_mint_extensions.py").read_text()
    source = inspect.getsource(sys.modules[__name__]) + extensions
    missing = [code.name for code in AmmError if f"AmmError.{code.name}" not in source]
    assert missing == []
