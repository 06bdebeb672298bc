"""JSON-RPC errors with the codes and messages a Solana validator (Agave) uses.

Standard JSON-RPC 2.0 codes, then Solana's own (`solana_rpc_client_api::custom_error`).
Transaction errors are shown the way Agave's `TransactionError` displays them, so the message
of a failed preflight reads like one from a real cluster.
"""

from __future__ import annotations

import re
from typing import Any

from reev.errors import ChainError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# Solana's server errors (solana_rpc_client_api::custom_error).
SEND_TRANSACTION_PREFLIGHT_FAILURE = -32002
TRANSACTION_SIGNATURE_VERIFICATION_FAILURE = -32003
TRANSACTION_SIGNATURE_LEN_MISMATCH = -32013
UNSUPPORTED_TRANSACTION_VERSION = -32015
MIN_CONTEXT_SLOT_NOT_REACHED = -32016


class RpcError(ChainError):
    """An error answer: `{"code", "message", "data"?}`."""

    def __init__(self, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            body["data"] = self.data
        return body


def invalid_params(detail: str) -> RpcError:
    return RpcError(INVALID_PARAMS, f"Invalid params: {detail}")


def invalid_param(detail: str) -> RpcError:
    """Agave's wording for a parameter that parsed but is not acceptable (`Invalid param: …`)."""
    return RpcError(INVALID_PARAMS, f"Invalid param: {detail}")


# Display strings of Agave's TransactionError / InstructionError (solana-transaction-error).
_TRANSACTION_ERRORS = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "TooManyAccountLocks": "Transaction locked too many accounts",
    "UnsupportedVersion": "Transaction version is unsupported",
    "InvalidWritableAccount": "Transaction loads a writable account that cannot be written",
    "AddressLookupTableNotFound": "Transaction loads an address table account that doesn't exist",
    "InvalidAddressLookupTableOwner": "Transaction loads an address table account with an invalid owner",
    "InvalidAddressLookupTableData": "Transaction loads an address table account with invalid data",
    "InvalidAddressLookupTableIndex": "Transaction address table lookup uses an invalid index",
    "InvalidRentPayingAccount": "Transaction leaves an account with a lower balance than rent-exempt minimum",
    "MaxLoadedAccountsDataSizeExceeded": "Transaction exceeded max loaded accounts data size cap",
}

_INSTRUCTION_ERRORS = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "UnbalancedInstruction": "sum of account balances before and after instruction do not match",
    "ModifiedProgramId": "instruction illegally modified the program id of an account",
    "ExternalAccountLamportSpend": "instruction spent from the balance of an account it does not own",
    "ExternalAccountDataModified": "instruction modified data of an account it does not own",
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
    "ReadonlyDataModified": "instruction modified data of a read-only account",
    "DuplicateAccountIndex": "instruction contains duplicate accounts",
    "ExecutableModified": "instruction changed executable bit of an account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountDataSizeChanged": "program other than the account's owner changed the size of the account data",
    "AccountNotExecutable": "instruction expected an executable account",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "PrivilegeEscalation": "Cross-program invocation with unauthorized signer or writable account",
    "ProgramEnvironmentSetupFailure": "Failed to create program execution environment",
    "ProgramFailedToComplete": "Program failed to complete",
    "ProgramFailedToCompile": "Program failed to compile",
    "Immutable": "Account is immutable",
    "IncorrectAuthority": "Incorrect authority provided",
    "AccountNotRentExempt": "An account does not have enough lamports to be rent-exempt",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "IllegalOwner": "Provided owner is not allowed",
    "ArithmeticOverflow": "Program arithmetic overflowed",
    "UnsupportedSysvar": "Unsupported sysvar",
    "MissingAccount": "An account required by the instruction is missing",
    "MaxSeedLengthExceeded": "Length of the seed is too long for address generation",
    "InvalidAccountOwner": "Invalid account owner",
}


def _words(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def _instruction_error_text(err: Any) -> str:
    if isinstance(err, dict) and "Custom" in err:
        return f"custom program error: {int(err['Custom']):#x}"
    if isinstance(err, dict) and "BorshIoError" in err:
        return f"Failed to serialize or deserialize account data: {err['BorshIoError']}"
    if isinstance(err, str):
        return _INSTRUCTION_ERRORS.get(err, _words(err))
    return str(err)


def transaction_error_text(err: Any) -> str:
    """Agave's display of a transaction error given in its JSON form
    (`"BlockhashNotFound"`, `{"InstructionError": [0, {"Custom": 1}]}`, …)."""
    if isinstance(err, str):
        return _TRANSACTION_ERRORS.get(err, _words(err))
    if isinstance(err, dict) and len(err) == 1:
        ((kind, value),) = err.items()
        if kind == "InstructionError" and isinstance(value, list) and len(value) == 2:
            return f"Error processing Instruction {value[0]}: {_instruction_error_text(value[1])}"
        if kind == "InsufficientFundsForRent" and isinstance(value, dict):
            return (
                f"Transaction results in an account ({value.get('account_index')}) with insufficient "
                "funds for rent"
            )
        if kind == "DuplicateInstruction":
            return f"Transaction contains a duplicate instruction ({value}) that is not allowed"
        return f"{_words(kind)}: {value}"
    return str(err)
