"""The one tool that executes: everything staged goes out as one transaction."""

from __future__ import annotations

from reev.tools.base import ToolContext, ToolParams
from reev.tools.registry import tool


class SubmitTransactionParams(ToolParams):
    pass


@tool("submit_transaction", SubmitTransactionParams, "submit")
def submit_transaction(ctx: ToolContext, p: SubmitTransactionParams) -> dict:
    """Sign and send every staged instruction as one transaction (fee payer: your wallet) and
    return its outcome: signature, success, error and program logs."""
    result = ctx.submit()
    return {
        "signature": result.signature,
        "success": result.success,
        "error": result.error,
        "compute_units": result.compute_units,
        "fee_lamports": result.fee,
        "logs": result.logs,
    }
