"""Instruction builders for the reev AMM, with the account order of docs/programs.md.

Each returns a solders `Instruction`; `create_pool` returns the whole sequence a client sends to
open a pool (the pool account, the vaults, then `InitializePool`).
"""

from __future__ import annotations

import struct

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.instructions import create_idempotent_associated_token_account

from reev.constants import SYSTEM_PROGRAM, TOKEN_PROGRAM
from reev.defi.amm.layout import (
    AMM_PROGRAM_ID,
    POOL_LEN,
    PoolState,
    lp_mint_address,
    pool_authority,
    vault_address,
)

TAG_INITIALIZE_POOL = 0
TAG_ADD_LIQUIDITY = 1
TAG_REMOVE_LIQUIDITY = 2
TAG_SWAP_EXACT_IN = 3
TAG_SWAP_EXACT_OUT = 4


def _w(pubkey: Pubkey) -> AccountMeta:
    return AccountMeta(pubkey, is_signer=False, is_writable=True)


def _r(pubkey: Pubkey) -> AccountMeta:
    return AccountMeta(pubkey, is_signer=False, is_writable=False)


def _signer(pubkey: Pubkey, writable: bool = False) -> AccountMeta:
    return AccountMeta(pubkey, is_signer=True, is_writable=writable)


def initialize_pool(
    payer: Pubkey,
    pool: Pubkey,
    mint_a: Pubkey,
    mint_b: Pubkey,
    token_program_a: Pubkey,
    token_program_b: Pubkey,
    fee_bps: int,
) -> Instruction:
    authority, _ = pool_authority(pool)
    lp_mint, _ = lp_mint_address(pool)
    accounts = [
        _signer(payer, writable=True),
        _w(pool),
        _r(authority),
        _w(lp_mint),
        _r(mint_a),
        _r(mint_b),
        _r(vault_address(pool, mint_a, token_program_a)),
        _r(vault_address(pool, mint_b, token_program_b)),
        _r(token_program_a),
        _r(token_program_b),
        _r(TOKEN_PROGRAM),
        _r(SYSTEM_PROGRAM),
    ]
    data = struct.pack("<BH", TAG_INITIALIZE_POOL, fee_bps)
    return Instruction(AMM_PROGRAM_ID, data, accounts)


def create_pool(
    payer: Pubkey,
    pool: Pubkey,
    mint_a: Pubkey,
    mint_b: Pubkey,
    token_program_a: Pubkey,
    token_program_b: Pubkey,
    fee_bps: int,
    rent: int,
) -> list[Instruction]:
    """Everything that opens a pool: the pool account (`rent` lamports, `POOL_LEN` bytes, owned
    by the AMM; `pool` signs), both vaults (idempotent ATAs of the authority), `InitializePool`.
    `mint_a < mint_b` byte-wise (see `order_mints`)."""
    authority, _ = pool_authority(pool)
    return [
        create_account(
            CreateAccountParams(
                from_pubkey=payer,
                to_pubkey=pool,
                lamports=rent,
                space=POOL_LEN,
                owner=AMM_PROGRAM_ID,
            )
        ),
        create_idempotent_associated_token_account(payer, authority, mint_a, token_program_a),
        create_idempotent_associated_token_account(payer, authority, mint_b, token_program_b),
        initialize_pool(payer, pool, mint_a, mint_b, token_program_a, token_program_b, fee_bps),
    ]


def _liquidity(
    tag: int,
    user: Pubkey,
    pool: Pubkey,
    state: PoolState,
    user_a: Pubkey,
    user_b: Pubkey,
    user_lp: Pubkey,
    x: int,
    y: int,
    z: int,
) -> Instruction:
    accounts = [
        _signer(user),
        _w(pool),
        _r(pool_authority(pool)[0]),
        _w(state.lp_mint),
        _r(state.mint_a),
        _r(state.mint_b),
        _w(state.vault_a),
        _w(state.vault_b),
        _w(user_a),
        _w(user_b),
        _w(user_lp),
        _r(state.token_program_a),
        _r(state.token_program_b),
        _r(TOKEN_PROGRAM),
    ]
    return Instruction(AMM_PROGRAM_ID, struct.pack("<BQQQ", tag, x, y, z), accounts)


def add_liquidity(
    user: Pubkey,
    pool: Pubkey,
    state: PoolState,
    user_a: Pubkey,
    user_b: Pubkey,
    user_lp: Pubkey,
    max_a: int,
    max_b: int,
    min_lp: int,
) -> Instruction:
    return _liquidity(
        TAG_ADD_LIQUIDITY, user, pool, state, user_a, user_b, user_lp, max_a, max_b, min_lp
    )


def remove_liquidity(
    user: Pubkey,
    pool: Pubkey,
    state: PoolState,
    user_a: Pubkey,
    user_b: Pubkey,
    user_lp: Pubkey,
    lp: int,
    min_a: int,
    min_b: int,
) -> Instruction:
    return _liquidity(
        TAG_REMOVE_LIQUIDITY, user, pool, state, user_a, user_b, user_lp, lp, min_a, min_b
    )


def _swap(
    tag: int,
    user: Pubkey,
    pool: Pubkey,
    state: PoolState,
    input_mint: Pubkey,
    user_in: Pubkey,
    user_out: Pubkey,
    x: int,
    y: int,
) -> Instruction:
    output_mint = state.other_mint(input_mint)
    accounts = [
        _signer(user),
        _w(pool),
        _r(pool_authority(pool)[0]),
        _r(input_mint),
        _r(output_mint),
        _w(state.vault_of(input_mint)),
        _w(state.vault_of(output_mint)),
        _w(user_in),
        _w(user_out),
        _r(state.token_program_of(input_mint)),
        _r(state.token_program_of(output_mint)),
    ]
    return Instruction(AMM_PROGRAM_ID, struct.pack("<BQQ", tag, x, y), accounts)


def swap_exact_in(
    user: Pubkey,
    pool: Pubkey,
    state: PoolState,
    input_mint: Pubkey,
    user_in: Pubkey,
    user_out: Pubkey,
    amount_in: int,
    min_amount_out: int,
) -> Instruction:
    return _swap(
        TAG_SWAP_EXACT_IN,
        user,
        pool,
        state,
        input_mint,
        user_in,
        user_out,
        amount_in,
        min_amount_out,
    )


def swap_exact_out(
    user: Pubkey,
    pool: Pubkey,
    state: PoolState,
    input_mint: Pubkey,
    user_in: Pubkey,
    user_out: Pubkey,
    amount_out: int,
    max_amount_in: int,
) -> Instruction:
    return _swap(
        TAG_SWAP_EXACT_OUT,
        user,
        pool,
        state,
        input_mint,
        user_in,
        user_out,
        amount_out,
        max_amount_in,
    )
