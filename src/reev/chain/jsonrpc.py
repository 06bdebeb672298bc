"""A synchronous Solana JSON-RPC client: what `RpcChain` and a fork's upstream share.

The `Chain` protocol is synchronous, so this is too (httpx's sync client, one connection pool
per URL). RPC providers put API keys in the URL's path, query or user info; errors and
everything else reev writes name the endpoint by `redact_url(url)` only.
"""

from __future__ import annotations

import base64
import threading
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from solders.account import Account
from solders.pubkey import Pubkey

from reev.constants import U64_MAX
from reev.errors import InfrastructureError


def redact_url(url: str) -> str:
    """scheme://host[:port] only (a port that is not a number is left out)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}"


class JsonRpcError(InfrastructureError):
    """The endpoint answered with a JSON-RPC error, or not at all (`code` None)."""

    def __init__(self, method: str, code: int | None, message: str, data: Any = None):
        super().__init__(f"{method}: {message}" + (f" ({code})" if code is not None else ""))
        self.method = method
        self.code = code
        self.data = data


class JsonRpcClient:
    _pools: ClassVar[dict[tuple[str, float], httpx.Client]] = {}  # shared by every client of a URL
    _pools_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str, *, timeout_s: float = 30.0):
        self.url = url
        self.source = redact_url(url)
        with self._pools_lock:
            pool = self._pools.get((url, timeout_s))
            if pool is None:
                pool = self._pools[(url, timeout_s)] = httpx.Client(timeout=timeout_s)
        self._pool = pool
        self._ids = 0

    def call(self, method: str, params: list[Any]) -> Any:
        """The `result` of one request; JsonRpcError for an error answer or a failed request."""
        self._ids += 1
        payload = {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params}
        try:
            response = self._pool.post(self.url, json=payload)
        except httpx.HTTPError as exc:
            # httpx's messages may quote the URL: only the redacted endpoint is named.
            raise JsonRpcError(
                method, None, f"no answer from {self.source} ({type(exc).__name__})"
            ) from None
        try:
            body = response.json()
        except ValueError:  # a proxy's 401/429/502 page
            raise JsonRpcError(
                method, None, f"{self.source} answered HTTP {response.status_code} without JSON"
            ) from None
        if not isinstance(body, dict):
            raise JsonRpcError(
                method, None, f"{self.source} answered something that is not a JSON-RPC response"
            )
        if "error" in body:
            error = body["error"] if isinstance(body["error"], dict) else {}
            raise JsonRpcError(
                method, error.get("code"), str(error.get("message")), error.get("data")
            )
        return body.get("result")


def account_from_json(value: dict[str, Any] | None) -> Account | None:
    """An account as getAccountInfo / getMultipleAccounts / getProgramAccounts return it with
    `encoding: base64` (None stays None). Raises KeyError, ValueError or OverflowError on a
    malformed one. Mainnet reports rent-exempt accounts' rent epoch as u64::MAX, kept as is."""
    if value is None:
        return None
    return Account(
        lamports=int(value["lamports"]),
        data=base64.b64decode(value["data"][0]),
        owner=Pubkey.from_string(value["owner"]),
        executable=bool(value["executable"]),
        rent_epoch=min(int(value.get("rentEpoch") or 0), U64_MAX),
    )
