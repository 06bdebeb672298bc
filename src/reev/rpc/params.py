"""Parameter parsing for the JSON-RPC methods, with Agave's error messages.

`Params` checks positional parameters and `Config` a method's configuration object as serde
checks Agave's (`Invalid params: invalid type: …`, `WrongSize`, `Invalid`); the filters of
getProgramAccounts and programSubscribe are parsed here too. Nothing here reads the chain
except `Config.check_common`, which compares `minContextSlot` with the node's slot.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import base58
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature

from reev.constants import U64_MAX
from reev.rpc.encoding import ACCOUNT_ENCODINGS, check_data_slice, check_encoding, token_kind
from reev.rpc.errors import MIN_CONTEXT_SLOT_NOT_REACHED, RpcError, invalid_param, invalid_params
from reev.rpc.node import ChainNode

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

MAX_FILTERS = 4


def type_name(value: Any) -> str:
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
                f"invalid type: {type_name(raw)}, expected a sequence of parameters"
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
            raise invalid_params(f"invalid type: {type_name(value)}, expected a string ({what})")
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
                f"invalid type: {type_name(value)}, expected a configuration object"
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
            raise invalid_params(f"invalid type: {type_name(value)}, expected a boolean ({key})")
        return value

    def integer(
        self, key: str, default: int | None = None, *, maximum: int = U64_MAX
    ) -> int | None:
        value = self.raw.get(key)
        return default if value is None else parse_integer(value, key, maximum=maximum)

    def string(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is not None and not isinstance(value, str):
            raise invalid_params(f"invalid type: {type_name(value)}, expected a string ({key})")
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
        raise invalid_params(f"invalid type: {type_name(value)}, expected u64 ({what})")
    if value < 0 or value > maximum:
        raise invalid_params(
            f"invalid value: integer `{value}`, expected u64 at most {maximum} ({what})"
        )
    return value


def _parse_base58(text: Any, parse: Callable[[str], Any], what: str, max_length: int | None) -> Any:
    """Agave's errors for a base-58 parameter: a type error, then WrongSize, then Invalid."""
    if not isinstance(text, str):
        raise invalid_params(f"invalid type: {type_name(text)}, expected a base-58 {what}")
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


def account_options(config: Config, default: str = "binary") -> tuple[str, tuple[int, int] | None]:
    return config.encoding(default), check_data_slice(config.raw.get("dataSlice"))


def _size_is(size: int) -> Callable[[bytes], bool]:
    return lambda data: len(data) == size


def _bytes_at(offset: int, wanted: bytes) -> Callable[[bytes], bool]:
    return lambda data: data[offset : offset + len(wanted)] == wanted


def parse_filters(raw: Any) -> list[Callable[[bytes], bool]]:
    """`dataSize` and `memcmp` (base58 or base64 bytes) filters, as getProgramAccounts takes."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid_params(f"invalid type: {type_name(raw)}, expected a sequence of filters")
    if len(raw) > MAX_FILTERS:
        raise invalid_param(f"Too many filters provided; max {MAX_FILTERS}")
    filters: list[Callable[[bytes], bool]] = []
    for item in raw:
        if not isinstance(item, dict) or len(item) != 1:
            raise invalid_params('each filter must be {"dataSize": n} or {"memcmp": {…}}')
        ((kind, value),) = item.items()
        if kind == "dataSize":
            size = parse_integer(value, "dataSize")
            filters.append(_size_is(size))
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
            filters.append(_bytes_at(offset, wanted))
        elif kind == "tokenAccountState":
            filters.append(lambda data: token_kind(data) == "account")
        else:
            raise invalid_params(
                f"unknown variant `{kind}`, expected `dataSize`, `memcmp` or `tokenAccountState`"
            )
    return filters
