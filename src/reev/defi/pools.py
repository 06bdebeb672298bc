"""Pools at episode set-up: built by real AMM transactions, then ordinary chain state.

For each pool a benchmark declares under `pools:` (or, with none declared, for the default
market of `reev.defi.market`):

1. a pool-creator wallet (the hidden placeholder `POOL_CREATOR_WALLET`, its keypair derived like
   every other placeholder's) is funded with SOL for rents and fees (and emptied at the end:
   like every set-up payer it does not outlive set-up), and its token accounts of
   the pool's mints are written directly with the reserves, exactly as `reev.setup`
   writes declared token accounts (the tokens are added to the mint's supply; a wSOL account is
   backed by lamports). For a Token-2022 mint with a transfer fee the creator holds the gross
   amount whose transfer leaves the declared reserve in the vault;
2. `create_pool` (System `CreateAccount` of the pool, signed by the pool's derived key; the two
   vaults; `InitializePool`) runs as one transaction, `add_liquidity` (the creator's LP account,
   the first deposit) as a second, which also closes the creator's emptied token accounts.

The pool, its vaults, its LP mint and the creator's LP tokens are then whatever the AMM wrote:
agents see them only through tools and RPC, never in the observation's named addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import (
    close_account,
    create_idempotent_associated_token_account,
    get_associated_token_address,
)
from spl.token.models import CloseAccountParams

from reev.chain.accounts import (
    EXTENSION_TRANSFER_FEE_AMOUNT,
    MINT_LEN,
    decode_mint,
    pack_mint,
    pack_token_account,
)
from reev.chain.layouts import MINT_LAYOUT
from reev.chain.protocol import Chain
from reev.chain.token2022 import gross_for_net
from reev.constants import NATIVE_MINT, SYSTEM_PROGRAM, TOKEN_PROGRAM, U64_MAX
from reev.defi.amm.instructions import add_liquidity, create_pool
from reev.defi.amm.layout import AMM_PROGRAM_ID, POOL_LEN, PoolState, order_mints
from reev.errors import InputError
from reev.spec.known_mints import KNOWN_MINTS

CREATOR_LAMPORTS = 100 * 10**9  # rents and fees of the set-up transactions
_EXTENSION_IMMUTABLE_OWNER = 7
_ACCOUNT_TYPE_ACCOUNT = 2


@dataclass(frozen=True)
class PoolPlan:
    """One pool to build: its key, its mints and the reserves (base units) the vaults get."""

    name: str
    keypair: Keypair
    mints: tuple[Pubkey, Pubkey]
    reserves: tuple[int, int]
    fee_bps: int


class PoolError(InputError):
    """A pool cannot be built as declared (a missing mint, an account in the way, a failing
    set-up transaction). `reev.setup` reports it as a `SetupError` of the benchmark."""


def has_amm(chain: Chain) -> bool:
    """Whether the chain has reev's AMM loaded (an RPC chain against another node may not)."""
    program = chain.get_account(AMM_PROGRAM_ID)
    return program is not None and program.executable


def ensure_known_mint(chain: Chain, mint: Pubkey) -> None:
    """Write a well-known mint (no authorities, supply 0) when the episode does not have it."""
    if chain.get_account(mint) is not None:
        return
    known = KNOWN_MINTS.get(str(mint))
    if known is None:
        raise PoolError(f"mint {mint} does not exist and is not a well-known mint")
    chain.set_account(
        mint,
        Account(
            lamports=chain.rent_exempt_minimum(MINT_LEN),
            data=pack_mint(
                decimals=known.decimals, supply=0, mint_authority=None, freeze_authority=None
            ),
            owner=Pubkey.from_string(known.program),
            executable=False,
            rent_epoch=0,
        ),
    )


def add_supply(chain: Chain, mint: Pubkey, amount: int) -> None:
    """Raise a mint's supply by tokens written into an account (never the native mint's)."""
    if mint == NATIVE_MINT or amount == 0:
        return
    account = chain.get_account(mint)
    assert account is not None
    data = bytes(account.data)
    supply = decode_mint(data).supply + amount
    if supply > U64_MAX:
        raise PoolError(f"mint {mint}: the pools' reserves push its supply past a u64")
    base = {**MINT_LAYOUT.parse(data[:MINT_LEN]), "supply": supply}
    chain.set_account(
        mint,
        Account(
            lamports=account.lamports,
            data=MINT_LAYOUT.build(base) + data[MINT_LEN:],
            owner=account.owner,
            executable=account.executable,
            rent_epoch=account.rent_epoch,
        ),
    )


