"""describe_error: readable sentences read from solders' transaction error values.

Two checks: hand-worked messages for the shapes agents meet most (a custom Token error, a
fieldless instruction error, a rejected transaction), and, for every variant solders has, the
same sentence as reev's earlier reading of the printed error (the regular expressions below,
kept here as the reference the field-based reading must agree with).
"""

from __future__ import annotations

import re

import pytest
from solders.transaction_status import (
    InstructionErrorCustom,
    InstructionErrorFieldless,
    TransactionErrorDuplicateInstruction,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
    TransactionErrorInsufficientFundsForRent,
    TransactionErrorProgramExecutionTemporarilyRestricted,
    TransactionErrorType,
)

from reev.chain.errors import _CUSTOM_TABLES, _SYSTEM_ERRORS, _TOKEN_ERRORS, describe_error
from reev.constants import SYSTEM_PROGRAM, TOKEN_2022_PROGRAM, TOKEN_PROGRAM

MEMO_LIKE = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"  # a program with no table


def _words(identifier: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", identifier).lower()


def printed_form_reading(raw: str, program_ids: list[str]) -> str:
    """reev's earlier describe_error, over `str(error)`: the reference for the messages."""
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


def _variants(enum: type) -> list:
    return [getattr(enum, name) for name in dir(enum) if not name.startswith("_")]


def test_token_insufficient_funds() -> None:
    # Token error 1 is InsufficientFunds (spl-token `TokenError`, in declaration order).
    error = TransactionErrorInstructionError(1, InstructionErrorCustom(1))
    assert describe_error(error, [str(SYSTEM_PROGRAM), str(TOKEN_PROGRAM)]) == (
        f"instruction 1 ({TOKEN_PROGRAM}) failed: custom program error 0x1: insufficient funds"
    )


def test_system_account_already_in_use_and_an_unknown_code() -> None:
    in_use = TransactionErrorInstructionError(0, InstructionErrorCustom(0))
    assert describe_error(in_use, [str(SYSTEM_PROGRAM)]) == (
        f"instruction 0 ({SYSTEM_PROGRAM}) failed: custom program error 0x0: "
        "an account with the same address already exists"
    )
    anchor = TransactionErrorInstructionError(0, InstructionErrorCustom(6000))
    assert describe_error(anchor, [MEMO_LIKE]) == (
        f"instruction 0 ({MEMO_LIKE}) failed: custom program error 0x1770: program-specific error"
    )


def test_fieldless_instruction_error_and_an_index_past_the_instructions() -> None:
    error = TransactionErrorInstructionError(
        2, InstructionErrorFieldless.ComputationalBudgetExceeded
    )
    assert (
        describe_error(error, [str(SYSTEM_PROGRAM)])
        == "instruction 2 (?) failed: computational budget exceeded"
    )


def test_transaction_level_errors() -> None:
    assert (
        describe_error(TransactionErrorFieldless.AccountNotFound, [])
        == "transaction rejected: account not found"
    )
    assert (
        describe_error(TransactionErrorDuplicateInstruction(3), [])
        == "transaction rejected: duplicate instruction (3)"
    )
    assert (
        describe_error(TransactionErrorInsufficientFundsForRent(1), [])
        == "transaction rejected: insufficient funds for rent"
    )


def _every_error() -> list[tuple[TransactionErrorType, list[str]]]:
    programs = [str(SYSTEM_PROGRAM), str(TOKEN_PROGRAM), str(TOKEN_2022_PROGRAM), MEMO_LIKE]
    cases: list[tuple[TransactionErrorType, list[str]]] = [
        (variant, programs) for variant in _variants(TransactionErrorFieldless)
    ]
    cases += [
        (TransactionErrorInstructionError(index, variant), programs)
        for index in (0, 3, 7)
        for variant in _variants(InstructionErrorFieldless)
    ]
    longest = max(len(_TOKEN_ERRORS), len(_SYSTEM_ERRORS)) + 2
    cases += [
        (TransactionErrorInstructionError(index, InstructionErrorCustom(code)), programs)
        for index in range(len(programs) + 1)
        for code in (*range(longest), 6000, 2**32 - 1)
    ]
    cases += [
        (TransactionErrorDuplicateInstruction(2), programs),
        (TransactionErrorInsufficientFundsForRent(4), programs),
        (TransactionErrorProgramExecutionTemporarilyRestricted(0), programs),
    ]
    return cases


@pytest.mark.parametrize(("error", "programs"), _every_error(), ids=str)
def test_same_sentence_as_reading_the_printed_error(
    error: TransactionErrorType, programs: list[str]
) -> None:
    assert describe_error(error, programs) == printed_form_reading(str(error), programs)
