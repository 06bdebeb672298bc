"""Agents: the protocol, the deterministic oracle, LLM tool-callers, remote HTTP agents."""

from reev.agents.base import Agent, AgentError, AgentTask, ModelCallRecord, Observation, ToolBox
from reev.agents.budget import RunBudget
from reev.agents.deterministic import DeterministicAgent
from reev.agents.providers import PROVIDERS, ProviderError
from reev.agents.registry import AgentOptions, UnknownAgentError, agent_factory, create_agent

__all__ = [
    "PROVIDERS",
    "Agent",
    "AgentError",
    "AgentOptions",
    "AgentTask",
    "DeterministicAgent",
    "ModelCallRecord",
    "Observation",
    "ProviderError",
    "RunBudget",
    "ToolBox",
    "UnknownAgentError",
    "agent_factory",
    "create_agent",
]
