"""Byte layouts of SPL Token accounts (construct structs), public to all of reev.

solana-py keeps its `MINT_LAYOUT` / `ACCOUNT_LAYOUT` in a private module (`spl.token._layouts`)
that may change without notice, so reev states the layouts itself, field for field after
spl-token's `state.rs` (`Mint`, `Account`; a `COption<Pubkey>` is a u32 tag then 32 bytes).
Token-2022 shares both base layouts; its extensions follow byte 165 as type-length-value
entries, of which reev decodes the transfer-fee ones.
"""

from __future__ import annotations

import struct
from typing import Any

from construct import Bytes, FormatFieldError, Int8ul, Int16ul, Int32ul, Int64ul, StreamError
from construct import Struct as cStruct

PUBLIC_KEY_LAYOUT = Bytes(32)


class CompiledLayout:
    """A fixed-size struct compiled by construct (its own code generation: the same fields, a
    parse 35 → 8 µs for a token account, 2.5 ms at import; issue 18), checked as the
    interpreted struct checks itself. Compiled, `Bytes(32)` reads or writes whatever it is
    given and an integer out of range raises `struct.error`; here too little data raises
    `StreamError`, a bytes field of the wrong length `StreamError`, an integer out of range
    `FormatFieldError`, as before. Only structs of fixed-length fields are accepted."""

    def __init__(self, layout: cStruct) -> None:
        self.interpreted = layout  # the definition, as construct interprets it
        self._compiled = layout.compile()
        self._size: int = layout.sizeof()
        self._bytes_fields: list[tuple[str, int]] = []
        for sub in layout.subcons:  # each a `Renamed` ("name" / field)
            inner = getattr(sub, "subcon", None)
            if isinstance(inner, Bytes):
                assert sub.name is not None and isinstance(inner.length, int), sub
                self._bytes_fields.append((sub.name, inner.length))

    def sizeof(self) -> int:
        return self._size

    def parse(self, data: bytes) -> Any:
        if len(data) < self._size:
            raise StreamError(f"{len(data)} bytes where the layout needs {self._size}")
        return self._compiled.parse(data)

    def build(self, fields: dict[str, Any]) -> bytes:
        for name, length in self._bytes_fields:
            value = fields[name]
            if not isinstance(value, bytes | bytearray) or len(value) != length:
                raise StreamError(f"{name}: {length} bytes expected, got {value!r:.40}")
        try:
            data: bytes = self._compiled.build(fields)
        except struct.error as exc:
            raise FormatFieldError(f"a field out of range: {exc}") from exc
        return data


# The two layouts every observation of a token balance parses are compiled; the others are
# parsed a few times per episode at most and stay interpreted.
MINT_LAYOUT = CompiledLayout(
    cStruct(  # 82 bytes
        "mint_authority_option" / Int32ul,
        "mint_authority" / PUBLIC_KEY_LAYOUT,
        "supply" / Int64ul,
        "decimals" / Int8ul,
        "is_initialized" / Int8ul,
        "freeze_authority_option" / Int32ul,
        "freeze_authority" / PUBLIC_KEY_LAYOUT,
    )
)

ACCOUNT_LAYOUT = CompiledLayout(
    cStruct(  # 165 bytes
        "mint" / PUBLIC_KEY_LAYOUT,
        "owner" / PUBLIC_KEY_LAYOUT,
        "amount" / Int64ul,
        "delegate_option" / Int32ul,
        "delegate" / PUBLIC_KEY_LAYOUT,
        "state" / Int8ul,  # 0 uninitialized, 1 initialized, 2 frozen
        "is_native_option" / Int32ul,
        "is_native" / Int64ul,  # a wrapped-SOL account's rent reserve
        "delegated_amount" / Int64ul,
        "close_authority_option" / Int32ul,
        "close_authority" / PUBLIC_KEY_LAYOUT,
    )
)

# Token-2022 extension types (spl-token-2022 `ExtensionType`) and the layouts reev decodes.
EXTENSION_TRANSFER_FEE_CONFIG = 1  # on a mint
EXTENSION_TRANSFER_FEE_AMOUNT = 2  # on each token account of such a mint
TRANSFER_FEE_LAYOUT = cStruct(
    "epoch" / Int64ul, "maximum_fee" / Int64ul, "transfer_fee_basis_points" / Int16ul
)
TRANSFER_FEE_CONFIG_LAYOUT = cStruct(  # 108 bytes
    "transfer_fee_config_authority" / PUBLIC_KEY_LAYOUT,  # OptionalNonZeroPubkey: zeros = none
    "withdraw_withheld_authority" / PUBLIC_KEY_LAYOUT,
    "withheld_amount" / Int64ul,  # fees harvested to the mint
    "older_transfer_fee" / TRANSFER_FEE_LAYOUT,
    "newer_transfer_fee" / TRANSFER_FEE_LAYOUT,  # in force from its epoch on
)
TRANSFER_FEE_AMOUNT_LAYOUT = cStruct("withheld_amount" / Int64ul)  # 8 bytes
