"""reev as a Gymnasium environment (issue 21, part 1).

Every bundled benchmark's environment passes gymnasium's own `check_env`; a policy that
replays the reference solution (reading addresses only from its observations) earns what the
deterministic oracle earns through the runner, 1.0 wherever the oracle passes; the same seed
gives the same episode; and nothing of the ground truth is in an observation or in `info`
before the episode ends.
"""

from __future__ import annotations

import asyncio
import json
import re
import warnings
from pathlib import Path
from typing import Any

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import reev.gym
from helpers.leak import LEAK
from helpers.paths import BENCHMARKS
from helpers.suite import bundled
from reev.agents.deterministic import DeterministicAgent
from reev.errors import InputError
from reev.runner import run_episode
from reev.spec import Benchmark, parse_benchmark
from reev.spec.placeholders import PLACEHOLDER_RE

SUITE = bundled()
SEED = 11
# Passes with the oracle but scores below 1.0 by design: its expected instruction data
# (reev's `3Bxs4vKJW`) never matches a real transfer (DESIGN.md, reference facts).
PARTIAL_BY_DESIGN = {"004-partial-score-spl-transfer"}


def resolve(value: Any, names: dict[str, str]) -> Any:
    """A solution argument with placeholder names replaced by the addresses the agent was shown."""
    if isinstance(value, str):
        if PLACEHOLDER_RE.fullmatch(value):
            assert value in names, f"{value} was never shown to the agent"
            return names[value]
        return PLACEHOLDER_RE.sub(lambda m: names.get(m.group(0), m.group(0)), value)
    if isinstance(value, dict):
        return {k: resolve(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, names) for v in value]
    return value


def solution_of(benchmark: Benchmark, step: int) -> list[tuple[str, dict[str, Any]]]:
    steps = benchmark.flow or []
    solution = steps[step - 1].solution if steps else benchmark.solution
    return [(c.tool, c.args) for c in solution or []]


