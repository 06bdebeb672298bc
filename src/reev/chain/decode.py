"""Instruction names from instruction data, for traces and diagrams.

Programs do not always log what they run (the SPL Token build in LiteSVM logs nothing, the
System program never does), but the instruction data says it: the first byte (or u32) is the
instruction's index in the program's enum.
"""

from __future__ import annotations

import base58

from reev.constants import ATA, COMPUTE_BUDGET, MEMO, SYSTEM, TOKEN, TOKEN_2022

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
    except ValueError:
        return None
    if program_id == MEMO:
        return "Memo"
    if program_id == ATA:
        return _ATA[data[0]] if data and data[0] < len(_ATA) else ("Create" if not data else None)
    if not data:
        return None
    if program_id == SYSTEM and len(data) >= 4:
        index = int.from_bytes(data[:4], "little")
        return _SYSTEM[index] if index < len(_SYSTEM) else None
    table = {TOKEN: _TOKEN, TOKEN_2022: _TOKEN, COMPUTE_BUDGET: _COMPUTE_BUDGET}.get(program_id)
    if table is not None and data[0] < len(table):
        return table[data[0]]
    return None
