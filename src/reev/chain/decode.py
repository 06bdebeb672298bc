"""Instruction names from instruction data, for traces and diagrams.

Programs do not always log what they run (the SPL Token build in LiteSVM logs nothing, the
System program never does), but the instruction data says it: the first byte (or u32) is the
instruction's index in the program's enum.
"""

from __future__ import annotations

import base58
from solders.pubkey import Pubkey

from reev.constants import (
    ATA_PROGRAM,
    COMPUTE_BUDGET_PROGRAM,
    MEMO_PROGRAM,
    SYSTEM_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
)

_SYSTEM = [
    "CreateAccount",
    "Assign",
    "Transfer",
    "CreateAccountWithSeed",
    "AdvanceNonceAccount",
    "WithdrawNonceAccount",
    "InitializeNonceAccount",
    "AuthorizeNonceAccount",
    "Allocate",
    "AllocateWithSeed",
    "AssignWithSeed",
    "TransferWithSeed",
    "UpgradeNonceAccount",
]
_TOKEN = [
    "InitializeMint",
    "InitializeAccount",
    "InitializeMultisig",
    "Transfer",
    "Approve",
    "Revoke",
    "SetAuthority",
    "MintTo",
    "Burn",
    "CloseAccount",
    "FreezeAccount",
    "ThawAccount",
    "TransferChecked",
    "ApproveChecked",
    "MintToChecked",
    "BurnChecked",
    "InitializeAccount2",
    "SyncNative",
    "InitializeAccount3",
    "InitializeMultisig2",
    "InitializeMint2",
    "GetAccountDataSize",
    "InitializeImmutableOwner",
    "AmountToUiAmount",
    "UiAmountToAmount",
    "InitializeMintCloseAuthority",
    "TransferFeeExtension",
]
_ATA = ["Create", "CreateIdempotent", "RecoverNested"]
_COMPUTE_BUDGET = [
    "RequestUnits",
    "RequestHeapFrame",
    "SetComputeUnitLimit",
    "SetComputeUnitPrice",
    "SetLoadedAccountsDataSizeLimit",
]


def instruction_name(program_id: str, data_b58: str) -> str | None:
    """`Transfer`, `CreateIdempotent`, … or None for programs or data we do not know."""
    try:
        data = base58.b58decode(data_b58)
        program = Pubkey.from_string(program_id)
    except ValueError:
        return None
    if program == MEMO_PROGRAM:
        return "Memo"
    if program == ATA_PROGRAM:
        return _ATA[data[0]] if data and data[0] < len(_ATA) else ("Create" if not data else None)
    if not data:
        return None
    if program == SYSTEM_PROGRAM and len(data) >= 4:
        index = int.from_bytes(data[:4], "little")
        return _SYSTEM[index] if index < len(_SYSTEM) else None
    table = {
        TOKEN_PROGRAM: _TOKEN,
        TOKEN_2022_PROGRAM: _TOKEN,
        COMPUTE_BUDGET_PROGRAM: _COMPUTE_BUDGET,
    }.get(program)
    if table is not None and data[0] < len(table):
        return table[data[0]]
    return None
