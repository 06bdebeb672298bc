"""Agents by name. LLM providers join this table in the LLM-agents work."""

from __future__ import annotations

from collections.abc import Callable

from reev.agents.base import Agent
from reev.agents.deterministic import DeterministicAgent

AGENTS: dict[str, Callable[[], Agent]] = {
    "deterministic": DeterministicAgent,
}


class UnknownAgentError(ValueError):
    pass


def create_agent(name: str) -> Agent:
    try:
        factory = AGENTS[name]
    except KeyError:
        raise UnknownAgentError(
            f"unknown agent {name!r}; available: {', '.join(sorted(AGENTS))}"
        ) from None
    return factory()
