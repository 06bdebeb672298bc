"""The Solana JSON-RPC server: HTTP POST and WebSocket on one port (Starlette, run by uvicorn).

HTTP takes single requests and batches, up to `MAX_REQUEST_BODY` bytes (Agave's 50 KiB);
`GET /health` answers `ok` as a validator does. The WebSocket at the same path speaks the
PubSub API (`reev.rpc.pubsub`). Every request gets a JSON-RPC answer: -32700 for malformed
JSON, -32600 for a request that is not one, -32601 for an unknown method, -32602 for bad
parameters and -32603 (with the exception's message) for anything unexpected. Nothing a client
sends stops the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from reev.chain.fork import ChainDataUnavailable
from reev.defi.jupiter_api import jupiter_routes
from reev.rpc.errors import INTERNAL_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, RpcError
from reev.rpc.methods import dispatch
from reev.rpc.node import ChainNode
from reev.rpc.pubsub import KINDS, UNSUBSCRIBE, Connection, PubSub

MAX_REQUEST_BODY = 50 * 1024  # Agave's MAX_REQUEST_BODY_SIZE
# surfnet_* cheat codes may carry a program (surfnet_setAccount with a 100 KB+ ELF as hex): a body
# made only of cheat-code calls may be this large. Every other method keeps Agave's limit.
MAX_CHEAT_CODE_BODY = 16 * 1024 * 1024
_DRAIN_LIMIT = 16 * 1024 * 1024  # an oversized body is read (and dropped) up to this much
log = logging.getLogger("reev.rpc")

CallSink = Callable[[dict[str, Any]], None]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _error(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}


def _only_cheat_codes(body: bytes | bytearray) -> bool:
    """A request (or batch) that calls surfnet_* methods only: the larger body limit applies."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return False
    requests = parsed if isinstance(parsed, list) else [parsed]
    return bool(requests) and all(
        isinstance(r, dict)
        and isinstance(r.get("method"), str)
        and r["method"].startswith("surfnet_")
        for r in requests
    )


def _valid_id(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, str)
        or (isinstance(value, (int, float)) and not isinstance(value, bool))
    )


