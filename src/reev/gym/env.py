"""One reev benchmark as a `gymnasium.Env`: an action is one tool call, the reward is the score.

The environment is a thin synchronous face on `reev.runner.stepped.SteppedEpisode`, which runs
the runner's own episode (set-up, tool layer, scoring, session file) with the caller as agent.
Observations are text: what an LLM agent is told (system and user prompt), the structured
observation reev gives every agent (as JSON), the tool schemas (as JSON) and the last tool
result (as JSON). Nothing of the ground truth is in an observation or in `info` before the
episode ends; the final `info` carries the score's verified breakdown and the checks behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium
from gymnasium import spaces

from reev.agents.base import AgentTask
from reev.agents.context import system_prompt, user_prompt
from reev.errors import InputError
from reev.runner.episode import EpisodeResult
from reev.runner.stepped import SteppedEpisode
from reev.scoring import Profile
from reev.spec.loader import load_benchmark
from reev.spec.models import Benchmark
from reev.tools import TOOLS

FINISH = "finish"
"""The action that ends the agent's turn at the current step (an LLM agent's final answer)."""

DEFAULT_MAX_TURNS = 10  # tool calls per step, as `reev run --max-turns`
MAX_TEXT = 1 << 20  # characters in one observation field
MAX_ARGS = 4096  # characters of an action's JSON arguments
SEED_BOUND = 2**31  # episode seeds drawn when reset() is given none


@cache
def _unicode() -> frozenset[str]:
    """Every character of the Basic Multilingual Plane except surrogates: the observation
    texts' alphabet (characters beyond it are written as `\\U` escapes, see `_text`)."""
    return frozenset(chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000)


