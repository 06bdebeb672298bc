"""Environment events between flow steps (docs/benchmarks.md, "Environment events"): the clock
moves (interest accrues lazily) and oracles publish prices. They write the chain directly; they
are not transactions, and the agent sees only the state they leave.

Advancing re-publishes every reev Lend oracle at its current price at the new slot (the oracle
network keeps publishing) unless the event asks for stale prices.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from reev.chain.protocol import Chain, TimeTravel
from reev.defi.lend.default_market import write_oracle
from reev.defi.lend.layout import LEND_PROGRAM_ID, ORACLE_LEN, OracleState
from reev.errors import ChainError

CLOCK_SYSVAR = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")


class EventError(ChainError):
    """An event this chain cannot run (no clock to move, no oracle of the mint)."""


def current_slot(chain: Chain) -> int:
    """The Clock sysvar's slot (every chain serves the sysvar)."""
    clock = chain.get_account(CLOCK_SYSVAR)
    if clock is None:
        raise EventError("the chain has no Clock sysvar")
    return int.from_bytes(bytes(clock.data)[:8], "little")


def oracles(chain: Chain) -> list[tuple[Pubkey, OracleState]]:
    """Every reev Lend oracle on the chain, by address."""
    found = []
    for address, account in chain.accounts_owned_by(LEND_PROGRAM_ID):
        if len(account.data) == ORACLE_LEN:
            found.append((address, OracleState.decode(bytes(account.data))))
    return sorted(found, key=lambda item: bytes(item[0]))


def republish(chain: Chain) -> None:
    """Every oracle publishes its current price at the current slot."""
    slot = current_slot(chain)
    for address, state in oracles(chain):
        write_oracle(chain, address, state.mint, state.price, slot)


def advance_slots(chain: Chain, slots: int, *, stale_prices: bool = False) -> int:
    """Move the clock `slots` forward; returns the new slot."""
    if not isinstance(chain, TimeTravel):
        raise EventError("this chain cannot move its clock")
    target = current_slot(chain) + slots
    chain.warp_to_slot(target)
    if not stale_prices:
        republish(chain)
    return target


def set_price(chain: Chain, mint: Pubkey, price: int) -> int:
    """Every oracle of `mint` publishes `price` (USD × 10^8) at the current slot; returns how
    many oracles did (EventError when none prices that mint)."""
    slot = current_slot(chain)
    found = [(address, state) for address, state in oracles(chain) if state.mint == mint]
    if not found:
        raise EventError(f"set_price: no reev Lend oracle prices mint {mint}")
    for address, _ in found:
        write_oracle(chain, address, mint, price, slot)
    return len(found)
