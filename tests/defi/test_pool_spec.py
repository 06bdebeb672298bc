"""`pools:` in a benchmark: the model, its load-time errors (file:line:field) and how pool ids
resolve."""

from __future__ import annotations

import textwrap

import pytest

from reev.spec.loader import BenchmarkError, parse_benchmark
from reev.spec.placeholders import PlaceholderError, derive_keypair, resolve_placeholders

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def source(pool: str, extra: str = "") -> str:
    return textwrap.dedent(
        """\
        id: pools-test
        prompt: Swap 1 SOL for USDC.
        mints:
          - address: CAKE_TOKEN_MINT
            decimals: 2
        {extra}
        pools:
          - id: SOL_USDC_POOL
            mints: [{SOL}, {USDC}]
            reserves: ["1000", "150000"]
            fee_bps: 30
        {pool}
        """
    ).format(SOL=SOL, USDC=USDC, pool=textwrap.indent(textwrap.dedent(pool), "  "), extra=extra)


def error_of(text: str) -> str:
    with pytest.raises(BenchmarkError) as info:
        parse_benchmark(text, "pools.yml")
    assert len(info.value.diagnostics) == 1, info.value.diagnostics
    return str(info.value.diagnostics[0])


def test_a_declared_pool_loads() -> None:
    text = source(
        """\
        - id: CAKE_USDC_POOL
          mints: [CAKE_TOKEN_MINT, EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v]
          reserves: ["10.25", 5]
        """
    )
    pools = parse_benchmark(text, "pools.yml").benchmark.pools
    assert [p.id for p in pools] == ["SOL_USDC_POOL", "CAKE_USDC_POOL"]
    assert pools[0].reserves == ["1000", "150000"] and pools[0].fee_bps == 30
    assert pools[1].reserves == ["10.25", "5"]  # an integer reserve is read as its digits
    assert pools[1].fee_bps == 30  # the default


# line numbers: the second pool starts on line 12 (`- id:`), mints 13, reserves 14, fee 15
@pytest.mark.parametrize(
    ("pool", "where", "message"),
    [
        (
            """\
            - id: X_POOL
              mints: [UNKNOWN_TOKEN_MINT, EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v]
              reserves: ["1", "1"]
            """,
            "pools.yml:13: error: pools[1].mints[0]:",
            "UNKNOWN_TOKEN_MINT is not a well-known mint; declare it under `mints:`",
        ),
        (
            """\
            - id: X_POOL
              mints: [CAKE_TOKEN_MINT, EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v]
              reserves: ["0", "1"]
            """,
            "pools.yml:14: error: pools[1].reserves:",
            "[0]: a pool reserve must be greater than zero, not 0",
        ),
        (
            """\
            - id: X_POOL
              mints: [CAKE_TOKEN_MINT, EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v]
              reserves: ["1", "lots"]
            """,
            "pools.yml:14: error: pools[1].reserves:",
            "[1]: 'lots' is not a number of token units",
        ),
        (
            """\
            - id: X_POOL
              mints: [CAKE_TOKEN_MINT, EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v]
              reserves: ["1.001", "1"]
            """,
            "pools.yml:14: error: pools[1].reserves[0]:",
            "more than 2 decimal places",
        ),
        (
            """\
            - id: X_POOL
              mints: [CAKE_TOKEN_MINT, EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v]
              reserves: ["1", "1"]
              fee_bps: 10000
            """,
            "pools.yml:15: error: pools[1].fee_bps:",
            "less than 10000",
        ),
        (
            """\
            - id: X_POOL
              mints: [CAKE_TOKEN_MINT, CAKE_TOKEN_MINT]
              reserves: ["1", "1"]
            """,
            "pools.yml:12: error: pools[1]:",
            "two different mints",
        ),
        (
            """\
            - id: SOL_USDC_POOL
              mints: [CAKE_TOKEN_MINT, EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v]
              reserves: ["1", "1"]
            """,
            "pools.yml:12: error: pools[1].id:",
            "used twice",
        ),
        (
            """\
            - id: 7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU
              mints: [CAKE_TOKEN_MINT, EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v]
              reserves: ["1", "1"]
            """,
            "pools.yml:12: error: pools[1].id:",
            "a pool id is a placeholder",
        ),
        (
            """\
            - id: X_POOL
              mints: [CAKE_TOKEN_MINT, EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v]
              reserves: [1.5, "1"]
            """,
            "pools.yml:14: error: pools[1].reserves:",
            "quoted string",
        ),
        (
            """\
            - id: X_POOL
              mints: [CAKE_TOKEN_MINT]
              reserves: ["1", "1"]
            """,
            "pools.yml:13: error: pools[1].mints:",
            "at least 2 items",
        ),
    ],
)
def test_bad_pools_are_file_line_field_errors(pool: str, where: str, message: str) -> None:
    error = error_of(source(pool))
    assert error.startswith(where), error
    assert message in error


def test_a_pool_id_cannot_be_an_existing_account() -> None:
    extra = "initial_state:\n  - pubkey: SOL_USDC_POOL\n    lamports: 5"
    error = error_of(source("", extra))
    assert error.startswith("pools.yml:10: error: pools[0].id:"), error
    assert "already an account" in error


def test_pool_ids_resolve_to_derived_keypairs_hidden_from_the_agent() -> None:
    benchmark = parse_benchmark(source(""), "pools.yml").benchmark
    keys = resolve_placeholders(benchmark, seed=7)
    expected = derive_keypair("pools-test", 7, "SOL_USDC_POOL")
    assert keys.addresses["SOL_USDC_POOL"] == expected.pubkey()
    assert keys.keypairs[expected.pubkey()] == expected  # the set-up can sign its creation
    assert "SOL_USDC_POOL" not in keys.visible  # pool internals only through tools and RPC


def test_a_pool_id_that_is_a_token_account_is_refused() -> None:
    extra = textwrap.dedent(
        f"""\
        initial_state:
          - pubkey: USER_WALLET_PUBKEY
            lamports: 1000000000
        ground_truth:
          final_state_assertions:
            - type: TokenAccountBalance
              pubkey: SOL_USDC_POOL
              expected: 1
              address_derivation:
                type: AssociatedTokenAccount
                owner: USER_WALLET_PUBKEY
                mint: {USDC}
        """
    )
    benchmark = parse_benchmark(source("", extra), "pools.yml").benchmark
    with pytest.raises(PlaceholderError, match="SOL_USDC_POOL: a pool id must be a name"):
        resolve_placeholders(benchmark, seed=0)
