"""reev Lend at episode set-up: the default lending market, and the share positions a
benchmark's `initial_state` hands out, backed by real deposits (docs/lending.md, "The default
market")."""

from __future__ import annotations

from solders.account import Account
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from spl.token.instructions import get_associated_token_address

from reev.chain.protocol import Chain
from reev.defi.lend.default_market import (
    LendSetupError,
    back_shares,
    default_keypair,
    install_default_lending,
)
from reev.setup.errors import SetupError


def build_lending(chain: Chain, shares: list[tuple[Pubkey, int]]) -> None:
    """Copy the default lending market into the episode, then back each `(share account,
    amount)` with a `Deposit` of `amount` assets at price 1. A chain without the market (a fork,
    an RPC chain) cannot hold share positions: a SetupError names the first one."""
    view = install_default_lending(chain)
    if view is None:
        if shares:
            raise SetupError(
                f"{shares[0][0]}: a reev Lend share account needs the default lending market, "
                "which only an embedded (non-fork) chain has"
            )
        return
    backed = [(account, amount) for account, amount in shares if amount > 0]
    for account, amount in backed:
        try:
            back_shares(chain, view, account, amount)
        except LendSetupError as exc:
            raise SetupError(f"{account}: {exc}") from None
    if backed:  # like every set-up payer, the funder does not outlive set-up
        funder = default_keypair("funder").pubkey()
        gone = Account(0, b"", SYSTEM_PROGRAM, executable=False, rent_epoch=0)
        for _, state in view.reserves:
            chain.set_account(get_associated_token_address(funder, state.asset_mint), gone)
        chain.set_account(funder, gone)
