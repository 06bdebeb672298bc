"""The JSON-RPC methods: parameters checked as Agave checks them, results in Agave's shapes.

Each handler takes the node and the raw `params` and returns the `result` value (plain JSON
data) or raises `RpcError`. Results that solders can build (`solders.rpc.responses`,
`solders.transaction_status`) are built with it, so their JSON is exactly what solana-py and
other clients parse; the rest follows Agave's field names and order.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

import base58
from solders.hash import Hash
from solders.message import from_bytes_versioned
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.rpc.responses import (
    GetTransactionResp,
    RpcBlockhash,
    RpcConfirmedTransactionStatusWithSignature,
    RpcSimulateTransactionResult,
)
from solders.signature import Signature
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

from reev.chain.accounts import decode_mint, decode_token_account
from reev.constants import TOKEN, TOKEN_2022
from reev.rpc.encoding import (
    ACCOUNT_ENCODINGS,
    check_data_slice,
    check_encoding,
    decode_transaction,
    empty_account,
    encode_account,
    error_json,
    token_amount,
    token_kind,
)
from reev.rpc.errors import (
    METHOD_NOT_FOUND,
    MIN_CONTEXT_SLOT_NOT_REACHED,
    SEND_TRANSACTION_PREFLIGHT_FAILURE,
    UNSUPPORTED_TRANSACTION_VERSION,
    RpcError,
    invalid_param,
    invalid_params,
    transaction_error_text,
)
from reev.rpc.node import FEATURE_SET, SOLANA_CORE_VERSION, ChainNode, TxRecord
from reev.units import U64_MAX

Handler = Callable[[ChainNode, Any], Any]
METHODS: dict[str, Handler] = {}

COMMITMENTS = (
    "processed",
    "confirmed",
    "finalized",
    "recent",
    "single",
    "singleGossip",
    "root",
    "max",
)
GENESIS_HASH = (
    "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d"  # mainnet-beta's, as a fork would report
)
IDENTITY = "RevRpc1111111111111111111111111111111111111"
MAX_MULTIPLE_ACCOUNTS = 100
MAX_SIGNATURE_STATUSES = 256
MAX_SIGNATURES_FOR_ADDRESS = 1000
MAX_PRIORITIZATION_FEE_ACCOUNTS = 128
MAX_FILTERS = 4


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name] = handler
        return handler

    return register


def dispatch(node: ChainNode, name: str, params: Any) -> Any:
    handler = METHODS.get(name)
    if handler is None:
        raise RpcError(METHOD_NOT_FOUND, "Method not found")
    return handler(node, params)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f'string "{value[:64]}"'
    if isinstance(value, list):
        return "sequence"
    return "map"


class Params:
    """Positional parameters, checked like serde checks Agave's (`Invalid params: …`)."""

    def __init__(self, raw: Any, *, required: int, maximum: int):
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise invalid_params(
                f"invalid type: {_type_name(raw)}, expected a sequence of parameters"
            )
        if len(raw) < required:
            raise invalid_params(
                f"invalid length {len(raw)}, expected {required} or more parameters"
            )
        if len(raw) > maximum:
            raise invalid_params(
                f"invalid length {len(raw)}, expected at most {maximum} parameters"
            )
        self.raw = raw

    def has(self, index: int) -> bool:
        return index < len(self.raw) and self.raw[index] is not None

    def get(self, index: int) -> Any:
        return self.raw[index] if index < len(self.raw) else None

    def string(self, index: int, what: str) -> str:
        value = self.get(index)
        if not isinstance(value, str):
            raise invalid_params(f"invalid type: {_type_name(value)}, expected a string ({what})")
        return value

    def pubkey(self, index: int, what: str = "address") -> Pubkey:
        return parse_pubkey(self.string(index, what))

    def integer(self, index: int, what: str, *, maximum: int = U64_MAX) -> int:
        return parse_integer(self.get(index), what, maximum=maximum)

    def config(self, index: int) -> Config:
        value = self.get(index)
        if value is None:
            return Config({})
        if not isinstance(value, dict):
            raise invalid_params(
                f"invalid type: {_type_name(value)}, expected a configuration object"
            )
        return Config(value)


