"""The tool registry: one table of every tool, filled by the `@tool` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reev.tools.base import Tool, ToolContext, ToolKind, ToolParams

TOOLS: dict[str, Tool] = {}

P = TypeVar("P", bound=ToolParams)


def tool(
    name: str, params: type[P], kind: ToolKind
) -> Callable[
    [Callable[[ToolContext, P], dict[str, Any]]], Callable[[ToolContext, P], dict[str, Any]]
]:
    """Register a handler; its docstring is the description the agent reads."""

    def register(
        handler: Callable[[ToolContext, P], dict[str, Any]],
    ) -> Callable[[ToolContext, P], dict[str, Any]]:
        if name in TOOLS:
            raise RuntimeError(f"tool {name!r} registered twice")
        description = " ".join((handler.__doc__ or "").split())
        TOOLS[name] = Tool(
            name=name, description=description, params=params, handler=handler, kind=kind
        )
        return handler

    return register
