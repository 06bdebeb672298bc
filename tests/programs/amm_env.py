"""A LiteSVM chain with mints, token accounts and AMM pools built by real transactions.

Everything goes through the programs (System, SPL Token, Token-2022, ATA, the AMM) with the
instruction builders of `reev.defi.amm.instructions`, so the tests exercise what a client does.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint2,
    initialize_transfer_fee_config,
    mint_to_checked,
)
from spl.token.models import (
    InitializeMint2Params,
    InitializeTransferFeeConfigParams,
    MintToCheckedParams,
)

from reev.chain.litesvm import LiteSVMChain
from reev.chain.protocol import TxResult
from reev.chain.token2022 import mint_space
from reev.constants import SYSTEM_PROGRAM, TOKEN_2022_PROGRAM, TOKEN_PROGRAM
from reev.defi.amm import instructions as amm
from reev.defi.amm.layout import POOL_LEN, AmmError, PoolState, lp_mint_address, order_mints
from reev.defi.amm.model import PoolModel, TransferFee

U64_MAX = 2**64 - 1
_CUSTOM = re.compile(r"custom program error: (0x[0-9a-f]+|\d+)", re.IGNORECASE)


def custom_error(result: TxResult) -> int | None:
    """The `custom program error: N` of a failed transaction, from its error or its logs."""
    for text in [result.error or "", *result.logs]:
        found = _CUSTOM.search(text)
        if found:
            return int(found.group(1), 0)
    return None


@dataclass(frozen=True)
class Mint:
    address: Pubkey
    program: Pubkey
    decimals: int
    fee: TransferFee | None = None


@dataclass(frozen=True)
class Pool:
    address: Pubkey
    mint_a: Mint
    mint_b: Mint


class AmmEnv:
    """One chain, one funded payer who creates everything, and helpers to read balances."""

    def __init__(self, chain: LiteSVMChain | None = None) -> None:
        self.chain = chain or LiteSVMChain()
        self.payer = Keypair.from_seed(bytes([7]) * 32)
        self.fund(self.payer.pubkey())
        self._seed = 0

    def fund(self, address: Pubkey, lamports: int = 1_000 * 10**9) -> None:
        self.chain.set_account(address, Account(lamports, b"", SYSTEM_PROGRAM, False, 0))

    def keypair(self) -> Keypair:
        """A fresh deterministic keypair (tests are reproducible)."""
        self._seed += 1
        return Keypair.from_seed(struct.pack("<Q", self._seed) + bytes(24))

    def send(self, instructions: list[Instruction], signers: list[Keypair] = ()) -> TxResult:  # type: ignore[assignment]
        return self.chain.send(instructions, self.payer, list(signers))

    def ok(self, instructions: list[Instruction], signers: list[Keypair] = ()) -> TxResult:  # type: ignore[assignment]
        result = self.send(instructions, signers)
        assert result.success, (result.error, result.logs[-6:])
        return result

    # -- tokens ----------------------------------------------------------------------------

    def mint(
        self, *, token_2022: bool = False, fee: TransferFee | None = None, decimals: int = 6
    ) -> Mint:
        keypair = self.keypair()
        program = TOKEN_2022_PROGRAM if token_2022 or fee else TOKEN_PROGRAM
        space = mint_space(transfer_fee=fee is not None)
        ixs = [
            create_account(
                CreateAccountParams(
                    from_pubkey=self.payer.pubkey(),
                    to_pubkey=keypair.pubkey(),
                    lamports=self.chain.rent_exempt_minimum(space),
                    space=space,
                    owner=program,
                )
            )
        ]
        if fee is not None:
            ixs.append(
                initialize_transfer_fee_config(
                    InitializeTransferFeeConfigParams(
                        program_id=program,
                        mint=keypair.pubkey(),
                        transfer_fee_config_authority=None,
                        withdraw_withheld_authority=None,
                        transfer_fee_basis_points=fee.basis_points,
                        maximum_fee=fee.maximum_fee,
                    )
                )
            )
        ixs.append(
            initialize_mint2(
                InitializeMint2Params(
                    decimals=decimals,
                    program_id=program,
                    mint=keypair.pubkey(),
                    mint_authority=self.payer.pubkey(),
                    freeze_authority=None,
                )
            )
        )
        self.ok(ixs, [keypair])
        return Mint(keypair.pubkey(), program, decimals, fee)

    def token_account(self, owner: Pubkey, mint: Mint, amount: int = 0) -> Pubkey:
        """The owner's associated token account of `mint`, holding `amount` (minted to it)."""
        address = get_associated_token_address(owner, mint.address, mint.program)
        ixs = [
            create_associated_token_account(self.payer.pubkey(), owner, mint.address, mint.program)
        ]
        if amount:
            ixs.append(self.mint_to_ix(mint, address, amount))
        self.ok(ixs)
        return address

    def mint_to_ix(self, mint: Mint, account: Pubkey, amount: int) -> Instruction:
        return mint_to_checked(
            MintToCheckedParams(
                program_id=mint.program,
                mint=mint.address,
                dest=account,
                mint_authority=self.payer.pubkey(),
                amount=amount,
                decimals=mint.decimals,
            )
        )

    def balance(self, account: Pubkey) -> int:
        data = self.chain.get_account(account)
        assert data is not None, f"{account} does not exist"
        return int.from_bytes(bytes(data.data)[64:72], "little")

    # -- pools -----------------------------------------------------------------------------

    def pool_instructions(self, pool: Pubkey, x: Mint, y: Mint, fee_bps: int) -> list[Instruction]:
        a, b = (x, y) if order_mints(x.address, y.address)[0] == x.address else (y, x)
        return amm.create_pool(
            self.payer.pubkey(),
            pool,
            a.address,
            b.address,
            a.program,
            b.program,
            fee_bps,
            self.chain.rent_exempt_minimum(POOL_LEN),
        )

    def create_pool(self, x: Mint, y: Mint, fee_bps: int = 30) -> Pool:
        keypair = self.keypair()
        self.ok(self.pool_instructions(keypair.pubkey(), x, y, fee_bps), [keypair])
        a, b = (x, y) if order_mints(x.address, y.address)[0] == x.address else (y, x)
        return Pool(keypair.pubkey(), a, b)

    def state(self, pool: Pool | Pubkey) -> PoolState:
        address = pool.address if isinstance(pool, Pool) else pool
        account = self.chain.get_account(address)
        assert account is not None
        return PoolState.decode(bytes(account.data))

    def lp_mint(self, pool: Pool) -> Mint:
        return Mint(lp_mint_address(pool.address)[0], TOKEN_PROGRAM, 9)


