"""Shared fixtures: the bundled suite, scripted agents, and a helper to run one episode."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pytest
from solders.pubkey import Pubkey

from reev.agents.base import Agent, AgentTask, ToolBox
from reev.chain.litesvm import LiteSVMChain
from reev.runner import EpisodeResult, read_session, run_episode
from reev.runner.session import SessionFile
from reev.setup import build_initial_state
from reev.spec import Benchmark, load_benchmark, load_many
from reev.spec.models import ToolCallSpec
from reev.spec.placeholders import KeyMap, resolve_placeholders
from reev.tools import ToolContext

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def bundled() -> dict[str, Benchmark]:
    loaded, errors = load_many([BENCHMARKS])
    assert not errors, errors
    return {item.benchmark.id: item.benchmark for item in loaded}


def benchmark(benchmark_id: str) -> Benchmark:
    return load_benchmark(BENCHMARKS / f"{benchmark_id}.yml").benchmark


class ScriptedAgent(Agent):
    """Calls a fixed list of tools per step; `{NAME}` in string args is a placeholder name
    resolved from the task's visible key map (what a real agent would read from its prompt)."""

    name = "scripted"

    def __init__(self, steps: list[list[tuple[str, dict[str, Any]]]]):
        self.steps = steps
        self.seen_tasks: list[AgentTask] = []
        self.seen_results: list[dict[str, Any]] = []
        self.seen_references: list[Any] = []

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        self.seen_tasks.append(task)
        self.seen_references.append(reference)
        calls = self.steps[task.step - 1] if task.step - 1 < len(self.steps) else []
        names = task.observation.key_map
        for tool, args in calls:
            resolved = {
                k: names[v[1:-1]]
                if isinstance(v, str) and v.startswith("{") and v.endswith("}")
                else v
                for k, v in args.items()
            }
            self.seen_results.append(await tools.call(tool, resolved))


@dataclass
class ChainEnv:
    """A benchmark's initial state on a fresh embedded chain (seed 0) and a tool context acting
    for its user: what the tool tests call tools on. Test modules subclass it with their own
    helpers."""

    chain: LiteSVMChain
    keys: KeyMap
    ctx: ToolContext

    @classmethod
    def build(
        cls,
        bench: Benchmark,
        *,
        chain: LiteSVMChain | None = None,
        all_signers: bool = False,
        **fields: Any,
    ) -> Self:
        """`all_signers`: the context may sign for every wallet of the benchmark, not only the
        user's (tool tests that stage for several parties)."""
        chain = chain or LiteSVMChain()
        keys = resolve_placeholders(bench, seed=0)
        build_initial_state(chain, bench, keys)
        signers = dict(keys.keypairs) if all_signers else {}
        return cls(
            chain=chain,
            keys=keys,
            ctx=ToolContext(chain=chain, user=keys.user, signers=signers),
            **fields,
        )

    def addr(self, name: str) -> Pubkey:
        return self.keys.addresses[name]

    def a(self, name: str) -> str:
        return str(self.addr(name))


def run(
    bench: Benchmark, agent: Agent, tmp_path: Path, **kwargs: Any
) -> tuple[EpisodeResult, SessionFile]:
    result = asyncio.run(run_episode(bench, agent, log_dir=tmp_path, **kwargs))
    assert result.session_file is not None
    return result, read_session(result.session_file)


@pytest.fixture
def suite() -> dict[str, Benchmark]:
    return bundled()
