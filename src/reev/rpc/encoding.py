"""Wire encodings: accounts (binary, base58, base64, jsonParsed), token amounts, transactions.

Shapes follow Agave's `solana-account-decoder` (`UiAccount`, `UiTokenAmount`, the SPL Token
parsers) and its transaction decoding in `sendTransaction` / `simulateTransaction`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import base58
from solders.account import Account
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionConfirmationStatus, TransactionStatus

from reev.chain.accounts import (
    ACCOUNT_LEN,
    EXTENSION_TRANSFER_FEE_AMOUNT,
    EXTENSION_TRANSFER_FEE_CONFIG,
    MINT_LEN,
    TRANSFER_FEE_AMOUNT_LAYOUT,
    TRANSFER_FEE_CONFIG_LAYOUT,
    decode_mint,
    decode_token_account,
    extensions,
)
from reev.constants import SYSTEM_PROGRAM, TOKEN_2022_PROGRAM, TOKEN_PROGRAM, TOKEN_PROGRAMS
from reev.rpc.errors import (
    INVALID_PARAMS,
    TRANSACTION_SIGNATURE_LEN_MISMATCH,
    RpcError,
    invalid_params,
)

PACKET_DATA_SIZE = 1232  # the largest serialized transaction a cluster accepts
MAX_BASE58_ACCOUNT_BYTES = 128  # Agave refuses base58 for larger account data
ACCOUNT_ENCODINGS = ("binary", "base58", "base64", "base64+zstd", "jsonParsed")

DecimalsOf = Callable[[Pubkey], "int | None"]


def error_json(err: Any) -> Any:
    """A solders TransactionError in the JSON form the RPC uses (`"BlockhashNotFound"`,
    `{"InstructionError": [0, {"Custom": 1}]}`); None stays None."""
    if err is None:
        return None
    status = TransactionStatus(0, None, None, err, TransactionConfirmationStatus.Finalized)
    return json.loads(status.to_json())["err"]


def ui_amount_string(amount: int, decimals: int) -> str:
    """`real_number_string_trimmed`: 1500000 with 6 decimals is "1.5", 0 is "0"."""
    if decimals == 0:
        return str(amount)
    text = f"{amount:0{decimals + 1}d}"
    whole, fraction = text[:-decimals], text[-decimals:].rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def token_amount(amount: int, decimals: int) -> dict[str, Any]:
    """`UiTokenAmount`: the amount as a string, its decimals and the human value."""
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": float(Decimal(amount) / (Decimal(10) ** decimals)),
        "uiAmountString": ui_amount_string(amount, decimals),
    }


def _key_or_none(raw: bytes) -> str | None:
    return None if raw == bytes(32) else str(Pubkey.from_bytes(raw))


def _extension_list(data: bytes) -> list[dict[str, Any]]:
    """Token-2022 extensions as Agave's `UiExtension` (those reev meets; others unparseable)."""
    out: list[dict[str, Any]] = []
    for kind, value in extensions(data).items():
        if (
            kind == EXTENSION_TRANSFER_FEE_CONFIG
            and len(value) >= TRANSFER_FEE_CONFIG_LAYOUT.sizeof()
        ):
            cfg = TRANSFER_FEE_CONFIG_LAYOUT.parse(value)

            def fee(f: Any) -> dict[str, int]:
                return {
                    "epoch": f.epoch,
                    "maximumFee": f.maximum_fee,
                    "transferFeeBasisPoints": f.transfer_fee_basis_points,
                }

            out.append(
                {
                    "extension": "transferFeeConfig",
                    "state": {
                        "transferFeeConfigAuthority": _key_or_none(
                            cfg.transfer_fee_config_authority
                        ),
                        "withdrawWithheldAuthority": _key_or_none(cfg.withdraw_withheld_authority),
                        "withheldAmount": cfg.withheld_amount,
                        "olderTransferFee": fee(cfg.older_transfer_fee),
                        "newerTransferFee": fee(cfg.newer_transfer_fee),
                    },
                }
            )
        elif (
            kind == EXTENSION_TRANSFER_FEE_AMOUNT
            and len(value) >= TRANSFER_FEE_AMOUNT_LAYOUT.sizeof()
        ):
            withheld = TRANSFER_FEE_AMOUNT_LAYOUT.parse(value).withheld_amount
            out.append({"extension": "transferFeeAmount", "state": {"withheldAmount": withheld}})
        elif kind == 3 and len(value) >= 32:
            out.append(
                {
                    "extension": "mintCloseAuthority",
                    "state": {"closeAuthority": _key_or_none(value[:32])},
                }
            )
        elif kind == 6 and len(value) >= 1:
            state = {0: "uninitialized", 1: "initialized", 2: "frozen"}.get(
                value[0], "uninitialized"
            )
            out.append({"extension": "defaultAccountState", "state": {"accountState": state}})
        elif kind == 7:
            out.append({"extension": "immutableOwner"})
        elif kind == 8 and len(value) >= 1:
            out.append(
                {
                    "extension": "memoTransfer",
                    "state": {"requireIncomingTransferMemos": bool(value[0])},
                }
            )
        elif kind == 9:
            out.append({"extension": "nonTransferable"})
        elif kind == 12 and len(value) >= 32:
            out.append(
                {"extension": "permanentDelegate", "state": {"delegate": _key_or_none(value[:32])}}
            )
        elif kind == 13:
            out.append({"extension": "nonTransferableAccount"})
        elif kind == 18 and len(value) >= 64:
            out.append(
                {
                    "extension": "metadataPointer",
                    "state": {
                        "authority": _key_or_none(value[:32]),
                        "metadataAddress": _key_or_none(value[32:64]),
                    },
                }
            )
        else:
            out.append({"extension": "unparseableExtension"})
    return out


