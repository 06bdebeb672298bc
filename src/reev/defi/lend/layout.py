"""reev Lend's accounts, PDAs, constants and error codes (docs/lending.md).

Each account is a frozen dataclass with `decode` (refusing anything that is not such an
account, so that a caller never reads garbage as totals) and `encode` (set-up writes oracles
and the default share mints with it; tests write states). Offsets are those of the documented
layouts, checked by the struct sizes below.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from enum import IntEnum

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import pack_mint
from reev.programs import LEND_PROGRAM_ID  # program ids live next to the programs (one definition)

USDC_MINT = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
JL_USDC_MINT = Pubkey.from_string("9BEcn9aPEmhSPbPQeFGjidRiEKki46fVQDyPpSQXPA2D")
JL_SOL_MINT = Pubkey.from_string("2uQsyo1fXXQkDtcpXnLofWy88PxcvnfH2L8FPSE62FVU")

MAX_RESERVES = 8
VERSION = 1
MARKET_DISCRIMINATOR = b"reevmrkt"
RESERVE_DISCRIMINATOR = b"reevresv"
ORACLE_DISCRIMINATOR = b"reevorcl"
OBLIGATION_DISCRIMINATOR = b"reevoblg"
AUTHORITY_SEED = b"authority"
OBLIGATION_SEED = b"obligation"

# discriminator, version, reserve_count, close_factor_bps, reserved, admin, 8 × (reserve, mint)
_MARKET = struct.Struct("<8sBBHI32s" + "32s32s" * MAX_RESERVES)
# discriminator, version, index, bump, decimals, ltv, lt, bonus, kink, base, slope1, slope2,
# max age, reserved, market, asset mint, vault, share mint, oracle, 7 u64 (last one reserved)
_RESERVE = struct.Struct("<8sBBBBHHHHIIIII32s32s32s32s32sQQQQQQQ")
_ORACLE = struct.Struct("<8sB7s32sQQ")
_OBLIGATION = struct.Struct(f"<8sBB6s32s32s{MAX_RESERVES}Q{MAX_RESERVES}Q")
MARKET_LEN = _MARKET.size
RESERVE_LEN = _RESERVE.size
ORACLE_LEN = _ORACLE.size
OBLIGATION_LEN = _OBLIGATION.size
assert (MARKET_LEN, RESERVE_LEN, ORACLE_LEN, OBLIGATION_LEN) == (560, 256, 64, 208)


class LendError(IntEnum):
    """`custom program error: N` codes of reev Lend (docs/lending.md, "Errors")."""

    INVALID_INSTRUCTION = 1
    NOT_ENOUGH_ACCOUNTS = 2
    MISSING_SIGNER = 3
    INVALID_MARKET = 4
    INVALID_RESERVE = 5
    INVALID_OBLIGATION = 6
    INVALID_ORACLE = 7
    ALREADY_INITIALIZED = 8
    INVALID_AUTHORITY = 9
    UNAUTHORIZED = 10
    WRONG_MARKET = 11
    WRONG_MINT = 12
    WRONG_VAULT = 13
    WRONG_SHARE_MINT = 14
    WRONG_ORACLE = 15
    WRONG_TOKEN_PROGRAM = 16
    INVALID_TOKEN_ACCOUNT = 17
    INVALID_SHARE_MINT = 18
    INVALID_VAULT = 19
    INVALID_CONFIG = 20
    MARKET_FULL = 21
    DUPLICATE_RESERVE = 22
    ZERO_AMOUNT = 23
    ZERO_SHARES = 24
    ZERO_ASSETS = 25
    INSUFFICIENT_LIQUIDITY = 26
    INSUFFICIENT_SHARES = 27
    INSUFFICIENT_COLLATERAL = 28
    STALE_PRICE = 29
    INVALID_PRICE = 30
    MISSING_RESERVE = 31
    BORROW_LIMIT_EXCEEDED = 32
    UNHEALTHY = 33
    NOT_LIQUIDATABLE = 34
    LIQUIDATION_TOO_LARGE = 35
    SLIPPAGE_EXCEEDED = 36
    NO_DEBT = 37
    MATH_OVERFLOW = 38
    INVALID_SYSTEM_PROGRAM = 39

    @property
    def doc_name(self) -> str:
        """The name docs/lending.md gives it (`BorrowLimitExceeded`)."""
        return "".join(word.capitalize() for word in self.name.split("_"))


class Tag(IntEnum):
    """The first byte of each instruction's data."""

    INIT_MARKET = 0
    INIT_RESERVE = 1
    INIT_OBLIGATION = 2
    ACCRUE_INTEREST = 3
    DEPOSIT = 4
    WITHDRAW = 5
    MINT = 6
    REDEEM = 7
    DEPOSIT_COLLATERAL = 8
    WITHDRAW_COLLATERAL = 9
    BORROW = 10
    REPAY = 11
    LIQUIDATE = 12


