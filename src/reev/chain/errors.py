"""Readable transaction errors: a user should see "insufficient funds", not `Custom(1)`."""

from __future__ import annotations

import re

from reev.constants import SYSTEM as SYSTEM_PROGRAM
from reev.constants import TOKEN as TOKEN_PROGRAM
from reev.constants import TOKEN_2022 as TOKEN_2022_PROGRAM

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
    TOKEN_PROGRAM: _TOKEN_ERRORS,
    TOKEN_2022_PROGRAM: _TOKEN_ERRORS,
    SYSTEM_PROGRAM: _SYSTEM_ERRORS,
}


def _words(identifier: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", identifier).lower()


def describe_error(raw: str, program_ids: list[str]) -> str:
    """Turn LiteSVM's debug form of a TransactionError into one readable sentence.

    `program_ids[i]` is the program of instruction i, used to name custom error codes. Shapes
    seen: `TransactionErrorFieldless.AccountNotFound`,
    `TransactionErrorInstructionError((0, Tagged(InstructionErrorCustom(1))))`,
    `TransactionErrorInstructionError((0, Fieldless(ComputationalBudgetExceeded)))`,
    `TransactionErrorDuplicateInstruction(1)`.
    """
    match = re.search(r"InstructionError\(\((\d+),\s*(.*)\)\)$", raw)
    if not match:
        names = re.findall(r"[A-Z][A-Za-z]+", raw.replace("TransactionError", ""))
        detail = re.search(r"\((\d+)\)", raw)
        what = _words(names[-1]) if names else raw
        return f"transaction rejected: {what}" + (f" ({detail.group(1)})" if detail else "")
    index = int(match.group(1))
    inner = match.group(2)
    program = program_ids[index] if index < len(program_ids) else "?"
    custom = re.search(r"Custom\((\d+)\)", inner)
    if custom:
        code = int(custom.group(1))
        table = _CUSTOM_TABLES.get(program, [])
        meaning = table[code] if code < len(table) else "program-specific error"
        return f"instruction {index} ({program}) failed: custom program error {code:#x}: {meaning}"
    names = [n for n in re.findall(r"[A-Z][A-Za-z]+", inner) if n not in ("Fieldless", "Tagged")]
    what = _words(names[-1].removeprefix("InstructionError")) if names else inner
    return f"instruction {index} ({program}) failed: {what}"
