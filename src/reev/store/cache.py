"""Aggregates kept while the executions have not changed (issue 18).

A full aggregate is a pass over the covering index: O(executions), 0.2–0.5 s of SQLite CPU at
100k. Every write of executions goes through `reev.store.repository`, which raises the
`store_versions` counter in the same transaction, so a reader that keeps a result under the
version it read *before* computing it can answer the next request with one primary-key read
while nothing changed, and recomputes after any write, from any process. A write that lands
between the version read and the computation only makes the next request recompute.

Per-cell aggregates (`VersionCache.cells`) go further: the same writes stamp the (benchmark,
agent) cells they touched (`cell_versions`), so after a write only the stamped cells are
recomputed, a few thousand index entries instead of every execution.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from reev.store import repository as repo

T = TypeVar("T")
Key = tuple[str, str]  # (benchmark_id, agent)
# Past this many stamped cells one full pass costs less than the per-cell index seeks.
MAX_INCREMENTAL_CELLS = 64


class VersionCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[int, Any]] = {}
        self._lock = threading.Lock()
        # One computation per entry at a time: a request that misses while another computes
        # (the start-up warm-up, a burst after a write) waits for it instead of repeating it.
        self._computing: dict[tuple[str, str], threading.Lock] = {}

    def _entry(self, key: tuple[str, str]) -> tuple[int, Any] | None:
        with self._lock:
            return self._entries.get(key)

    def _computing_lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._lock:
            return self._computing.setdefault(key, threading.Lock())

    def get(self, session: Session, name: str, compute: Callable[[Session], T]) -> T:
        """`compute(session)`, or its result from an earlier call at the same version. Callers
        must not change what they get back: it is shared by every request until a write."""
        version = repo.executions_version(session)
        if version is None:  # a schema before 0002: nothing to key on
            return compute(session)
        key = (session.get_bind().engine.url.render_as_string(hide_password=False), name)
        hit = self._entry(key)
        if hit is not None and hit[0] == version:
            return hit[1]  # stored by this method as a T
        with self._computing_lock(key):
            hit = self._entry(key)  # computed meanwhile by the call this one waited for
            if hit is not None and hit[0] == version:
                return hit[1]
            value = compute(session)
            with self._lock:
                self._entries[key] = (version, value)
        return value

    def cells(
        self,
        session: Session,
        name: str,
        compute: Callable[[Session, Collection[Key] | None], dict[Key, T]],
    ) -> dict[Key, T]:
        """`compute(session, None)` (every cell), kept like `get`; after a write, only the cells
        stamped since the kept version are recomputed (`compute(session, those cells)`; a cell
        it does not return has no executions any more) and merged into a new dict. Callers must
        not change what they get back."""
        version = repo.executions_version(session)
        if version is None:
            return compute(session, None)
        key = (session.get_bind().engine.url.render_as_string(hide_password=False), name)
        hit = self._entry(key)
        if hit is not None and hit[0] == version:
            return hit[1]  # stored by this method as a dict[Key, T]
        with self._computing_lock(key):
            hit = self._entry(key)
            if hit is not None and hit[0] == version:
                return hit[1]
            value: dict[Key, T] | None = None
            if hit is not None:
                changed = repo.cells_changed_since(session, hit[0])
                # No cell stamped although the version moved: a writer that stamps no cells
                # (an older reev on the same database) changed something; recompute it all.
                if changed and len(changed) <= MAX_INCREMENTAL_CELLS:
                    fresh = compute(session, changed)
                    value = {k: v for k, v in hit[1].items() if k not in changed} | fresh
            if value is None:
                value = compute(session, None)
            with self._lock:
                self._entries[key] = (version, value)
        return value


AGGREGATES = VersionCache()  # one per process: the API's and the dashboard's reads share it
