"""The default market: the pools a benchmark gets when it declares none.

So that a file written for Jupiter on mainnet (the original `100-jup-swap-sol-usdc.yml`: no
pools, no solution) runs unchanged and exactly, every embedded episode without `pools:` has
these constant-product pools of reev's AMM between the well-known mints, at fixed prices:

| pool | reserves | price | fee |
| --- | --- | --- | --- |
| SOL/USDC | 10,000 SOL / 1,500,000 USDC | 150 USDC per SOL | 30 bps |
| SOL/USDT | 10,000 SOL / 1,500,000 USDT | 150 USDT per SOL | 30 bps |
| USDC/USDT | 1,000,000 USDC / 1,000,000 USDT | 1 | 5 bps |
| JUP/USDC | 1,000,000 JUP / 800,000 USDC | 0.80 USDC per JUP | 30 bps |
| BONK/SOL | 75,000,000,000 BONK / 10,000 SOL | 7,500,000 BONK per SOL | 30 bps |

(0.1 SOL into SOL/USDC moves its price by 0.001%.) The pools are built once per process, by
real transactions on a template chain, and their accounts (pools, vaults, LP mints, the
creator's accounts) are copied into each episode's chain, which costs a few `set_account`s. Their
addresses are derived from fixed names (`MARKET_POOLS`), the same in every episode and seed.
The mints they need are created when the benchmark did not (as well-known mints are: no
authorities). The market's reserves are not counted in any mint's supply: a mint's supply stays
what the benchmark's own accounts hold, exactly as without the market, so no existing benchmark
sees a different chain (declared `pools:` do count: their reserves are minted like any declared
balance). A fork (mainnet state) and an RPC chain get no default market.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import MINT_LEN
from reev.chain.layouts import MINT_LAYOUT
from reev.chain.protocol import Chain
from reev.constants import TOKEN_PROGRAM
from reev.defi.pools import (
    PoolPlan,
    build_pool,
    ensure_known_mint,
    fund_creator,
    has_amm,
)
from reev.spec.known_mints import KNOWN_MINTS
from reev.units import to_base_units

_BY_SYMBOL = {m.symbol: m.address for m in KNOWN_MINTS.values()}
SOL, USDC, USDT = _BY_SYMBOL["wSOL"], _BY_SYMBOL["USDC"], _BY_SYMBOL["USDT"]
JUP, BONK = _BY_SYMBOL["JUP"], _BY_SYMBOL["BONK"]


@dataclass(frozen=True)
class MarketPool:
    name: str
    mints: tuple[str, str]
    reserves: tuple[str, str]  # token units
    fee_bps: int


MARKET_POOLS: tuple[MarketPool, ...] = (
    MarketPool("MARKET_SOL_USDC_POOL", (SOL, USDC), ("10000", "1500000"), 30),
    MarketPool("MARKET_SOL_USDT_POOL", (SOL, USDT), ("10000", "1500000"), 30),
    MarketPool("MARKET_USDC_USDT_POOL", (USDC, USDT), ("1000000", "1000000"), 5),
    MarketPool("MARKET_JUP_USDC_POOL", (JUP, USDC), ("1000000", "800000"), 30),
    MarketPool("MARKET_BONK_SOL_POOL", (BONK, SOL), ("75000000000", "10000"), 30),
)


def market_keypair(name: str) -> Keypair:
    """The fixed keypair of a default-market account (its pools and their creator)."""
    return Keypair.from_seed(hashlib.sha256(f"reev/default-market/{name}".encode()).digest())


MARKET_CREATOR = market_keypair("POOL_CREATOR_WALLET")


def market_pool_address(name: str) -> Pubkey:
    return market_keypair(name).pubkey()


def market_reserves(pool: MarketPool) -> tuple[int, int]:
    """A market pool's reserves in base units, in the order of `pool.mints`."""
    a, b = (
        to_base_units(r, KNOWN_MINTS[m].decimals)
        for r, m in zip(pool.reserves, pool.mints, strict=True)
    )
    return a, b


@dataclass(frozen=True)
class _Snapshot:
    accounts: tuple[tuple[Pubkey, Account], ...]  # pools, vaults, LP mints, creator's accounts
    mints: tuple[tuple[Pubkey, Account], ...]  # each mint, supply 0, for episodes without it


_lock = threading.Lock()
_snapshot: _Snapshot | None = None


def _build_template() -> _Snapshot:
    from reev.chain.litesvm import LiteSVMChain  # the template is always an embedded chain

    chain = LiteSVMChain()
    creator = MARKET_CREATOR
    fund_creator(chain, creator.pubkey())
    touched: list[
        Pubkey
    ] = []  # the creator's wallet is not copied: no set-up payer outlives set-up
    mints: list[Pubkey] = []
    for pool in MARKET_POOLS:
        keys = tuple(Pubkey.from_string(m) for m in pool.mints)
        for mint in keys:
            if mint not in mints:
                ensure_known_mint(chain, mint)
                mints.append(mint)
        plan = PoolPlan(
            pool.name,
            market_keypair(pool.name),
            (keys[0], keys[1]),
            market_reserves(pool),
            pool.fee_bps,
        )
        state = build_pool(chain, plan, creator)
        touched += [plan.keypair.pubkey(), state.lp_mint, state.vault_a, state.vault_b]
        touched.append(get_associated_token_address(creator.pubkey(), state.lp_mint, TOKEN_PROGRAM))
    accounts = []
    for address in dict.fromkeys(touched):
        account = chain.get_account(address)
        if account is not None:
            accounts.append((address, account))
    captured = []
    for mint in mints:
        account = chain.get_account(mint)
        assert account is not None
        captured.append((mint, without_supply(account)))
    return _Snapshot(tuple(accounts), tuple(captured))


def without_supply(account: Account) -> Account:
    """A mint account with its supply set to zero (the market's reserves are not counted)."""
    data = bytes(account.data)
    base = {**MINT_LAYOUT.parse(data[:MINT_LEN]), "supply": 0}
    return Account(
        lamports=account.lamports,
        data=MINT_LAYOUT.build(base) + data[MINT_LEN:],
        owner=account.owner,
        executable=account.executable,
        rent_epoch=account.rent_epoch,
    )


def _template() -> _Snapshot:
    global _snapshot
    with _lock:
        if _snapshot is None:
            _snapshot = _build_template()
        return _snapshot


def market_addresses() -> frozenset[Pubkey]:
    """Every account the default markets may put into an episode: the AMM's pools, vaults, LP
    mints, the creator's LP accounts, the well-known mints they create when an episode lacks
    them, and reev Lend's default market (`reev.defi.lend.default_market.lending_addresses`)."""
    from reev.defi.lend.default_market import lending_addresses  # it builds on this module

    snapshot = _template()
    return (
        frozenset(
            [address for address, _ in snapshot.accounts] + [mint for mint, _ in snapshot.mints]
        )
        | lending_addresses()
    )


def install_default_market(chain: Chain) -> bool:
    """Copy the default market into an embedded, non-fork chain; False when it gets none."""
    from reev.chain.litesvm import LiteSVMChain

    if not isinstance(chain, LiteSVMChain) or chain.source is not None or not has_amm(chain):
        return False
    snapshot = _template()
    for mint, account in snapshot.mints:
        if chain.get_account(mint) is None:
            chain.set_account(mint, account)
    for address, account in snapshot.accounts:
        chain.set_account(address, account)
    return True
