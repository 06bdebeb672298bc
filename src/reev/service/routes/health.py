"""`GET /health`: liveness, the version, and how many executions are in each status.

`degraded` (with the reason) when the execution manager's last database write failed (it is
retrying) or the counts cannot be read now; the answer is still a 200 with a body, so a
monitor sees why. A plain `def`: the count runs in a worker thread, so a held database lock
delays this answer only, never the event loop."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError

from reev import __version__
from reev.service import schemas
from reev.service.deps import DbSession, ManagerDep
from reev.service.manager import database_error_reason
from reev.store import repository as repo
from reev.store.cache import AGGREGATES

router = APIRouter()


@router.get("/health", response_model=schemas.Health)
def health(session: DbSession, manager: ManagerDep) -> schemas.Health:
    reason = manager.degraded
    try:
        counts = AGGREGATES.get(session, "counts-by-status", repo.counts_by_status)
    except SQLAlchemyError as exc:
        reason = f"database error: {database_error_reason(exc)}"
        counts = {}
    if manager.closing:
        reason = "shutting down"
    return schemas.Health(
        status="ok" if reason is None else "degraded",
        reason=reason,
        version=__version__,
        executions=counts,
    )
