"""reev as a verifiers environment (issue 21, part 2).

The real `vf-eval reev` CLI runs against the scripted OpenAI-compatible server, offline: a
competent script earns exactly what the deterministic oracle earns through the runner, a
wrong-amount script the lower reward the scoring rules give. The taskset filters by files,
tags and seeds, and its task data (recorded in every trace) carries no ground truth.

Every test here is slow: importing verifiers alone takes seconds (anthropic, renderers, …), so
`reev.verifiers` is imported inside the tests, not when `make test-fast` collects the module.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers.fake_openai import FakeOpenAI, SolutionPlayer
from helpers.leak import HIDDEN, LEAK
from helpers.paths import BENCHMARKS, subprocess_env
from helpers.suite import bundled
from reev.agents.deterministic import DeterministicAgent
from reev.runner import run_episode
from reev.scoring.profiles import VERIFIED_WEIGHTS as W

SUITE = bundled()
VF_EVAL = Path(sys.executable).parent / "vf-eval"
# Single steps, a flow, a swap and a lending deposit: each kind of episode the harness runs.
COMPETENT = [
    "001-sol-transfer",
    "002-spl-transfer",
    "012-flow-wrap-then-send-wsol",
    "070-swap-sol-usdc",
    "090-lend-deposit-usdc",
]
SEEDS = [0, 4]


def vf_eval(
    tmp_path: Path, script: Any, benchmark_ids: list[str], seeds: list[int]
) -> dict[str, dict[str, Any]]:
    """Run `vf-eval reev` against `script`; each task id's reward, metrics and reev result."""
    files = [str(BENCHMARKS / f"{i}.yml") for i in benchmark_ids]
    with FakeOpenAI(script) as server:
        completed = subprocess.run(
            [
                str(VF_EVAL),
                "reev",
                "-m",
                "scripted",
                "--client.base-url",
                server.base_url,
                "--env.taskset.files",
                json.dumps(files),
                "--env.taskset.seeds",
                json.dumps(seeds),
                "--no-push",
                "--no-rich",
                "-o",
                str(tmp_path),
                "--run.dir",
                "run",
            ],
            env=subprocess_env(PRIME_API_KEY="not-needed"),
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = {}
    for line in (tmp_path / "run" / "traces.jsonl").read_text().splitlines():
        episode = json.loads(line)
        (trace,) = episode["traces"]
        assert trace["ok"], trace["errors"]
        out[episode["task"]["data"]["id"]] = {
            "reward": trace["rewards"]["reev_score"]["score"],
            "metrics": trace["metrics"],
            "reev": trace["info"]["reev"],
        }
    assert len(out) == len(benchmark_ids) * len(seeds)
    return out


def oracle(benchmark_id: str, seed: int) -> Any:
    agent = DeterministicAgent()
    return asyncio.run(run_episode(SUITE[benchmark_id], agent, seed=seed, log_dir=None))


@pytest.mark.slow
def test_vf_eval_reev_gives_a_competent_model_the_oracles_rewards(tmp_path):
    player = SolutionPlayer([SUITE[i] for i in COMPETENT])
    results = vf_eval(tmp_path, player, COMPETENT, SEEDS)
    for benchmark_id in COMPETENT:
        for seed in SEEDS:
            expected = oracle(benchmark_id, seed)
            got = results[f"{benchmark_id}@{seed}"]
            assert expected.passed and expected.score == 1.0
            assert got["reward"] == expected.score
            assert got["reev"]["breakdown"] == expected.breakdown.model_dump()
            # Same seed, same transactions: the model's calls replay the oracle's exactly.
            assert got["reev"]["signatures"] == list(expected.signatures)
            assert got["metrics"]["reev_passed"] == 1.0


@pytest.mark.slow
def test_vf_eval_reev_gives_a_wrong_amount_the_rules_lower_reward(tmp_path):
    def double_it(tool: str, args: dict[str, Any]) -> dict[str, Any]:
        return {**args, "amount": "0.2"} if tool == "sol_transfer" else args

    player = SolutionPlayer([SUITE["001-sol-transfer"]], mutate=double_it)
    results = vf_eval(tmp_path, player, ["001-sol-transfer"], [0])
    got = results["001-sol-transfer@0"]
    # 0.2 SOL instead of 0.1: both balance assertions fail (0 of 2); the transfer's data
    # differs, so the expected instruction earns 3 of its 4 points (program, two accounts);
    # the transaction succeeds.
    expected = W["state"] * 0 / 2 + W["instruction"] * 3 / 4 + W["transaction"] * 1
    assert got["reward"] == pytest.approx(expected)
    assert got["reev"]["passed"] is False
    assert got["metrics"]["reev_passed"] == 0.0


def task_ids(env: Any) -> list[str]:
    return [task.data.id for task in env.taskset]


@pytest.mark.slow
def test_the_taskset_filters_by_files_tags_and_seeds():
    from reev.verifiers import ReevTaskData, load_environment

    everything = load_environment()
    assert task_ids(everything) == [f"{i}@0" for i in sorted(SUITE)]
    swaps = load_environment(tags=["swap"], seeds=[1, 2])
    tagged = sorted(i for i, b in SUITE.items() if "swap" in b.tags)
    assert tagged and task_ids(swaps) == [f"{i}@{s}" for i in tagged for s in (1, 2)]
    one = load_environment(files=[BENCHMARKS / "001-sol-transfer.yml"], seeds=[3])
    (task,) = list(one.taskset)
    assert isinstance(task.data, ReevTaskData)
    assert (task.data.benchmark_id, task.data.seed, task.key) == (
        "001-sol-transfer",
        3,
        "001-sol-transfer@3",
    )
    with pytest.raises(ValueError, match="no benchmark matches tags"):
        list(load_environment(tags=["no-such-tag"]).taskset)


@pytest.mark.slow
def test_task_data_carries_no_ground_truth(tmp_path):
    from reev.verifiers import load_environment

    path = tmp_path / "leak.yml"
    path.write_text(LEAK)
    (task,) = list(load_environment(files=[path]).taskset)
    text = task.data.model_dump_json()
    for hidden in (*HIDDEN, "solution", "ground_truth", "expected"):
        assert hidden not in text, hidden
    assert "Send 0.1 SOL to " in task.data.prompt_text
    assert "RECIPIENT_WALLET_PUBKEY" not in task.data.prompt_text  # a real address instead


def advantages(rewards: list[float]) -> list[float]:
    """docs/rl.md's group normalisation."""
    mean = sum(rewards) / len(rewards)
    std = (sum((r - mean) ** 2 for r in rewards) / len(rewards)) ** 0.5
    return [(r - mean) / (std or 1.0) for r in rewards]


@pytest.mark.slow
def test_the_docs_grpo_loop_collects_groups_with_the_rules_rewards():
    """docs/rl.md's loop, in-process: a group of two rollouts per task, one competent and one
    sending twice the amount, gives the two rewards the rules give and advantages of ±1."""
    import verifiers.v1 as vf

    from reev.verifiers import load_environment

    sent = []

    def every_other_doubles(tool: str, args: dict[str, Any]) -> dict[str, Any]:
        if tool != "sol_transfer":
            return args
        sent.append(tool)
        return {**args, "amount": "0.2"} if len(sent) % 2 == 0 else args

    env = load_environment(files=[BENCHMARKS / "001-sol-transfer.yml"], seeds=[0, 1])
    wrong = W["state"] * 0 / 2 + W["instruction"] * 3 / 4 + W["transaction"] * 1

    async def collect(url: str) -> list[tuple[str, list[float]]]:
        ctx = vf.ModelContext(
            model="scripted", client=vf.EvalClientConfig(base_url=url, api_key_var="NO_KEY")
        )
        out = []
        async with env.serving():
            for task in env.taskset:
                # One rollout at a time, so the script's alternation maps to the group's order.
                group = [await env.run_episode(task, ctx) for _ in range(2)]
                out.append((task.key, [e.traces[0].rewards["reev_score"].score for e in group]))
        return out

    player = SolutionPlayer([SUITE["001-sol-transfer"]], mutate=every_other_doubles)
    with FakeOpenAI(player) as server:
        groups = asyncio.run(collect(server.base_url))
    assert [key for key, _ in groups] == ["001-sol-transfer@0", "001-sol-transfer@1"]
    for _, rewards in groups:
        assert rewards[0] == 1.0
        assert rewards[1] == pytest.approx(wrong)
        assert advantages(rewards) == pytest.approx([1.0, -1.0])
