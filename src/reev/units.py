"""Exact amount handling: base units are integers, human amounts are Decimals.

Floats never touch an amount: `0.1 SOL` must be exactly 100_000_000 lamports, and an amount with
more decimals than a mint allows is an error the caller sees, never a silent rounding.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from reev.constants import U64_MAX
from reev.errors import InputError

_INTEGER = re.compile(r"[0-9]+")


class AmountError(InputError):
    """An amount that cannot be represented exactly."""


def parse_base_units(value: Any) -> int:
    """Parse an integer amount of base units (lamports, token base units).

    Accepts non-negative ints and integer strings (the original reev format quotes token
    amounts, e.g. `amount: "50000000"`) up to u64. Rejects booleans, fractions, negatives and
    anything non-numeric: on chain these are all u64.
    """
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        if _INTEGER.fullmatch(text):  # ASCII digits only: "²".isdigit() is True
            number = int(text)
    if number is None:
        raise AmountError(f"expected an integer amount of base units, got {value!r}")
    if number < 0:
        raise AmountError(f"amount must not be negative, got {value!r}")
    if number > U64_MAX:
        raise AmountError(f"amount {value!r} does not fit in a u64")
    return number


def parse_decimal(value: Any) -> Decimal:
    """Parse a human amount (`"1.5"`, `1.5`, `2`) into an exact Decimal."""
    if isinstance(value, bool) or value is None:
        raise AmountError(f"expected a number, got {value!r}")
    try:
        # str() first: Decimal(0.1) would carry the float's binary error.
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise AmountError(f"expected a number, got {value!r}") from None
    if not amount.is_finite():
        raise AmountError(f"expected a finite number, got {value!r}")
    return amount


def to_base_units(value: Any, decimals: int, *, allow_zero: bool = False) -> int:
    """Convert a human amount to base units, refusing precision the mint does not have."""
    amount = parse_decimal(value)
    if amount < 0:
        raise AmountError(f"amount must not be negative, got {value}")
    if amount == 0 and not allow_zero:
        raise AmountError("amount must be greater than zero")
    # Integer arithmetic on the Decimal's digits: no context precision, so nothing rounds.
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite, checked by parse_decimal
    if len(digits) > 64:  # a u64 has 20 digits; this also keeps int() under Python's digit limit
        raise AmountError(f"amount {str(value)[:40]}… has too many digits for a token amount")
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + decimals
    if coefficient and len(str(coefficient)) + shift > len(str(U64_MAX)):
        raise AmountError(f"amount {value} is too large for a token amount (u64)")
    if shift >= 0:
        base = coefficient * 10**shift
    else:
        # 1e-999999 is certainly finer than any mint: refuse it without building 10**999999.
        too_fine = coefficient != 0 and -shift > len(str(coefficient))
        base, remainder = (0, 1) if too_fine else divmod(coefficient, 10**-shift)
        if remainder:
            raise AmountError(
                f"amount {value} has more than {decimals} decimal places, which this token does not allow"
            )
    if base > U64_MAX:
        raise AmountError(f"amount {value} is too large for a token amount (u64)")
    return base


def to_ui_amount(base_units: int, decimals: int) -> Decimal:
    """Base units to a human Decimal, normalised (`1.5`, not `1.500000`)."""
    amount = Decimal(base_units).scaleb(-decimals)
    normalised = amount.normalize()
    # normalize() turns 100 into 1E+2; quantize back to a plain exponent for display.
    exponent = normalised.as_tuple().exponent  # an int: the amount is finite
    return (
        normalised if isinstance(exponent, int) and exponent <= 0 else amount.quantize(Decimal(1))
    )


def format_ui_amount(base_units: int, decimals: int) -> str:
    return format(to_ui_amount(base_units, decimals), "f")
