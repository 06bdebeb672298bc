"""Chains reev can run on, behind the small `Chain` protocol."""

from reev.chain.accounts import AccountState, MintInfo, TokenAccountInfo, decode_account
from reev.chain.litesvm import LiteSVMChain
from reev.chain.protocol import Chain, TxResult

__all__ = [
    "AccountState",
    "Chain",
    "LiteSVMChain",
    "MintInfo",
    "TokenAccountInfo",
    "TxResult",
    "decode_account",
]
