"""reev's benchmarks as a verifiers environment (`pip install reev[verifiers]`, `vf-eval reev`).

verifiers 0.4 splits an environment into a taskset (the rows), a harness (the program that
talks to the model) and scoring hooks on the task. reev supplies all three:

- `ReevTaskset`: one task per (benchmark, seed), filterable by benchmark files, tags and seeds.
  A task's data names its benchmark file and seed and carries the request with real addresses;
  no solution, assertion or expected instruction is in it (task data is recorded in traces).
- `ReevHarness`: runs reev's own tool-calling agent (`reev.agents.llm.LLMAgent`) through the
  runner's `run_episode` on a fresh chain per rollout, in-process, with every model call sent
  to the rollout's interception endpoint (verifiers records the conversation there). The tools
  are reev's tool layer, the chain is the rollout's own. verifiers' built-in harnesses launch a
  program through `uv` and reach tools as MCP servers in separate runtimes; reev's in-process
  loop needs neither and runs offline.
- `ReevTask.reev_score`: the reward is reev's scorer's score for the episode (the runner scores
  the final chain state with `reev.scoring`); the verified breakdown is recorded as metrics.

`load_environment(...)` builds the environment from Python with the same filters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import verifiers.v1 as vf
from pydantic import Field

from reev.agents.llm import LLMAgent, LLMSettings
from reev.agents.providers import ModelEndpoint
from reev.agents.retry import RetryPolicy
from reev.errors import InputError
from reev.runner.episode import EpisodeResult, run_episode
from reev.scoring import Profile
from reev.spec.bundled import bundled_benchmarks_dir
from reev.spec.loader import load_many
from reev.spec.placeholders import resolve_placeholders

TASKSET_ID = "reev"
RESULT_KEY = "reev"  # where the harness leaves the episode's result in `trace.info`


class ReevTaskData(vf.TaskData):
    """One (benchmark, seed): what a rollout needs to set the episode up, and nothing hidden."""

    benchmark_id: str
    benchmark_file: str
    seed: int = 0
    tags: list[str] = Field(default_factory=list)
    profile: Profile = "verified"


class ReevTaskConfig(vf.TaskConfig):
    pass


class ReevTask(vf.Task[ReevTaskData, vf.State, ReevTaskConfig]):
    @property
    def key(self) -> str:
        return f"{self.data.benchmark_id}@{self.data.seed}"

    @vf.reward
    async def reev_score(self, trace: vf.Trace) -> float:
        """reev's score of the episode the harness ran (0 when it never ran)."""
        result = trace.info.get(RESULT_KEY) or {}
        return float(result.get("score", 0.0))

    @vf.metric
    async def reev_breakdown(self, trace: vf.Trace) -> dict[str, float]:
        """The verified breakdown behind the score, and whether the benchmark passed."""
        result = trace.info.get(RESULT_KEY) or {}
        breakdown = result.get("breakdown") or {}
        metrics = {
            f"reev_{name}": float(value)
            for name, value in breakdown.items()
            if value is not None  # a component the benchmark does not score
        }
        metrics["reev_passed"] = 1.0 if result.get("passed") else 0.0
        return metrics


class ReevTasksetConfig(vf.TasksetConfig):
    """`--env.taskset.files`, `--env.taskset.tags`, `--env.taskset.seeds`, … on `vf-eval`."""

    id: str = TASKSET_ID
    files: list[str] = Field(default_factory=list)
    """Benchmark files or folders (default: the bundled suite)."""
    tags: list[str] = Field(default_factory=list)
    """Keep benchmarks carrying at least one of these tags (default: all)."""
    seeds: list[int] = Field(default_factory=lambda: [0])
    """Episode seeds: one task per benchmark and seed."""
    profile: Profile = "verified"
    """The scoring profile of the reward (`verified` or `reev`)."""


class ReevTaskset(vf.Taskset[ReevTask, ReevTasksetConfig]):
    def load(self) -> Iterator[ReevTask]:
        config = self.config
        loaded, errors = load_many(config.files or [bundled_benchmarks_dir()])
        if errors:
            raise InputError("; ".join(str(e) for e in errors))
        wanted = set(config.tags)
        found = False
        for item in loaded:
            benchmark = item.benchmark
            if wanted and not wanted & set(benchmark.tags):
                continue
            for seed in config.seeds:
                found = True
                keys = resolve_placeholders(benchmark, seed)
                yield ReevTask(
                    ReevTaskData(
                        id=f"{benchmark.id}@{seed}",
                        name=benchmark.id,
                        description=benchmark.description or None,
                        prompt=keys.substitute(benchmark.prompt),
                        benchmark_id=benchmark.id,
                        benchmark_file=str(item.path.resolve()),
                        seed=seed,
                        tags=list(benchmark.tags),
                        profile=config.profile,
                    ),
                    config.task,
                )
        if not found:
            raise InputError(f"no benchmark matches tags {sorted(wanted)} in {config.files}")


