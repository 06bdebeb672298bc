"""Agents by name: `deterministic`, a provider name (`glm-4.6`, `openai/<model>`, …) or an
http(s):// URL. Everything that can be wrong with a name or a key fails here, before any
episode starts."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reev.agents.base import Agent
from reev.agents.budget import RunBudget
from reev.agents.cache import ResponseCache
from reev.agents.deterministic import DeterministicAgent
from reev.agents.pricing import PriceTable
from reev.agents.providers import ModelEndpoint, ProviderError, resolve_endpoint
from reev.agents.remote import RemoteAgent
from reev.agents.retry import RetryPolicy

AgentFactory = Callable[[], Agent]


class UnknownAgentError(ProviderError):
    pass


@dataclass
class AgentOptions:
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    max_turns: int = 10
    request_timeout_s: float = 60.0
    pricing_file: Path | None = None
    budget: RunBudget = field(default_factory=RunBudget)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    cache: ResponseCache | None = None  # LLM agents only: --cache


def llm_endpoint(name: str, options: AgentOptions | None = None) -> ModelEndpoint | None:
    """The model endpoint an agent name resolves to, or None for an agent that calls no model
    (deterministic, a remote URL). Raises `UnknownAgentError` like `agent_factory`."""
    options = options or AgentOptions()
    if name == "deterministic" or name.startswith(("http://", "https://")):
        return None
    try:
        return resolve_endpoint(
            name, model=options.model, base_url=options.base_url, api_key_env=options.api_key_env
        )
    except ProviderError as exc:
        raise UnknownAgentError(str(exc)) from None


def agent_factory(name: str, options: AgentOptions | None = None) -> AgentFactory:
    """A factory making one agent per episode, sharing the run's client and budget."""
    options = options or AgentOptions()
    if name == "deterministic":
        return DeterministicAgent
    # Factories are picklable (a class, or a partial of one) so that worker processes
    # (reev.runner.workers) can make the run's agents too.
    if name.startswith(("http://", "https://")):
        return functools.partial(RemoteAgent, name, timeout_s=options.request_timeout_s)
    endpoint = llm_endpoint(name, options)
    assert endpoint is not None  # the two agents that call no model returned above
    endpoint.api_key()  # a missing key is an error now, naming the variable
    from reev.agents.llm import LLMAgent, LLMSettings  # imports the openai SDK: only for LLM agents

    prices = PriceTable()
    if options.pricing_file is not None:
        prices.extend_from_file(options.pricing_file)
    settings = LLMSettings(
        endpoint=endpoint,
        max_turns=options.max_turns,
        request_timeout_s=options.request_timeout_s,
        retry=options.retry,
        prices=prices,
        budget=options.budget,
        cache=options.cache,
    )
    return functools.partial(LLMAgent, settings)


def create_agent(name: str, options: AgentOptions | None = None) -> Agent:
    return agent_factory(name, options)()
