"""WebSocket subscriptions (Agave's PubSub API) over the node's events.

`signatureSubscribe`, `accountSubscribe`, `programSubscribe`, `logsSubscribe` and
`slotSubscribe`, each with its `…Unsubscribe`. Every transaction is final the moment it lands,
so a signature notification goes out at once for any commitment, also when the transaction
landed before the subscription (a client that subscribes after sending still hears about it),
and the subscription then ends, as Agave's do.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from solders.pubkey import Pubkey
from solders.signature import Signature

from reev.rpc.encoding import check_data_slice, check_encoding, error_json
from reev.rpc.errors import INVALID_PARAMS, RpcError, invalid_params
from reev.rpc.handlers.accounts import encode_for_subscription
from reev.rpc.node import ChainNode, NodeEvent
from reev.rpc.params import COMMITMENTS, Params, parse_filters, parse_pubkey, parse_signature

KINDS = {
    "accountSubscribe": "account",
    "programSubscribe": "program",
    "signatureSubscribe": "signature",
    "logsSubscribe": "logs",
    "slotSubscribe": "slot",
}
UNSUBSCRIBE = {f"{kind}Unsubscribe": kind for kind in KINDS.values()}


class Connection:
    """One WebSocket: messages for it are queued and sent, in order, by its writer task."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.closed = False

    def push(self, message: dict[str, Any] | str) -> None:
        if self.closed:
            return
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.queue.put_nowait(text)
        else:  # an event raised by a call from another thread
            self.loop.call_soon_threadsafe(self.queue.put_nowait, text)


@dataclass
class Subscription:
    id: int
    kind: str
    connection: Connection
    pubkey: Pubkey | None = None
    signature: Signature | None = None
    encoding: str = "binary"
    data_slice: tuple[int, int] | None = None
    filters: list[Callable[[bytes], bool]] = field(default_factory=list)
    mentions: Pubkey | None = None