def _check(data: bytes, length: int, discriminator: bytes, what: str) -> None:
    if len(data) != length:
        raise ValueError(f"a reev Lend {what} account is {length} bytes, not {len(data)}")
    if data[:8] != discriminator:
        raise ValueError(f"not a reev Lend {what} (bad discriminator)")
    if data[8] != VERSION:
        raise ValueError(f"unknown {what} version {data[8]}")


_key = Pubkey.from_bytes
_ZERO_KEY = Pubkey.default()


@dataclass(frozen=True)
class MarketState:
    """A decoded market: its admin, close factor and `(reserve, asset mint)` entries."""

    admin: Pubkey
    close_factor_bps: int
    reserves: tuple[tuple[Pubkey, Pubkey], ...] = ()

    @classmethod
    def decode(cls, data: bytes) -> MarketState:
        _check(data, MARKET_LEN, MARKET_DISCRIMINATOR, "market")
        f = _MARKET.unpack(data)
        count = f[2]
        if count > MAX_RESERVES:
            raise ValueError(f"a market holds at most {MAX_RESERVES} reserves, not {count}")
        entries = tuple((_key(f[6 + 2 * i]), _key(f[7 + 2 * i])) for i in range(count))
        return cls(admin=_key(f[5]), close_factor_bps=f[3], reserves=entries)

    def encode(self) -> bytes:
        if len(self.reserves) > MAX_RESERVES:
            raise ValueError(f"a market holds at most {MAX_RESERVES} reserves")
        keys: list[bytes] = []
        for i in range(MAX_RESERVES):
            reserve, mint = self.reserves[i] if i < len(self.reserves) else (_ZERO_KEY, _ZERO_KEY)
            keys += [bytes(reserve), bytes(mint)]
        return _MARKET.pack(
            MARKET_DISCRIMINATOR,
            VERSION,
            len(self.reserves),
            self.close_factor_bps,
            0,
            bytes(self.admin),
            *keys,
        )


@dataclass(frozen=True)
class ReserveConfig:
    """A reserve's risk and rate parameters (`InitReserve`'s data, in its order)."""

    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int
    kink_bps: int
    base_rate_bps: int
    slope1_bps: int
    slope2_bps: int
    max_price_age_slots: int

    _DATA = struct.Struct("<HHHHIIII")

    def encode(self) -> bytes:
        """The bytes after `InitReserve`'s tag."""
        return self._DATA.pack(
            self.ltv_bps,
            self.liquidation_threshold_bps,
            self.liquidation_bonus_bps,
            self.kink_bps,
            self.base_rate_bps,
            self.slope1_bps,
            self.slope2_bps,
            self.max_price_age_slots,
        )

    def problem(self) -> str | None:
        """Why `InitReserve` refuses this config (`InvalidConfig`), or None."""
        if not 0 <= self.ltv_bps < self.liquidation_threshold_bps < 10_000:
            return "needs 0 <= ltv_bps < liquidation_threshold_bps < 10000"
        if self.liquidation_threshold_bps * (10_000 + self.liquidation_bonus_bps) > 10_000**2:
            return "liquidation_threshold_bps * (10000 + liquidation_bonus_bps) exceeds 10000^2"
        if not 1 <= self.kink_bps <= 9_999:
            return "kink_bps must be within 1..9999"
        if self.base_rate_bps + self.slope1_bps + self.slope2_bps > 100_000:
            return "base_rate_bps + slope1_bps + slope2_bps exceeds 100000 (1000 %)"
        if self.max_price_age_slots < 1:
            return "max_price_age_slots must be at least 1"
        return None


@dataclass(frozen=True)
class ReserveState:
    """A decoded reserve: identity, config and totals (docs/lending.md, "Reserve")."""

    index: int
    authority_bump: int
    decimals: int
    config: ReserveConfig
    market: Pubkey
    asset_mint: Pubkey
    vault: Pubkey
    share_mint: Pubkey
    oracle: Pubkey
    last_update_slot: int = 0
    available: int = 0
    borrowed: int = 0
    supply_shares: int = 0
    borrow_shares: int = 0
    total_collateral: int = 0

    @property
    def total_assets(self) -> int:
        """What the share holders own: lendable liquidity plus outstanding debt."""
        return self.available + self.borrowed

    @classmethod
    def decode(cls, data: bytes) -> ReserveState:
        _check(data, RESERVE_LEN, RESERVE_DISCRIMINATOR, "reserve")
        f = _RESERVE.unpack(data)
        return cls(
            index=f[2],
            authority_bump=f[3],
            decimals=f[4],
            config=ReserveConfig(*f[5:13]),
            market=_key(f[14]),
            asset_mint=_key(f[15]),
            vault=_key(f[16]),
            share_mint=_key(f[17]),
            oracle=_key(f[18]),
            last_update_slot=f[19],
            available=f[20],
            borrowed=f[21],
            supply_shares=f[22],
            borrow_shares=f[23],
            total_collateral=f[24],
        )

    def encode(self) -> bytes:
        c = self.config
        return _RESERVE.pack(
            RESERVE_DISCRIMINATOR,
            VERSION,
            self.index,
            self.authority_bump,
            self.decimals,
            c.ltv_bps,
            c.liquidation_threshold_bps,
            c.liquidation_bonus_bps,
            c.kink_bps,
            c.base_rate_bps,
            c.slope1_bps,
            c.slope2_bps,
            c.max_price_age_slots,
            0,
            bytes(self.market),
            bytes(self.asset_mint),
            bytes(self.vault),
            bytes(self.share_mint),
            bytes(self.oracle),
            self.last_update_slot,
            self.available,
            self.borrowed,
            self.supply_shares,
            self.borrow_shares,
            self.total_collateral,
            0,
        )


