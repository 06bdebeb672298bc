"""reev.chain.layouts: the SPL Token byte layouts, checked against spl-token's `state.rs` offsets.

`Mint`: COption<Pubkey> mint_authority (4 + 32), u64 supply, u8 decimals, bool is_initialized,
COption<Pubkey> freeze_authority (4 + 32) = 82 bytes. `Account`: mint, owner (32 each), u64
amount, COption<Pubkey> delegate, u8 state, COption<u64> is_native (4 + 8), u64
delegated_amount, COption<Pubkey> close_authority = 165 bytes.
"""

from __future__ import annotations

import pytest
from construct import ConstructError, FormatFieldError, StreamError
from hypothesis import given
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from reev.chain.accounts import decode_mint, decode_token_account, pack_mint, pack_token_account
from reev.chain.layouts import ACCOUNT_LAYOUT, MINT_LAYOUT

A, B, C = (Pubkey(bytes([n]) * 32) for n in (1, 2, 3))


def test_sizes() -> None:
    assert MINT_LAYOUT.sizeof() == (4 + 32) + 8 + 1 + 1 + (4 + 32) == 82
    assert ACCOUNT_LAYOUT.sizeof() == 32 + 32 + 8 + (4 + 32) + 1 + (4 + 8) + 8 + (4 + 32) == 165


def test_mint_fields_sit_at_their_offsets() -> None:
    data = pack_mint(decimals=6, supply=0x0102030405060708, mint_authority=A, freeze_authority=None)
    assert data[0:4] == (1).to_bytes(4, "little") and data[4:36] == bytes(A)
    assert int.from_bytes(data[36:44], "little") == 0x0102030405060708
    assert data[44] == 6 and data[45] == 1  # decimals, is_initialized
    assert data[46:82] == bytes(36)  # no freeze authority: tag 0, zeroed key
    info = decode_mint(data)
    assert (info.decimals, info.supply, info.mint_authority) == (6, 0x0102030405060708, str(A))


def test_token_account_fields_sit_at_their_offsets() -> None:
    data = pack_token_account(
        mint=A, owner=B, amount=500, delegate=C, delegated_amount=200, frozen=True, native_rent=7
    )
    assert data[0:32] == bytes(A) and data[32:64] == bytes(B)
    assert int.from_bytes(data[64:72], "little") == 500
    assert data[72:76] == (1).to_bytes(4, "little") and data[76:108] == bytes(C)
    assert data[108] == 2  # frozen
    assert data[109:113] == (1).to_bytes(4, "little")  # is_native: Some(rent reserve)
    assert int.from_bytes(data[113:121], "little") == 7
    assert int.from_bytes(data[121:129], "little") == 200
    assert data[129:165] == bytes(36)
    info = decode_token_account(data)
    assert (info.mint, info.owner, info.amount, info.delegate) == (str(A), str(B), 500, str(C))
    assert info.state == "frozen" and info.is_native and info.delegated_amount == 200


@pytest.mark.parametrize("layout", [MINT_LAYOUT, ACCOUNT_LAYOUT], ids=["mint", "account"])
@given(data=st.data())
def test_the_compiled_layouts_read_and_write_what_the_interpreted_ones_do(layout, data) -> None:
    raw = data.draw(st.binary(min_size=layout.sizeof(), max_size=layout.sizeof() + 8))
    fields = layout.parse(raw)
    interpreted = layout.interpreted.parse(raw)
    assert dict(fields) == {k: v for k, v in interpreted.items() if k != "_io"}
    assert layout.build(fields) == layout.interpreted.build(interpreted) == raw[: layout.sizeof()]


def test_the_compiled_layouts_refuse_what_the_interpreted_ones_refused() -> None:
    good = pack_mint(decimals=6, supply=1, mint_authority=A, freeze_authority=None)
    fields = dict(MINT_LAYOUT.parse(good))
    with pytest.raises(StreamError):
        MINT_LAYOUT.parse(good[:50])  # too short: compiled alone reads what there is
    with pytest.raises(StreamError):
        MINT_LAYOUT.build({**fields, "mint_authority": bytes(40)})  # a key of 40 bytes
    with pytest.raises(StreamError):  # two wrong lengths that add up to the right size
        MINT_LAYOUT.build({**fields, "mint_authority": bytes(40), "freeze_authority": bytes(24)})
    with pytest.raises(FormatFieldError):
        MINT_LAYOUT.build({**fields, "supply": 2**64})  # compiled alone: struct.error
    for bad in ({**fields, "decimals": 256}, {**fields, "supply": -1}):
        with pytest.raises(ConstructError):  # as the interpreted layout says it
            MINT_LAYOUT.interpreted.build(bad)
        with pytest.raises(ConstructError):
            MINT_LAYOUT.build(bad)