class Config:
    """A method's configuration object; unknown fields are ignored, as in Agave."""

    def __init__(self, raw: dict[str, Any]):
        self.raw = raw

    def get(self, key: str, default: Any = None) -> Any:
        value = self.raw.get(key)
        return default if value is None else value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.raw.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise invalid_params(f"invalid type: {_type_name(value)}, expected a boolean ({key})")
        return value

    def integer(
        self, key: str, default: int | None = None, *, maximum: int = U64_MAX
    ) -> int | None:
        value = self.raw.get(key)
        return default if value is None else parse_integer(value, key, maximum=maximum)

    def string(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is not None and not isinstance(value, str):
            raise invalid_params(f"invalid type: {_type_name(value)}, expected a string ({key})")
        return value

    def check_common(self, node: ChainNode) -> None:
        """`commitment` must be a known level; `minContextSlot` must have been reached."""
        commitment = self.raw.get("commitment")
        if commitment is not None and commitment not in COMMITMENTS:
            raise invalid_params(
                f"unknown variant `{commitment}`, expected one of "
                "`processed`, `confirmed`, `finalized`"
            )
        minimum = self.integer("minContextSlot")
        if minimum is not None and minimum > node.slot:
            raise RpcError(
                MIN_CONTEXT_SLOT_NOT_REACHED,
                "Minimum context slot has not been reached",
                data={"contextSlot": node.slot},
            )

    def encoding(self, default: str, allowed: tuple[str, ...] = ACCOUNT_ENCODINGS) -> str:
        value = self.raw.get("encoding")
        if value is None:
            return default
        return check_encoding(value, allowed) or default


def parse_integer(value: Any, what: str, *, maximum: int = U64_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_params(f"invalid type: {_type_name(value)}, expected u64 ({what})")
    if value < 0 or value > maximum:
        raise invalid_params(
            f"invalid value: integer `{value}`, expected u64 at most {maximum} ({what})"
        )
    return value


def _parse_base58(text: Any, parse: Callable[[str], Any], what: str, max_length: int | None) -> Any:
    """Agave's errors for a base-58 parameter: a type error, then WrongSize, then Invalid."""
    if not isinstance(text, str):
        raise invalid_params(f"invalid type: {_type_name(text)}, expected a base-58 {what}")
    if max_length is not None and len(text) > max_length:
        raise invalid_param("WrongSize")
    try:
        return parse(text)
    except Exception:
        raise invalid_param("Invalid") from None


def parse_pubkey(text: Any) -> Pubkey:
    return _parse_base58(text, Pubkey.from_string, "public key", 44)


def parse_signature(text: Any) -> Signature:
    return _parse_base58(text, Signature.from_string, "signature", 88)


def parse_hash(text: Any) -> Hash:
    return _parse_base58(text, Hash.from_string, "hash", None)


def with_context(node: ChainNode, value: Any) -> dict[str, Any]:
    return {"context": node.context(), "value": value}


def _solders_json(obj: Any) -> Any:
    return json.loads(obj.to_json())


def _account_options(config: Config, default: str = "binary") -> tuple[str, tuple[int, int] | None]:
    return config.encoding(default), check_data_slice(config.raw.get("dataSlice"))


# ---- cluster ---------------------------------------------------------------------------------


@method("getHealth")
def get_health(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    return "ok"


@method("getVersion")
def get_version(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    return {"solana-core": SOLANA_CORE_VERSION, "feature-set": FEATURE_SET}


@method("getGenesisHash")
def get_genesis_hash(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    return GENESIS_HASH


@method("getIdentity")
def get_identity(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    return {"identity": IDENTITY}


def _plain_config(node: ChainNode, params: Any) -> Config:
    p = Params(params, required=0, maximum=1)
    config = p.config(0)
    config.check_common(node)
    return config


@method("getSlot")
def get_slot(node: ChainNode, params: Any) -> Any:
    _plain_config(node, params)
    return node.slot


@method("getBlockHeight")
def get_block_height(node: ChainNode, params: Any) -> Any:
    _plain_config(node, params)
    return node.block_height


@method("getTransactionCount")
def get_transaction_count(node: ChainNode, params: Any) -> Any:
    _plain_config(node, params)
    return node.transaction_count


@method("getEpochInfo")
def get_epoch_info(node: ChainNode, params: Any) -> Any:
    _plain_config(node, params)
    return node.epoch_info()


@method("getEpochSchedule")
def get_epoch_schedule(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    schedule = node.svm.get_epoch_schedule()
    return {
        "firstNormalEpoch": schedule.first_normal_epoch,
        "firstNormalSlot": schedule.first_normal_slot,
        "leaderScheduleSlotOffset": schedule.leader_schedule_slot_offset,
        "slotsPerEpoch": schedule.slots_per_epoch,
        "warmup": schedule.warmup,
    }


@method("getBlockTime")
def get_block_time(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=1)
    slot = p.integer(0, "slot")
    if slot > node.slot:
        raise RpcError(-32004, f"Block not available for slot {slot}")
    return node.chain._clock_at(slot).unix_timestamp


@method("getLatestBlockhash")
def get_latest_blockhash(node: ChainNode, params: Any) -> Any:
    _plain_config(node, params)
    blockhash, last_valid = node.latest_blockhash()
    return with_context(node, {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid})


@method("isBlockhashValid")
def is_blockhash_valid(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    blockhash = parse_hash(p.get(0))
    p.config(1).check_common(node)
    return with_context(node, node.blockhash_valid(blockhash))


@method("getMinimumBalanceForRentExemption")
def get_minimum_balance_for_rent_exemption(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    length = p.integer(0, "data length", maximum=10 * 1024 * 1024)
    p.config(1).check_common(node)
    return node.rent_exempt_minimum(length)


@method("getFeeForMessage")
def get_fee_for_message(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    text = p.string(0, "base64 message")
    p.config(1).check_common(node)
    try:
        raw = base64.b64decode(text.encode(), validate=True)
        message = from_bytes_versioned(raw)
    except (binascii.Error, ValueError, Exception) as exc:
        raise invalid_param(f"invalid message: {exc}") from None
    return with_context(node, node.fee_for_message(message))


@method("getRecentPrioritizationFees")
def get_recent_prioritization_fees(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=0, maximum=1)
    raw = p.get(0) or []
    if not isinstance(raw, list):
        raise invalid_params(f"invalid type: {_type_name(raw)}, expected a sequence of addresses")
    if len(raw) > MAX_PRIORITIZATION_FEE_ACCOUNTS:
        raise invalid_params(f"Too many inputs provided; max {MAX_PRIORITIZATION_FEE_ACCOUNTS}")
    return node.prioritization_fees([parse_pubkey(a) for a in raw])


# ---- accounts ----------------------------------------------------------------------------------


@method("getBalance")
def get_balance(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    address = p.pubkey(0)
    p.config(1).check_common(node)
    return with_context(node, node.lamports(address))


@method("getAccountInfo")
def get_account_info(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    address = p.pubkey(0)
    config = p.config(1)
    config.check_common(node)
    encoding, data_slice = _account_options(config)
    return with_context(
        node, encode_account(node.get_account(address), encoding, data_slice, node.decimals_of)
    )


@method("getMultipleAccounts")
def get_multiple_accounts(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    raw = p.get(0)
    if not isinstance(raw, list):
        raise invalid_params(f"invalid type: {_type_name(raw)}, expected a sequence of addresses")
    if len(raw) > MAX_MULTIPLE_ACCOUNTS:
        raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
    addresses = [parse_pubkey(a) for a in raw]
    config = p.config(1)
    config.check_common(node)
    encoding, data_slice = _account_options(config, "base64")
    with node.lock:
        node.chain.load(addresses)  # a fork fetches what it lacks in one request
        return with_context(
            node,
            [
                encode_account(node.get_account(a), encoding, data_slice, node.decimals_of)
                for a in addresses
            ],
        )


def _parse_filters(raw: Any) -> list[Callable[[bytes], bool]]:
    """`dataSize` and `memcmp` (base58 or base64 bytes) filters, as getProgramAccounts takes."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid_params(f"invalid type: {_type_name(raw)}, expected a sequence of filters")
    if len(raw) > MAX_FILTERS:
        raise invalid_param(f"Too many filters provided; max {MAX_FILTERS}")
    filters: list[Callable[[bytes], bool]] = []
    for item in raw:
        if not isinstance(item, dict) or len(item) != 1:
            raise invalid_params('each filter must be {"dataSize": n} or {"memcmp": {…}}')
        ((kind, value),) = item.items()
        if kind == "dataSize":
            size = parse_integer(value, "dataSize")
            filters.append(lambda data, size=size: len(data) == size)
        elif kind == "memcmp":
            if not isinstance(value, dict):
                raise invalid_params('memcmp must be {"offset", "bytes", "encoding"?}')
            offset = parse_integer(value.get("offset"), "memcmp.offset")
            text = value.get("bytes")
            encoding = value.get("encoding") or "base58"
            if not isinstance(text, str):
                raise invalid_params("memcmp.bytes must be a string")
            if encoding == "base58":
                if len(text) > 175:
                    raise invalid_param("filter bytes too large; max 128 bytes")
                try:
                    wanted = base58.b58decode(text.encode())
                except ValueError:
                    raise invalid_param(f"invalid Memcmp filter: {text[:64]}") from None
            elif encoding == "base64":
                try:
                    wanted = base64.b64decode(text.encode(), validate=True)
                except (binascii.Error, ValueError):
                    raise invalid_param(f"invalid Memcmp filter: {text[:64]}") from None
            else:
                raise invalid_params(f"unknown variant `{encoding}`, expected `base58` or `base64`")
            if len(wanted) > 128:
                raise invalid_param("filter bytes too large; max 128 bytes")
            filters.append(lambda data, o=offset, w=wanted: data[o : o + len(w)] == w)
        elif kind == "tokenAccountState":
            filters.append(lambda data: token_kind(data) == "account")
        else:
            raise invalid_params(
                f"unknown variant `{kind}`, expected `dataSize`, `memcmp` or `tokenAccountState`"
            )
    return filters


def _keyed(pubkey: Pubkey, encoded: dict[str, Any] | None) -> dict[str, Any]:
    return {"account": encoded, "pubkey": str(pubkey)}


@method("getProgramAccounts")
def get_program_accounts(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    program = p.pubkey(0, "program id")
    config = p.config(1)
    config.check_common(node)
    encoding, data_slice = _account_options(config)
    filters = _parse_filters(config.raw.get("filters"))
    with node.lock:
        found = [
            _keyed(address, encode_account(account, encoding, data_slice, node.decimals_of))
            for address, account in node.accounts_owned_by(program)
            if all(f(bytes(account.data)) for f in filters)
        ]
        return with_context(node, found) if config.boolean("withContext") else found


def _token_state(node: ChainNode, address: Pubkey) -> tuple[Any, Any]:
    account = node.get_account(address)
    if account is None or str(account.owner) not in (TOKEN, TOKEN_2022):
        raise invalid_param("not a Token account")
    data = bytes(account.data)
    if token_kind(data) != "account":
        raise invalid_param("not a Token account")
    return account, decode_token_account(data)


@method("getTokenAccountBalance")
def get_token_account_balance(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    address = p.pubkey(0)
    p.config(1).check_common(node)
    with node.lock:
        _, info = _token_state(node, address)
        decimals = node.decimals_of(Pubkey.from_string(info.mint))
        if decimals is None:
            raise invalid_param("Token mint could not be unpacked")
        return with_context(node, token_amount(info.amount, decimals))


@method("getTokenSupply")
def get_token_supply(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    address = p.pubkey(0)
    p.config(1).check_common(node)
    with node.lock:
        account = node.get_account(address)
        if (
            account is None
            or str(account.owner) not in (TOKEN, TOKEN_2022)
            or token_kind(bytes(account.data)) != "mint"
        ):
            raise invalid_param("not a Token mint")
        mint = decode_mint(bytes(account.data))
        return with_context(node, token_amount(mint.supply, mint.decimals))


@method("getTokenLargestAccounts")
def get_token_largest_accounts(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    mint = p.pubkey(0, "mint")
    p.config(1).check_common(node)
    with node.lock:
        mint_account = node.get_account(mint)
        decimals = node.decimals_of(mint)
        if mint_account is None or decimals is None:
            raise invalid_param("not a Token mint")
        holders = []
        for address, account in node.accounts_owned_by(mint_account.owner):
            data = bytes(account.data)
            if token_kind(data) == "account":
                info = decode_token_account(data)
                if info.mint == str(mint):
                    holders.append((info.amount, address))
        holders.sort(key=lambda h: (-h[0], bytes(h[1])))
        return with_context(
            node,
            [{"address": str(a), **token_amount(amount, decimals)} for amount, a in holders[:20]],
        )


def _token_accounts_by(node: ChainNode, params: Any, field: str) -> Any:
    p = Params(params, required=2, maximum=3)
    who = p.pubkey(0)
    selector = p.get(1)
    if (
        not isinstance(selector, dict)
        or len(selector) != 1
        or next(iter(selector)) not in ("mint", "programId")
    ):
        raise invalid_params('expected {"mint": address} or {"programId": address}')
    ((kind, value),) = selector.items()
    key = parse_pubkey(value)
    config = p.config(2)
    config.check_common(node)
    encoding, data_slice = _account_options(config)
    with node.lock:
        mint: Pubkey | None = None
        if kind == "programId":
            if str(key) not in (TOKEN, TOKEN_2022):
                raise invalid_param("unrecognized Token program id")
            programs = [key]
        else:
            mint_account = node.get_account(key)
            if mint_account is None or str(mint_account.owner) not in (TOKEN, TOKEN_2022):
                raise invalid_param("could not find mint")
            mint, programs = key, [mint_account.owner]
        found = []
        for program in programs:
            for address, account in node.accounts_owned_by(program):
                data = bytes(account.data)
                if token_kind(data) != "account":
                    continue
                info = decode_token_account(data)
                if getattr(info, field) != str(who) or (
                    mint is not None and info.mint != str(mint)
                ):
                    continue
                found.append(
                    _keyed(address, encode_account(account, encoding, data_slice, node.decimals_of))
                )
        return with_context(node, found)


@method("getTokenAccountsByOwner")
def get_token_accounts_by_owner(node: ChainNode, params: Any) -> Any:
    return _token_accounts_by(node, params, "owner")


@method("getTokenAccountsByDelegate")
def get_token_accounts_by_delegate(node: ChainNode, params: Any) -> Any:
    return _token_accounts_by(node, params, "delegate")


# ---- transactions --------------------------------------------------------------------------------


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
    value = _solders_json(result)
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
    config.integer("maxRetries", maximum=2**64 - 1)
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
        body = _solders_json(failure)
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
        raise invalid_params(f"invalid type: {_type_name(raw)}, expected a sequence of signatures")
    if len(raw) > MAX_SIGNATURE_STATUSES:
        raise invalid_params(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
    signatures = [parse_signature(s) for s in raw]
    p.config(1).boolean("searchTransactionHistory")
    with node.lock:
        statuses = [node.records.get(s) for s in signatures]
        return with_context(
            node, [_solders_json(_confirmation(r)) if r else None for r in statuses]
        )


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
        _solders_json(
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
                l.account_key, bytes(l.writable_indexes), bytes(l.readonly_indexes)
            )
            for l in lookups
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
        keys,
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
    is_legacy = version == Legacy.Legacy
    if not is_legacy and (max_version is None or version > max_version):
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
    result = _solders_json(GetTransactionResp(value))["result"]
    # Agave omits these when absent (OptionSerializer::Skip); strict clients (web3.js) reject null.
    for key in ("returnData", "costUnits", "loadedAddresses", "computeUnitsConsumed"):
        if result["meta"].get(key, 0) is None:
            del result["meta"][key]
    if encoding in ("base58", "binary"):
        text = base58.b58encode(bytes(record.transaction)).decode()
        result["transaction"] = text if encoding == "binary" else [text, "base58"]
    return result


@method("requestAirdrop")
def request_airdrop(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=2, maximum=3)
    address = p.pubkey(0)
    lamports = p.integer(1, "lamports")
    p.config(2).check_common(node)
    return str(node.airdrop(address, lamports))


# ---- surfpool cheat codes --------------------------------------------------------------------------


def _ok(node: ChainNode) -> dict[str, Any]:
    return with_context(node, None)


@method("surfnet_setAccount")
def surfnet_set_account(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=2, maximum=2)
    address = p.pubkey(0)
    update = p.config(1)
    data = update.string("data")
    raw: bytes | None = None
    if data is not None:
        try:
            raw = bytes.fromhex(data.removeprefix("0x"))
        except ValueError as exc:
            raise invalid_params(f"Invalid hex data provided: {exc}") from None
    owner = update.string("owner")
    node.update_account(
        address,
        lamports=update.integer("lamports"),
        data=raw,
        owner=parse_pubkey(owner) if owner is not None else None,
        executable=update.boolean("executable")
        if update.raw.get("executable") is not None
        else None,
        rent_epoch=update.integer("rentEpoch"),
    )
    return _ok(node)


def _some_account(value: Any, what: str) -> Pubkey | None:
    """surfpool's SetSomeAccount: an address, or the string "null" to clear it."""
    if value == "null":
        return None
    return parse_pubkey(value)


@method("surfnet_setTokenAccount")
def surfnet_set_token_account(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=3, maximum=4)
    owner = p.pubkey(0, "owner")
    mint = p.pubkey(1, "mint")
    raw = p.config(2)
    program = p.pubkey(3, "token program") if p.has(3) else Pubkey.from_string(TOKEN)
    if str(program) not in (TOKEN, TOKEN_2022):
        raise invalid_param("unrecognized Token program id")
    update: dict[str, Any] = {}
    if raw.raw.get("amount") is not None:
        update["amount"] = raw.integer("amount")
    if raw.raw.get("delegatedAmount") is not None:
        update["delegatedAmount"] = raw.integer("delegatedAmount")
    if raw.raw.get("state") is not None:
        state = raw.string("state")
        if state not in ("uninitialized", "initialized", "frozen"):
            raise invalid_params(
                f"unknown token account state {state!r}: initialized, frozen or uninitialized"
            )
        update["state"] = state
    for key in ("delegate", "closeAuthority"):
        if raw.raw.get(key) is not None:
            update[key] = _some_account(raw.raw[key], key)
    node.set_token_account(owner, mint, update, program)
    return _ok(node)


@method("surfnet_timeTravel")
def surfnet_time_travel(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=0, maximum=1)
    config = p.config(0)
    given = [
        k
        for k in ("absoluteSlot", "absoluteEpoch", "absoluteTimestamp")
        if config.raw.get(k) is not None
    ]
    if len(given) != 1:
        raise invalid_params(
            "expected exactly one of absoluteSlot, absoluteEpoch, absoluteTimestamp"
        )
    (key,) = given
    value = config.integer(key)
    if key == "absoluteSlot":
        node.time_travel(slot=value)
    elif key == "absoluteEpoch":
        node.time_travel(epoch=value)
    else:
        node.time_travel(timestamp_ms=value)
    return node.epoch_info()


@method("surfnet_resetAccount")
def surfnet_reset_account(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    address = p.pubkey(0)
    config = p.config(1)
    node.reset_account(address, include_owned=config.boolean("includeOwnedAccounts"))
    return _ok(node)


@method("surfnet_resetNetwork")
def surfnet_reset_network(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    node.reset_network()
    return _ok(node)


def encode_for_subscription(
    node: ChainNode, address: Pubkey, encoding: str, data_slice: Any
) -> dict[str, Any]:
    """An account as accountNotification shows it (a closed account reads as empty)."""
    account = node.get_account(address) or empty_account()
    encoded = encode_account(account, encoding, data_slice, node.decimals_of, size_check=False)
    assert encoded is not None
    return encoded


__all__ = ["METHODS", "Config", "Params", "dispatch", "encode_for_subscription"]
