"""Read reev Lend's state from a chain: markets, their reserves and oracles, obligations.

Tools and the HTTP API show positions accrued to the current slot without writing anything:
they read a `MarketView` and ask its `model()` (docs/lending.md: "readers show the value accrued
to the current slot computed by reev.defi.lend.model"). Instruction builders need the
`(reserve, oracle)` pairs of an obligation, which `pairs` gives in the program's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from reev.chain.protocol import Chain
from reev.defi.lend.layout import (
    LEND_PROGRAM_ID,
    MARKET_LEN,
    OBLIGATION_LEN,
    MarketState,
    ObligationState,
    OracleState,
    ReserveState,
)
from reev.defi.lend.model import LendingModel, ObligationModel, OracleModel, ReserveModel
from reev.errors import ChainError


class LendStateError(ChainError):
    """An account is missing or is not what the market says it is."""


@dataclass(frozen=True)
class MarketView:
    """One market as the chain holds it, at `slot`."""

    address: Pubkey
    market: MarketState
    reserves: tuple[tuple[Pubkey, ReserveState], ...]  # by reserve index
    oracles: tuple[OracleState, ...]  # the reserves' oracles, same order
    slot: int
    obligations: dict[Pubkey, tuple[Pubkey, ObligationState]] = field(default_factory=dict)

    def index_of(self, mint: Pubkey) -> int:
        """The reserve whose asset or share mint is `mint`; LendStateError when none is."""
        for index, (_, state) in enumerate(self.reserves):
            if mint in (state.asset_mint, state.share_mint):
                return index
        raise LendStateError(f"market {self.address} has no reserve for mint {mint}")

    def pairs(self, owner: Pubkey, *acted: int) -> list[tuple[Pubkey, Pubkey]]:
        """The (reserve, oracle) accounts an instruction on `owner`'s obligation must pass:
        its positions plus the acted-on reserves, ascending (docs/lending.md, "pairs")."""
        held = self.obligations.get(owner)
        positions = held[1].positions() if held else ()
        return [
            (self.reserves[i][0], self.reserves[i][1].oracle)
            for i in sorted(set(positions) | set(acted))
        ]

    def model(self) -> LendingModel:
        """The reference model of this market, obligations keyed by the owner's address."""
        model = LendingModel(
            reserves=[ReserveModel.from_state(state) for _, state in self.reserves],
            oracles=[OracleModel(o.price, o.publish_slot) for o in self.oracles],
            close_factor_bps=self.market.close_factor_bps,
            slot=self.slot,
        )
        for owner, (_, state) in self.obligations.items():
            model.obligations[str(owner)] = ObligationModel(
                list(state.collateral), list(state.borrow_shares)
            )
        return model


def _data(chain: Chain, address: Pubkey, what: str) -> bytes:
    account = chain.get_account(address)
    if account is None:
        raise LendStateError(f"{what} {address} does not exist")
    if account.owner != LEND_PROGRAM_ID:
        raise LendStateError(f"{what} {address} is not owned by reev Lend")
    return bytes(account.data)


def read_market(chain: Chain, address: Pubkey, slot: int) -> MarketView:
    """The market at `address` with its reserves, oracles and every obligation of it."""
    try:
        market = MarketState.decode(_data(chain, address, "market"))
        reserves = []
        oracles = []
        for reserve, mint in market.reserves:
            state = ReserveState.decode(_data(chain, reserve, "reserve"))
            if state.market != address or state.asset_mint != mint:
                raise LendStateError(f"reserve {reserve} is not the market's reserve of {mint}")
            reserves.append((reserve, state))
            oracles.append(OracleState.decode(_data(chain, state.oracle, "oracle")))
    except ValueError as error:  # a decode refusal names the account kind
        raise LendStateError(f"market {address}: {error}") from error
    view = MarketView(address, market, tuple(reserves), tuple(oracles), slot)
    for obligation, account in chain.accounts_owned_by(LEND_PROGRAM_ID):
        if len(account.data) != OBLIGATION_LEN:
            continue
        try:
            held = ObligationState.decode(bytes(account.data))
        except ValueError as error:
            raise LendStateError(f"obligation {obligation}: {error}") from error
        if held.market == address:
            view.obligations[held.owner] = (obligation, held)
    return view


def markets_on(chain: Chain, slot: int) -> list[MarketView]:
    """Every reev Lend market of the chain, by address."""
    found = [
        address
        for address, account in chain.accounts_owned_by(LEND_PROGRAM_ID)
        if len(account.data) == MARKET_LEN
    ]
    return [read_market(chain, address, slot) for address in sorted(found, key=bytes)]
