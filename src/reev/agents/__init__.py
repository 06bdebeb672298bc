"""Agents: the protocol, the deterministic oracle, LLM tool-callers, remote HTTP agents, and
endpoint agents (programs acting over JSON-RPC on a chain the runner serves)."""

from reev.agents.base import (
    Agent,
    AgentEndpoint,
    AgentError,
    AgentTask,
    EndpointAgent,
    ModelCallRecord,
    Observation,
    ToolBox,
)
from reev.agents.budget import RunBudget
from reev.agents.deterministic import DeterministicAgent
from reev.agents.providers import PROVIDERS, ProviderError
from reev.agents.registry import AgentOptions, UnknownAgentError, agent_factory, create_agent

__all__ = [
    "PROVIDERS",
    "Agent",
    "AgentEndpoint",
    "AgentError",
    "AgentOptions",
    "AgentTask",
    "DeterministicAgent",
    "EndpointAgent",
    "ModelCallRecord",
    "Observation",
    "ProviderError",
    "RunBudget",
    "ToolBox",
    "UnknownAgentError",
    "agent_factory",
    "create_agent",
]