def _write_token_account(
    chain: Chain, owner: Pubkey, mint: Pubkey, program: Pubkey, amount: int, fee_mint: bool
) -> None:
    """The owner's associated token account holding `amount` (written as set-up writes any)."""
    address = get_associated_token_address(owner, mint, program)
    data = pack_token_account(mint=mint, owner=owner, amount=amount)
    if fee_mint:
        # what the ATA program leaves under Token-2022 for a transfer-fee mint: the account-type
        # byte, ImmutableOwner (empty) and TransferFeeAmount (withheld 0)
        data += bytes([_ACCOUNT_TYPE_ACCOUNT])
        data += _EXTENSION_IMMUTABLE_OWNER.to_bytes(2, "little") + bytes(2)
        data += EXTENSION_TRANSFER_FEE_AMOUNT.to_bytes(2, "little") + (8).to_bytes(2, "little")
        data += bytes(8)
    rent = chain.rent_exempt_minimum(len(data))
    native = mint == NATIVE_MINT
    if native:
        data = pack_token_account(mint=mint, owner=owner, amount=amount, native_rent=rent)
    chain.set_account(
        address,
        Account(
            lamports=rent + amount if native else rent,
            data=data,
            owner=program,
            executable=False,
            rent_epoch=0,
        ),
    )
    add_supply(chain, mint, amount)


def build_pool(chain: Chain, plan: PoolPlan, creator: Keypair) -> PoolState:
    """Build one pool with real transactions (see the module docstring); returns its state."""
    pool = plan.keypair.pubkey()
    if chain.get_account(pool) is not None:
        raise PoolError(f"pool {plan.name}: an account already exists at {pool}")
    ordered = order_mints(*plan.mints)
    reserves = dict(zip(plan.mints, plan.reserves, strict=True))
    programs: list[Pubkey] = []
    deposits: list[int] = []
    for mint in ordered:
        account = chain.get_account(mint)
        if account is None:
            raise PoolError(f"pool {plan.name}: mint {mint} does not exist")
        info = decode_mint(bytes(account.data))
        fee_bps, fee_max = info.transfer_fee_basis_points or 0, info.transfer_fee_maximum or 0
        deposit = gross_for_net(reserves[mint], fee_bps, fee_max)
        _write_token_account(
            chain, creator.pubkey(), mint, account.owner, deposit, fee_bps > 0 and fee_max > 0
        )
        programs.append(account.owner)
        deposits.append(deposit)

    def send(what: str, instructions: list, signers: list[Keypair]) -> None:
        result = chain.send(instructions, creator, signers)
        if not result.success:
            logs = "; ".join(result.logs[-4:])
            raise PoolError(f"pool {plan.name}: {what} failed: {result.error} ({logs})")

    rent = chain.rent_exempt_minimum(POOL_LEN)
    send(
        "create_pool",
        create_pool(
            creator.pubkey(),
            pool,
            ordered[0],
            ordered[1],
            programs[0],
            programs[1],
            plan.fee_bps,
            rent,
        ),
        [plan.keypair],
    )
    state = read_pool(chain, pool)
    user_a = get_associated_token_address(creator.pubkey(), ordered[0], programs[0])
    user_b = get_associated_token_address(creator.pubkey(), ordered[1], programs[1])
    user_lp = get_associated_token_address(creator.pubkey(), state.lp_mint, TOKEN_PROGRAM)
    send(
        "add_liquidity",
        [
            create_idempotent_associated_token_account(
                creator.pubkey(), creator.pubkey(), state.lp_mint, TOKEN_PROGRAM
            ),
            add_liquidity(
                creator.pubkey(),
                pool,
                state,
                user_a,
                user_b,
                user_lp,
                deposits[0],
                deposits[1],
                0,
            ),
            # the creator's token accounts are empty now: close them, only the LP tokens stay
            *(
                close_account(
                    CloseAccountParams(
                        program_id=program,
                        account=account,
                        dest=creator.pubkey(),
                        owner=creator.pubkey(),
                    )
                )
                for account, program in ((user_a, programs[0]), (user_b, programs[1]))
            ),
        ],
        [],
    )
    return read_pool(chain, pool)


def read_pool(chain: Chain, pool: Pubkey) -> PoolState:
    account = chain.get_account(pool)
    if account is None or account.owner != AMM_PROGRAM_ID:
        raise PoolError(f"no AMM pool at {pool}")
    return PoolState.decode(bytes(account.data))


def fund_creator(chain: Chain, creator: Pubkey) -> None:
    chain.set_account(
        creator,
        Account(
            lamports=CREATOR_LAMPORTS,
            data=b"",
            owner=SYSTEM_PROGRAM,
            executable=False,
            rent_epoch=0,
        ),
    )
