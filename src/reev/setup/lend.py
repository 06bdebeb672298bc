"""reev Lend at episode set-up: the default lending market, the share positions a benchmark's
`initial_state` hands out (backed by real deposits), and the positions its `lending:` section
declares for other wallets (docs/lending.md, "The default market" and "Positions declared by a
benchmark").

Declared positions are opened by real transactions of the program, signed by each position's
wallet (its keypair derives from the placeholder), so the vaults' utilisation, rates and share
prices are the program's own: first every deposit, then every collateral deposit, then every
borrow. An environment wallet pays the fees; the position's wallet pays only its obligation's
rent, which set-up credits to it first, so a wallet declared in `initial_state` ends set-up with
the lamports the file gives it.
"""

from __future__ import annotations

import dataclasses
import re

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
)

from reev.chain.accounts import ACCOUNT_LEN, decode_token_account, pack_token_account
from reev.chain.protocol import Chain
from reev.constants import NATIVE_MINT, TOKEN_PROGRAM
from reev.defi.lend import instructions as lend
from reev.defi.lend.default_market import (
    ADMIN_LAMPORTS,
    CLOSE_FACTOR_BPS,
    DEFAULT_RESERVES,
    DefaultReserve,
    LendSetupError,
    back_shares,
    default_keypair,
    install_default_lending,
)
from reev.defi.lend.events import current_slot
from reev.defi.lend.layout import LEND_PROGRAM_ID, OBLIGATION_LEN, LendError
from reev.defi.lend.reader import MarketView, read_market
from reev.defi.pools import add_supply
from reev.setup.errors import SetupError
from reev.spec.known_mints import LEND_ASSETS
from reev.spec.models import Benchmark, LendAmount, LendPosition
from reev.spec.placeholders import KeyMap
from reev.units import to_base_units

_PROGRAM_ERROR = re.compile(rf"\({LEND_PROGRAM_ID}\) failed: custom program error (0x[0-9a-f]+)")
_GONE = Account(0, b"", SYSTEM_PROGRAM, executable=False, rent_epoch=0)


def needs_lending(benchmark: Benchmark, shares: list[tuple[Pubkey, int]]) -> str | None:
    """What of the benchmark needs reev Lend's default market (the `lend` tag, share
    accounts, declared positions, oracle price events, a solution calling a lending tool or a
    prompt naming one), or None."""
    if "lend" in benchmark.tags:
        return f"{benchmark.id} (tagged `lend`)"
    if shares:
        return f"the share account {shares[0][0]}"
    if benchmark.lending is not None and benchmark.lending.positions:
        return "lending.positions"
    if benchmark.lending is not None and (
        benchmark.lending.reserves or benchmark.lending.close_factor_bps is not None
    ):
        return "the lending market's declared parameters"
    steps = benchmark.flow or []
    if any(event.set_price is not None for step in steps for event in step.events):
        return "a set_price event"
    calls = [*(benchmark.solution or []), *(c for s in steps for c in s.solution or [])]
    lending = next((c.tool for c in calls if _LENDING_TOOL.fullmatch(c.tool)), None)
    if lending:
        return f"the solution's {lending} call"
    for text in (benchmark.prompt, *(step.prompt for step in steps)):
        named = _LENDING_TOOL.search(text)
        if named:  # the original 114: "Please use the jupiter_earn tool"
            return f"a prompt naming {named.group(0)}"
    return None


# the lending tools' names (reev.tools.lend, docs/tools.md "Lending")
_LENDING_TOOL = re.compile(
    r"\b(?:jupiter_lend_earn_\w+|lend_\w+|jupiter_earn|get_lend_positions)\b"
)


def build_lending(
    chain: Chain, shares: list[tuple[Pubkey, int]], benchmark: Benchmark, keys: KeyMap
) -> None:
    """Copy the default lending market into the episode, back each `(share account, amount)`
    with a `Deposit` of `amount` assets at price 1, then open the declared positions. A chain
    without the market (a fork, an RPC chain) cannot run a benchmark that needs it: a
    SetupError names what needs it and why the chain has none."""
    view = install_default_lending(chain, *declared_market(benchmark))
    if view is None:
        needed = needs_lending(benchmark, shares)
        if needed is not None:
            raise SetupError(
                f"{needed} needs reev Lend's default market, which only the embedded chain has: "
                "on a fork or an RPC chain the jlUSDC / jlSOL addresses are mainnet's Jupiter Lend "
                'accounts, not reev Lend\'s (docs/lending.md, "Forks and RPC chains"); run '
                "lending benchmarks without --fork-url / --chain rpc"
            )
        return
    backed = [(account, amount) for account, amount in shares if amount > 0]
    for account, amount in backed:
        try:
            back_shares(chain, view, account, amount)
        except LendSetupError as exc:
            raise SetupError(f"{account}: {exc}") from None
    positions = benchmark.lending.positions if benchmark.lending is not None else []
    if positions:
        _open_positions(chain, view.address, positions, keys)
    if backed or positions:  # like every set-up payer, the funder does not outlive set-up
        funder = default_keypair("funder").pubkey()
        for _, state in view.reserves:
            chain.set_account(get_associated_token_address(funder, state.asset_mint), _GONE)
        chain.set_account(funder, _GONE)