class PubSub:
    def __init__(self, node: ChainNode):
        self.node = node
        self._subs: dict[int, Subscription] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        node.add_listener(self._on_event)

    def close(self) -> None:
        self.node.remove_listener(self._on_event)

    # ---- requests ---------------------------------------------------------------------------

    def handle(
        self, connection: Connection, name: str, params: Any
    ) -> tuple[Any, Callable[[], None] | None]:
        """The result of a (un)subscribe request and what to do once the answer is sent."""
        if name in UNSUBSCRIBE:
            p = Params(params, required=1, maximum=1)
            sub_id = p.integer(0, "subscription id")
            with self._lock:
                sub = self._subs.get(sub_id)
                if sub is None or sub.connection is not connection or sub.kind != UNSUBSCRIBE[name]:
                    raise RpcError(INVALID_PARAMS, "Invalid subscription id.")
                del self._subs[sub_id]
            return True, None
        kind = KINDS[name]
        sub = Subscription(id=0, kind=kind, connection=connection)  # numbered once valid
        if kind == "account":
            p = Params(params, required=1, maximum=2)
            sub.pubkey = p.pubkey(0)
            self._account_options(sub, p.config(1).raw)
        elif kind == "program":
            p = Params(params, required=1, maximum=2)
            sub.pubkey = p.pubkey(0, "program id")
            config = p.config(1).raw
            self._account_options(sub, config)
            sub.filters = parse_filters(config.get("filters"))
        elif kind == "signature":
            p = Params(params, required=1, maximum=2)
            sub.signature = parse_signature(p.get(0))
            self._commitment(p.config(1).raw)
        elif kind == "logs":
            p = Params(params, required=1, maximum=2)
            selector = p.get(0)
            if selector in ("all", "allWithVotes"):
                pass
            elif (
                isinstance(selector, dict)
                and isinstance(selector.get("mentions"), list)
                and len(selector["mentions"]) == 1
            ):
                sub.mentions = parse_pubkey(selector["mentions"][0])
            else:
                raise invalid_params(
                    'expected "all", "allWithVotes" or {"mentions": [one address]}'
                )
            self._commitment(p.config(1).raw)
        else:
            Params(params, required=0, maximum=0)
        with self._lock:
            sub.id = next(self._ids)
            self._subs[sub.id] = sub
        followup = (lambda: self._signature_now(sub)) if kind == "signature" else None
        return sub.id, followup

    @staticmethod
    def _commitment(config: dict[str, Any]) -> None:
        commitment = config.get("commitment")
        if commitment is not None and commitment not in COMMITMENTS:
            raise invalid_params(
                f"unknown variant `{commitment}`, expected one of `processed`, `confirmed`, `finalized`"
            )

    def _account_options(self, sub: Subscription, config: dict[str, Any]) -> None:
        self._commitment(config)
        sub.encoding = check_encoding(config.get("encoding")) or "binary"
        if sub.encoding == "base64+zstd":
            raise RpcError(
                INVALID_PARAMS, "base64+zstd is not supported by this server; use base64"
            )
        sub.data_slice = check_data_slice(config.get("dataSlice"))

    def drop(self, connection: Connection) -> None:
        connection.closed = True
        with self._lock:
            for sub_id in [i for i, s in self._subs.items() if s.connection is connection]:
                del self._subs[sub_id]

    # ---- notifications --------------------------------------------------------------------------

    @staticmethod
    def _notify(sub: Subscription, method: str, result: Any) -> None:
        sub.connection.push(
            {
                "jsonrpc": "2.0",
                "method": method,
                "params": {"result": result, "subscription": sub.id},
            }
        )

    def _signature_now(self, sub: Subscription) -> None:
        """A signature that already landed: notify and end the subscription at once."""
        with self.node.lock:
            record = self.node.records.get(sub.signature) if sub.signature is not None else None
        if record is not None:
            with self._lock:
                if self._subs.pop(sub.id, None) is None:
                    return
            self._notify(
                sub,
                "signatureNotification",
                {"context": {"slot": record.slot}, "value": {"err": error_json(record.err)}},
            )

    def _on_event(self, event: NodeEvent) -> None:
        with self._lock:
            subs = list(self._subs.values())
        if not subs:
            return
        context = {"slot": event.slot}
        if event.kind == "slot":
            for sub in subs:
                if sub.kind == "slot":
                    self._notify(
                        sub,
                        "slotNotification",
                        {"parent": event.slot - 1, "root": event.slot, "slot": event.slot},
                    )
        elif event.kind == "transaction" and event.record is not None:
            record = event.record
            err = error_json(record.err)
            for sub in subs:
                if sub.kind == "signature" and sub.signature == record.signature:
                    with self._lock:
                        if self._subs.pop(sub.id, None) is None:
                            continue
                    self._notify(
                        sub, "signatureNotification", {"context": context, "value": {"err": err}}
                    )
                elif sub.kind == "logs" and (
                    sub.mentions is None or sub.mentions in record.account_keys
                ):
                    value = {"err": err, "logs": record.logs, "signature": str(record.signature)}
                    self._notify(sub, "logsNotification", {"context": context, "value": value})
        elif event.kind == "accounts":
            written = set(event.pubkeys)
            for sub in subs:
                if sub.kind == "account" and sub.pubkey in written:
                    account = encode_for_subscription(
                        self.node, sub.pubkey, sub.encoding, sub.data_slice
                    )
                    self._notify(sub, "accountNotification", {"context": context, "value": account})
                elif sub.kind == "program":
                    for pubkey in sorted(written, key=bytes):
                        raw = self.node.get_account(pubkey)
                        if raw is None or raw.owner != sub.pubkey:
                            continue
                        if not all(f(bytes(raw.data)) for f in sub.filters):
                            continue
                        account = encode_for_subscription(
                            self.node, pubkey, sub.encoding, sub.data_slice
                        )
                        self._notify(
                            sub,
                            "programNotification",
                            {
                                "context": context,
                                "value": {"account": account, "pubkey": str(pubkey)},
                            },
                        )
