"""Swap tools with the original reev's names: `get_swap_quote` and `jupiter_swap`.

They route over the episode's pools of reev's own AMM (`reev.defi.router`), not over Jupiter:
the names and the base-unit `amount` are those of the original reev's Jupiter tool so that
agents and benchmarks written for it run unchanged. Amounts are base units (lamports for SOL),
as the original took them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from reev.chain.accounts import MintInfo
from reev.constants import NATIVE_MINT
from reev.defi import router
from reev.tools.base import ToolContext, ToolError, ToolParams
from reev.tools.registry import tool
from reev.units import AmountError, format_ui_amount, parse_base_units

_AMOUNT = (
    "Amount in base units of the mint (an integer, e.g. 100000000 lamports = 0.1 SOL, 1500000 = "
    "1.5 USDC): for ExactIn what you send, for ExactOut what you receive"
)


class SwapQuoteParams(ToolParams):
    input_mint: str = Field(description=f"Mint you give (native SOL: {NATIVE_MINT})")
    output_mint: str = Field(description="Mint you receive")
    amount: int | str = Field(description=_AMOUNT)
    slippage_bps: int = Field(
        default=50,
        ge=0,
        le=10_000,
        description="Slippage tolerance in basis points (50 = 0.5%): the least you accept to "
        "receive (ExactIn) or the most you accept to pay (ExactOut)",
    )
    swap_mode: Literal["ExactIn", "ExactOut"] = Field(
        default="ExactIn",
        description="ExactIn: `amount` is what you send; ExactOut: `amount` is what you receive",
    )
    # The original reev's Jupiter tools took the user's wallet; agents written for them pass it.
    user_pubkey: str | None = Field(
        default=None, description="Your wallet (optional; if given it must be your wallet)"
    )


class JupiterSwapParams(SwapQuoteParams):
    """`jupiter_swap` takes exactly what `get_swap_quote` takes."""


def _quote(ctx: ToolContext, p: SwapQuoteParams) -> tuple[router.Quote, MintInfo, MintInfo]:
    if p.user_pubkey is not None and ctx.address(p.user_pubkey, "user_pubkey") != ctx.wallet:
        raise ToolError(
            f"user_pubkey: {p.user_pubkey} is not your wallet; you can only swap from {ctx.wallet}"
        )
    input_mint, input_info, _ = ctx.mint(p.input_mint, "input_mint")
    output_mint, output_info, _ = ctx.mint(p.output_mint, "output_mint")
    try:
        amount = parse_base_units(p.amount)
    except AmountError as exc:
        raise ToolError(
            f"amount: {exc} (amounts are base units, e.g. 100000000 for 0.1 SOL)"
        ) from None
    if amount == 0:
        raise ToolError("amount: must be greater than zero")
    try:
        quote = router.best_quote(
            ctx.chain, input_mint, output_mint, amount, p.swap_mode, p.slippage_bps
        )
    except ValueError as exc:  # NoRoute and out-of-range requests
        raise ToolError(str(exc)) from None
    return quote, input_info, output_info


def describe_quote(quote: router.Quote, input_info: MintInfo, output_info: MintInfo) -> dict:
    """A quote as an agent reads it: base units and token units, the route, the bound."""
    in_decimals, out_decimals = input_info.decimals, output_info.decimals
    exact_in = quote.swap_mode == "ExactIn"
    bound_decimals = out_decimals if exact_in else in_decimals
    return {
        "input_mint": str(quote.input_mint),
        "output_mint": str(quote.output_mint),
        "swap_mode": quote.swap_mode,
        "in_amount": str(quote.in_amount),
        "in_amount_ui": format_ui_amount(quote.in_amount, in_decimals),
        "out_amount": str(quote.out_amount),
        "out_amount_ui": format_ui_amount(quote.out_amount, out_decimals),
        "other_amount_threshold": str(quote.other_amount_threshold),
        "other_amount_threshold_ui": format_ui_amount(quote.other_amount_threshold, bound_decimals),
        "threshold_meaning": "least output accepted" if exact_in else "most input accepted",
        "slippage_bps": quote.slippage_bps,
        "price_impact_pct": quote.price_impact_pct,
        "price_impact_meaning": "a fraction: 0.01 = 1% worse than the route's spot price, "
        "before fees",
        "route": [
            {
                "pool": str(hop.pool),
                "label": router.AMM_LABEL,
                "input_mint": str(hop.input_mint),
                "output_mint": str(hop.output_mint),
                "in_amount": str(hop.amount_in),
                "out_amount": str(hop.amount_out),
                "fee_amount": str(hop.fee_amount),
                "fee_bps": hop.fee_bps,
            }
            for hop in quote.hops
        ],
    }


@tool("get_swap_quote", SwapQuoteParams, "query")
def get_swap_quote(ctx: ToolContext, p: SwapQuoteParams) -> dict[str, Any]:
    """Quote a token swap without staging anything: the best route (direct or through one
    intermediate token) over the chain's pools, the exact amounts in base units (pool fees and
    Token-2022 transfer fees included), the slippage bound and the price impact. The same state
    always gives the same quote."""
    return describe_quote(*_quote(ctx, p))


@tool("jupiter_swap", JupiterSwapParams, "action")
def jupiter_swap(ctx: ToolContext, p: JupiterSwapParams) -> dict[str, Any]:
    """Stage a token swap along the best route (as get_swap_quote reports it). `amount` is in
    base units (lamports for SOL). Native SOL (mint So111…112) is wrapped into your wSOL
    account and that account is closed at the end when SOL is the input or the output, so you
    pay and receive plain SOL; your token account of the output (and of an intermediate token)
    is created when missing. The swap fails on chain if you receive less than the slippage
    bound (ExactIn) or would pay more (ExactOut), or if your balance is too small."""
    quote, input_info, output_info = _quote(ctx, p)
    try:
        instructions = router.swap_instructions(ctx.chain, ctx.wallet, quote)
    except router.SwapError as exc:
        raise ToolError(str(exc)) from None
    described = describe_quote(quote, input_info, output_info)
    summary = (
        f"swap {described['in_amount_ui']} of {quote.input_mint} for {described['out_amount_ui']} "
        f"of {quote.output_mint} ({quote.swap_mode}, {len(quote.hops)} hop(s), bound "
        f"{described['other_amount_threshold_ui']})"
    )
    result = ctx.stage("jupiter_swap", summary, *instructions)
    result["quote"] = described
    return result
