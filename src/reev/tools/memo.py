"""Memo tool."""

from __future__ import annotations

from pydantic import Field
from spl.memo.instructions import create_memo
from spl.memo.models import MemoParams

from reev.constants import MEMO_PROGRAM
from reev.tools.base import ToolContext, ToolError, ToolParams
from reev.tools.registry import tool

MAX_MEMO_BYTES = 566


class AddMemoParams(ToolParams):
    text: str = Field(description="UTF-8 text of the memo")


@tool("add_memo", AddMemoParams, "action")
def add_memo(ctx: ToolContext, p: AddMemoParams) -> dict:
    """Stage an SPL Memo (signed by your wallet) in the next transaction."""
    data = p.text.encode("utf-8")
    if not data:
        raise ToolError("text: a memo cannot be empty")
    if len(data) > MAX_MEMO_BYTES:
        raise ToolError(f"text: a memo is limited to {MAX_MEMO_BYTES} bytes")
    ix = create_memo(MemoParams(program_id=MEMO_PROGRAM, signer=ctx.wallet, message=data))
    return ctx.stage("add_memo", f"memo {p.text!r}", ix)
