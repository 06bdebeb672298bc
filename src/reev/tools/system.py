"""System-program tools."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from solders.system_program import TransferParams, transfer

from reev.constants import SOL_DECIMALS
from reev.tools.base import ToolContext, ToolParams
from reev.tools.registry import tool
from reev.units import format_ui_amount, to_base_units


class SolTransferParams(ToolParams):
    recipient: str = Field(description="Address of the wallet that receives the SOL")
    amount: Decimal = Field(description="Amount in SOL (not lamports), e.g. 0.1")


@tool("sol_transfer", SolTransferParams, "action")
def sol_transfer(ctx: ToolContext, p: SolTransferParams) -> dict:
    """Stage a transfer of native SOL from your wallet to a recipient. The amount is in SOL;
    at most 9 decimal places."""
    recipient = ctx.address(p.recipient, "recipient")
    lamports = to_base_units(p.amount, SOL_DECIMALS)
    ix = transfer(TransferParams(from_pubkey=ctx.wallet, to_pubkey=recipient, lamports=lamports))
    return ctx.stage(
        "sol_transfer",
        f"transfer {format_ui_amount(lamports, SOL_DECIMALS)} SOL to {recipient}",
        ix,
    )
