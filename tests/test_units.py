"""Exact amounts: human amounts to base units without floats or silent rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reev.constants import LAMPORTS_PER_SOL, SOL_DECIMALS
from reev.units import (
    AmountError,
    format_ui_amount,
    parse_base_units,
    parse_decimal,
    to_base_units,
    to_ui_amount,
)


def test_constants_agree() -> None:
    assert LAMPORTS_PER_SOL == 10**SOL_DECIMALS == 1_000_000_000


# --------------------------------------------------------------------------- to_base_units


@pytest.mark.parametrize("value", ["0.1", 0.1, Decimal("0.1"), " 0.1 ", "0.100000000"])
def test_a_tenth_of_a_sol_is_exactly_one_hundred_million_lamports(value) -> None:
    result = to_base_units(value, SOL_DECIMALS)
    assert result == LAMPORTS_PER_SOL // 10 == 100_000_000
    assert isinstance(result, int)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        ("1", 6, 10**6),
        (2, 9, 2 * 10**9),
        ("15", 6, 15 * 10**6),
        ("1.5", 6, 1_500_000),
        (1.5, 6, 1_500_000),
        ("0.000001", 6, 1),
        ("0.000000001", 9, 1),
        ("1.000001", 6, 1_000_001),
        ("123456.789", 3, 123_456_789),
        ("7", 0, 7),
        ("1e-9", 9, 1),
        ("2.5e3", 2, 250_000),
        # Floats whose binary value is not the decimal they print as still convert exactly.
        (0.3, 9, 300_000_000),
        (1.1, 9, 1_100_000_000),
        (0.07, 2, 7),
    ],
)
def test_to_base_units_is_exact(value, decimals: int, expected: int) -> None:
    assert to_base_units(value, decimals) == expected


@pytest.mark.parametrize(
    ("value", "decimals"),
    [
        ("1.0000001", 6),
        (1.0000001, 6),
        ("0.0000000001", 9),
        ("0.5", 0),
        ("1.23", 1),
    ],
)
def test_more_decimals_than_the_mint_allows_is_an_error(value, decimals: int) -> None:
    with pytest.raises(AmountError, match="decimal places"):
        to_base_units(value, decimals)


def test_precision_beyond_the_decimal_context_is_not_silently_rounded() -> None:
    """A 1 in the 29th decimal place is still more precision than a 6-decimal mint allows:
    refusing it is the rule, whatever the number of significant digits."""
    value = "1." + "0" * 28 + "1"
    assert Decimal(value) != Decimal(1)
    with pytest.raises(AmountError):
        to_base_units(value, 6)


@pytest.mark.parametrize("value", ["1e999999", "9e1000000"])
def test_absurd_exponents_are_an_amount_error_not_an_arithmetic_crash(value) -> None:
    """Callers (the tool layer) turn AmountError into a message for the agent; any other
    exception escapes them."""
    with pytest.raises(AmountError):
        to_base_units(value, 9)


@pytest.mark.parametrize("value", ["-1", -0.5, Decimal("-0.000001"), "-100"])
def test_negative_amounts_are_rejected(value) -> None:
    with pytest.raises(AmountError, match="negative"):
        to_base_units(value, 6)


@pytest.mark.parametrize("value", [0, "0", "0.0", 0.0, Decimal("0"), "-0"])
def test_zero_is_rejected_by_default(value) -> None:
    with pytest.raises(AmountError, match="greater than zero"):
        to_base_units(value, 9)


def test_zero_is_accepted_when_allowed() -> None:
    assert to_base_units("0", 9, allow_zero=True) == 0
    assert to_base_units(0, 6, allow_zero=True) == 0


@pytest.mark.parametrize(
    "value",
    ["abc", "", "   ", "1,5", "0x10", "1.2.3", "one", None, True, False, [1], {"amount": 1}],
)
def test_non_numbers_are_rejected(value) -> None:
    with pytest.raises(AmountError):
        to_base_units(value, 6)


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), float("-inf"), "NaN", "nan", "Infinity", "inf", "-inf", "sNaN"],
)
def test_nan_and_infinity_are_rejected(value) -> None:
    with pytest.raises(AmountError):
        to_base_units(value, 9)


def test_amount_error_is_a_value_error() -> None:
    assert issubclass(AmountError, ValueError)


def test_parse_decimal_is_exact_for_floats() -> None:
    assert parse_decimal(0.1) == Decimal("0.1")
    assert parse_decimal("2") == Decimal(2)
    with pytest.raises(AmountError):
        parse_decimal("nan")


# --------------------------------------------------------------------------- parse_base_units


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (5, 5),
        (50_000_000, 50_000_000),
        (2**64 - 1, 2**64 - 1),
        ("50000000", 50_000_000),
        ("0", 0),
        (" 42 ", 42),
        ("1_000_000", 1_000_000),
        (1000.0, 1000),
    ],
)
def test_parse_base_units_accepts_integers_and_integer_strings(value, expected: int) -> None:
    result = parse_base_units(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "value",
    [
        "1.5",
        1.5,
        "abc",
        "",
        "1e6",
        "0x10",
        "1.0",
        True,
        False,
        None,
        float("nan"),
        float("inf"),
        [1],
    ],
)
def test_parse_base_units_rejects_fractions_booleans_and_non_numbers(value) -> None:
    with pytest.raises(AmountError):
        parse_base_units(value)


@pytest.mark.parametrize("value", ["--5", "-", "²", "٥"])
def test_parse_base_units_rejects_malformed_integers_with_amount_error(value) -> None:
    """Strings that look digit-like to str.isdigit() but are not integers are rejected with
    the module's own error, like every other non-integer."""
    with pytest.raises(AmountError):
        parse_base_units(value)


