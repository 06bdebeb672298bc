"""One live overview per server, shared by every open page (issue 18).

Each overview page used to load its own copy of every execution (62 MB and 4.5 s of CPU per tab
at 100k executions). Now the first page loads the aggregates once (`Overview.load`); this object
then follows the manager's events itself — one hub subscription for the whole server, one read
of the changed rows per burst — folds them in, and tells every subscribed page to re-render.

Benchmarks and executions that another process writes (`reev sync`, `reev run --record`, the
benchmark editor of another server) send no event, so a light watch reads a fingerprint of both
tables every few seconds (the benchmark count and newest `updated_at`, and the newest execution
by the `created_at` index: no full scan) and reloads when it changes: new benchmarks appear
without a page reload.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reev.events import EpisodeFinished, LiveEvent, StatusEvent
from reev.store import repository as repo
from reev.store.aggregates import Unit
from reev.store.models import BenchmarkRow, ExecutionRow
from reev.web.context import Dashboard
from reev.web.data import Overview, Run

log = logging.getLogger(__name__)

BURST_S = 0.1  # events this close together are one read and one re-render
WATCH_S = 2.0  # how often the fingerprint of writes by other processes is read

Listener = Callable[[], None]


def fingerprint(session: Session) -> tuple[Any, ...]:
    """Changes whenever a benchmark is added or updated or an execution is created."""
    benchmarks = session.execute(
        select(func.count(), func.max(BenchmarkRow.updated_at)).select_from(BenchmarkRow)
    ).one()
    newest = session.execute(
        select(ExecutionRow.created_at, ExecutionRow.execution_id)
        .order_by(ExecutionRow.created_at.desc(), ExecutionRow.execution_id)
        .limit(1)
    ).first()
    return (*benchmarks, *(newest or ()))


class LiveOverview:
    def __init__(self, dash: Dashboard):
        self.dash = dash
        self.overview: Overview | None = None
        self._lock = asyncio.Lock()
        self._listeners: set[Listener] = set()
        self._changed: set[str] = set()
        self._flush: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._fingerprint: tuple[Any, ...] = ()
        self.loads = 0  # full loads so far (tests and the benchmark script read it)

    async def get(self) -> Overview:
        """The shared overview, loaded by the first page that asks."""
        async with self._lock:
            if self.overview is None:
                await self._load()
                self._tasks = [
                    asyncio.create_task(self._follow(), name="reev-overview-events"),
                    asyncio.create_task(self._watch(), name="reev-overview-watch"),
                ]
            assert self.overview is not None
            return self.overview

    async def _load(self) -> None:
        self._fingerprint = await self.dash.read(fingerprint)
        self.overview = await self.dash.read(Overview.load)
        self.loads += 1

    async def ensure_unit(self, unit: Unit) -> None:
        """Load the chart buckets of `unit` when a filter needs them (once per server)."""
        overview = await self.get()
        if unit not in overview.buckets:
            async with self._lock:
                await self.dash.read(overview.load_unit, unit)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener()` after every change; returns the unsubscribe function."""
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    @property
    def subscribers(self) -> int:
        return len(self._listeners)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # one closed page must not stop the others' updates
                log.exception("overview listener failed")

    async def _follow(self) -> None:
        async for execution_id, event in self.dash.hub.events():
            self.on_event(execution_id, event)

    def on_event(self, execution_id: str, event: LiveEvent) -> None:
        if not isinstance(event, StatusEvent | EpisodeFinished):
            return
        self._changed.add(execution_id)
        if self._flush is None or self._flush.done():
            self._flush = asyncio.create_task(self._apply_changes(), name="reev-overview-flush")

    async def _apply_changes(self) -> None:
        await asyncio.sleep(BURST_S)
        ids = list(self._changed)
        self._changed.clear()

        def query(session: Session) -> list[Any]:
            return [row for row in (repo.get_execution(session, i) for i in ids) if row is not None]

        async with self._lock:
            rows = await self.dash.read(query)
            overview = self.overview
            if overview is None:
                return
            for row in rows:
                overview.apply(Run.of(row))
            # Our own writes move the executions' part of the fingerprint: take it now, so the
            # watch does not reload for them, unless the benchmarks changed meanwhile (a sync
            # right after the overview was loaded): the watch reloads for those.
            seen = await self.dash.read(fingerprint)
            if seen[:2] == self._fingerprint[:2]:
                self._fingerprint = seen
        self._notify()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_S)
            try:
                seen = await self.dash.read(fingerprint)
                if seen == self._fingerprint:
                    continue
                async with self._lock:
                    await self._load()
                self._notify()
            except Exception:  # a locked or restarting database: try again at the next tick
                log.debug("overview watch failed", exc_info=True)
