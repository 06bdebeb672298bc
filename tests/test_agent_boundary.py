"""The agent boundary (issue 13, 3b): agents get tools, or an endpoint the runner serves.

The import graph: agents/ imports nothing of rpc/ or runner/, rpc/ nothing of runner/ or
agents/ (read from every module's AST, local imports included). Then the contract itself: a
tool-calling agent's tool box has no chain and no key on it; an `EndpointAgent` is given an RPC
endpoint and the user's keypair file, and what it sends over JSON-RPC is recorded and scored by
the runner; the keypair file is gone after the step.
"""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from reev.agents.base import (
    Agent,
    AgentEndpoint,
    AgentError,
    AgentTask,
    EndpointAgent,
    Observation,
    ToolBox,
)
from reev.runner import read_session, run_episode
from reev.spec import load_benchmark
from reev.spec.models import ToolCallSpec

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
SOL_TRANSFER = ROOT / "benchmarks" / "001-sol-transfer.yml"
LAMPORTS = 100_000_000  # what 001-sol-transfer asks for: 0.1 SOL


def imported_modules(path: Path, root: Path = SRC) -> set[str]:
    """Every module a file under `root` imports, at any depth (local imports too), absolute."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            # `from reev import runner` imports the package `reev.runner`.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in sorted((SRC / "reev" / package).rglob("*.py")):
        for module in sorted(imported_modules(path)):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(SRC)} imports {module}")
    return out


def test_the_checker_sees_local_relative_and_package_imports(tmp_path):
    """The graph check must be able to fail: each import form it has to catch is caught."""
    probe = tmp_path / "reev" / "agents" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(
        "import reev.runner.episode\n"
        "from reev import rpc\n"
        "def f():\n"
        "    from ..runner import suite\n"
        "    from . import base\n"
    )
    found = imported_modules(probe, tmp_path)
    assert {"reev.runner.episode", "reev.rpc", "reev.runner.suite", "reev.agents.base"} <= found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("agents", ("reev.rpc", "reev.runner")),
        ("rpc", ("reev.runner", "reev.agents")),
    ],
)
def test_import_graph(package, forbidden):
    assert violations(package, forbidden) == []


class ToolBoxInspector(Agent):
    name = "inspector"

    def __init__(self) -> None:
        self.members: set[str] = set()

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        self.members = {name for name in dir(tools) if not name.startswith("_")}


def test_a_tool_calling_agent_gets_tools_and_nothing_of_the_chain(tmp_path):
    agent = ToolBoxInspector()
    asyncio.run(run_episode(load_benchmark(SOL_TRANSFER).benchmark, agent, log_dir=tmp_path))
    assert {"tools", "call", "record_model_call", "set_final_answer"} <= agent.members
    assert not agent.members & {"chain", "wallet_keypair", "ctx", "user", "keys"}


class SendsTheTransfer(EndpointAgent):
    """A JSON-RPC agent in-process: reads the keypair file, sends 0.1 SOL with solana-py."""

    name = "sends-the-transfer"

    def __init__(self) -> None:
        self.endpoint: AgentEndpoint | None = None
        self.keypair_existed = False

    async def run_step_at(self, task: AgentTask, tools: ToolBox, endpoint: AgentEndpoint) -> None:
        self.endpoint = endpoint
        self.keypair_existed = endpoint.keypair_path.exists()
        user = Keypair.from_bytes(bytes(json.loads(endpoint.keypair_path.read_text())))
        to = Pubkey.from_string(task.observation.key_map["RECIPIENT_WALLET_PUBKEY"])
        async with AsyncClient(endpoint.rpc_url) as client:
            blockhash = (await client.get_latest_blockhash()).value.blockhash
            message = Message.new_with_blockhash(
                [
                    transfer(
                        TransferParams(from_pubkey=user.pubkey(), to_pubkey=to, lamports=LAMPORTS)
                    )
                ],
                user.pubkey(),
                blockhash,
            )
            await client.send_raw_transaction(bytes(VersionedTransaction(message, [user])))
        tools.set_final_answer("sent")


def test_an_endpoint_agent_acts_over_rpc_and_the_runner_records_what_it_sent(tmp_path):
    agent = SendsTheTransfer()
    result = asyncio.run(
        run_episode(load_benchmark(SOL_TRANSFER).benchmark, agent, log_dir=tmp_path)
    )
    assert result.status == "Completed" and result.passed and result.score == 1.0, result.error
    endpoint = agent.endpoint
    assert endpoint is not None and agent.keypair_existed
    assert set(endpoint.env) == {
        "REEV_RPC_URL",
        "REEV_WS_URL",
        "REEV_JUPITER_URL",
        "REEV_JUPITER_LEND_URL",
        "REEV_KEYPAIR",
    }
    assert endpoint.env["REEV_RPC_URL"] == endpoint.rpc_url
    assert endpoint.rpc_url.startswith("http://127.0.0.1:")
    assert not endpoint.keypair_path.exists()  # deleted with the step
    assert [c["method"] for c in endpoint.rpc_calls] == ["getLatestBlockhash", "sendTransaction"]
    assert result.signatures == (endpoint.rpc_calls[1]["result"],)
    step = read_session(Path(result.session_file)).steps[0]
    (tx,) = step.transactions
    assert tx.success and tx.tool_call_index is None and step.final_answer == "sent"


class NoOp(EndpointAgent):
    name = "no-op"

    async def run_step_at(self, task: AgentTask, tools: ToolBox, endpoint: AgentEndpoint) -> None:
        pass


def test_an_endpoint_agent_without_an_endpoint_is_an_agent_error():
    with pytest.raises(AgentError, match="acts over JSON-RPC"):
        asyncio.run(NoOp().run_step(_any_task(), _no_tools()))


def _any_task() -> AgentTask:
    return AgentTask(
        benchmark_id="x",
        step=1,
        step_count=1,
        prompt="p",
        observation=Observation(wallet="w", key_map={}, accounts=[]),
    )


def _no_tools() -> Any:
    return object()