_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F))
_TOOL_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _text(value: str) -> str:
    """`value` inside the observation alphabet (rare astral characters escaped)."""
    if all(ord(c) < 0x10000 for c in value):
        return value
    return "".join(c if ord(c) < 0x10000 else f"\\U{ord(c):08x}" for c in value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def tool_schemas() -> list[dict[str, Any]]:
    """The function-calling schemas of every tool (what an LLM agent is offered), plus `finish`."""
    finish = {
        "type": "function",
        "function": {
            "name": FINISH,
            "description": "End your turn at the current step (the request is done, or you "
            "decline it); staged instructions are submitted first.",
            "parameters": {
                "type": "object",
                "properties": {"answer": {"type": "string", "description": "closing words"}},
            },
        },
    }
    return [tool.openai_schema() for tool in TOOLS.values()] + [finish]


def _observation_space(step_count: int) -> spaces.Dict:
    text = spaces.Text(MAX_TEXT, min_length=0, charset=_unicode())
    return spaces.Dict(
        {
            "system": text,
            "prompt": text,
            "observation": text,
            "tools": text,
            "result": text,
            "step": spaces.Discrete(step_count, start=1),
        }
    )


def _action_space() -> spaces.Dict:
    """A sampled action is a well-formed call of a (mostly unknown) tool with JSON-ish text as
    arguments: the tool layer answers it with an error, as it would a model's."""
    return spaces.Dict(
        {
            "tool": spaces.Text(64, charset=_TOOL_NAME_CHARS),
            "args": spaces.Text(MAX_ARGS, min_length=0, charset=_PRINTABLE),
        }
    )


def _final_info(result: EpisodeResult) -> dict[str, Any]:
    """What the episode's end reveals: the score, its verified breakdown and the checks."""
    return {
        "score": result.score,
        "passed": result.passed,
        "status": str(result.status),
        "error": result.error,
        "breakdown": result.breakdown.model_dump(),
        "checks": [check.model_dump(mode="json") for check in result.checks],
        "signatures": list(result.signatures),
        "session_file": result.session_file,
        "seed": result.seed,
    }


class ReevEnv(gymnasium.Env[dict[str, Any], dict[str, Any]]):
    """A benchmark as an environment. Build it with `reev.gym.make_env(path)` or
    `gymnasium.make("reev/<benchmark-id>")`.

    - `reset(seed=s)` starts episode seed `s` (the same placeholder keys, chain and signatures
      as `reev run --seed s`); `reset()` draws the seed from the env's RNG (the constructor's
      `seed` when it has never been seeded).
    - `step({"tool": NAME, "args": {...}})` runs one tool (args may be a JSON string);
      `step({"tool": "finish"})` ends the current step and shows the next one.
    - Reward 0 until the end; then the benchmark's score under `profile`. `terminated` when the
      last step is finished, `truncated` when a step reaches `max_turns` tool calls without a
      finish (the rest of the episode then runs without actions and is scored).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 1}  # noqa: RUF012  # gymnasium's API

    def __init__(
        self,
        benchmark: Benchmark | str | Path,
        *,
        seed: int | None = None,
        max_turns: int = DEFAULT_MAX_TURNS,
        profile: Profile = "verified",
        log_dir: str | Path | None = None,
        render_mode: str | None = None,
    ):
        if isinstance(benchmark, str | Path):
            benchmark = load_benchmark(benchmark).benchmark
        if max_turns < 1:
            raise InputError(f"max_turns must be at least 1, not {max_turns}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise InputError(f"render_mode {render_mode!r}: only 'ansi' is offered")
        self.benchmark = benchmark
        self.default_seed = seed
        self.max_turns = max_turns
        self.profile: Profile = profile
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.render_mode = render_mode
        self.observation_space = _observation_space(benchmark.step_count)
        self.action_space = _action_space()
        self._tools = _json(tool_schemas())
        self._loop = asyncio.new_event_loop()
        self._episode: SteppedEpisode | None = None
        self._turns = 0
        self._last: dict[str, Any] | None = None

    # -- gymnasium API ------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if seed is None and self._np_random is None and self.default_seed is not None:
            seed = self.default_seed
        super().reset(seed=seed)
        episode_seed = seed if seed is not None else int(self.np_random.integers(SEED_BOUND))
        self._drop_episode()
        self._episode = SteppedEpisode(
            self.benchmark, seed=episode_seed, profile=self.profile, log_dir=self.log_dir
        )
        task = self._run(self._episode.start())
        self._turns = 0
        if task is None:  # nothing for the agent to do: set-up failed, or every step skipped
            raise InputError(
                f"benchmark {self.benchmark.id} cannot start: {self._episode.result and self._episode.result.error}"
            )
        return self._observe(task, ""), {"step": task.step, "seed": episode_seed}

    def step(
        self, action: Mapping[str, Any]
    ) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        episode = self._episode
        if episode is None or episode.done:
            raise gymnasium.error.ResetNeeded("the episode is over (or never began): call reset()")
        tool, args = _parse_action(action)
        task = episode.task
        assert task is not None
        if tool == FINISH:
            answer = _answer(args)
            return self._after_step(self._run(episode.finish_step(answer)), task, "")
        self._turns += 1
        result = _json(self._run(episode.call(tool, args)))
        if episode.step_closed:  # the runner ended the step itself (a chain failure)
            return self._after_step(self._run(episode.finish_step()), task, result)
        if self._turns >= self.max_turns:
            final = self._run(episode.finish())
            obs = self._observe(task, result)
            return obs, float(final.score), False, True, _final_info(final)
        return self._observe(task, result), 0.0, False, False, {"step": task.step}

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self._last is None:
            return None
        return f"{self._last['prompt']}\n\n{self._last['result']}"

    def close(self) -> None:
        if not self._loop.is_closed():
            self._drop_episode()
            self._loop.close()

    def __del__(self) -> None:
        # An env dropped without close() must not leave its episode pending on a live loop.
        with contextlib.suppress(Exception):
            self.close()

    # -- internals ----------------------------------------------------------------------------

    def _after_step(
        self, next_task: AgentTask | None, task: AgentTask, result: str
    ) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        episode = self._episode
        assert episode is not None
        if next_task is not None:
            self._turns = 0
            return self._observe(next_task, result), 0.0, False, False, {"step": next_task.step}
        final = episode.result
        assert final is not None
        return self._observe(task, result), float(final.score), True, False, _final_info(final)

    def _observe(self, task: AgentTask, result: str) -> dict[str, Any]:
        obs = {
            "system": _text(system_prompt(task)),
            "prompt": _text(user_prompt(task)),
            "observation": _text(_json(task.observation.model_dump(mode="json"))),
            "tools": self._tools,
            "result": _text(result),
            "step": task.step,
        }
        self._last = obs
        return dict(obs)

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    def _drop_episode(self) -> None:
        if self._episode is not None:
            self._run(self._episode.cancel())
            self._episode = None


def _answer(args: Any) -> str | None:
    """The closing words a `finish` action may carry (`{"answer": text}`, as a dict or JSON)."""
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            return args
    answer = args.get("answer") if isinstance(args, dict) else None
    return answer if isinstance(answer, str) else None


def _parse_action(action: Mapping[str, Any]) -> tuple[str, Any]:
    """`{"tool": NAME, "args": {...} | JSON text}` → (NAME, args); anything else is refused."""
    if not isinstance(action, Mapping) or not isinstance(action.get("tool"), str):
        raise InputError(
            f'an action is {{"tool": NAME, "args": {{...}}}} (or {{"tool": "{FINISH}"}}), '
            f"not {action!r:.200}"
        )
    extra = set(action) - {"tool", "args"}
    if extra:
        raise InputError(f"an action has only 'tool' and 'args', not {sorted(extra)}")
    args = action.get("args", {})
    if args is None:
        args = {}
    return action["tool"], args
