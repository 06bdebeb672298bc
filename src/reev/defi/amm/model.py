"""A reference model of the reev AMM's integer math (docs/programs.md, "Math").

Pure Python integers, the program's rounding exactly (always in the pool's favour), and the
program's failures as `AmmModelError(code)`. The router quotes with these functions and the
property tests run random operation sequences on the program and on `PoolModel` side by side,
so a difference of one base unit between the two is a bug in one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isqrt as _isqrt

from reev.chain.token2022 import transfer_fee
from reev.constants import U64_MAX
from reev.defi.amm.layout import AmmError, Side
from reev.errors import ChainError

BPS = 10_000


class AmmModelError(ChainError):
    """The operation fails on chain with `code` (`custom program error: code`)."""

    def __init__(self, code: AmmError, detail: str = "") -> None:
        super().__init__(f"{code.name}" + (f": {detail}" if detail else ""))
        self.code = code


def _ceil_div(n: int, d: int) -> int:
    return -(-n // d)


def _u64(value: int) -> int:
    if value > U64_MAX:
        raise AmmModelError(AmmError.MATH_OVERFLOW, f"{value} does not fit a u64")
    return value


def isqrt(n: int) -> int:
    """floor(sqrt(n)) of a non-negative integer."""
    return _isqrt(n)


def swap_out(amount_in: int, r_in: int, r_out: int, fee_bps: int) -> int:
    """Exact in: what leaves the output vault when `amount_in` reached the input vault.

    fee = ceil(a · fee_bps / 10000), a' = a − fee, out = floor(a' · R_out / (R_in + a')).
    """
    if amount_in == 0:
        raise AmmModelError(AmmError.ZERO_AMOUNT, "amount in is zero")
    if r_in == 0 or r_out == 0:
        raise AmmModelError(AmmError.INSUFFICIENT_LIQUIDITY, "the pool is empty")
    _u64(r_in + amount_in)  # the new input reserve
    fee = _ceil_div(amount_in * fee_bps, BPS)
    net = amount_in - fee
    out = net * r_out // (r_in + net)
    if out == 0 or out >= r_out:
        raise AmmModelError(AmmError.INSUFFICIENT_LIQUIDITY, f"the pool would pay {out}")
    return out


def swap_fee(amount_in: int, fee_bps: int) -> int:
    """The pool's fee on an exact-in amount: ceil(a · fee_bps / 10000)."""
    return _ceil_div(amount_in * fee_bps, BPS)


def swap_in(amount_out: int, r_in: int, r_out: int, fee_bps: int) -> int:
    """Exact out: the input that must reach the vault for `amount_out` to leave the other one.

    a' = ceil(R_in · b / (R_out − b)), a = ceil(a' · 10000 / (10000 − fee_bps)); needs b < R_out.
    """
    if amount_out == 0:
        raise AmmModelError(AmmError.ZERO_AMOUNT, "amount out is zero")
    if r_in == 0 or r_out == 0 or amount_out >= r_out:
        raise AmmModelError(
            AmmError.INSUFFICIENT_LIQUIDITY, f"the pool holds {r_out}, cannot pay {amount_out}"
        )
    net = _ceil_div(r_in * amount_out, r_out - amount_out)
    gross = _u64(_ceil_div(net * BPS, BPS - fee_bps))
    _u64(r_in + gross)
    return gross


@dataclass(frozen=True)
class TransferFee:
    """A Token-2022 transfer-fee configuration of one pool side."""

    basis_points: int
    maximum_fee: int

    def on(self, amount: int) -> int:
        return transfer_fee(amount, self.basis_points, self.maximum_fee)


@dataclass
class PoolModel:
    """One pool's state; every method either succeeds or raises and changes nothing."""

    reserve_a: int = 0
    reserve_b: int = 0
    lp_supply: int = 0
    fee_bps: int = 30
    transfer_fee_a: TransferFee | None = None
    transfer_fee_b: TransferFee | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.fee_bps < BPS:
            raise AmmModelError(AmmError.INVALID_FEE, f"fee_bps {self.fee_bps} >= {BPS}")

    def _fee(self, side: Side, amount: int) -> int:
        config = self.transfer_fee_a if side == "a" else self.transfer_fee_b
        return config.on(amount) if config is not None else 0

    def _reserves(self, side_in: Side) -> tuple[int, int]:
        if side_in == "a":
            return self.reserve_a, self.reserve_b
        return self.reserve_b, self.reserve_a

    def _set_reserves(self, side_in: Side, r_in: int, r_out: int) -> None:
        if side_in == "a":
            self.reserve_a, self.reserve_b = r_in, r_out
        else:
            self.reserve_b, self.reserve_a = r_in, r_out

    def add_liquidity(self, max_a: int, max_b: int, min_lp: int) -> tuple[int, int, int]:
        """(debited from the user's A, from B, LP minted)."""
        if max_a == 0 or max_b == 0:
            raise AmmModelError(AmmError.ZERO_AMOUNT, "a maximum is zero")
        supply = self.lp_supply
        if supply == 0:
            take_a, take_b = max_a, max_b
            got_a = take_a - self._fee("a", take_a)
            got_b = take_b - self._fee("b", take_b)
            lp = isqrt(got_a * got_b)
        else:
            lp = min(max_a * supply // self.reserve_a, max_b * supply // self.reserve_b)
            if lp == 0:
                raise AmmModelError(AmmError.ZERO_LIQUIDITY, "the deposit mints no LP")
            take_a = _ceil_div(lp * self.reserve_a, supply)
            take_b = _ceil_div(lp * self.reserve_b, supply)
            got_a = take_a - self._fee("a", take_a)
            got_b = take_b - self._fee("b", take_b)
            if got_a != take_a or got_b != take_b:  # recomputed from what arrived, never more
                lp = min(lp, got_a * supply // self.reserve_a, got_b * supply // self.reserve_b)
        if lp == 0:
            raise AmmModelError(AmmError.ZERO_LIQUIDITY, "the deposit mints no LP")
        if lp < min_lp:
            raise AmmModelError(AmmError.SLIPPAGE_EXCEEDED, f"LP {lp} < min_lp {min_lp}")
        new_a = _u64(self.reserve_a + got_a)
        new_b = _u64(self.reserve_b + got_b)
        new_supply = _u64(supply + lp)
        self.reserve_a, self.reserve_b, self.lp_supply = new_a, new_b, new_supply
        return take_a, take_b, lp

    def remove_liquidity(self, lp: int, min_a: int, min_b: int) -> tuple[int, int]:
        """(credited to the user's A, to B) for burning `lp`."""
        if lp == 0:
            raise AmmModelError(AmmError.ZERO_AMOUNT, "lp is zero")
        supply = self.lp_supply
        if lp > supply:
            raise AmmModelError(AmmError.INSUFFICIENT_LIQUIDITY, f"lp {lp} > supply {supply}")
        out_a = lp * self.reserve_a // supply
        out_b = lp * self.reserve_b // supply
        if out_a < min_a or out_b < min_b:
            raise AmmModelError(
                AmmError.SLIPPAGE_EXCEEDED, f"pays {out_a}/{out_b} < {min_a}/{min_b}"
            )
        self.reserve_a -= out_a
        self.reserve_b -= out_b
        self.lp_supply -= lp
        return out_a - self._fee("a", out_a), out_b - self._fee("b", out_b)

    def swap_exact_in(self, side_in: Side, amount_in: int, min_out: int) -> tuple[int, int]:
        """(debited from the user, credited to the user); `min_out` bounds the credit."""
        if amount_in == 0:
            raise AmmModelError(AmmError.ZERO_AMOUNT, "amount in is zero")
        side_out: Side = "b" if side_in == "a" else "a"
        r_in, r_out = self._reserves(side_in)
        arrived = amount_in - self._fee(side_in, amount_in)
        out = swap_out(arrived, r_in, r_out, self.fee_bps)
        credited = out - self._fee(side_out, out)
        if credited < min_out:
            raise AmmModelError(AmmError.SLIPPAGE_EXCEEDED, f"out {credited} < min {min_out}")
        self._set_reserves(side_in, r_in + arrived, r_out - out)
        return amount_in, credited

    def swap_exact_out(self, side_in: Side, amount_out: int, max_in: int) -> tuple[int, int]:
        """(debited, credited) for `amount_out` leaving the output vault; `max_in` bounds the
        debit. The input side may not carry a transfer fee."""
        if amount_out == 0:
            raise AmmModelError(AmmError.ZERO_AMOUNT, "amount out is zero")
        if (self.transfer_fee_a if side_in == "a" else self.transfer_fee_b) is not None:
            raise AmmModelError(AmmError.UNSUPPORTED_TRANSFER_FEE, "exact out from a fee mint")
        side_out: Side = "b" if side_in == "a" else "a"
        r_in, r_out = self._reserves(side_in)
        needed = swap_in(amount_out, r_in, r_out, self.fee_bps)
        if needed > max_in:
            raise AmmModelError(AmmError.SLIPPAGE_EXCEEDED, f"in {needed} > max {max_in}")
        self._set_reserves(side_in, r_in + needed, r_out - amount_out)
        return needed, amount_out - self._fee(side_out, amount_out)
