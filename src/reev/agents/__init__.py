"""Agents: the protocol, the deterministic oracle, and the registry of names."""

from reev.agents.base import Agent, AgentError, AgentTask, Observation, ToolBox
from reev.agents.deterministic import DeterministicAgent
from reev.agents.registry import AGENTS, UnknownAgentError, create_agent

__all__ = [
    "AGENTS",
    "Agent",
    "AgentError",
    "AgentTask",
    "DeterministicAgent",
    "Observation",
    "ToolBox",
    "UnknownAgentError",
    "create_agent",
]