def declared_market(benchmark: Benchmark) -> tuple[tuple[DefaultReserve, ...], int]:
    """The default market's reserves and close factor with the benchmark's `lending:`
    parameters applied (the defaults where it declares none)."""
    lending = benchmark.lending
    if lending is None:
        return DEFAULT_RESERVES, CLOSE_FACTOR_BPS
    declared = {reserve.mint: reserve for reserve in lending.reserves}
    reserves = []
    for spec in DEFAULT_RESERVES:
        change = declared.get(str(spec.asset_mint))
        if change is not None:
            price = change.oracle_price
            spec = dataclasses.replace(
                spec, config=change.apply(spec.config), price=spec.price if price is None else price
            )
        reserves.append(spec)
    close_factor = lending.close_factor_bps
    return tuple(reserves), CLOSE_FACTOR_BPS if close_factor is None else close_factor


def _base_units(entry: LendAmount) -> int:
    return to_base_units(entry.amount, LEND_ASSETS[entry.mint].decimals)


def _add_lamports(chain: Chain, address: Pubkey, lamports: int) -> None:
    held = chain.get_account(address)
    if held is None:
        chain.set_account(address, Account(lamports, b"", SYSTEM_PROGRAM, False, 0))
        return
    chain.set_account(
        address,
        Account(
            held.lamports + lamports, bytes(held.data), held.owner, held.executable, held.rent_epoch
        ),
    )


def _credit_tokens(chain: Chain, owner: Pubkey, mint: Pubkey, amount: int) -> Pubkey:
    """Give `owner`'s associated token account of `mint` `amount` more (created when missing;
    wSOL backed by lamports); the mint's supply grows by it (the native mint's never does)."""
    address = get_associated_token_address(owner, mint)
    rent = chain.rent_exempt_minimum(ACCOUNT_LEN)
    native = mint == NATIVE_MINT
    held = chain.get_account(address)
    before = decode_token_account(bytes(held.data)).amount if held is not None else 0
    lamports = (held.lamports if held is not None else rent) + (amount if native else 0)
    data = pack_token_account(
        mint=mint, owner=owner, amount=before + amount, native_rent=rent if native else None
    )
    chain.set_account(address, Account(lamports, data, TOKEN_PROGRAM, False, 0))
    add_supply(chain, mint, amount)
    return address


def _send(chain: Chain, what: str, instructions: list, wallet: Keypair) -> None:
    funder = default_keypair("funder")
    if chain.get_account(funder.pubkey()) is None:
        _add_lamports(chain, funder.pubkey(), ADMIN_LAMPORTS)
    result = chain.send(instructions, funder, [wallet])
    if not result.success:
        code = _PROGRAM_ERROR.search(result.error or "")
        named = f" ({LendError(int(code.group(1), 16)).doc_name})" if code else ""
        raise SetupError(f"{what} failed on chain: {result.error}{named}")


def _open_positions(
    chain: Chain, market: Pubkey, positions: list[LendPosition], keys: KeyMap
) -> None:
    def view() -> MarketView:
        return read_market(chain, market, current_slot(chain))

    def wallet_of(position: LendPosition) -> Keypair:
        keypair = keys.keypairs.get(keys.resolve(position.wallet))
        if keypair is None:  # validated at load; a derived account has no keypair
            raise SetupError(
                f"lending.positions: {position.wallet} is not a wallet set-up can sign for"
            )
        return keypair

    funder = default_keypair("funder").pubkey()
    for number, position in enumerate(positions):
        wallet = wallet_of(position)
        for item, entry in enumerate(position.deposit):
            where = f"lending.positions[{number}].deposit[{item}] ({entry.amount} of {entry.mint})"
            current = view()
            reserve, state = current.reserves[current.index_of(Pubkey.from_string(entry.mint))]
            amount = _base_units(entry)
            source = _credit_tokens(chain, wallet.pubkey(), state.asset_mint, amount)
            shares = get_associated_token_address(wallet.pubkey(), state.share_mint)
            create = create_idempotent_associated_token_account(
                funder, wallet.pubkey(), state.share_mint
            )
            ix = lend.deposit(wallet.pubkey(), reserve, state, source, shares, amount)
            _send(chain, where, [create, ix], wallet)
    for number, position in enumerate(positions):
        wallet = wallet_of(position)
        for item, entry in enumerate(position.collateral):
            where = (
                f"lending.positions[{number}].collateral[{item}] ({entry.amount} of {entry.mint})"
            )
            current = view()
            setup = []
            if wallet.pubkey() not in current.obligations:
                _add_lamports(chain, wallet.pubkey(), chain.rent_exempt_minimum(OBLIGATION_LEN))
                setup.append(lend.init_obligation(wallet.pubkey(), market))
            reserve, state = current.reserves[current.index_of(Pubkey.from_string(entry.mint))]
            amount = _base_units(entry)
            source = _credit_tokens(chain, wallet.pubkey(), state.asset_mint, amount)
            ix = lend.deposit_collateral(wallet.pubkey(), market, reserve, state, source, amount)
            _send(chain, where, [*setup, ix], wallet)
    for number, position in enumerate(positions):
        wallet = wallet_of(position)
        for item, entry in enumerate(position.borrow):
            where = f"lending.positions[{number}].borrow[{item}] ({entry.amount} of {entry.mint})"
            current = view()
            index = current.index_of(Pubkey.from_string(entry.mint))
            reserve, state = current.reserves[index]
            receiver = _credit_tokens(chain, wallet.pubkey(), state.asset_mint, 0)
            pairs = current.pairs(wallet.pubkey(), index)
            ix = lend.borrow(
                wallet.pubkey(), market, reserve, state, receiver, _base_units(entry), pairs
            )
            _send(chain, where, [ix], wallet)
