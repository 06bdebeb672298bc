"""The Solana JSON-RPC server: HTTP POST and WebSocket on one port (Starlette, run by uvicorn).

HTTP takes single requests and batches, up to `MAX_REQUEST_BODY` bytes (Agave's 50 KiB);
`GET /health` answers `ok` as a validator does. The WebSocket at the same path speaks the
PubSub API (`reev.rpc.pubsub`). Every request gets a JSON-RPC answer that is valid JSON: -32700
for a body that is not JSON (NaN and Infinity included: `reev.rpc.wire`), -32600 for a request
that is not one (or a batch over `MAX_BATCH_REQUESTS`, or an entry left when the request's
time budget is spent), -32601 for an unknown method, -32602 for bad parameters and -32603 (with
the exception's message) for anything unexpected. Nothing a client sends stops the server, and
no request holds the event loop: node work runs in worker threads, one call at a time
(`reev.rpc.turns`), so other clients are answered between the entries of a long batch.
"""

from __future__ import annotations

import asyncio
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
from reev.rpc import wire
from reev.rpc.errors import INTERNAL_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, RpcError
from reev.rpc.handlers import dispatch
from reev.rpc.jupiter import jupiter_routes
from reev.rpc.jupiter_lend import jupiter_lend_routes
from reev.rpc.node import ChainNode
from reev.rpc.pubsub import KINDS, UNSUBSCRIBE, Connection, PubSub
from reev.rpc.turns import NodeTurns, RequestBudget

MAX_REQUEST_BODY = 50 * 1024  # Agave's MAX_REQUEST_BODY_SIZE
# surfnet_* cheat codes may carry a program (surfnet_setAccount with a 100 KB+ ELF as hex): a body
# made only of cheat-code calls may be this large. Every other method keeps Agave's limit.
MAX_CHEAT_CODE_BODY = 16 * 1024 * 1024
# Agave caps the body (50 KiB), not the batch; 1,000 entries is about what that body holds of
# the shortest complete calls (`{"jsonrpc":"2.0","id":N,"method":"getSlot"}`, ~50 bytes).
MAX_BATCH_REQUESTS = 1000
# The node time one HTTP body or WebSocket message may use (its entries' own run time, not the
# wait for other clients): 1,000 surfnet_resetNetwork calls take ~12 s on a loaded 2-core machine.
REQUEST_TIME_BUDGET_S = 30.0
_DRAIN_LIMIT = 16 * 1024 * 1024  # an oversized body is read (and dropped) up to this much
log = logging.getLogger("reev.rpc")

CallSink = Callable[[dict[str, Any]], None]


def _only_cheat_codes(payload: Any) -> bool:
    """A request (or batch) that calls surfnet_* methods only: the larger body limit applies."""
    requests = payload if isinstance(payload, list) else [payload]
    return bool(requests) and all(
        isinstance(r, dict)
        and isinstance(r.get("method"), str)
        and r["method"].startswith("surfnet_")
        for r in requests
    )


def _json_response(text: str, status_code: int = 200) -> Response:
    return Response(text.encode(), status_code=status_code, media_type="application/json")