class ReevHarnessConfig(vf.HarnessConfig):
    max_turns: int = Field(10, ge=1)
    """Model calls per step, at most (as `reev run --max-turns`)."""
    request_timeout_s: float = Field(120.0, gt=0)


@dataclass
class _InterceptedSettings(LLMSettings):
    """reev's LLM settings with the rollout's interception secret as the API key (a per-rollout
    value, so not an environment variable as for reev's own providers)."""

    secret: str = ""

    def api_key(self) -> str:
        return self.secret


class ReevHarness(vf.Harness[ReevHarnessConfig]):
    """reev's tool-calling agent, in-process, on a fresh chain per rollout."""

    APPENDS_SYSTEM_PROMPT = True
    SUPPORTS_MCP = False
    EXECUTES_CODE = False  # tools act on the rollout's embedded chain, nothing else
    NEEDS_CONTAINER = False

    async def launch(
        self,
        ctx: vf.ModelContext,
        trace: vf.Trace,
        runtime: vf.Runtime,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: vf.TaskData,
        tool_interception_url: str | None = None,
    ) -> vf.ProgramResult:
        if not isinstance(data, ReevTaskData):
            data = ReevTaskData.model_validate(data.model_dump())
        loaded, errors = load_many([data.benchmark_file])
        if errors or not loaded:
            return vf.ProgramResult(1, "", "; ".join(str(e) for e in errors))
        benchmark = loaded[0].benchmark
        settings = _InterceptedSettings(
            endpoint=ModelEndpoint(
                agent=f"verifiers/{ctx.model}",
                provider="verifiers",
                model=ctx.model,
                base_url=endpoint,
                api_key_env=None,
            ),
            secret=secret,
            max_turns=self.config.max_turns,
            request_timeout_s=self.config.request_timeout_s,
            temperature=None,  # the run's sampling settings are applied by the interception
            retry=RetryPolicy(max_attempts=1),  # verifiers owns retries of a rollout
        )
        result = await run_episode(
            benchmark, LLMAgent(settings), seed=data.seed, profile=data.profile, log_dir=None
        )
        trace.info[RESULT_KEY] = _result_info(result)
        return vf.ProgramResult(0, result.status, result.error or "")


class ReevEnvConfig(vf.EnvConfig):
    """One seat, `agent`, playing reev's harness on the local (subprocess) runtime: the
    harness runs in-process and needs no sandbox, so none is provisioned by default."""

    taskset: ReevTasksetConfig = ReevTasksetConfig()
    # No harness pinned: an unpinned seat takes the taskset's own (`ReevHarness`), resolved
    # when the env is built (pinning it here would import this module while it loads).
    agent: vf.AgentConfig = vf.AgentConfig(runtime=vf.SubprocessConfig())


class ReevEnv(vf.Env[ReevEnvConfig]):
    """The single-agent environment over reev's taskset."""

    async def run(self, task: vf.Task, agents: vf.Agents) -> None:
        await agents.agent.run(task)


def _result_info(result: EpisodeResult) -> dict[str, Any]:
    """The episode's result as the trace keeps it (what the reward and metrics read)."""
    return {
        "benchmark_id": result.benchmark_id,
        "seed": result.seed,
        "score": result.score,
        "passed": result.passed,
        "status": str(result.status),
        "error": result.error,
        "breakdown": result.breakdown.model_dump(),
        "signatures": list(result.signatures),
    }


def load_environment(
    *,
    files: list[str | Path] | None = None,
    tags: list[str] | None = None,
    seeds: list[int] | None = None,
    profile: Profile = "verified",
    model: str | None = None,
    max_turns: int = 10,
) -> ReevEnv:
    """The verifiers environment over reev's benchmarks (the bundled suite unless `files`),
    those tagged with any of `tags`, one task per seed in `seeds` (default [0])."""
    taskset = ReevTasksetConfig(
        files=[str(f) for f in files or []],
        tags=list(tags or []),
        seeds=list(seeds if seeds is not None else [0]),
        profile=profile,
    )
    agent: dict[str, Any] = {"harness": {"id": TASKSET_ID, "max_turns": max_turns}}
    if model is not None:
        agent["model"] = model
    config = ReevEnvConfig.model_validate({"taskset": taskset.model_dump(), "agent": agent})
    return ReevEnv(config)
