"""Earn-vault transactions and positions of reev Lend for one user, as a client builds them.

`earn_plan` turns "deposit / withdraw / mint / redeem `amount` of this asset" into the
instructions a user signs (docs/lending.md, "Instructions"): the user's share account (the
associated token account of the share mint) is created when missing, native SOL is wrapped
into the user's wSOL account before a deposit or mint and the wSOL account is closed after
every SOL operation (so SOL goes in and comes out as SOL, as Jupiter's API does). The
amounts the plan expects come from the reference model accrued to the current slot; the
program computes them again and is the authority.

`positions` reads a user's share balance of every reserve and values it at the current slot
(what `Redeem` of all of it would pay), without writing anything.

A market is found by mint: the first market (byte-wise smallest address) with a reserve
whose asset or share mint it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
)

from reev.chain.accounts import ACCOUNT_LEN, decode_token_account
from reev.chain.protocol import Chain
from reev.chain.wsol import unwrap_instruction, wrap_instructions
from reev.constants import NATIVE_MINT, TOKEN_PROGRAM
from reev.defi.lend import instructions as lend
from reev.defi.lend.layout import ReserveState
from reev.defi.lend.model import LendModelError, ReserveModel
from reev.defi.lend.reader import LendStateError, MarketView, markets_on
from reev.errors import InputError

EarnOperation = Literal["deposit", "withdraw", "mint", "redeem"]
EARN_OPERATIONS: tuple[EarnOperation, ...] = ("deposit", "withdraw", "mint", "redeem")


class EarnError(InputError):
    """The request cannot be built: no reserve for the mint, no account to take from."""


@dataclass(frozen=True)
class Vault:
    """One reserve of a market, accrued to the view's slot."""

    view: MarketView
    index: int

    @property
    def address(self) -> Pubkey:
        return self.view.reserves[self.index][0]

    @property
    def state(self) -> ReserveState:
        return self.view.reserves[self.index][1]

    @property
    def model(self) -> ReserveModel:
        """The reserve's totals with interest accrued to the current slot (nothing written)."""
        reserve = ReserveModel.from_state(self.state)
        reserve.accrue(self.view.slot)
        return reserve

    @property
    def price(self) -> int:
        """The oracle's price, USD × 10^8 per whole token."""
        return self.view.oracles[self.index].price


def vaults(chain: Chain, slot: int) -> list[Vault]:
    """Every reserve of every market on the chain, markets by address, reserves by index."""
    return [
        Vault(view, index)
        for view in markets_on(chain, slot)
        for index in range(len(view.reserves))
    ]


def find_vault(chain: Chain, slot: int, mint: Pubkey) -> Vault:
    """The vault whose asset (or share) mint is `mint`; EarnError when no market has one."""
    for vault in vaults(chain, slot):
        if mint in (vault.state.asset_mint, vault.state.share_mint):
            return vault
    raise EarnError(f"no reev Lend vault on this chain takes {mint}")


def token_amount(chain: Chain, account: Pubkey) -> int | None:
    """The balance of an SPL token account; None when it does not exist."""
    found = chain.get_account(account)
    if found is None or found.owner != TOKEN_PROGRAM or len(found.data) < ACCOUNT_LEN:
        return None
    return decode_token_account(bytes(found.data)).amount


@dataclass(frozen=True)
class EarnPlan:
    operation: EarnOperation
    vault: Vault
    assets: int  # what the model says moves (deposited or paid out)
    shares: int  # what the model says is minted or burnt
    instructions: list[Instruction]


def earn_plan(
    chain: Chain, slot: int, user: Pubkey, operation: EarnOperation, mint: Pubkey, amount: int
) -> EarnPlan:
    """The instructions of one Earn operation for `user` (who signs and pays). `amount` is
    assets for deposit / withdraw and shares for mint / redeem, in base units."""
    if amount <= 0:
        raise EarnError("the amount must be greater than zero")
    vault = find_vault(chain, slot, mint)
    state, model = vault.state, vault.model
    asset_account = get_associated_token_address(user, state.asset_mint)
    share_account = get_associated_token_address(user, state.share_mint)
    native = state.asset_mint == NATIVE_MINT
    ixs: list[Instruction] = []
    if operation in ("deposit", "mint"):
        try:
            assets, shares = (
                (amount, model.shares_for_deposit(amount))
                if operation == "deposit"
                else (model.assets_for_mint(amount), amount)
            )
        except LendModelError as exc:  # MathOverflow: more than a u64 of assets or shares
            raise EarnError(f"{amount} is too large for this vault: {exc}") from None
        if native:
            ixs.append(create_idempotent_associated_token_account(user, user, NATIVE_MINT))
            ixs += wrap_instructions(user, asset_account, assets)
        elif token_amount(chain, asset_account) is None:
            raise EarnError(
                f"you hold no token account of {state.asset_mint} (your associated token "
                f"account {asset_account} does not exist)"
            )
        if chain.get_account(share_account) is None:
            ixs.append(create_idempotent_associated_token_account(user, user, state.share_mint))
        put = lend.deposit if operation == "deposit" else lend.mint
        ixs.append(put(user, vault.address, state, asset_account, share_account, amount))
    else:
        if token_amount(chain, share_account) is None:
            raise EarnError(
                f"you hold no shares of this vault (your share account {share_account} of "
                f"{state.share_mint} does not exist)"
            )
        try:
            assets, shares = (
                (amount, model.shares_for_withdraw(amount))
                if operation == "withdraw"
                else (model.assets_for_redeem(amount), amount)
            )
        except LendModelError as exc:
            raise EarnError(f"{amount} is too large for this vault: {exc}") from None
        if native or chain.get_account(asset_account) is None:
            ixs.append(create_idempotent_associated_token_account(user, user, state.asset_mint))
        take = lend.withdraw if operation == "withdraw" else lend.redeem
        ixs.append(take(user, vault.address, state, share_account, asset_account, amount))
    if native:
        ixs.append(unwrap_instruction(user))
    return EarnPlan(operation, vault, assets, shares, ixs)


@dataclass(frozen=True)
class Position:
    vault: Vault
    owner: Pubkey
    shares: int  # the owner's share account balance (0 when it has none)
    assets: int  # what redeeming all of them pays now: floor(s·(T+1)/(S+1)), accrued
    wallet_balance: int  # the owner's balance of the asset outside the vault (SOL: lamports)


def position(chain: Chain, vault: Vault, owner: Pubkey) -> Position:
    shares = token_amount(chain, get_associated_token_address(owner, vault.state.share_mint)) or 0
    if vault.state.asset_mint == NATIVE_MINT:
        account = chain.get_account(owner)
        wallet = account.lamports if account is not None else 0
    else:
        wallet = (
            token_amount(chain, get_associated_token_address(owner, vault.state.asset_mint)) or 0
        )
    return Position(vault, owner, shares, vault.model.assets_for_redeem(shares), wallet)


def share_price(vault: Vault) -> Fraction:
    """Assets per share now, (T + 1) / (S + 1) (docs/lending.md)."""
    return vault.model.share_price()


__all__ = [
    "EARN_OPERATIONS",
    "EarnError",
    "EarnOperation",
    "EarnPlan",
    "LendStateError",
    "Position",
    "Vault",
    "earn_plan",
    "find_vault",
    "position",
    "share_price",
    "token_amount",
    "vaults",
]