class RpcServer:
    """The ASGI application and the request handling behind it."""

    def __init__(
        self,
        node: ChainNode,
        *,
        max_body: int = MAX_REQUEST_BODY,
        on_call: CallSink | None = None,
        cheat_codes: bool = True,
    ):
        self.node = node
        self.max_body = max_body
        self.on_call = on_call
        # Without cheat codes (an agent under evaluation), surfnet_* and requestAirdrop do not
        # exist: nothing but real transactions changes the chain, as on mainnet.
        self.cheat_codes = cheat_codes
        self.pubsub = PubSub(node)
        self.app = Starlette(
            routes=[
                Route("/", self._http, methods=["POST"]),
                Route("/health", self._health, methods=["GET"]),
                *jupiter_routes(node),  # the Jupiter-shaped swap API (reev.defi.jupiter_api)
                WebSocketRoute("/", self._websocket),
            ]
        )
        self.app.state.rpc = self

    # ---- JSON-RPC --------------------------------------------------------------------------

    def handle_text(
        self, text: str | bytes, *, transport: str = "http", connection: Connection | None = None
    ) -> bytes | None:
        """The answer to one HTTP body or WebSocket message (None: only notifications)."""
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError):
            return _dumps(_error(None, RpcError(PARSE_ERROR, "Parse error")))
        if isinstance(payload, list):
            if not payload:
                return _dumps(_error(None, RpcError(INVALID_REQUEST, "Invalid request")))
            answers = [
                a
                for a in (self._one(item, transport, connection) for item in payload)
                if a is not None
            ]
            return _dumps(answers) if answers else None
        answer = self._one(payload, transport, connection)
        return _dumps(answer) if answer is not None else None

    def _one(
        self, item: Any, transport: str, connection: Connection | None
    ) -> dict[str, Any] | None:
        if not isinstance(item, dict):
            return _error(None, RpcError(INVALID_REQUEST, "Invalid request"))
        has_id = "id" in item
        request_id = item.get("id")
        name = item.get("method")
        params = item.get("params")
        if (
            not _valid_id(request_id)
            or item.get("jsonrpc", "2.0") != "2.0"
            or not isinstance(name, str)
            or not (params is None or isinstance(params, (list, dict)))
        ):
            return _error(
                request_id if _valid_id(request_id) else None,
                RpcError(INVALID_REQUEST, "Invalid request"),
            )
        started = time.perf_counter()
        followup = None
        try:
            if transport == "ws":
                result, followup = self._ws_method(name, params, connection)
            elif not self.cheat_codes and (name.startswith("surfnet_") or name == "requestAirdrop"):
                raise RpcError(METHOD_NOT_FOUND, "Method not found")
            else:
                result = dispatch(self.node, name, params)
            answer: dict[str, Any] = {"jsonrpc": "2.0", "result": result, "id": request_id}
        except RpcError as exc:
            answer = _error(request_id, exc)
        except ChainDataUnavailable as exc:  # a fork's snapshot lacks an account: say which
            self.node.chain_error = (
                self.node.chain_error or exc
            )  # --agent-cmd fails the episode on it
            answer = _error(request_id, RpcError(INTERNAL_ERROR, str(exc)))
        except Exception as exc:
            log.exception("internal error in %s", name)
            answer = _error(
                request_id, RpcError(INTERNAL_ERROR, f"Internal error: {type(exc).__name__}: {exc}")
            )
        if self.on_call is not None:
            self._record(transport, name, params, request_id, answer, started)
        if followup is not None and connection is not None:
            # The answer (with the subscription id) must reach the client before any notification.
            connection.push(answer)
            followup()
            return None
        return answer if has_id else None

    def _ws_method(self, name: str, params: Any, connection: Connection | None) -> tuple[Any, Any]:
        if connection is None or (name not in KINDS and name not in UNSUBSCRIBE):
            raise RpcError(METHOD_NOT_FOUND, "Method not found")
        return self.pubsub.handle(connection, name, params)

    def _record(
        self,
        transport: str,
        name: str,
        params: Any,
        request_id: Any,
        answer: dict[str, Any],
        started: float,
    ) -> None:
        assert self.on_call is not None
        try:
            self.on_call(
                {
                    "transport": transport,
                    "method": name,
                    "params": params,
                    "id": request_id,
                    "ok": "error" not in answer,
                    "error": answer.get("error"),
                    "result": answer.get("result")
                    if name in ("sendTransaction", "requestAirdrop")
                    else None,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                }
            )
        except Exception:
            log.exception("RPC call recorder failed")

    # ---- HTTP ------------------------------------------------------------------------------

    async def _http(self, request: Request) -> Response:
        limit = max(self.max_body, MAX_CHEAT_CODE_BODY) if self.cheat_codes else self.max_body
        declared = request.headers.get("content-length")
        body = bytearray()
        too_large = declared is not None and declared.isdigit() and int(declared) > limit
        seen = 0
        try:
            async for chunk in request.stream():
                seen += len(chunk)
                if not too_large:
                    body += chunk
                    too_large = len(body) > limit
                if seen > _DRAIN_LIMIT:
                    break
        except ClientDisconnect:  # the client gave up mid-request: nobody to answer
            return Response(b"", status_code=400)
        if too_large or (len(body) > self.max_body and not _only_cheat_codes(body)):
            error = RpcError(
                INVALID_REQUEST, f"Request body too large: the limit is {self.max_body} bytes"
            )
            return Response(
                _dumps(_error(None, error)), status_code=413, media_type="application/json"
            )
        answer = self.handle_text(bytes(body))
        if answer is None:
            return Response(b"", status_code=200, media_type="application/json")
        return Response(answer, media_type="application/json")

    async def _health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    # ---- WebSocket -------------------------------------------------------------------------

    async def _websocket(self, websocket: WebSocket) -> None:
        await websocket.accept()
        connection = Connection()
        writer = asyncio.create_task(self._writer(websocket, connection))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
                if len(text) > self.max_body:
                    error = RpcError(
                        INVALID_REQUEST, f"Request too large: the limit is {self.max_body} bytes"
                    )
                    connection.push(_error(None, error))
                    continue
                answer = self.handle_text(text, transport="ws", connection=connection)
                if answer is not None:
                    connection.push(answer.decode())
        except WebSocketDisconnect:
            pass
        finally:
            self.pubsub.drop(connection)
            writer.cancel()

    @staticmethod
    async def _writer(websocket: WebSocket, connection: Connection) -> None:
        try:
            while True:
                text = await connection.queue.get()
                await websocket.send_text(text)
        except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            pass
        except Exception:
            pass


def create_app(
    node: ChainNode,
    *,
    max_body: int = MAX_REQUEST_BODY,
    on_call: CallSink | None = None,
    cheat_codes: bool = True,
) -> Starlette:
    """The ASGI app serving `node`; `on_call` hears about every request (the session log);
    `cheat_codes=False` removes surfnet_* and requestAirdrop."""
    return RpcServer(node, max_body=max_body, on_call=on_call, cheat_codes=cheat_codes).app