def replay(
    env: reev.gym.ReevEnv, benchmark: Benchmark, seed: int
) -> tuple[float, dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Play the reference solution step by step; (reward, final info, observations, infos)."""
    obs, info = env.reset(seed=seed)
    observations, infos = [obs], [info]
    while True:
        names = json.loads(obs["observation"])["key_map"]
        for tool, args in solution_of(benchmark, obs["step"]):
            obs, reward, terminated, truncated, info = env.step(
                {"tool": tool, "args": resolve(args, names)}
            )
            assert not (terminated or truncated), info
            observations.append(obs)
            infos.append(info)
        obs, reward, terminated, truncated, info = env.step({"tool": reev.gym.FINISH})
        assert not truncated
        if terminated:
            return float(reward), info, observations, infos
        assert reward == 0.0
        observations.append(obs)
        infos.append(info)


def test_every_bundled_benchmark_is_registered():
    assert sorted(reev.gym.BENCHMARK_ENVS) == sorted(f"reev/{i}" for i in SUITE)
    env = gymnasium.make("reev/002-spl-transfer")
    try:
        assert isinstance(env.unwrapped, reev.gym.ReevEnv)
        assert env.unwrapped.benchmark.id == "002-spl-transfer"
    finally:
        env.close()


@pytest.mark.slow
@pytest.mark.parametrize("benchmark_id", sorted(SUITE))
def test_check_env_passes(benchmark_id):
    env = gymnasium.make(f"reev/{benchmark_id}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a checker warning is a failure here
            check_env(env.unwrapped)
    finally:
        env.close()


def oracle(benchmark: Benchmark, seed: int) -> Any:
    return asyncio.run(run_episode(benchmark, DeterministicAgent(), seed=seed, log_dir=None))


@pytest.mark.slow
@pytest.mark.parametrize(
    "benchmark_id", sorted(i for i in SUITE if SUITE[i].expected_outcome == "pass")
)
def test_replaying_the_reference_solution_earns_the_oracles_reward(benchmark_id):
    benchmark = SUITE[benchmark_id]
    expected = oracle(benchmark, SEED)
    env = reev.gym.make_env(BENCHMARKS / f"{benchmark_id}.yml")
    try:
        reward, info, _, _ = replay(env, benchmark, SEED)
    finally:
        env.close()
    assert info["breakdown"] == expected.breakdown.model_dump()
    assert reward == pytest.approx(expected.score)
    assert info["signatures"] == list(expected.signatures)
    assert info["passed"] is expected.passed
    if expected.passed and benchmark_id not in PARTIAL_BY_DESIGN:
        assert reward == 1.0


def test_the_same_seed_gives_the_same_episode():
    benchmark = SUITE["012-flow-wrap-then-send-wsol"]
    env = reev.gym.make_env(BENCHMARKS / "012-flow-wrap-then-send-wsol.yml")
    try:
        first = replay(env, benchmark, 5)
        second = replay(env, benchmark, 5)
        other = replay(env, benchmark, 6)
    finally:
        env.close()
    assert first == second
    assert first[2][0]["prompt"] != other[2][0]["prompt"]  # other keys, other addresses
    assert first[0] == other[0] == 1.0


def test_make_env_seed_is_the_first_resets_seed():
    env = reev.gym.make_env(BENCHMARKS / "001-sol-transfer.yml", seed=3)
    other = reev.gym.make_env(BENCHMARKS / "001-sol-transfer.yml")
    try:
        obs, info = env.reset()
        assert info["seed"] == 3
        assert obs == other.reset(seed=3)[0]
    finally:
        env.close()
        other.close()


def test_a_flow_advances_step_by_step_and_shows_tool_results():
    benchmark = SUITE["012-flow-wrap-then-send-wsol"]
    env = reev.gym.make_env(BENCHMARKS / "012-flow-wrap-then-send-wsol.yml")
    try:
        obs, _ = env.reset(seed=1)
        assert obs["step"] == 1 and obs["result"] == ""
        assert "step 1 of 2" in obs["prompt"]
        obs, reward, terminated, truncated, info = env.step(
            {
                "tool": "get_balance",
                "args": json.dumps({"address": json.loads(obs["observation"])["wallet"]}),
            }
        )
        assert json.loads(obs["result"])["lamports"] > 0
        assert (reward, terminated, truncated, info) == (0.0, False, False, {"step": 1})
        names = json.loads(obs["observation"])["key_map"]
        for tool, args in solution_of(benchmark, 1):
            obs, *_ = env.step({"tool": tool, "args": resolve(args, names)})
        obs, reward, terminated, truncated, info = env.step({"tool": "finish"})
        assert obs["step"] == 2 and "step 2 of 2" in obs["prompt"]
        assert (reward, terminated, truncated) == (0.0, False, False)
        assert json.loads(obs["observation"])["last_transaction"]["success"] is True
    finally:
        env.close()


def test_the_turn_limit_truncates_and_scores_what_was_done():
    env = reev.gym.make_env(BENCHMARKS / "001-sol-transfer.yml", max_turns=2)
    try:
        obs, _ = env.reset(seed=0)
        wallet = json.loads(obs["observation"])["wallet"]
        obs, reward, terminated, truncated, _ = env.step(
            {"tool": "get_balance", "args": {"address": wallet}}
        )
        assert (reward, terminated, truncated) == (0.0, False, False)
        obs, reward, terminated, truncated, info = env.step(
            {"tool": "nonexistent_tool", "args": {}}
        )
        assert "error" in json.loads(obs["result"])
        assert (terminated, truncated) == (False, True)
        # Nothing was sent: the transfer assertion fails and no transaction succeeded.
        assert info["passed"] is False
        assert reward == info["score"] < 1.0
        with pytest.raises(gymnasium.error.ResetNeeded):
            env.step({"tool": "finish"})
    finally:
        env.close()


def test_bad_actions_are_refused_with_a_clear_error():
    env = reev.gym.make_env(BENCHMARKS / "001-sol-transfer.yml")
    try:
        with pytest.raises(gymnasium.error.ResetNeeded):
            env.step({"tool": "finish"})
        env.reset(seed=0)
        with pytest.raises(InputError, match="an action is"):
            env.step("sol_transfer")  # type: ignore[arg-type]  # deliberately not a mapping
        with pytest.raises(InputError, match="only 'tool' and 'args'"):
            env.step({"tool": "finish", "answer": "x"})
        obs, *_ = env.step({"tool": "sol_transfer", "args": "{not json"})
        assert "error" in json.loads(obs["result"])
    finally:
        env.close()
    with pytest.raises(InputError, match="max_turns"):
        reev.gym.make_env(BENCHMARKS / "001-sol-transfer.yml", max_turns=0)


def test_ground_truth_stays_hidden_until_the_episode_ends(tmp_path):
    benchmark = parse_benchmark(LEAK, "leak.yml").benchmark
    env = reev.gym.ReevEnv(benchmark, log_dir=tmp_path)
    try:
        obs, info = env.reset(seed=2)
        seen = [obs, info]
        wallet = json.loads(obs["observation"])["wallet"]
        recipient = json.loads(obs["observation"])["key_map"]["RECIPIENT_WALLET_PUBKEY"]
        for action in (
            {"tool": "get_wallet_overview", "args": {}},
            {"tool": "get_balance", "args": {"address": wallet}},
            {"tool": "sol_transfer", "args": {"recipient": recipient, "amount": "0.1"}},
            {"tool": "submit_transaction", "args": {}},
        ):
            obs, _, terminated, _, info = env.step(action)
            assert not terminated
            seen += [obs, info]
        _, reward, terminated, _, final = env.step({"tool": "finish"})
    finally:
        env.close()
    assert terminated
    session = json.loads(Path(final["session_file"]).read_text())
    hidden = [
        "ORACLE-ONLY-MARKER",
        "123456789",
        "3Bxs411Dtc7pkFQj",
        "HIDDEN_TARGET_ATA",
        "SECRET_SIDE_WALLET",
        session["key_map"]["HIDDEN_TARGET_ATA"],
        session["key_map"]["SECRET_SIDE_WALLET"],
        "solution",
        "ground_truth",
        "expected",
    ]
    text = json.dumps(seen)
    for item in hidden:
        assert item not in text, item
    # The end reveals the verified breakdown and what the scorer checked.
    assert "123456789" in json.dumps(final["checks"])
    assert final["breakdown"]["state"] == 0.5  # one of the two assertions holds
    assert reward == final["score"]
    assert re.fullmatch(r"[1-9A-HJ-NP-Za-km-z]{32,44}", recipient)