@pytest.mark.parametrize("value", [-1, "-5", -1.0])
def test_parse_base_units_rejects_negatives(value) -> None:
    """Lamports and token amounts are u64 on chain."""
    with pytest.raises(AmountError):
        parse_base_units(value)


@pytest.mark.parametrize("value", [2**64, str(2**64), 10**30])
def test_parse_base_units_rejects_values_beyond_u64(value) -> None:
    with pytest.raises(AmountError):
        parse_base_units(value)


@pytest.mark.parametrize(
    ("value", "decimals"),
    [("18446744073.709551616", 9), ("18446744073709551616", 0), ("1e30", 9), ("1e20", 6)],
)
def test_to_base_units_rejects_amounts_beyond_u64(value: str, decimals: int) -> None:
    with pytest.raises(AmountError):
        to_base_units(value, decimals)


def test_to_base_units_accepts_the_largest_u64() -> None:
    assert to_base_units("18446744073.709551615", 9) == 2**64 - 1
    assert to_base_units(str(2**64 - 1), 0) == 2**64 - 1


# --------------------------------------------------------------------------- format_ui_amount


@pytest.mark.parametrize(
    ("base_units", "decimals", "expected"),
    [
        (100_000_000, 9, "0.1"),
        (1_000_000_000, 9, "1"),
        (1, 9, "0.000000001"),
        (1_500_000, 6, "1.5"),
        (50_000_000, 6, "50"),
        (35_000_000, 6, "35"),
        (0, 6, "0"),
        (100, 0, "100"),
        (100 * 10**9, 9, "100"),
        (123, 2, "1.23"),
        (10, 1, "1"),
        (1_000_001, 6, "1.000001"),
        (2**64 - 1, 9, "18446744073.709551615"),
    ],
)
def test_format_ui_amount(base_units: int, decimals: int, expected: str) -> None:
    assert format_ui_amount(base_units, decimals) == expected


@pytest.mark.parametrize("base_units", [1, 7, 100_000_000, 123_456_789, 10**15, 2**64 - 1])
@pytest.mark.parametrize("decimals", [0, 2, 6, 9])
def test_format_and_parse_round_trip(base_units: int, decimals: int) -> None:
    text = format_ui_amount(base_units, decimals)
    assert "E" not in text and "e" not in text
    assert to_base_units(text, decimals) == base_units
    assert to_ui_amount(base_units, decimals) == Decimal(text)
