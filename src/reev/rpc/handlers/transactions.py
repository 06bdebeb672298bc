"""Transaction methods: send, simulate, statuses, history by address, getTransaction."""

from __future__ import annotations

from typing import Any

import base58
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.rpc.responses import (
    GetTransactionResp,
    RpcBlockhash,
    RpcConfirmedTransactionStatusWithSignature,
    RpcSimulateTransactionResult,
)
from solders.transaction import Legacy
from solders.transaction_status import (
    EncodedConfirmedTransactionWithStatusMeta,
    EncodedTransactionWithStatusMeta,
    ParsedAccountSource,
    TransactionConfirmationStatus,
    TransactionStatus,
    UiAddressTableLookup,
    UiCompiledInstruction,
    UiInnerInstructions,
    UiLoadedAddresses,
    UiParsedMessage,
    UiPartiallyDecodedInstruction,
    UiRawMessage,
    UiTransaction,
    UiTransactionStatusMeta,
)
from solders.transaction_status import (
    ParsedAccount as ParsedAccountTxStatus,  # solders' name for Agave's ParsedAccount of a message
)

from reev.constants import U64_MAX
from reev.rpc.encoding import check_encoding, decode_transaction, encode_account, error_json
from reev.rpc.errors import (
    SEND_TRANSACTION_PREFLIGHT_FAILURE,
    UNSUPPORTED_TRANSACTION_VERSION,
    RpcError,
    invalid_params,
    transaction_error_text,
)
from reev.rpc.handlers.accounts import MAX_MULTIPLE_ACCOUNTS
from reev.rpc.handlers.registry import method, solders_json, with_context
from reev.rpc.history import TxRecord
from reev.rpc.node import ChainNode
from reev.rpc.params import COMMITMENTS, Config, Params, parse_pubkey, parse_signature, type_name

MAX_SIGNATURE_STATUSES = 256
MAX_SIGNATURES_FOR_ADDRESS = 1000


def _simulation_result(
    node: ChainNode, outcome: Any, *, accounts: list[Any] | None = None, inner: bool = False
) -> dict[str, Any]:
    replacement = None
    if outcome.replacement_blockhash is not None:
        replacement = RpcBlockhash(*outcome.replacement_blockhash)
    result = RpcSimulateTransactionResult(
        err=outcome.err,
        logs=outcome.logs,
        accounts=None,
        units_consumed=outcome.units_consumed,
        return_data=outcome.return_data,
        inner_instructions=outcome.inner_instructions if inner else None,
        replacement_blockhash=replacement,
        fee=outcome.fee,
        pre_balances=outcome.pre_balances,
        post_balances=outcome.post_balances,
    )
    value = solders_json(result)
    value["accounts"] = accounts
    return value


