"""The JSON-RPC wire format, strictly: what is JSON, what is a request, what goes back.

Agave parses bodies with serde_json, which knows no `NaN`, `Infinity` or `-Infinity` and refuses
a number too large for a double (`1e400`): such a body is not JSON (-32700). Python's `json`
accepts all of them, so `parse` refuses them here; `encode` never writes them either, so every
answer is valid JSON. A request's `id` is what jsonrpc-core (Agave's JSON-RPC library) accepts —
null, a string or an integer from 0 to u64::MAX — and strings (ids, method names) must not
carry control characters; anything else is -32600 with `"id": null`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from reev.constants import U64_MAX
from reev.rpc.errors import INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR, RpcError

# C0 controls, DEL and C1 controls: never part of an identifier; a NUL cut by some layer
# (a C string, a terminal) would make the name mean something else than what was checked.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def parse(text: str | bytes) -> Any:
    """The JSON value of a body or message; RpcError(-32700) when it is not JSON as serde_json
    reads it (also: nesting too deep, an integer of more than 4,300 digits)."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        raise RpcError(PARSE_ERROR, "Parse error") from None


def encode(value: Any) -> str:
    """Compact JSON; ValueError for a non-finite float (never sent: not JSON)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def error_answer(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}


def encode_answer(answer: dict[str, Any]) -> str:
    """The answer as JSON; a result that cannot be JSON becomes -32603 for the same id."""
    try:
        return encode(answer)
    except (ValueError, TypeError, RecursionError) as exc:
        error = RpcError(INTERNAL_ERROR, f"Internal error: the result is not JSON ({exc})")
        return encode(error_answer(answer.get("id"), error))


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def valid_id(value: Any) -> bool:
    """jsonrpc-core's `Id`: null, a string (here: without control characters) or a u64."""
    if value is None:
        return True
    if isinstance(value, str):
        return not has_control(value)
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= U64_MAX


def request_problem(item: Any) -> str | None:
    """Why `item` is not a JSON-RPC 2.0 request (None: it is one)."""
    if not isinstance(item, dict):
        return "a request must be a JSON object"
    if not valid_id(item.get("id")):
        return "id must be null, a string without control characters or an integer 0..2^64-1"
    if item.get("jsonrpc", "2.0") != "2.0":
        return 'jsonrpc must be "2.0"'
    name = item.get("method")
    if not isinstance(name, str):
        return "method must be a string"
    if has_control(name):
        return "method must not contain control characters"
    params = item.get("params")
    if not (params is None or isinstance(params, (list, dict))):
        return "params must be an array or an object"
    return None


def invalid_request(detail: str) -> RpcError:
    """Agave's -32600 "Invalid request"; what is wrong goes in `data`."""
    return RpcError(INVALID_REQUEST, "Invalid request", data=detail)


def answer_id(item: Any) -> Any:
    """The id an error answer to `item` carries: its own when valid, else null."""
    request_id = item.get("id") if isinstance(item, dict) else None
    return request_id if valid_id(request_id) else None
