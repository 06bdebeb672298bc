"""The agent protocol: what an agent is given, and what it acts through.

An agent sees an `AgentTask` (the request with real addresses and an observation of the chain)
and acts only by calling tools on a `ToolBox`. Nothing in either carries the ground truth. The
one exception is explicit: an agent that sets `uses_reference_solution` (the deterministic
oracle) is handed the benchmark's `solution` for the step as a separate argument; the runner
never passes it to any other agent.

An agent that acts on the chain itself, as most Solana agents in the wild do (over JSON-RPC with
the user's keypair: `--agent-cmd`, MCP agents), is an `EndpointAgent`: the runner serves the
episode's chain for each step and hands it an `AgentEndpoint`; the runner, not the agent, owns
that server and records the transactions it saw. No agent ever holds the chain object.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from reev.chain.accounts import AccountState
from reev.chain.protocol import TxResult
from reev.errors import AgentError as AgentError  # re-exported: agents import it from here
from reev.spec.models import ToolCallSpec
from reev.tools.base import Tool


class Observation(BaseModel):
    """What the agent may know about the chain before it acts."""

    wallet: str
    key_map: dict[str, str] = Field(description="Names the benchmark declares → addresses")
    accounts: list[AccountState] = Field(
        description="States of the named accounts and your token accounts"
    )
    last_transaction: TxResult | None = None


class AgentTask(BaseModel):
    """One step of work for an agent (a single-step benchmark has one)."""

    benchmark_id: str
    step: int
    step_count: int
    prompt: str
    observation: Observation
    epoch: int = Field(
        default=0, description="The run's epoch of this episode: a response cache keys on it"
    )


class ModelAttempt(BaseModel):
    """One HTTP attempt of a model call (retries make several)."""

    attempt: int
    ok: bool
    status_code: int | None = None
    error: str | None = None
    latency_ms: float = 0.0
    retry_after_s: float | None = None


class ModelCallRecord(BaseModel):
    """One model call: what was sent, what came back, what it cost."""

    index: int
    provider: str
    model: str
    request_messages: list[dict[str, Any]]
    tools: list[str] = Field(default_factory=list, description="Names of the tools offered")
    response: dict[str, Any] | None = None
    finish_reason: str | None = None
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    attempts: list[ModelAttempt] = Field(default_factory=list)
    error: str | None = None
    cached: bool = Field(
        default=False, description="Answered from the response cache (--cache): no request, cost 0"
    )


class ToolBox(Protocol):
    """How an agent acts: every call is validated, executed and recorded by the runner."""

    @property
    def tools(self) -> list[Tool]: ...

    async def call(self, name: str, args: Any) -> dict[str, Any]:
        """Run a tool; returns its result, or `{"error": ...}` for any mistake. `args` may be a
        JSON string as a model sent it: malformed JSON is an agent mistake like any other."""
        ...

    def record_model_call(self, record: ModelCallRecord) -> None:
        """Add a model call to the step's trace (and the run's usage)."""
        ...

    def record_tool_call(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        ok: bool,
        result: dict[str, Any] | None,
        error: str | None,
        duration_ms: float,
    ) -> None:
        """Add a call the agent made to a tool of its own (an MCP server's) to the step's trace."""
        ...

    def set_final_answer(self, text: str | None) -> None:
        """The agent's closing words for the step, kept in the session file."""
        ...


@dataclass(frozen=True)
class AgentEndpoint:
    """The episode's chain as an `EndpointAgent` reaches it for one step, served by the runner.

    `env` holds what an external process is told about it, by variable name (`REEV_RPC_URL`,
    `REEV_WS_URL`, `REEV_KEYPAIR`, and any further service the runner serves beside the chain):
    the runner decides what it serves, the agent passes it on. `keypair_path` is a Solana CLI
    keypair file of the user's wallet (the one key the agent may sign with), deleted after the
    step. `rpc_calls` is the server's log of every JSON-RPC call it answered, appended to as they
    happen, for the agent's record of the step."""

    rpc_url: str
    ws_url: str
    keypair_path: Path
    env: Mapping[str, str]
    rpc_calls: list[dict[str, Any]] = field(default_factory=list)


class Agent(ABC):
    name: str = "agent"
    uses_reference_solution: bool = False

    @abstractmethod
    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        """Act on one step. Raise `AgentError` when the agent itself fails."""

    async def aclose(self) -> None:  # noqa: B027  # optional hook: most agents hold nothing
        """Release what the agent holds (HTTP clients); called once when the episode ends."""


class EndpointAgent(Agent):
    """An agent that acts on the chain over JSON-RPC rather than through reev's tools.

    For each step the runner serves the episode's chain (no cheat codes, no airdrops), calls
    `run_step_at` with the endpoint, and afterwards records every transaction the server saw
    in the step, so they are traced and scored like tool-sent ones. The tool box is still
    there for what the agent reports (`record_model_call`, `set_final_answer`)."""

    @abstractmethod
    async def run_step_at(self, task: AgentTask, tools: ToolBox, endpoint: AgentEndpoint) -> None:
        """Act on one step through `endpoint`. Raise `AgentError` when the agent itself fails."""

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        raise AgentError(
            f"{self.name} acts over JSON-RPC: it runs only where the runner serves it an endpoint"
        )
