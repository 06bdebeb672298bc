"""Live events for the dashboard: every event of every execution, fanned out to open pages.

The execution manager calls `EventHub.on_event` for each event it publishes (a status change, a
tool call, the final status), sometimes from a worker thread. The hub hops onto the event loop and
puts `(execution_id, event)` on the queue of every page that listens. Pages update their elements
when an event arrives; nothing polls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from reev.events import LiveEvent

log = logging.getLogger(__name__)

Event = tuple[str, LiveEvent]


class EventHub:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind_loop(self) -> None:
        """Called once on the server's event loop (at startup)."""
        self._loop = asyncio.get_running_loop()

    def on_event(self, execution_id: str, event: LiveEvent) -> None:
        """The manager's listener: safe from any thread, never raises."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self._dispatch(execution_id, event)
            else:  # events are frozen: every page may share the one object
                loop.call_soon_threadsafe(self._dispatch, execution_id, event)
        except Exception:  # a closing loop, say: the dashboard must never break the manager
            log.debug("dashboard event dropped", exc_info=True)

    def _dispatch(self, execution_id: str, event: LiveEvent) -> None:
        for queue in list(self._queues):
            queue.put_nowait((execution_id, event))

    async def events(self) -> AsyncIterator[Event]:
        """Every event from now on, until the consumer stops iterating (or is cancelled)."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)

    @property
    def listeners(self) -> int:
        return len(self._queues)
