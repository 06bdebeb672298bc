"""Node work off the event loop, one call at a time, first come first served.

A call that reads or changes the chain (a method, a subscription) runs in a worker thread
holding the node's lock, so the event loop keeps accepting connections and reading bodies
while LiteSVM works. Calls take turns through a FIFO `asyncio.Lock`: a batch takes one turn per
entry, so a request from another client that arrives mid-batch runs after the entry in
progress, not after the whole batch. Each request also has a budget of node time
(`RequestBudget`): entries that would start after it is spent are not run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from reev.rpc.node import ChainNode

T = TypeVar("T")


class RequestBudget:
    """The node time one request (an HTTP body or a WebSocket message) may use: its entries'
    own run time, not the time spent waiting for other clients' turns."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.used = 0.0

    @property
    def spent(self) -> bool:
        return self.used >= self.seconds


class NodeTurns:
    """Runs node work in worker threads, one call at a time, in arrival order."""

    def __init__(self, node: ChainNode):
        self.node = node
        self._turn = asyncio.Lock()  # FIFO: waiters are woken in the order they arrived

    async def run(self, work: Callable[[], T], budget: RequestBudget) -> T:
        """`work()` in a worker thread under the node's lock; its run time counts on `budget`."""
        async with self._turn:
            return await asyncio.to_thread(self._locked, work, budget)

    def _locked(self, work: Callable[[], T], budget: RequestBudget) -> T:
        with self.node.lock:
            started = time.perf_counter()
            try:
                return work()
            finally:
                budget.used += time.perf_counter() - started
