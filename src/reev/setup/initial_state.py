"""Materialise a benchmark's `initial_state` on a chain.

Accounts are written directly (as surfpool's `surfnet_setAccount` does) rather than built by
transactions: a benchmark may hold USDC, whose mint authority nobody in the episode has.
Token-2022 mints with extensions are the exception: `reev.setup.token2022` builds them, and
their token accounts, with real transactions. So are vote and stake accounts
(`reev.setup.stake`).
"""

from __future__ import annotations

from solders.account import Account
from solders.pubkey import Pubkey

from reev.chain.accounts import ACCOUNT_LEN, MINT_LEN, pack_mint, pack_token_account
from reev.chain.protocol import Chain
from reev.constants import NATIVE_MINT, TOKEN_PROGRAM, U64_MAX
from reev.setup.errors import SetupError
from reev.setup.lend import build_lending
from reev.setup.pools import build_pools
from reev.setup.stake import build_stake_accounts, is_built_here
from reev.setup.token2022 import build_extension_mints, extension_mints
from reev.spec.known_mints import KNOWN_MINTS, LEND_SHARE_MINTS, program_id_for
from reev.spec.models import Benchmark
from reev.spec.placeholders import KeyMap


def _mint_plan(benchmark: Benchmark, keys: KeyMap) -> dict[Pubkey, dict]:
    """Every mint the episode needs, with decimals, program, authorities and supply."""
    plan: dict[Pubkey, dict] = {}
    for declared in benchmark.mints:
        address = keys.resolve(declared.address)
        plan[address] = {
            "decimals": declared.decimals,
            "program": Pubkey.from_string(program_id_for(declared.program)),
            "mint_authority": keys.resolve(declared.mint_authority)
            if declared.mint_authority
            else None,
            "freeze_authority": keys.resolve(declared.freeze_authority)
            if declared.freeze_authority
            else None,
            "supply": declared.supply,
        }
    for account in benchmark.initial_state:
        if account.data is None:
            continue
        mint = keys.resolve(account.data.mint)
        if mint in plan or str(mint) in LEND_SHARE_MINTS:
            continue  # share mints come with the lending market (reev.setup.lend)
        known = KNOWN_MINTS.get(str(mint))
        if known is None:
            raise SetupError(
                f"{account.pubkey}: mint {account.data.mint} is not a well-known mint; declare it "
                "under `mints:` with its decimals"
            )
        plan[mint] = {
            "decimals": known.decimals,
            "program": Pubkey.from_string(known.program),
            "mint_authority": None,
            "freeze_authority": None,
            "supply": None,
        }
    # The native mint always exists on a real cluster; wrapping SOL needs it.
    plan.setdefault(
        NATIVE_MINT,
        {
            "decimals": 9,
            "program": TOKEN_PROGRAM,
            "mint_authority": None,
            "freeze_authority": None,
            "supply": 0,
        },
    )
    return plan


def _write_share_account(
    chain: Chain, address: Pubkey, program: Pubkey, mint: Pubkey, owner: Pubkey
) -> None:
    """A share token account with amount 0: `back_shares` deposits what it should hold."""
    if program != TOKEN_PROGRAM:
        raise SetupError(
            f"{address}: a share account of {mint} belongs to SPL Token, not {program}"
        )
    chain.set_account(
        address,
        Account(
            lamports=chain.rent_exempt_minimum(ACCOUNT_LEN),
            data=pack_token_account(mint=mint, owner=owner, amount=0),
            owner=program,
            executable=False,
            rent_epoch=0,
        ),
    )


def build_initial_state(chain: Chain, benchmark: Benchmark, keys: KeyMap) -> None:
    """Write every declared account and the mints they refer to."""
    mints = _mint_plan(benchmark, keys)
    by_transactions = extension_mints(benchmark, keys)  # Token-2022 mints with extensions
    supply_from_accounts: dict[Pubkey, int] = dict.fromkeys(mints, 0)
    shares: list[tuple[Pubkey, int]] = []  # share accounts, backed after the market exists
    token_rent = chain.rent_exempt_minimum(ACCOUNT_LEN)

    for account in benchmark.initial_state:
        if is_built_here(account):
            continue  # a vote or stake account: build_stake_accounts, below
        address = keys.resolve(account.pubkey)
        owner = keys.resolve(account.owner)
        if account.data is None:
            chain.set_account(
                address,
                Account(
                    lamports=account.lamports or 0,
                    data=b"",
                    owner=owner,
                    executable=False,
                    rent_epoch=0,
                ),
            )
            continue
        mint = keys.resolve(account.data.mint)
        if str(mint) in LEND_SHARE_MINTS and mint not in mints:
            shares.append((address, account.data.amount))
            _write_share_account(chain, address, owner, mint, keys.resolve(account.data.owner))
            continue
        program = mints[mint]["program"]
        if owner != program:
            raise SetupError(
                f"{account.pubkey}: token account owned by {owner}, but its mint belongs to {program}"
            )
        if mint in by_transactions:
            continue  # built with its mint by build_extension_mints, below
        supply_from_accounts[mint] += account.data.amount
        is_native = mint == NATIVE_MINT
        lamports = max(account.lamports or 0, token_rent)
        if is_native:
            # Wrapped SOL: the token amount is backed by lamports above the rent reserve.
            lamports = token_rent + account.data.amount
        chain.set_account(
            address,
            Account(
                lamports=lamports,
                data=pack_token_account(
                    mint=mint,
                    owner=keys.resolve(account.data.owner),
                    amount=account.data.amount,
                    delegate=keys.resolve(account.data.delegate) if account.data.delegate else None,
                    delegated_amount=account.data.delegated_amount,
                    frozen=account.data.state == "frozen",
                    native_rent=token_rent if is_native else None,
                ),
                owner=program,
                executable=False,
                rent_epoch=0,
            ),
        )

    mint_rent = chain.rent_exempt_minimum(MINT_LEN)
    for mint, spec in mints.items():
        if mint in by_transactions:
            continue
        held = supply_from_accounts[mint]
        if held > U64_MAX:
            raise SetupError(f"mint {mint}: the token accounts hold {held} in all, more than a u64")
        if spec["supply"] is not None and spec["supply"] < held and mint != NATIVE_MINT:
            raise SetupError(
                f"mint {mint}: declared supply {spec['supply']} is less than the {held} the accounts hold"
            )
        supply = spec["supply"] if spec["supply"] is not None else held
        if mint == NATIVE_MINT:
            supply = 0  # the native mint's supply is always zero on a real cluster
        chain.set_account(
            mint,
            Account(
                lamports=mint_rent,
                data=pack_mint(
                    decimals=spec["decimals"],
                    supply=supply,
                    mint_authority=spec["mint_authority"],
                    freeze_authority=spec["freeze_authority"],
                ),
                owner=spec["program"],
                executable=False,
                rent_epoch=0,
            ),
        )
    build_extension_mints(chain, benchmark, keys)
    build_stake_accounts(chain, benchmark, keys)
    build_pools(chain, benchmark, keys)  # declared pools, or the default market
    build_lending(chain, shares, benchmark, keys)  # the lending market, shares, positions
