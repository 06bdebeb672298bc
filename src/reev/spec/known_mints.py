"""Mints a benchmark may use without declaring them: real mainnet addresses, real decimals.

On the embedded chain these mints are materialised with no mint or freeze authority, like the
real ones as far as an agent is concerned (nobody in the episode can mint USDC).
"""

from __future__ import annotations

from dataclasses import dataclass

from reev.constants import NATIVE_MINT, TOKEN_2022_PROGRAM, TOKEN_PROGRAM


@dataclass(frozen=True)
class KnownMint:
    symbol: str
    address: str
    decimals: int
    program: str = str(TOKEN_PROGRAM)


KNOWN_MINTS: dict[str, KnownMint] = {
    m.address: m
    for m in (
        KnownMint("USDC", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 6),
        KnownMint("USDT", "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", 6),
        KnownMint("wSOL", str(NATIVE_MINT), 9),
        KnownMint("JUP", "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN", 6),
        KnownMint("BONK", "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263", 5),
        KnownMint("mSOL", "mSoLzYCxHdYgdzU16g5QSh3i5K3z3KZK7ytfqcJm7So", 9),
        KnownMint(
            "PYUSD", "2b1kV6DkPAnxd5ixfnxCpjxmKwqjjaYmCZfHsFu24GXo", 6, str(TOKEN_2022_PROGRAM)
        ),
    )
}


# The share mints of reev Lend's default market (docs/lending.md), at the addresses the original
# Jupiter Lend benchmarks hold. Set-up creates them with the market; a token account of one in
# `initial_state` is a vault position backed by real assets.
LEND_SHARE_MINTS: dict[str, KnownMint] = {
    m.address: m
    for m in (
        KnownMint("jlUSDC", "9BEcn9aPEmhSPbPQeFGjidRiEKki46fVQDyPpSQXPA2D", 6),
        KnownMint("jlSOL", "2uQsyo1fXXQkDtcpXnLofWy88PxcvnfH2L8FPSE62FVU", 9),
    )
}


# The assets of reev Lend's default market, each with its share mint (docs/lending.md, "The
# default market"): what a benchmark's `lending.positions` may deposit, pledge or borrow.
LEND_ASSETS: dict[str, KnownMint] = {
    "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v": LEND_SHARE_MINTS[
        "9BEcn9aPEmhSPbPQeFGjidRiEKki46fVQDyPpSQXPA2D"
    ],
    str(NATIVE_MINT): LEND_SHARE_MINTS["2uQsyo1fXXQkDtcpXnLofWy88PxcvnfH2L8FPSE62FVU"],
}


def program_id_for(name: str) -> str:
    return {"spl-token": str(TOKEN_PROGRAM), "token-2022": str(TOKEN_2022_PROGRAM)}[name]
