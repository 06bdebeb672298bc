"""Reading reev Lend's state from a chain (reev.defi.lend.reader): accounts written with the
layouts' encoders on a real LiteSVM chain come back as the market, and its model accrues them as
the program would."""

from __future__ import annotations

import pytest
from solders.account import Account
from solders.pubkey import Pubkey

from reev.chain.litesvm import LiteSVMChain
from reev.defi.lend.layout import (
    LEND_PROGRAM_ID,
    MarketState,
    ObligationState,
    OracleState,
    ReserveConfig,
    ReserveState,
    obligation_address,
)
from reev.defi.lend.model import SLOTS_PER_YEAR, WAD
from reev.defi.lend.reader import LendStateError, markets_on, read_market

CONFIG = ReserveConfig(8000, 8500, 500, 8000, 0, 800, 10_000, 150)
USD = 10**8


def _key(n: int) -> Pubkey:
    return Pubkey.from_bytes(bytes([n]) * 32)


def _write(chain: LiteSVMChain, address: Pubkey, data: bytes) -> None:
    lamports = chain.rent_exempt_minimum(len(data))
    chain.set_account(address, Account(lamports, data, LEND_PROGRAM_ID, False, 0))


def _market(chain: LiteSVMChain, slot: int) -> tuple[Pubkey, Pubkey, Pubkey]:
    market, reserve, oracle, mint, share = _key(1), _key(2), _key(3), _key(4), _key(5)
    _write(chain, market, MarketState(_key(9), 5000, ((reserve, mint),)).encode())
    state = ReserveState(
        index=0, authority_bump=255, decimals=6, config=CONFIG, market=market, asset_mint=mint,
        vault=_key(6), share_mint=share, oracle=oracle, last_update_slot=slot,
        available=400_000_000, borrowed=600_000_000, supply_shares=1_000_000_000,
        borrow_shares=600_000_000,
    )  # fmt: skip
    _write(chain, reserve, state.encode())
    _write(chain, oracle, OracleState(mint, USD, slot).encode())
    owner = _key(7)
    address = obligation_address(market, owner)[0]
    shares = (600_000_000,) + (0,) * 7
    _write(chain, address, ObligationState(market, owner, 254, borrow_shares=shares).encode())
    return market, owner, share


def test_a_market_reads_back_and_its_model_accrues_to_the_slot() -> None:
    chain = LiteSVMChain()
    slot = chain.svm.get_clock().slot
    market, owner, share = _market(chain, slot)
    [view] = markets_on(chain, slot + SLOTS_PER_YEAR // 10)
    assert view.address == market and view.index_of(share) == 0
    assert view.pairs(owner) == [(_key(2), _key(3))]
    model = view.model().accrued()
    # utilisation 0.6, apr 6 %, a tenth of a year: 600 USDC · 0.6 % = 3.6 USDC
    interest = 600_000_000 * (6 * 10**16 * (SLOTS_PER_YEAR // 10) // SLOTS_PER_YEAR) // WAD
    assert model.reserves[0].borrowed == 600_000_000 + interest == 603_600_000
    assert model.reserves[0].debt(model.obligations[str(owner)].borrow_shares[0]) == 603_600_000
    with pytest.raises(LendStateError, match="no reserve for mint"):
        view.index_of(_key(8))


def test_a_missing_or_foreign_account_is_a_clear_error() -> None:
    chain = LiteSVMChain()
    slot = chain.svm.get_clock().slot
    market, _, _ = _market(chain, slot)
    chain.set_account(_key(3), Account(10**9, b"", Pubkey.default(), False, 0))
    with pytest.raises(LendStateError, match="not owned by reev Lend"):
        read_market(chain, market, slot)
    with pytest.raises(LendStateError, match="does not exist"):
        read_market(chain, _key(42), slot)
    _write(chain, _key(3), b"\x00" * 64)
    with pytest.raises(LendStateError, match="discriminator"):
        read_market(chain, market, slot)