@dataclass(frozen=True)
class OracleState:
    """A price account: USD per whole token × 10^8, and the slot it was published at."""

    mint: Pubkey
    price: int
    publish_slot: int

    @classmethod
    def decode(cls, data: bytes) -> OracleState:
        _check(data, ORACLE_LEN, ORACLE_DISCRIMINATOR, "oracle")
        f = _ORACLE.unpack(data)
        return cls(mint=_key(f[3]), price=f[4], publish_slot=f[5])

    def encode(self) -> bytes:
        return _ORACLE.pack(
            ORACLE_DISCRIMINATOR, VERSION, bytes(7), bytes(self.mint), self.price, self.publish_slot
        )


def _zeros() -> tuple[int, ...]:
    return (0,) * MAX_RESERVES


@dataclass(frozen=True)
class ObligationState:
    """A user's borrow position in one market: collateral and borrow shares per reserve index."""

    market: Pubkey
    owner: Pubkey
    bump: int
    collateral: tuple[int, ...] = field(default_factory=_zeros)
    borrow_shares: tuple[int, ...] = field(default_factory=_zeros)

    @classmethod
    def decode(cls, data: bytes) -> ObligationState:
        _check(data, OBLIGATION_LEN, OBLIGATION_DISCRIMINATOR, "obligation")
        f = _OBLIGATION.unpack(data)
        n = MAX_RESERVES
        return cls(
            market=_key(f[4]),
            owner=_key(f[5]),
            bump=f[2],
            collateral=tuple(f[6 : 6 + n]),
            borrow_shares=tuple(f[6 + n : 6 + 2 * n]),
        )

    def encode(self) -> bytes:
        if len(self.collateral) != MAX_RESERVES or len(self.borrow_shares) != MAX_RESERVES:
            raise ValueError(f"an obligation has {MAX_RESERVES} collateral and debt entries")
        return _OBLIGATION.pack(
            OBLIGATION_DISCRIMINATOR,
            VERSION,
            self.bump,
            bytes(6),
            bytes(self.market),
            bytes(self.owner),
            *self.collateral,
            *self.borrow_shares,
        )

    def positions(self) -> tuple[int, ...]:
        """The reserve indexes with collateral or debt, ascending."""
        return tuple(i for i in range(MAX_RESERVES) if self.collateral[i] or self.borrow_shares[i])


def reserve_authority(reserve: Pubkey) -> tuple[Pubkey, int]:
    """The reserve's authority PDA `["authority", reserve]` and its bump."""
    return Pubkey.find_program_address([AUTHORITY_SEED, bytes(reserve)], LEND_PROGRAM_ID)


def vault_address(reserve: Pubkey, asset_mint: Pubkey) -> Pubkey:
    """The reserve's vault: the authority's associated token account of the asset."""
    return get_associated_token_address(reserve_authority(reserve)[0], asset_mint)


def obligation_address(market: Pubkey, owner: Pubkey) -> tuple[Pubkey, int]:
    """The obligation PDA `["obligation", market, owner]` and its bump."""
    return Pubkey.find_program_address(
        [OBLIGATION_SEED, bytes(market), bytes(owner)], LEND_PROGRAM_ID
    )


def default_keypair(name: str) -> Keypair:
    """A default-market keypair (admin, market, reserves, oracles): the same in every episode,
    seed `sha256(b"reev-lend default " + name)`."""
    return Keypair.from_seed(hashlib.sha256(b"reev-lend default " + name.encode()).digest())


def share_mint_data(reserve: Pubkey, decimals: int) -> bytes:
    """An empty share mint whose mint authority is the reserve's PDA: what set-up writes at
    the jlUSDC / jlSOL addresses, which nobody has the key of."""
    authority = reserve_authority(reserve)[0]
    return pack_mint(decimals=decimals, supply=0, mint_authority=authority, freeze_authority=None)