def token_kind(data: bytes) -> str | None:
    if len(data) == MINT_LEN:
        return "mint"
    if len(data) == ACCOUNT_LEN:
        return "account"
    if len(data) > ACCOUNT_LEN:
        return {1: "mint", 2: "account"}.get(data[ACCOUNT_LEN])
    return None


def parse_token_data(owner: Pubkey, data: bytes, decimals_of: DecimalsOf) -> dict[str, Any] | None:
    """`jsonParsed` for an SPL Token / Token-2022 account or mint; None when it cannot be
    parsed (then the RPC falls back to base64, as Agave does)."""
    if owner not in TOKEN_PROGRAMS:
        return None
    kind = token_kind(data)
    try:
        if kind == "mint":
            mint = decode_mint(data)
            info: dict[str, Any] = {
                "mintAuthority": mint.mint_authority,
                "supply": str(mint.supply),
                "decimals": mint.decimals,
                "isInitialized": bool(data[45]),
                "freezeAuthority": mint.freeze_authority,
            }
        elif kind == "account":
            account = decode_token_account(data)
            decimals = decimals_of(Pubkey.from_string(account.mint))
            if decimals is None:
                return None  # Agave needs the mint's decimals to parse a token account
            info = {
                "mint": account.mint,
                "owner": account.owner,
                "tokenAmount": token_amount(account.amount, decimals),
            }
            if account.delegate:
                info["delegate"] = account.delegate
            info["state"] = account.state
            info["isNative"] = account.is_native
            if account.is_native:
                reserve = int.from_bytes(data[113:121], "little")  # is_native: COption<u64> at 109
                info["rentExemptReserve"] = token_amount(reserve, decimals)
            if account.delegate:
                info["delegatedAmount"] = token_amount(account.delegated_amount, decimals)
            if account.close_authority:
                info["closeAuthority"] = account.close_authority
        else:
            return None
    except Exception:
        return None
    if owner == TOKEN_2022_PROGRAM and len(data) > ACCOUNT_LEN:
        found = _extension_list(data)
        if found:
            info["extensions"] = found
    return {
        "program": "spl-token" if owner == TOKEN_PROGRAM else "spl-token-2022",
        "parsed": {"type": kind, "info": info},
        "space": len(data),
    }


def check_encoding(
    encoding: str | None, allowed: tuple[str, ...] = ACCOUNT_ENCODINGS
) -> str | None:
    if encoding is None:
        return None
    if not isinstance(encoding, str) or encoding not in allowed:
        raise invalid_params(
            f"unknown variant `{encoding}`, expected one of " + ", ".join(f"`{e}`" for e in allowed)
        )
    return encoding


def check_data_slice(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not all(
            isinstance(value.get(k), int) and not isinstance(value.get(k), bool)
            for k in ("offset", "length")
        )
        or value["offset"] < 0
        or value["length"] < 0
    ):
        raise invalid_params('dataSlice must be {"offset": usize, "length": usize}')
    return value["offset"], value["length"]


