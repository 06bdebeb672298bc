"""Reading decoded account states (with token decimals) from any `Chain`."""

from __future__ import annotations

from solders.pubkey import Pubkey

from reev.chain.accounts import AccountState, decode_account, with_decimals
from reev.chain.protocol import Chain
from reev.chain.stake import epoch_and_history, with_status
from reev.constants import TOKEN_PROGRAMS


def read_account(chain: Chain, address: Pubkey | str) -> AccountState | None:
    """The decoded account, with `decimals`/`ui_amount` filled in for token accounts and the
    activation state at the current epoch for stake accounts."""
    key = address if isinstance(address, Pubkey) else Pubkey.from_string(address)
    account = chain.get_account(key)
    if account is None:
        return None
    state = decode_account(key, account)
    if state.token is not None:
        mint = chain.get_account(Pubkey.from_string(state.token.mint))
        decimals = None
        if mint is not None:
            mint_state = decode_account(state.token.mint, mint)
            decimals = mint_state.mint.decimals if mint_state.mint else None
        state.token = with_decimals(state.token, decimals)
    if state.stake is not None:
        state.stake = with_status(state.stake, *epoch_and_history(chain))
    return state


def token_accounts_of(chain: Chain, owner: Pubkey | str) -> list[AccountState]:
    """Every token account (either token program) whose owner is `owner`, sorted by address."""
    owner_text = str(owner)
    # A token account's owner is its bytes 32..64: accounts of other owners are skipped before
    # decoding (a full decode per token account of the chain was 10% of an episode's CPU,
    # issue 18); what matches is still decoded, a mint whose bytes match by chance excluded.
    owner_bytes = bytes(owner) if isinstance(owner, Pubkey) else None
    found: list[AccountState] = []
    for program in TOKEN_PROGRAMS:
        for address, account in chain.accounts_owned_by(program):
            if owner_bytes is not None and account.data[32:64] != owner_bytes:
                continue
            state = decode_account(address, account)
            if state.token is not None and state.token.owner == owner_text:
                full = read_account(chain, address)
                if full is not None:
                    found.append(full)
    return sorted(found, key=lambda s: s.address)
