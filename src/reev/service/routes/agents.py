"""`GET /agents` (what can be run and whether its key is set) and `GET /agent-performance`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from reev.agents.providers import PROVIDERS, key_status
from reev.service import schemas
from reev.service.deps import DbSession
from reev.service.performance import cached_agent_performance

router = APIRouter()


@router.get("/agents", response_model=list[schemas.AgentOut])
def agents() -> list[schemas.AgentOut]:
    oracle = schemas.AgentOut(
        agent="deterministic",
        provider="oracle",
        model=None,
        base_url=None,
        key_env=None,
        key="not needed",
        needs_model=False,
    )
    return [oracle] + [
        schemas.AgentOut(
            agent=p.name,
            provider=p.name,
            model=p.default_model,
            base_url=p.base_url,
            key_env=p.api_key_env,
            key=key_status(p),
            needs_model=p.model_in_name,
        )
        for p in PROVIDERS.values()
    ]


@router.get("/agent-performance")
def performance(session: DbSession) -> dict[str, Any]:
    return cached_agent_performance(session)
