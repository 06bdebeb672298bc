"""Wrapped-SOL tools: SOL held in an SPL token account of the native mint."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from spl.token.instructions import get_associated_token_address

from reev.chain.wsol import unwrap_instruction, wrap_instructions
from reev.constants import NATIVE_MINT, SOL_DECIMALS, TOKEN_PROGRAM
from reev.tools.base import ToolContext, ToolError, ToolParams
from reev.tools.registry import tool
from reev.tools.token import ensure_associated_account
from reev.units import format_ui_amount, to_base_units


class WrapSolParams(ToolParams):
    amount: Decimal = Field(description="Amount of SOL to wrap into wSOL")


@tool("wrap_sol", WrapSolParams, "action")
def wrap_sol(ctx: ToolContext, p: WrapSolParams) -> dict:
    """Stage wrapping SOL into wSOL in your associated wSOL token account (created if missing)."""
    lamports = to_base_units(p.amount, SOL_DECIMALS)
    ata, instructions = ensure_associated_account(ctx, ctx.wallet, NATIVE_MINT, TOKEN_PROGRAM)
    instructions += wrap_instructions(ctx.wallet, ata, lamports)
    return ctx.stage(
        "wrap_sol", f"wrap {format_ui_amount(lamports, SOL_DECIMALS)} SOL into {ata}", *instructions
    )


class UnwrapSolParams(ToolParams):
    pass


@tool("unwrap_sol", UnwrapSolParams, "action")
def unwrap_sol(ctx: ToolContext, p: UnwrapSolParams) -> dict:
    """Stage unwrapping all your wSOL: closes your associated wSOL account and returns its SOL
    (balance and rent) to your wallet."""
    ata = get_associated_token_address(ctx.wallet, NATIVE_MINT, TOKEN_PROGRAM)
    if ctx.account(ata) is None and not ctx.is_staged_creation(ata):
        raise ToolError("you have no wSOL account to unwrap")
    return ctx.stage("unwrap_sol", f"unwrap all wSOL in {ata}", unwrap_instruction(ctx.wallet))