class RpcServer:
    """The ASGI application and the request handling behind it."""

    def __init__(
        self,
        node: ChainNode,
        *,
        max_body: int = MAX_REQUEST_BODY,
        on_call: CallSink | None = None,
        cheat_codes: bool = True,
        max_batch: int = MAX_BATCH_REQUESTS,
        time_budget_s: float = REQUEST_TIME_BUDGET_S,
    ):
        self.node = node
        self.max_body = max_body
        self.on_call = on_call
        # Without cheat codes (an agent under evaluation), surfnet_* and requestAirdrop do not
        # exist: nothing but real transactions changes the chain, as on mainnet.
        self.cheat_codes = cheat_codes
        self.max_batch = max_batch
        self.time_budget_s = time_budget_s
        self.turns = NodeTurns(node)
        self.pubsub = PubSub(node)
        self.app = Starlette(
            routes=[
                Route("/", self._http, methods=["POST"]),
                Route("/health", self._health, methods=["GET"]),
                *jupiter_routes(node),  # the Jupiter-shaped swap API (reev.rpc.jupiter)
                *jupiter_lend_routes(node),  # the Jupiter Lend-shaped Earn API (rpc.jupiter_lend)
                WebSocketRoute("/", self._websocket),
            ]
        )
        self.app.state.rpc = self

    # ---- JSON-RPC --------------------------------------------------------------------------

    async def answer(
        self, payload: Any, *, transport: str = "http", connection: Connection | None = None
    ) -> str | None:
        """The answer to a parsed body or message (None: only notifications). Entries run one
        turn each, within the request's time budget."""
        if isinstance(payload, list):
            if not payload:
                return wire.encode(wire.error_answer(None, wire.invalid_request("empty batch")))
            if len(payload) > self.max_batch:
                error = RpcError(
                    INVALID_REQUEST,
                    f"Invalid request: a batch of {len(payload)} requests; "
                    f"at most {self.max_batch} are served in one batch",
                )
                return wire.encode(wire.error_answer(None, error))
        budget = RequestBudget(self.time_budget_s)
        answers: list[str] = []
        for item in payload if isinstance(payload, list) else [payload]:
            text = await self._entry(item, transport, connection, budget)
            if text is not None:
                answers.append(text)
        if isinstance(payload, list):
            return "[" + ",".join(answers) + "]" if answers else None
        return answers[0] if answers else None

    async def _entry(
        self, item: Any, transport: str, connection: Connection | None, budget: RequestBudget
    ) -> str | None:
        problem = wire.request_problem(item)
        if problem is not None:
            return wire.encode(
                wire.error_answer(wire.answer_id(item), wire.invalid_request(problem))
            )
        if budget.spent:
            if "id" not in item:
                return None
            error = RpcError(
                INVALID_REQUEST,
                f"Invalid request: not run, the request's time budget of {budget.seconds:g} s "
                "was spent by the entries before it; send fewer entries per batch",
            )
            return wire.encode(wire.error_answer(item["id"], error))
        return await self.turns.run(lambda: self._call(item, transport, connection), budget)

    def _call(
        self, item: dict[str, Any], transport: str, connection: Connection | None
    ) -> str | None:
        """One valid request, in a worker thread under the node's lock: the encoded answer."""
        request_id = item.get("id")
        name = item["method"]
        params = item.get("params")
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
            answer = wire.error_answer(request_id, exc)
        except ChainDataUnavailable as exc:  # a fork's snapshot lacks an account: say which
            # --agent-cmd fails the episode on it
            self.node.chain_error = self.node.chain_error or exc
            answer = wire.error_answer(request_id, RpcError(INTERNAL_ERROR, str(exc)))
        except BaseException as exc:
            # Also pyo3's PanicException (a Rust panic in solders/LiteSVM), which derives from
            # BaseException: one request must not take the server down.
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            log.exception("internal error in %s", name)
            message = f"Internal error: {type(exc).__name__}: {exc}"
            answer = wire.error_answer(request_id, RpcError(INTERNAL_ERROR, message))
        text = wire.encode_answer(answer)
        if self.on_call is not None:
            self._record(transport, name, params, request_id, answer, started)
        if followup is not None and connection is not None:
            # The answer (with the subscription id) must reach the client before any notification.
            connection.push(text)
            followup()
            return None
        return text if "id" in item else None

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

    async def _parse(self, text: str | bytes) -> Any:
        """Parsed off the loop when large (a 16 MiB cheat-code body takes a while)."""
        if len(text) <= self.max_body:
            return wire.parse(text)
        return await asyncio.to_thread(wire.parse, text)

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
        payload: Any = None
        parse_error: RpcError | None = None
        if not too_large:
            try:
                payload = await self._parse(bytes(body))
            except RpcError as exc:
                parse_error = exc
        if too_large or (
            len(body) > self.max_body
            and (parse_error is not None or not _only_cheat_codes(payload))
        ):
            error = RpcError(
                INVALID_REQUEST, f"Request body too large: the limit is {self.max_body} bytes"
            )
            return _json_response(wire.encode(wire.error_answer(None, error)), status_code=413)
        if parse_error is not None:
            return _json_response(wire.encode(wire.error_answer(None, parse_error)))
        answer = await self.answer(payload)
        if answer is None:
            return Response(b"", status_code=200, media_type="application/json")
        return _json_response(answer)

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
                    connection.push(wire.error_answer(None, error))
                    continue
                try:
                    answer = await self.answer(
                        wire.parse(text), transport="ws", connection=connection
                    )
                except RpcError as exc:
                    answer = wire.encode(wire.error_answer(None, exc))
                if answer is not None:
                    connection.push(answer)
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
    max_batch: int = MAX_BATCH_REQUESTS,
    time_budget_s: float = REQUEST_TIME_BUDGET_S,
) -> Starlette:
    """The ASGI app serving `node`; `on_call` hears about every request (the session log);
    `cheat_codes=False` removes surfnet_* and requestAirdrop; `max_batch` and `time_budget_s`
    bound what one request may ask of the node."""
    return RpcServer(
        node,
        max_body=max_body,
        on_call=on_call,
        cheat_codes=cheat_codes,
        max_batch=max_batch,
        time_budget_s=time_budget_s,
    ).app
