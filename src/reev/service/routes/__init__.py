"""The API's routes, one `APIRouter` per resource, mounted under `/api/v1` by the app factory."""

from __future__ import annotations

from fastapi import APIRouter

from reev.service.routes import agents, benchmarks, executions, flows, health, logs, report, runs

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module in (health, benchmarks, executions, runs, agents, flows, logs, report):
        router.include_router(module.router)
    return router


__all__ = ["API_PREFIX", "api_router"]
