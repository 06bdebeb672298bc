"""The method table: `@method(name)` registers a handler; `dispatch` finds and runs it.

A handler takes the node and the raw `params` and returns the `result` value (plain JSON data)
or raises `RpcError`. Results that solders can build are built with it (`solders_json`), so
their JSON is exactly what solana-py and other clients parse.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from reev.rpc.errors import METHOD_NOT_FOUND, RpcError
from reev.rpc.node import ChainNode

Handler = Callable[[ChainNode, Any], Any]
METHODS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name] = handler
        return handler

    return register


def dispatch(node: ChainNode, name: str, params: Any) -> Any:
    handler = METHODS.get(name)
    if handler is None:
        raise RpcError(METHOD_NOT_FOUND, "Method not found")
    return handler(node, params)


def with_context(node: ChainNode, value: Any) -> dict[str, Any]:
    return {"context": node.context(), "value": value}


def solders_json(obj: Any) -> Any:
    return json.loads(obj.to_json())
