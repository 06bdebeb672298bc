"""The tool layer shared by every agent. Names and parameters are a public contract
(docs/tools.md)."""

from typing import Any

from reev.tools import (  # noqa: F401  (registration)
    accounts,
    memo,
    query,
    raw,
    stake,
    submit,
    swap,
    system,
    token,
    token_admin,
    wsol,
)
from reev.tools.base import Tool, ToolContext, ToolError, ToolOutcome, run_tool
from reev.tools.registry import TOOLS


def call_tool(ctx: ToolContext, name: str, args: Any) -> ToolOutcome:
    """Run one tool from the registry by name."""
    return run_tool(TOOLS, ctx, name, args)


__all__ = ["TOOLS", "Tool", "ToolContext", "ToolError", "ToolOutcome", "call_tool"]
