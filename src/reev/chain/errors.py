"""Readable transaction errors: a user should see "insufficient funds", not `Custom(1)`.

The error is read from solders' values (`TransactionErrorInstructionError.index` / `.err`,
`InstructionErrorCustom.code`, the variant of a fieldless error), never parsed from its printed
form, so a change in solders' `repr` cannot change what reev reports.
"""

from __future__ import annotations

import re

from solders.transaction_status import (
    InstructionErrorBorshIO,
    InstructionErrorCustom,
    InstructionErrorFieldless,
    InstructionErrorType,
    TransactionErrorDuplicateInstruction,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
    TransactionErrorType,
)

from reev.constants import SYSTEM_PROGRAM, TOKEN_2022_PROGRAM, TOKEN_PROGRAM

_TOKEN_ERRORS = [
    "lamport balance below rent-exempt threshold",
    "insufficient funds",
    "invalid mint",
    "account not associated with this mint",
    "owner does not match",
    "fixed supply: the token supply cannot be changed",
    "account or token already in use",
    "invalid number of provided signers",
    "invalid number of required signers",
    "state is uninitialized",
    "instruction does not support native tokens",
    "non-native account can only be closed if its balance is zero",
    "invalid instruction",
    "state is invalid for requested operation",
    "operation overflowed",
    "account does not support specified authority type",
    "this token mint cannot freeze accounts",
    "account is frozen",
    "the provided decimals value is different from the mint decimals",
    "instruction does not support non-native tokens",
]

_SYSTEM_ERRORS = [
    "an account with the same address already exists",
    "account does not have enough SOL to perform the operation",
    "cannot assign account to this program id",
    "cannot allocate account data of this length",
    "length of requested seed is too long",
    "provided address does not match addressed derived from seed",
    "advancing stored nonce requires a populated RecentBlockhashes sysvar",
    "stored nonce is still in recent_blockhashes",
    "specified nonce does not match stored nonce",
]

_CUSTOM_TABLES = {
    str(TOKEN_PROGRAM): _TOKEN_ERRORS,
    str(TOKEN_2022_PROGRAM): _TOKEN_ERRORS,
    str(SYSTEM_PROGRAM): _SYSTEM_ERRORS,
}


def _words(identifier: str) -> str:
    """`InsufficientFunds` → `insufficient funds`."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", identifier).lower()


def _variant(value: object, enum: type) -> str:
    """The name of a fieldless solders error variant (they are neither hashable nor named)."""
    for name in dir(enum):
        if not name.startswith("_") and getattr(enum, name) == value:
            return name
    return str(value)


def _instruction_error(error: InstructionErrorType) -> str:
    if isinstance(error, InstructionErrorFieldless):
        return _words(_variant(error, InstructionErrorFieldless))
    if isinstance(error, InstructionErrorBorshIO):
        return f"borsh io error: {error.value}"
    return _words(type(error).__name__.removeprefix("InstructionError"))


def describe_error(error: TransactionErrorType, program_ids: list[str]) -> str:
    """One readable sentence for a transaction error, read from solders' fields.

    `program_ids[i]` is the program of instruction i, used to name custom error codes: a
    `TransactionErrorInstructionError(0, InstructionErrorCustom(1))` of the Token program is
    "instruction 0 (Tokenkeg…) failed: custom program error 0x1: insufficient funds". An error
    of the whole transaction reads "transaction rejected: account not found", with the
    instruction of a `DuplicateInstruction` in parentheses.
    """
    if isinstance(error, TransactionErrorInstructionError):
        index = error.index
        program = program_ids[index] if index < len(program_ids) else "?"
        inner = error.err
        if isinstance(inner, InstructionErrorCustom):
            code = inner.code
            table = _CUSTOM_TABLES.get(program, [])
            meaning = table[code] if code < len(table) else "program-specific error"
            return (
                f"instruction {index} ({program}) failed: custom program error {code:#x}: {meaning}"
            )
        return f"instruction {index} ({program}) failed: {_instruction_error(inner)}"
    if isinstance(error, TransactionErrorFieldless):
        return f"transaction rejected: {_words(_variant(error, TransactionErrorFieldless))}"
    if isinstance(error, TransactionErrorDuplicateInstruction):
        return f"transaction rejected: duplicate instruction ({error.index})"
    # InsufficientFundsForRent, ProgramExecutionTemporarilyRestricted: named by their type
    return f"transaction rejected: {_words(type(error).__name__.removeprefix('TransactionError'))}"
