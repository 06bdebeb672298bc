"""What every page reads from: the API app's settings, database sessions and execution manager
(the dashboard runs in the same process), plus the live-event hub."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from reev.service.manager import ExecutionManager
from reev.service.settings import ServiceSettings
from reev.web.hub import EventHub

if TYPE_CHECKING:
    from reev.web.live import LiveOverview

T = TypeVar("T")


@dataclass
class Dashboard:
    settings: ServiceSettings
    sessions: sessionmaker[Session]
    manager: ExecutionManager
    hub: EventHub
    _live: LiveOverview | None = None

    @property
    def live(self) -> LiveOverview:
        """The overview every open page shares (`reev.web.live`), made on first use."""
        if self._live is None:
            from reev.web.live import LiveOverview  # live imports this module

            self._live = LiveOverview(self)
        return self._live

    async def read(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `query(session, *args)` in a worker thread: the event loop never waits on the database."""

        def work() -> T:
            with self.sessions() as session:
                return query(session, *args, **kwargs)

        return await asyncio.to_thread(work)

    def token_ok(self, token: str | None) -> bool:
        """Mutations (run, stop, save) need the API token when the server has one, as the API does."""
        expected = self.settings.api_token
        if expected is None:
            return True
        return token is not None and secrets.compare_digest(token.strip(), expected)

    @property
    def needs_token(self) -> bool:
        return self.settings.api_token is not None


_current: Dashboard | None = None


def install(dashboard: Dashboard) -> None:
    global _current
    _current = dashboard


def current() -> Dashboard:
    if _current is None:
        raise RuntimeError("the dashboard is not mounted: call reev.web.mount(app)")
    return _current
