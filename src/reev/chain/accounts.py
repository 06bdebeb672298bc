"""Account states as the rest of reev sees them, and the SPL layouts used to build them.

Packing and unpacking go through the `ACCOUNT_LAYOUT` / `MINT_LAYOUT` construct structs of
`reev.chain.layouts`, not hand-written offsets. Token-2022 accounts share the base layout; their extensions
start after byte 165 (an account-type byte, then type-length-value entries). Of those, only the
transfer-fee ones are decoded (`extensions`, `TRANSFER_FEE_CONFIG_LAYOUT`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from solders.account import Account
from solders.pubkey import Pubkey

from reev.chain.layouts import (
    ACCOUNT_LAYOUT,
    EXTENSION_TRANSFER_FEE_AMOUNT,
    EXTENSION_TRANSFER_FEE_CONFIG,
    MINT_LAYOUT,
    TRANSFER_FEE_AMOUNT_LAYOUT,
    TRANSFER_FEE_CONFIG_LAYOUT,
)
from reev.chain.stake import StakeInfo, decode_stake
from reev.constants import STAKE_PROGRAM, TOKEN_PROGRAMS
from reev.units import format_ui_amount

ACCOUNT_LEN = ACCOUNT_LAYOUT.sizeof()  # 165
MINT_LEN = MINT_LAYOUT.sizeof()  # 82
# An address lookup table: u32 discriminator (1), deactivation slot, last extended slot (bytes
# 12..20), its start index, the optional authority, padding; then 32 bytes per address.
LOOKUP_TABLE_META_SIZE = 56
_ACCOUNT_TYPE_MINT = 1
_ACCOUNT_TYPE_ACCOUNT = 2
_STATES: dict[int, Literal["uninitialized", "initialized", "frozen"]] = {
    0: "uninitialized",
    1: "initialized",
    2: "frozen",
}
_NO_KEY = bytes(32)


class TokenAccountInfo(BaseModel):
    mint: str
    owner: str
    amount: int
    decimals: int | None = None
    ui_amount: str | None = None
    delegate: str | None = None
    delegated_amount: int = 0
    state: Literal["uninitialized", "initialized", "frozen"] = "initialized"
    is_native: bool = False
    close_authority: str | None = None
    withheld_amount: int | None = None  # Token-2022 transfer fees withheld here (fee mints only)


class MintInfo(BaseModel):
    decimals: int
    supply: int
    mint_authority: str | None = None
    freeze_authority: str | None = None
    transfer_fee_basis_points: int | None = None  # Token-2022 transfer-fee extension
    transfer_fee_maximum: int | None = None  # base units


class AccountState(BaseModel):
    """One account: what observations show and what assertions read."""

    address: str
    lamports: int
    owner: str
    executable: bool = False
    data_len: int = 0
    token: TokenAccountInfo | None = None
    mint: MintInfo | None = None
    stake: StakeInfo | None = None  # a Stake-program account (`reev.chain.stake`)


def _optional_key(option: int, raw: bytes) -> str | None:
    return str(Pubkey.from_bytes(raw)) if option and raw != _NO_KEY else None


def _kind(data: bytes) -> str | None:
    if len(data) == MINT_LEN:
        return "mint"
    if len(data) == ACCOUNT_LEN:
        return "account"
    if len(data) > ACCOUNT_LEN:
        return {_ACCOUNT_TYPE_MINT: "mint", _ACCOUNT_TYPE_ACCOUNT: "account"}.get(data[ACCOUNT_LEN])
    return None


def extensions(data: bytes) -> dict[int, bytes]:
    """A Token-2022 account's extensions, type → value bytes ({} for a base-size account).

    After the base state (a mint is padded to 165 bytes) comes the account-type byte, then
    entries of u16 type, u16 length (little-endian) and the value; type 0 ends the list.
    """
    found: dict[int, bytes] = {}
    offset = ACCOUNT_LEN + 1
    while offset + 4 <= len(data):
        kind = int.from_bytes(data[offset : offset + 2], "little")
        length = int.from_bytes(data[offset + 2 : offset + 4], "little")
        if kind == 0:
            break
        found[kind] = data[offset + 4 : offset + 4 + length]
        offset += 4 + length
    return found


def decode_mint(data: bytes) -> MintInfo:
    raw = MINT_LAYOUT.parse(data[:MINT_LEN])
    info = MintInfo(
        decimals=raw.decimals,
        supply=raw.supply,
        mint_authority=_optional_key(raw.mint_authority_option, raw.mint_authority),
        freeze_authority=_optional_key(raw.freeze_authority_option, raw.freeze_authority),
    )
    config = extensions(data).get(EXTENSION_TRANSFER_FEE_CONFIG)
    if config is not None and len(config) >= TRANSFER_FEE_CONFIG_LAYOUT.sizeof():
        # The newer fee applies from its epoch on; reev never schedules a fee change, so after
        # initialisation both are the same.
        fee = TRANSFER_FEE_CONFIG_LAYOUT.parse(config).newer_transfer_fee
        info.transfer_fee_basis_points = fee.transfer_fee_basis_points
        info.transfer_fee_maximum = fee.maximum_fee
    return info


def decode_token_account(data: bytes) -> TokenAccountInfo:
    raw = ACCOUNT_LAYOUT.parse(data[:ACCOUNT_LEN])
    return TokenAccountInfo(
        mint=str(Pubkey.from_bytes(raw.mint)),
        owner=str(Pubkey.from_bytes(raw.owner)),
        amount=raw.amount,
        delegate=_optional_key(raw.delegate_option, raw.delegate),
        delegated_amount=raw.delegated_amount,
        state=_STATES.get(raw.state, "uninitialized"),
        is_native=bool(raw.is_native_option),
        close_authority=_optional_key(raw.close_authority_option, raw.close_authority),
        withheld_amount=_withheld(data),
    )


def _withheld(data: bytes) -> int | None:
    amount = extensions(data).get(EXTENSION_TRANSFER_FEE_AMOUNT)
    if amount is None or len(amount) < TRANSFER_FEE_AMOUNT_LAYOUT.sizeof():
        return None
    return TRANSFER_FEE_AMOUNT_LAYOUT.parse(amount).withheld_amount


def decode_account(address: Pubkey | str, account: Account) -> AccountState:
    """Decode a raw account; token accounts and mints get their SPL fields, stake accounts
    their stake fields (without the epoch-dependent `state`: see `read_account`)."""
    state = AccountState(
        address=str(address),
        lamports=account.lamports,
        owner=str(account.owner),
        executable=account.executable,
        data_len=len(account.data),
    )
    if account.owner in TOKEN_PROGRAMS:
        data = bytes(account.data)
        kind = _kind(data)
        if kind == "mint":
            state.mint = decode_mint(data)
        elif kind == "account":
            state.token = decode_token_account(data)
    elif account.owner == STAKE_PROGRAM:
        state.stake = decode_stake(bytes(account.data))
    return state


def with_decimals(token: TokenAccountInfo, decimals: int | None) -> TokenAccountInfo:
    if decimals is None:
        return token
    return token.model_copy(
        update={"decimals": decimals, "ui_amount": format_ui_amount(token.amount, decimals)}
    )


def pack_mint(
    *,
    decimals: int,
    supply: int,
    mint_authority: Pubkey | None,
    freeze_authority: Pubkey | None,
) -> bytes:
    return MINT_LAYOUT.build(
        {
            "mint_authority_option": 1 if mint_authority else 0,
            "mint_authority": bytes(mint_authority) if mint_authority else _NO_KEY,
            "supply": supply,
            "decimals": decimals,
            "is_initialized": 1,
            "freeze_authority_option": 1 if freeze_authority else 0,
            "freeze_authority": bytes(freeze_authority) if freeze_authority else _NO_KEY,
        }
    )


def pack_token_account(
    *,
    mint: Pubkey,
    owner: Pubkey,
    amount: int,
    delegate: Pubkey | None = None,
    delegated_amount: int = 0,
    frozen: bool = False,
    native_rent: int | None = None,
) -> bytes:
    """A token account's bytes. `native_rent` marks a wrapped-SOL account (its rent reserve)."""
    return ACCOUNT_LAYOUT.build(
        {
            "mint": bytes(mint),
            "owner": bytes(owner),
            "amount": amount,
            "delegate_option": 1 if delegate else 0,
            "delegate": bytes(delegate) if delegate else _NO_KEY,
            "state": 2 if frozen else 1,
            "is_native_option": 0 if native_rent is None else 1,
            "is_native": native_rent or 0,
            "delegated_amount": delegated_amount if delegate else 0,
            "close_authority_option": 0,
            "close_authority": _NO_KEY,
        }
    )
