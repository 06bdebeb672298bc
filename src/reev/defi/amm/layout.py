"""The reev AMM's pool account, PDAs and error codes (docs/programs.md, "reev AMM").

Offsets are those of the documented 304-byte pool account; decoding refuses anything that is not
such an account so that a caller never reads garbage as reserves.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from reev.programs import AMM_PROGRAM_ID  # defined once, beside the programs

POOL_LEN = 304
POOL_DISCRIMINATOR = b"reevpool"
POOL_VERSION = 1
AUTHORITY_SEED = b"authority"
LP_MINT_SEED = b"lp_mint"
LP_DECIMALS = 9
FLAG_FEE_A = 1  # mint A is a Token-2022 mint with a transfer fee
FLAG_FEE_B = 2

# discriminator, version, authority bump, LP bump, flags, fee_bps, reserved, 7 keys, 3 u64,
# creator, reserved
_POOL = struct.Struct("<8sBBBBHH32s32s32s32s32s32s32sQQQ32sQ")
assert _POOL.size == POOL_LEN


class AmmError(IntEnum):
    """`custom program error: N` codes of the AMM."""

    INVALID_INSTRUCTION = 1
    NOT_ENOUGH_ACCOUNTS = 2
    MISSING_SIGNER = 3
    INVALID_POOL = 4
    ALREADY_INITIALIZED = 5
    INVALID_AUTHORITY = 6
    INVALID_LP_MINT = 7
    INVALID_MINT_ORDER = 8
    WRONG_MINT = 9
    WRONG_VAULT = 10
    WRONG_TOKEN_PROGRAM = 11
    INVALID_VAULT = 12
    INVALID_FEE = 13
    ZERO_AMOUNT = 14
    SLIPPAGE_EXCEEDED = 15
    INSUFFICIENT_LIQUIDITY = 16
    MATH_OVERFLOW = 17
    UNSUPPORTED_TRANSFER_FEE = 18
    INVALID_TOKEN_ACCOUNT = 19
    INVALID_SYSTEM_PROGRAM = 20
    ZERO_LIQUIDITY = 21
    UNSUPPORTED_MINT_EXTENSION = 22


Side = Literal["a", "b"]


@dataclass(frozen=True)
class PoolState:
    """A decoded pool account."""

    fee_bps: int
    mint_a: Pubkey
    mint_b: Pubkey
    vault_a: Pubkey
    vault_b: Pubkey
    lp_mint: Pubkey
    token_program_a: Pubkey
    token_program_b: Pubkey
    reserve_a: int
    reserve_b: int
    lp_supply: int
    creator: Pubkey
    authority_bump: int
    lp_mint_bump: int
    flags: int = 0

    @classmethod
    def decode(cls, data: bytes) -> PoolState:
        """Decode a pool account's data; ValueError when it is not an initialised pool."""
        if len(data) != POOL_LEN:
            raise ValueError(f"a pool account is {POOL_LEN} bytes, not {len(data)}")
        f = _POOL.unpack(data)
        if f[0] != POOL_DISCRIMINATOR:
            raise ValueError("not a reev AMM pool (bad discriminator)")
        if f[1] != POOL_VERSION:
            raise ValueError(f"unknown pool version {f[1]}")
        key = Pubkey.from_bytes
        return cls(
            authority_bump=f[2],
            lp_mint_bump=f[3],
            flags=f[4],
            fee_bps=f[5],
            mint_a=key(f[7]),
            mint_b=key(f[8]),
            vault_a=key(f[9]),
            vault_b=key(f[10]),
            lp_mint=key(f[11]),
            token_program_a=key(f[12]),
            token_program_b=key(f[13]),
            reserve_a=f[14],
            reserve_b=f[15],
            lp_supply=f[16],
            creator=key(f[17]),
        )

    def encode(self) -> bytes:
        """The account bytes of this state (tests and the model write pools with it)."""
        return _POOL.pack(
            POOL_DISCRIMINATOR,
            POOL_VERSION,
            self.authority_bump,
            self.lp_mint_bump,
            self.flags,
            self.fee_bps,
            0,
            bytes(self.mint_a),
            bytes(self.mint_b),
            bytes(self.vault_a),
            bytes(self.vault_b),
            bytes(self.lp_mint),
            bytes(self.token_program_a),
            bytes(self.token_program_b),
            self.reserve_a,
            self.reserve_b,
            self.lp_supply,
            bytes(self.creator),
            0,
        )

    def side(self, mint: Pubkey) -> Side:
        """Which side of the pool `mint` is; ValueError when it is neither."""
        if mint == self.mint_a:
            return "a"
        if mint == self.mint_b:
            return "b"
        raise ValueError(f"mint {mint} is not in this pool")

    def other_mint(self, mint: Pubkey) -> Pubkey:
        return self.mint_b if self.side(mint) == "a" else self.mint_a

    def reserves_for(self, input_mint: Pubkey) -> tuple[int, int]:
        """(reserve of the input side, reserve of the output side)."""
        if self.side(input_mint) == "a":
            return self.reserve_a, self.reserve_b
        return self.reserve_b, self.reserve_a

    def vault_of(self, mint: Pubkey) -> Pubkey:
        return self.vault_a if self.side(mint) == "a" else self.vault_b

    def token_program_of(self, mint: Pubkey) -> Pubkey:
        return self.token_program_a if self.side(mint) == "a" else self.token_program_b


def pool_authority(pool: Pubkey) -> tuple[Pubkey, int]:
    """The pool's authority PDA `["authority", pool]` and its bump."""
    return Pubkey.find_program_address([AUTHORITY_SEED, bytes(pool)], AMM_PROGRAM_ID)


def lp_mint_address(pool: Pubkey) -> tuple[Pubkey, int]:
    """The pool's LP mint PDA `["lp_mint", pool]` and its bump."""
    return Pubkey.find_program_address([LP_MINT_SEED, bytes(pool)], AMM_PROGRAM_ID)


def vault_address(pool: Pubkey, mint: Pubkey, token_program: Pubkey) -> Pubkey:
    """The pool's vault for `mint`: the authority's associated token account."""
    return get_associated_token_address(pool_authority(pool)[0], mint, token_program)


def order_mints(x: Pubkey, y: Pubkey) -> tuple[Pubkey, Pubkey]:
    """(mint_a, mint_b) with mint_a < mint_b byte-wise, as the program requires."""
    return (x, y) if bytes(x) < bytes(y) else (y, x)
