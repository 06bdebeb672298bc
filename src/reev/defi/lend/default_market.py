"""reev Lend's default market (docs/lending.md, "The default market") and the set-up step that
backs shares an `initial_state` hands out.

Everything goes through the program by real transactions except what no transaction can make:
the oracles (the environment is the oracle network) and the share mints at the jlUSDC / jlSOL
addresses, which nobody has the key of; those are written as empty mints whose mint authority
is the reserve's PDA, and `InitReserve` then adopts them like any share mint. Addresses derive
from fixed names (`default_keypair`), the same in every episode and seed.

The market is built once per process on a template chain (`install_default_lending` copies
its accounts into each embedded episode, as `reev.defi.market` does for the AMM's pools), and
`reev.setup.initial_state` backs the share accounts a benchmark declares with `back_shares`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import pack_token_account
from reev.chain.protocol import Chain
from reev.constants import NATIVE_MINT, SYSTEM_PROGRAM, TOKEN_PROGRAM
from reev.defi.lend import instructions as lend
from reev.defi.lend.layout import (
    JL_SOL_MINT,
    JL_USDC_MINT,
    LEND_PROGRAM_ID,
    MARKET_LEN,
    ORACLE_LEN,
    RESERVE_LEN,
    USDC_MINT,
    OracleState,
    ReserveConfig,
    default_keypair,
    share_mint_data,
)
from reev.defi.lend.reader import MarketView, read_market
from reev.defi.market import without_supply
from reev.defi.pools import add_supply, ensure_known_mint
from reev.errors import InfrastructureError

USD = 10**8  # oracle prices are USD × 10^8
CLOSE_FACTOR_BPS = 5_000
ADMIN_LAMPORTS = 10 * 10**9


class LendSetupError(InfrastructureError):
    """A set-up transaction of the default market failed (a bug, not a benchmark error)."""


@dataclass(frozen=True)
class DefaultReserve:
    name: str
    asset_mint: Pubkey
    share_mint: Pubkey
    decimals: int
    price: int
    config: ReserveConfig


DEFAULT_RESERVES = (
    DefaultReserve(
        "USDC",
        USDC_MINT,
        JL_USDC_MINT,
        6,
        1 * USD,
        ReserveConfig(8000, 8500, 500, 8000, 0, 800, 10_000, 150),
    ),
    DefaultReserve(
        "SOL",
        NATIVE_MINT,
        JL_SOL_MINT,
        9,
        150 * USD,
        ReserveConfig(7500, 8000, 500, 8000, 0, 700, 20_000, 150),
    ),
)


def admin() -> Keypair:
    return default_keypair("admin")


def market_address() -> Pubkey:
    return default_keypair("market").pubkey()


def reserve_keypair(reserve: DefaultReserve) -> Keypair:
    return default_keypair(f"reserve {reserve.name}")


def oracle_address(reserve: DefaultReserve) -> Pubkey:
    return default_keypair(f"oracle {reserve.name}").pubkey()


def _send(
    chain: Chain, instructions: list[Instruction], payer: Keypair, signers: list[Keypair]
) -> None:
    result = chain.send(instructions, payer, signers)
    if not result.success:
        raise LendSetupError(f"reev Lend set-up failed: {result.error} {result.logs[-3:]}")


def _fund(chain: Chain, address: Pubkey, lamports: int) -> None:
    chain.set_account(address, Account(lamports, b"", SYSTEM_PROGRAM, False, 0))


def write_oracle(chain: Chain, address: Pubkey, mint: Pubkey, price: int, slot: int) -> None:
    """Publish `price` (USD × 10^8 per whole token) at `slot`: what set-up and a flow step's
    price event do."""
    data = OracleState(mint, price, slot).encode()
    chain.set_account(
        address, Account(chain.rent_exempt_minimum(ORACLE_LEN), data, LEND_PROGRAM_ID, False, 0)
    )


def build_default_market(
    chain: Chain,
    slot: int,
    reserves: tuple[DefaultReserve, ...] = DEFAULT_RESERVES,
    close_factor_bps: int = CLOSE_FACTOR_BPS,
) -> MarketView:
    """Create the default market on `chain` (the Lend program loaded, the clock at `slot`);
    `reserves` / `close_factor_bps` replace the default parameters (same assets, addresses)."""
    payer = admin()
    _fund(chain, payer.pubkey(), ADMIN_LAMPORTS)
    market = default_keypair("market")
    rent = chain.rent_exempt_minimum
    _send(chain, lend.create_market(payer.pubkey(), market.pubkey(), close_factor_bps, rent(MARKET_LEN)), payer, [market])  # fmt: skip
    for spec in reserves:
        ensure_known_mint(chain, spec.asset_mint)
        reserve = reserve_keypair(spec)
        oracle = oracle_address(spec)
        write_oracle(chain, oracle, spec.asset_mint, spec.price, slot)
        chain.set_account(
            spec.share_mint,
            Account(
                rent(82),
                share_mint_data(reserve.pubkey(), spec.decimals),
                TOKEN_PROGRAM,
                False,
                0,
            ),
        )
        ixs = lend.create_reserve(
            payer.pubkey(), market.pubkey(), reserve.pubkey(), spec.asset_mint, spec.share_mint,
            oracle, spec.config, decimals=spec.decimals, reserve_rent=rent(RESERVE_LEN),
            share_mint_rent=None,
        )  # fmt: skip
        _send(chain, ixs, payer, [reserve])
    return read_market(chain, market.pubkey(), slot)


def back_shares(chain: Chain, view: MarketView, receiver: Pubkey, amount: int) -> int:
    """Back `amount` shares in `receiver` (an existing share token account of one of the
    market's reserves) by a real `Deposit` of `amount` assets from an environment wallet no
    agent can sign for. At a share price of exactly 1 (no interest yet) that mints exactly
    `amount` shares; returns the shares minted (LendSetupError when they differ)."""
    account = chain.get_account(receiver)
    if account is None:
        raise LendSetupError(f"share account {receiver} does not exist")
    share_mint = Pubkey.from_bytes(bytes(account.data)[:32])
    index = view.index_of(share_mint)
    reserve, state = view.reserves[index]
    funder = default_keypair("funder")
    _fund(chain, funder.pubkey(), ADMIN_LAMPORTS)
    source = get_associated_token_address(funder.pubkey(), state.asset_mint)
    native = state.asset_mint == NATIVE_MINT
    rent = chain.rent_exempt_minimum(165)
    data = pack_token_account(
        mint=state.asset_mint,
        owner=funder.pubkey(),
        amount=amount,
        native_rent=rent if native else None,
    )
    chain.set_account(
        source, Account(rent + amount if native else rent, data, TOKEN_PROGRAM, False, 0)
    )
    add_supply(chain, state.asset_mint, amount)
    before = int.from_bytes(bytes(account.data)[64:72], "little")
    _send(
        chain, [lend.deposit(funder.pubkey(), reserve, state, source, receiver, amount)], funder, []
    )
    after_account = chain.get_account(receiver)
    assert after_account is not None
    minted = int.from_bytes(bytes(after_account.data)[64:72], "little") - before
    if minted != amount:
        raise LendSetupError(f"backing {amount} shares minted {minted}: the share price is not 1")
    return minted


@dataclass(frozen=True)
class _Snapshot:
    accounts: tuple[tuple[Pubkey, Account], ...]  # market, reserves, vaults, share mints, oracles
    mints: tuple[tuple[Pubkey, Account], ...]  # the asset mints, supply 0, for episodes without
    oracles: tuple[tuple[Pubkey, Pubkey, int], ...]  # (oracle, mint, price) to re-publish


_lock = threading.Lock()
_snapshot: _Snapshot | None = None


def _build_template() -> _Snapshot:
    from reev.chain.litesvm import LiteSVMChain  # the template is always an embedded chain

    chain = LiteSVMChain()
    view = build_default_market(chain, chain.svm.get_clock().slot)
    addresses = [view.address]
    for reserve, state in view.reserves:
        addresses += [reserve, state.vault, state.share_mint, state.oracle]
    accounts = []
    for address in addresses:
        account = chain.get_account(address)
        assert account is not None
        accounts.append((address, account))
    mints = []
    for spec in DEFAULT_RESERVES:
        account = chain.get_account(spec.asset_mint)
        assert account is not None
        mints.append((spec.asset_mint, without_supply(account)))
    oracles = tuple((oracle_address(r), r.asset_mint, r.price) for r in DEFAULT_RESERVES)
    return _Snapshot(tuple(accounts), tuple(mints), oracles)


def _template() -> _Snapshot:
    global _snapshot
    with _lock:
        if _snapshot is None:
            _snapshot = _build_template()
        return _snapshot


def lending_addresses() -> frozenset[Pubkey]:
    """Every account the default lending market puts into an episode (the asset mints only
    when the episode lacks them)."""
    snapshot = _template()
    return frozenset([a for a, _ in snapshot.accounts] + [m for m, _ in snapshot.mints])


def has_lend(chain: Chain) -> bool:
    account = chain.get_account(LEND_PROGRAM_ID)
    return account is not None and account.executable


def install_default_lending(
    chain: Chain,
    reserves: tuple[DefaultReserve, ...] = DEFAULT_RESERVES,
    close_factor_bps: int = CLOSE_FACTOR_BPS,
) -> MarketView | None:
    """Copy the default lending market into an embedded, non-fork chain, its oracles
    published at the chain's current slot; None when the chain gets none (a fork, an RPC
    chain, or no Lend program). With other `reserves` parameters or close factor (a
    benchmark's `lending:`), the market is built on the episode's chain by the same
    transactions instead, at the same addresses, and its admin wallet removed afterwards."""
    from reev.chain.litesvm import LiteSVMChain

    if not isinstance(chain, LiteSVMChain) or chain.source is not None or not has_lend(chain):
        return None
    if reserves != DEFAULT_RESERVES or close_factor_bps != CLOSE_FACTOR_BPS:
        view = build_default_market(chain, chain.svm.get_clock().slot, reserves, close_factor_bps)
        chain.set_account(admin().pubkey(), Account(0, b"", SYSTEM_PROGRAM, False, 0))
        return view
    snapshot = _template()
    for mint, account in snapshot.mints:
        if chain.get_account(mint) is None:
            chain.set_account(mint, account)
    for address, account in snapshot.accounts:
        chain.set_account(address, account)
    slot = chain.svm.get_clock().slot
    for oracle, mint, price in snapshot.oracles:
        write_oracle(chain, oracle, mint, price, slot)
    return read_market(chain, market_address(), slot)
