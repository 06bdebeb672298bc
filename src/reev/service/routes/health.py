"""`GET /health`: liveness, the version, and how many executions are in each status."""

from __future__ import annotations

from fastapi import APIRouter

from reev import __version__
from reev.service import schemas
from reev.service.deps import DbSession
from reev.store import repository as repo
from reev.store.cache import AGGREGATES

router = APIRouter()


@router.get("/health", response_model=schemas.Health)
def health(session: DbSession) -> schemas.Health:
    return schemas.Health(
        status="ok",
        version=__version__,
        executions=AGGREGATES.get(session, "counts-by-status", repo.counts_by_status),
    )