@method("sendTransaction")
def send_transaction(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    config = p.config(1)
    encoding = config.encoding("base58", ("base58", "base64"))
    skip_preflight = config.boolean("skipPreflight")
    preflight = config.raw.get("preflightCommitment")
    if preflight is not None and preflight not in COMMITMENTS:
        raise invalid_params(
            f"unknown variant `{preflight}`, expected one of `processed`, `confirmed`, `finalized`"
        )
    config.integer("maxRetries", maximum=U64_MAX)
    config.check_common(node)
    tx = decode_transaction(p.get(0), encoding)
    outcome = node.submit(tx, skip_preflight=skip_preflight)
    if outcome is not None:
        failure = SendTransactionPreflightFailureMessage(
            f"Transaction simulation failed: {transaction_error_text(error_json(outcome.err))}",
            RpcSimulateTransactionResult(
                err=outcome.err,
                logs=outcome.logs,
                accounts=None,
                units_consumed=outcome.units_consumed,
                return_data=outcome.return_data,
            ),
        )
        body = solders_json(failure)
        raise RpcError(SEND_TRANSACTION_PREFLIGHT_FAILURE, body["message"], data=body["data"])
    return str(tx.signatures[0])


@method("simulateTransaction")
def simulate_transaction(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    config = p.config(1)
    encoding = config.encoding("base58", ("base58", "base64"))
    sig_verify = config.boolean("sigVerify")
    replace = config.boolean("replaceRecentBlockhash")
    inner = config.boolean("innerInstructions")
    config.check_common(node)
    if sig_verify and replace:
        raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
    wanted = config.raw.get("accounts")
    addresses: list[Pubkey] | None = None
    account_encoding = "base64"
    if wanted is not None:
        if not isinstance(wanted, dict) or not isinstance(wanted.get("addresses"), list):
            raise invalid_params('accounts must be {"addresses": [...], "encoding"?}')
        account_encoding = (
            check_encoding(wanted.get("encoding"), ("base64", "base64+zstd", "jsonParsed"))
            or "base64"
        )
        if len(wanted["addresses"]) > MAX_MULTIPLE_ACCOUNTS:
            raise invalid_params(f"Too many accounts provided; max {MAX_MULTIPLE_ACCOUNTS}")
        addresses = [parse_pubkey(a) for a in wanted["addresses"]]
    tx = decode_transaction(p.get(0), encoding)
    with node.lock:
        outcome = node.simulate(tx, sig_verify=sig_verify, replace_blockhash=replace)
        accounts = None
        if addresses is not None and outcome.err is None:
            accounts = [
                encode_account(
                    outcome.post_accounts.get(a, node.get_account(a)),
                    account_encoding,
                    None,
                    node.decimals_of,
                )
                for a in addresses
            ]
        return with_context(node, _simulation_result(node, outcome, accounts=accounts, inner=inner))


def _confirmation(record: TxRecord) -> TransactionStatus:
    return TransactionStatus(
        record.slot, None, record.err, record.err, TransactionConfirmationStatus.Finalized
    )


@method("getSignatureStatuses")
def get_signature_statuses(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    raw = p.get(0)
    if not isinstance(raw, list):
        raise invalid_params(f"invalid type: {type_name(raw)}, expected a sequence of signatures")
    if len(raw) > MAX_SIGNATURE_STATUSES:
        raise invalid_params(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
    signatures = [parse_signature(s) for s in raw]
    p.config(1).boolean("searchTransactionHistory")
    with node.lock:
        statuses = [node.records.get(s) for s in signatures]
        return with_context(node, [solders_json(_confirmation(r)) if r else None for r in statuses])


@method("getSignaturesForAddress")
def get_signatures_for_address(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    address = p.pubkey(0)
    config = p.config(1)
    config.check_common(node)
    limit = config.integer("limit", MAX_SIGNATURES_FOR_ADDRESS)
    assert limit is not None
    if limit < 1 or limit > MAX_SIGNATURES_FOR_ADDRESS:
        raise invalid_params(f"Invalid limit; max {MAX_SIGNATURES_FOR_ADDRESS}")
    before = parse_signature(config.raw["before"]) if config.raw.get("before") is not None else None
    until = parse_signature(config.raw["until"]) if config.raw.get("until") is not None else None
    records = node.signatures_for(address, limit=limit, before=before, until=until)
    return [
        solders_json(
            RpcConfirmedTransactionStatusWithSignature(
                r.signature,
                r.slot,
                r.err,
                r.memo,
                r.block_time,
                TransactionConfirmationStatus.Finalized,
            )
        )
        for r in records
    ]


def _ui_message(record: TxRecord, parsed: bool) -> Any:
    message = record.transaction.message
    lookups = getattr(message, "address_table_lookups", None)
    ui_lookups = (
        [
            UiAddressTableLookup(
                lookup.account_key, bytes(lookup.writable_indexes), bytes(lookup.readonly_indexes)
            )
            for lookup in lookups
        ]
        if lookups is not None
        else None
    )
    if not parsed:
        return UiRawMessage(
            message.header,
            list(message.account_keys),
            message.recent_blockhash,
            [
                UiCompiledInstruction(
                    ix.program_id_index,
                    bytes(ix.accounts),
                    base58.b58encode(bytes(ix.data)).decode(),
                    None,
                )
                for ix in message.instructions
            ],
            ui_lookups,
        )
    signed = message.header.num_required_signatures
    static = len(message.account_keys)
    keys = [
        ParsedAccountTxStatus(
            key,
            record.writable[i],
            i < signed,
            ParsedAccountSource.Transaction if i < static else ParsedAccountSource.LookupTable,
        )
        for i, key in enumerate(record.account_keys)
    ]
    return UiParsedMessage(
        # solders' stub declares two classes named ParsedAccount and keeps the account
        # decoder's; at run time this takes the transaction-status one (ParsedAccountTxStatus).
        keys,  # type: ignore[arg-type]
        message.recent_blockhash,
        [
            _partially_decoded(
                record, ix.program_id_index, bytes(ix.accounts), bytes(ix.data), None
            )
            for ix in message.instructions
        ],
        ui_lookups,
    )


def _partially_decoded(
    record: TxRecord, program: int, accounts: bytes, data: bytes, stack: int | None
) -> Any:
    keys = record.account_keys
    return UiPartiallyDecodedInstruction(
        keys[program],
        [keys[i] for i in accounts if i < len(keys)],
        base58.b58encode(data).decode(),
        stack,
    )


def _inner_parsed(record: TxRecord) -> list[UiInnerInstructions]:
    out = []
    for group in record.inner_instructions:
        items = []
        for ix in group.instructions:
            # The node records inner instructions compiled (`history.compiled_to_ui`).
            assert isinstance(ix, UiCompiledInstruction)
            items.append(
                _partially_decoded(
                    record,
                    ix.program_id_index,
                    bytes(ix.accounts),
                    base58.b58decode(ix.data),
                    ix.stack_height,
                )
            )
        out.append(UiInnerInstructions(group.index, items))
    return out


@method("getTransaction")
def get_transaction(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    signature = parse_signature(p.get(0))
    raw_config = p.get(1)
    # The deprecated form passes just an encoding.
    config = Config({"encoding": raw_config}) if isinstance(raw_config, str) else p.config(1)
    config.check_common(node)
    encoding = config.encoding("json", ("json", "jsonParsed", "base58", "base64", "binary"))
    max_version = config.integer("maxSupportedTransactionVersion", maximum=255)
    with node.lock:
        record = node.records.get(signature)
    if record is None:
        return None
    version = record.transaction.version()
    if not isinstance(version, Legacy) and (max_version is None or version > max_version):
        raise RpcError(
            UNSUPPORTED_TRANSACTION_VERSION,
            f"Transaction version ({version}) is not supported by the requesting client. Please try the "
            'request again with the following configuration parameter: "maxSupportedTransactionVersion": '
            f"{version}",
        )
    parsed = encoding == "jsonParsed"
    if encoding in ("json", "jsonParsed"):
        transaction: Any = UiTransaction(
            list(record.transaction.signatures), _ui_message(record, parsed)
        )
    else:
        transaction = record.transaction
    meta = UiTransactionStatusMeta(
        record.err,
        record.fee,
        record.pre_balances,
        record.post_balances,
        _inner_parsed(record) if parsed else record.inner_instructions,
        record.logs,
        record.pre_token_balances,
        record.post_token_balances,
        [],
        UiLoadedAddresses(record.loaded_writable, record.loaded_readonly) if not parsed else None,
        record.return_data,
        record.compute_units,
    )
    shown_version = None if max_version is None else version
    value = EncodedConfirmedTransactionWithStatusMeta(
        record.slot,
        EncodedTransactionWithStatusMeta(transaction, meta, shown_version),
        record.block_time,
    )
    result = solders_json(GetTransactionResp(value))["result"]
    # Agave omits these when absent (OptionSerializer::Skip); strict clients (web3.js) reject null.
    for key in ("returnData", "costUnits", "loadedAddresses", "computeUnitsConsumed"):
        if result["meta"].get(key, 0) is None:
            del result["meta"][key]
    if encoding in ("base58", "binary"):
        text = base58.b58encode(bytes(record.transaction)).decode()
        result["transaction"] = text if encoding == "binary" else [text, "base58"]
    return result