def binary_data(
    data: bytes, encoding: str, data_slice: tuple[int, int] | None, *, size_check: bool = True
) -> Any:
    """Account data in a binary encoding. The RPC refuses base58 for more than 128 bytes;
    subscriptions (`size_check=False`) do not, as in Agave."""
    if data_slice is not None:
        offset, length = data_slice
        data = data[offset : offset + length]
    if encoding in ("binary", "base58"):
        if size_check and len(data) > MAX_BASE58_ACCOUNT_BYTES:
            raise RpcError(
                INVALID_PARAMS,
                f"Encoded binary (base 58) data should be less than {MAX_BASE58_ACCOUNT_BYTES} bytes, "
                "please use Base64 encoding.",
            )
        text = base58.b58encode(data).decode()
        return text if encoding == "binary" else [text, "base58"]
    if encoding == "base64+zstd":
        raise RpcError(INVALID_PARAMS, "base64+zstd is not supported by this server; use base64")
    return [base64.b64encode(data).decode(), "base64"]


def encode_account(
    account: Account | None,
    encoding: str,
    data_slice: tuple[int, int] | None,
    decimals_of: DecimalsOf,
    *,
    size_check: bool = True,
) -> dict[str, Any] | None:
    """`UiAccount`, or None for an account that does not exist."""
    if account is None:
        return None
    raw = bytes(account.data)
    data: Any = None
    if encoding == "jsonParsed":
        data = parse_token_data(account.owner, raw, decimals_of)
        if data is None:
            data = binary_data(raw, "base64", data_slice)
    else:
        data = binary_data(raw, encoding, data_slice, size_check=size_check)
    return {
        "data": data,
        "executable": account.executable,
        "lamports": account.lamports,
        "owner": str(account.owner),
        "rentEpoch": account.rent_epoch,
        "space": len(raw),
    }


def empty_account() -> Account:
    """What a closed or never-funded account looks like to subscribers."""
    return Account(lamports=0, data=b"", owner=SYSTEM_PROGRAM, executable=False, rent_epoch=0)


def _bad(detail: str) -> RpcError:
    return RpcError(INVALID_PARAMS, detail)


MAX_BASE58_TRANSACTION = 1683  # Agave's MAX_BASE58_SIZE: base58 of PACKET_DATA_SIZE bytes
MAX_BASE64_TRANSACTION = 1644  # Agave's MAX_BASE64_SIZE


def decode_transaction(text: Any, encoding: str) -> VersionedTransaction:
    """A wire transaction (`sendTransaction`, `simulateTransaction`), with Agave's errors."""
    if not isinstance(text, str):
        raise invalid_params("invalid type: expected the transaction as a string")
    name = "solana_transaction::versioned::VersionedTransaction"
    if encoding == "base58":
        if len(text) > MAX_BASE58_TRANSACTION:
            raise _bad(
                f"base58 encoded {name} too large: {len(text)} bytes "
                f"(max: encoded/raw {MAX_BASE58_TRANSACTION}/{PACKET_DATA_SIZE})"
            )
        try:
            raw = base58.b58decode(text.encode())
        except ValueError as exc:
            raise _bad(f"invalid base58 encoding: {exc}") from None
    elif encoding == "base64":
        if len(text) > MAX_BASE64_TRANSACTION:
            raise _bad(
                f"base64 encoded {name} too large: {len(text)} bytes "
                f"(max: encoded/raw {MAX_BASE64_TRANSACTION}/{PACKET_DATA_SIZE})"
            )
        try:
            raw = base64.b64decode(text.encode(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _bad(f"invalid base64 encoding: {exc}") from None
    else:
        raise invalid_params(
            f"unsupported encoding: {encoding}. Supported encodings: base58, base64"
        )
    if len(raw) > PACKET_DATA_SIZE:
        raise _bad(f"decoded {name} too large: {len(raw)} bytes (max: {PACKET_DATA_SIZE} bytes)")
    try:
        tx = VersionedTransaction.from_bytes(raw)
    except Exception as exc:
        raise _bad(f"failed to deserialize {name}: {exc}") from None
    try:
        tx.sanitize()
    except Exception:
        raise _bad(
            "invalid transaction: Transaction failed to sanitize accounts offsets correctly"
        ) from None
    if len(tx.signatures) != tx.message.header.num_required_signatures:
        raise RpcError(TRANSACTION_SIGNATURE_LEN_MISMATCH, "Transaction signature length mismatch")
    return tx