@dataclass
class Trader:
    """A user with token accounts for both pool mints and the LP mint."""

    keypair: Keypair
    a: Pubkey
    b: Pubkey
    lp: Pubkey

    @property
    def pubkey(self) -> Pubkey:
        return self.keypair.pubkey()


def trader(env: AmmEnv, pool: Pool, amount_a: int, amount_b: int) -> Trader:
    keypair = env.keypair()
    env.fund(keypair.pubkey(), 10 * 10**9)
    return Trader(
        keypair,
        env.token_account(keypair.pubkey(), pool.mint_a, amount_a),
        env.token_account(keypair.pubkey(), pool.mint_b, amount_b),
        env.token_account(keypair.pubkey(), env.lp_mint(pool)),
    )


def add_liquidity_ix(
    env: AmmEnv, pool: Pool, user: Trader, max_a: int, max_b: int, min_lp: int = 0
) -> Instruction:
    return amm.add_liquidity(
        user.pubkey, pool.address, env.state(pool), user.a, user.b, user.lp, max_a, max_b, min_lp
    )


def remove_liquidity_ix(
    env: AmmEnv, pool: Pool, user: Trader, lp: int, min_a: int = 0, min_b: int = 0
) -> Instruction:
    return amm.remove_liquidity(
        user.pubkey, pool.address, env.state(pool), user.a, user.b, user.lp, lp, min_a, min_b
    )


def swap_ix(
    env: AmmEnv,
    pool: Pool,
    user: Trader,
    side_in: str,
    amount: int,
    limit: int,
    *,
    exact_in: bool = True,
) -> Instruction:
    state = env.state(pool)
    mint_in = state.mint_a if side_in == "a" else state.mint_b
    user_in, user_out = (user.a, user.b) if side_in == "a" else (user.b, user.a)
    build = amm.swap_exact_in if exact_in else amm.swap_exact_out
    return build(user.pubkey, pool.address, state, mint_in, user_in, user_out, amount, limit)


def snapshot(env: AmmEnv, addresses: Sequence[Pubkey]) -> list[tuple[int, bytes] | None]:
    out: list[tuple[int, bytes] | None] = []
    for address in addresses:
        account = env.chain.get_account(address)
        out.append(None if account is None else (account.lamports, bytes(account.data)))
    return out


def assert_fails(
    env: AmmEnv,
    instructions: list[Instruction],
    signers: Sequence[Keypair],
    code: AmmError,
    watched: Sequence[Pubkey],
) -> None:
    """The transaction fails with `custom program error: code` and changes none of `watched`."""
    before = snapshot(env, watched)
    result = env.send(instructions, list(signers))
    assert not result.success, "the transaction should have failed"
    assert custom_error(result) == code, (code, result.error, result.logs[-3:])
    assert snapshot(env, watched) == before


def funded_pool(
    env: AmmEnv, x: Mint, y: Mint, reserve_a: int, reserve_b: int, fee_bps: int = 30
) -> tuple[Pool, Trader, PoolModel]:
    """A pool of x and y with a first deposit of `reserve_a` of its mint A and `reserve_b` of
    its mint B (the byte-wise smaller and larger of x and y) by a liquidity provider, and the
    model in the same state."""
    pool = env.create_pool(x, y, fee_bps)
    provider = trader(env, pool, 2 * reserve_a, 2 * reserve_b)
    env.ok([add_liquidity_ix(env, pool, provider, reserve_a, reserve_b)], [provider.keypair])
    model = PoolModel(
        fee_bps=fee_bps, transfer_fee_a=pool.mint_a.fee, transfer_fee_b=pool.mint_b.fee
    )
    model.add_liquidity(reserve_a, reserve_b, 0)
    return pool, provider, model
