"""Token-2022's transfer-fee extension as reev computes it: account sizes and fees.

A mint with the transfer fee carries a type-length-value area after byte 165 (an account-type
byte, then one entry per extension) and each of its token accounts a `TransferFeeAmount` entry
where fees are withheld. These sizes and the fee rule are what the setup (`reev.setup.token2022`,
which builds such mints with real transactions), the tools and the RPC node share.
"""

from __future__ import annotations

from reev.chain.accounts import (
    ACCOUNT_LEN,
    MINT_LEN,
    TRANSFER_FEE_AMOUNT_LAYOUT,
    TRANSFER_FEE_CONFIG_LAYOUT,
    MintInfo,
)

_TLV_HEADER = 4  # u16 type + u16 length
_ACCOUNT_TYPE_BYTE = 1


# --------------------------------------------------------------------------- sizes and fees


def mint_space(*, transfer_fee: bool) -> int:
    """Bytes of a Token-2022 mint: the base state padded to 165, the account-type byte, then
    one TLV entry per extension. With the transfer fee: 165 + 1 + 4 + 108 = 278."""
    if not transfer_fee:
        return MINT_LEN
    return ACCOUNT_LEN + _ACCOUNT_TYPE_BYTE + _TLV_HEADER + TRANSFER_FEE_CONFIG_LAYOUT.sizeof()


def token_account_space(*, transfer_fee: bool, immutable_owner: bool = False) -> int:
    """Bytes of a Token-2022 token account of a mint with (or without) the transfer fee:
    165 + 1 + (4 + 8 for TransferFeeAmount) + (4 + 0 for ImmutableOwner, which every associated
    token account has). A fee mint's associated token account: 182; another account: 178."""
    extensions = []
    if transfer_fee:
        extensions.append(TRANSFER_FEE_AMOUNT_LAYOUT.sizeof())
    if immutable_owner:
        extensions.append(0)
    if not extensions:
        return ACCOUNT_LEN
    return ACCOUNT_LEN + _ACCOUNT_TYPE_BYTE + sum(_TLV_HEADER + size for size in extensions)


def transfer_fee(amount: int, basis_points: int, maximum_fee: int) -> int:
    """The fee Token-2022 withholds on a transfer of `amount` base units:
    min(ceil(amount × basis_points / 10000), maximum_fee), and 0 for a zero rate or amount."""
    if basis_points == 0 or amount == 0:
        return 0
    return min(-(-amount * basis_points // 10_000), maximum_fee)


def gross_for_net(net: int, basis_points: int, maximum_fee: int) -> int:
    """The least amount whose transfer delivers at least `net` after the transfer fee."""
    if basis_points == 0 or maximum_fee == 0:
        return net
    gross = net + maximum_fee  # always enough: the fee never exceeds its maximum
    if basis_points < 10_000:  # an estimate from below, then step up to the exact least
        gross = min(gross, -(-net * 10_000 // (10_000 - basis_points)))
    while gross - transfer_fee(gross, basis_points, maximum_fee) < net:
        gross += 1
    # what arrives never falls when more is sent, so step down while one less still suffices
    while gross > net and gross - 1 - transfer_fee(gross - 1, basis_points, maximum_fee) >= net:
        gross -= 1
    return gross


def mint_transfer_fee(mint: MintInfo, amount: int) -> int | None:
    """The fee a transfer of `amount` pays on this mint, or None when it has no fee config."""
    if mint.transfer_fee_basis_points is None or mint.transfer_fee_maximum is None:
        return None
    return transfer_fee(amount, mint.transfer_fee_basis_points, mint.transfer_fee_maximum)
