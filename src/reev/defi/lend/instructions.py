"""solders Instruction builders for reev Lend, one per instruction, with the account order of
docs/lending.md ("Instructions"). They check nothing the program checks: a wrong account makes
the program fail with its error code, which is what the tests want to see.

`pairs` arguments are `(reserve, oracle)` addresses for exactly the obligation's positions plus
the reserve(s) the instruction acts on, in ascending reserve index (`LendingModel.pairs` /
`ObligationState.positions` say which).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    initialize_mint2,
)
from spl.token.models import InitializeMint2Params

from reev.constants import SYSTEM_PROGRAM, TOKEN_PROGRAM
from reev.defi.lend.layout import (
    LEND_PROGRAM_ID,
    MARKET_LEN,
    RESERVE_LEN,
    ReserveConfig,
    ReserveState,
    Tag,
    obligation_address,
    reserve_authority,
    vault_address,
)

MINT_LEN = 82

Pairs = Sequence[tuple[Pubkey, Pubkey]]


def _w(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=True)


def _r(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=False)


def _s(key: Pubkey, writable: bool = False) -> AccountMeta:
    return AccountMeta(key, is_signer=True, is_writable=writable)


def _ix(tag: Tag, data: bytes, metas: list[AccountMeta]) -> Instruction:
    return Instruction(LEND_PROGRAM_ID, bytes([tag]) + data, metas)


def _amount(value: int) -> bytes:
    return struct.pack("<Q", value)


def pair_metas(pairs: Pairs) -> list[AccountMeta]:
    """The trailing (reserve writable, oracle) accounts of the health-checked instructions."""
    metas: list[AccountMeta] = []
    for reserve, oracle in pairs:
        metas += [_w(reserve), _r(oracle)]
    return metas


def init_market(admin: Pubkey, market: Pubkey, close_factor_bps: int) -> Instruction:
    return _ix(Tag.INIT_MARKET, struct.pack("<H", close_factor_bps), [_s(admin), _w(market)])


def create_market(
    admin: Pubkey, market: Pubkey, close_factor_bps: int, rent: int
) -> list[Instruction]:
    """Allocate the market account (the market keypair signs) and initialise it."""
    allocate = create_account(
        CreateAccountParams(
            from_pubkey=admin,
            to_pubkey=market,
            lamports=rent,
            space=MARKET_LEN,
            owner=LEND_PROGRAM_ID,
        )
    )
    return [allocate, init_market(admin, market, close_factor_bps)]


def init_reserve(
    admin: Pubkey,
    market: Pubkey,
    reserve: Pubkey,
    asset_mint: Pubkey,
    share_mint: Pubkey,
    oracle: Pubkey,
    config: ReserveConfig,
) -> Instruction:
    authority = reserve_authority(reserve)[0]
    metas = [
        _s(admin),
        _w(market),
        _w(reserve),
        _r(authority),
        _r(asset_mint),
        _r(vault_address(reserve, asset_mint)),
        _r(share_mint),
        _r(oracle),
        _r(TOKEN_PROGRAM),
    ]
    return _ix(Tag.INIT_RESERVE, config.encode(), metas)


def create_reserve(
    admin: Pubkey,
    market: Pubkey,
    reserve: Pubkey,
    asset_mint: Pubkey,
    share_mint: Pubkey,
    oracle: Pubkey,
    config: ReserveConfig,
    *,
    decimals: int,
    reserve_rent: int,
    share_mint_rent: int | None,
) -> list[Instruction]:
    """Allocate the reserve (its keypair signs), the vault (the authority's ATA) and, unless
    `share_mint_rent` is None (a share mint written at set-up, as jlUSDC / jlSOL), the share
    mint (its keypair signs), then `InitReserve`."""
    authority = reserve_authority(reserve)[0]
    ixs = [
        create_account(
            CreateAccountParams(
                from_pubkey=admin,
                to_pubkey=reserve,
                lamports=reserve_rent,
                space=RESERVE_LEN,
                owner=LEND_PROGRAM_ID,
            )
        )
    ]
    if share_mint_rent is not None:
        ixs.append(
            create_account(
                CreateAccountParams(
                    from_pubkey=admin,
                    to_pubkey=share_mint,
                    lamports=share_mint_rent,
                    space=MINT_LEN,
                    owner=TOKEN_PROGRAM,
                )
            )
        )
        ixs.append(
            initialize_mint2(
                InitializeMint2Params(
                    decimals=decimals,
                    program_id=TOKEN_PROGRAM,
                    mint=share_mint,
                    mint_authority=authority,
                    freeze_authority=None,
                )
            )
        )
    ixs.append(create_idempotent_associated_token_account(admin, authority, asset_mint))
    ixs.append(init_reserve(admin, market, reserve, asset_mint, share_mint, oracle, config))
    return ixs


def init_obligation(owner: Pubkey, market: Pubkey) -> Instruction:
    obligation = obligation_address(market, owner)[0]
    metas = [_s(owner, True), _r(market), _w(obligation), _r(SYSTEM_PROGRAM)]
    return _ix(Tag.INIT_OBLIGATION, b"", metas)


def accrue_interest(reserve: Pubkey) -> Instruction:
    return _ix(Tag.ACCRUE_INTEREST, b"", [_w(reserve)])


def _earn(
    tag: Tag,
    user: Pubkey,
    reserve: Pubkey,
    state: ReserveState,
    source: Pubkey,
    dest: Pubkey,
    amount: int,
) -> Instruction:
    metas = [
        _s(user),
        _w(reserve),
        _r(reserve_authority(reserve)[0]),
        _w(state.vault),
        _w(state.share_mint),
        _w(source),
        _w(dest),
        _r(TOKEN_PROGRAM),
    ]
    return _ix(tag, _amount(amount), metas)


def deposit(
    user: Pubkey,
    reserve: Pubkey,
    state: ReserveState,
    user_asset: Pubkey,
    receiver_shares: Pubkey,
    assets: int,
) -> Instruction:
    """`Deposit` exactly `assets` from `user_asset`; shares (rounded down) to `receiver_shares`."""
    return _earn(Tag.DEPOSIT, user, reserve, state, user_asset, receiver_shares, assets)


def mint(
    user: Pubkey,
    reserve: Pubkey,
    state: ReserveState,
    user_asset: Pubkey,
    receiver_shares: Pubkey,
    shares: int,
) -> Instruction:
    """`Mint` exactly `shares`, paying the assets they cost (rounded up)."""
    return _earn(Tag.MINT, user, reserve, state, user_asset, receiver_shares, shares)


def withdraw(
    user: Pubkey,
    reserve: Pubkey,
    state: ReserveState,
    user_shares: Pubkey,
    receiver_asset: Pubkey,
    assets: int,
) -> Instruction:
    """`Withdraw` exactly `assets`, burning the shares they are worth (rounded up)."""
    return _earn(Tag.WITHDRAW, user, reserve, state, user_shares, receiver_asset, assets)


def redeem(
    user: Pubkey,
    reserve: Pubkey,
    state: ReserveState,
    user_shares: Pubkey,
    receiver_asset: Pubkey,
    shares: int,
) -> Instruction:
    """`Redeem` exactly `shares` for the assets they are worth (rounded down)."""
    return _earn(Tag.REDEEM, user, reserve, state, user_shares, receiver_asset, shares)


def deposit_collateral(
    owner: Pubkey,
    market: Pubkey,
    reserve: Pubkey,
    state: ReserveState,
    owner_asset: Pubkey,
    amount: int,
) -> Instruction:
    metas = [
        _s(owner),
        _w(obligation_address(market, owner)[0]),
        _w(reserve),
        _w(state.vault),
        _w(owner_asset),
        _r(TOKEN_PROGRAM),
    ]
    return _ix(Tag.DEPOSIT_COLLATERAL, _amount(amount), metas)


def _out(
    tag: Tag,
    owner: Pubkey,
    market: Pubkey,
    reserve: Pubkey,
    state: ReserveState,
    receiver: Pubkey,
    amount: int,
    pairs: Pairs,
) -> Instruction:
    metas = [
        _s(owner),
        _w(obligation_address(market, owner)[0]),
        _w(reserve),
        _r(reserve_authority(reserve)[0]),
        _w(state.vault),
        _w(receiver),
        _r(TOKEN_PROGRAM),
        *pair_metas(pairs),
    ]
    return _ix(tag, _amount(amount), metas)


def withdraw_collateral(
    owner: Pubkey,
    market: Pubkey,
    reserve: Pubkey,
    state: ReserveState,
    receiver: Pubkey,
    amount: int,
    pairs: Pairs,
) -> Instruction:
    return _out(Tag.WITHDRAW_COLLATERAL, owner, market, reserve, state, receiver, amount, pairs)


def borrow(
    owner: Pubkey,
    market: Pubkey,
    reserve: Pubkey,
    state: ReserveState,
    receiver: Pubkey,
    amount: int,
    pairs: Pairs,
) -> Instruction:
    return _out(Tag.BORROW, owner, market, reserve, state, receiver, amount, pairs)


def repay(
    payer: Pubkey,
    obligation: Pubkey,
    reserve: Pubkey,
    state: ReserveState,
    payer_asset: Pubkey,
    amount: int,
) -> Instruction:
    """`Repay` up to `amount` (2**64 − 1: the whole debt) of `obligation`'s debt in `reserve`."""
    metas = [
        _s(payer),
        _w(obligation),
        _w(reserve),
        _w(state.vault),
        _w(payer_asset),
        _r(TOKEN_PROGRAM),
    ]
    return _ix(Tag.REPAY, _amount(amount), metas)


def liquidate(
    liquidator: Pubkey,
    obligation: Pubkey,
    market: Pubkey,
    debt: tuple[Pubkey, ReserveState],
    collateral: tuple[Pubkey, ReserveState],
    source: Pubkey,
    receiver: Pubkey,
    repay_amount: int,
    min_seize: int,
    pairs: Pairs,
) -> Instruction:
    (debt_reserve, debt_state), (coll_reserve, coll_state) = debt, collateral
    metas = [
        _s(liquidator),
        _w(obligation),
        _r(market),
        _w(debt_reserve),
        _w(coll_reserve),
        _r(reserve_authority(coll_reserve)[0]),
        _w(debt_state.vault),
        _w(coll_state.vault),
        _w(source),
        _w(receiver),
        _r(TOKEN_PROGRAM),
        *pair_metas(pairs),
    ]
    return _ix(Tag.LIQUIDATE, struct.pack("<QQ", repay_amount, min_seize), metas)
