"""The model-response cache (issue 19, part 3): a cached re-run sends no request to the
scripted server and writes the same sessions (apart from timing, identity and the `cached`
marks, cost 0); errors are never stored, nor is the API key; the directory is bounded in size
and its entries expire."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from helpers.fake_openai import FakeOpenAI, Reply, SolutionPlayer
from helpers.paths import BENCHMARKS
from helpers.reev_cli import load_json, only_run, reev, session_files
from helpers.suite import bundled
from reev.agents.cache import ResponseCache

NAMES = ["001-sol-transfer", "002-spl-transfer"]
FILES = [str(BENCHMARKS / f"{name}.yml") for name in NAMES]
SECRET = "sk-test-never-written-0123456789"
# Fields that say when or how long, or which execution: all that may differ between a run and
# its cached re-run, with the `cached` mark and the HTTP attempts a cached call did not make.
VOLATILE = {
    "started_at",
    "finished_at",
    "duration_ms",
    "latency_ms",
    "attempts",
    "cached",
    "execution_id",
    "cost_usd",
}


def without(value: Any, keys: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [without(v, keys) for v in value]
    return value


def model_calls(session: dict[str, Any]) -> list[dict[str, Any]]:
    return [call for step in session["steps"] for call in step["model_calls"]]


def key_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "provider": "local",
        "base_url": "http://127.0.0.1:9/v1",
        "model": "m",
        "request": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": []},
        "epoch": 0,
    }
    return {**args, **overrides}


def test_the_key_covers_what_determines_a_response() -> None:
    base = ResponseCache.key(**key_args())
    assert ResponseCache.key(**key_args()) == base
    assert ResponseCache.key(**key_args(epoch=1)) != base
    assert ResponseCache.key(**key_args(model="n")) != base
    assert ResponseCache.key(**key_args(provider="openai")) != base
    other_messages = {"model": "m", "messages": [{"role": "user", "content": "ho"}], "tools": []}
    assert ResponseCache.key(**key_args(request=other_messages)) != base
    warmer = {**key_args()["request"], "temperature": 0.7}
    assert ResponseCache.key(**key_args(request=warmer)) != base
    # Credentials in the URL are not part of which server it is.
    assert ResponseCache.key(**key_args(base_url="http://u:pw@127.0.0.1:9/v1?k=1")) == base


def test_entries_round_trip_expire_and_stay_within_the_size_limit(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c", max_bytes=4_000)
    cache.put("ab" * 32, {"id": "x", "choices": []})
    assert cache.get("ab" * 32) == {"id": "x", "choices": []}
    assert cache.get("cd" * 32) is None
    payload = {"text": "x" * 500}
    for i in range(40):  # 40 entries of ~540 bytes: far over 4,000
        cache.put(f"{i:064x}", payload)
    total = sum(p.stat().st_size for p in (tmp_path / "c").glob("*/*.json"))
    assert total <= 4_000
    assert cache.get(f"{39:064x}") == payload  # the newest stays, the oldest went
    assert cache.get(f"{0:064x}") is None
    short = ResponseCache(tmp_path / "c", max_age_s=0.05)
    time.sleep(0.1)
    assert short.get(f"{39:064x}") is None
    assert not any((tmp_path / "c").glob(f"*/{39:064x}.json"))  # an expired entry is removed


def run_args(server: FakeOpenAI, log_dir: Path, cache_dir: Path, pricing: Path) -> list[str]:
    return [
        "run",
        *FILES,
        "--agent",
        "local/scripted-model",
        "--base-url",
        server.base_url,
        "--api-key-env",
        "SCRIPTED_KEY",
        "--epochs",
        "2",
        "--log-dir",
        str(log_dir),
        "--cache",
        "--cache-dir",
        str(cache_dir),
        "--pricing",
        str(pricing),
    ]


@pytest.mark.slow
def test_a_cached_rerun_sends_nothing_and_writes_the_same_sessions(tmp_path: Path) -> None:
    benches = [bundled()[name] for name in NAMES]
    pricing = tmp_path / "prices.yml"
    pricing.write_text("scripted-model: {input: 1.0, output: 2.0}\n")
    cache_dir = tmp_path / "cache"
    with FakeOpenAI(SolutionPlayer(benches), api_key=SECRET) as server:
        first = reev(*run_args(server, tmp_path / "a", cache_dir, pricing), SCRIPTED_KEY=SECRET)
        assert first.returncode == 0, first.stderr
        sent = len(server.requests)
        assert sent > 0
        second = reev(*run_args(server, tmp_path / "b", cache_dir, pricing), SCRIPTED_KEY=SECRET)
        assert second.returncode == 0, second.stderr
        assert len(server.requests) == sent  # not one request
        assert server.model_list_requests == 0  # nor the endpoint check: the cache may answer
    a, b = only_run(tmp_path / "a"), only_run(tmp_path / "b")
    files_a, files_b = session_files(a), session_files(b)
    assert [p.relative_to(a) for p in files_a] == [p.relative_to(b) for p in files_b]
    assert len(files_a) == len(NAMES) * 2
    for path_a, path_b in zip(files_a, files_b, strict=True):
        fresh, cached = load_json(path_a), load_json(path_b)
        assert without(fresh, VOLATILE) == without(cached, VOLATILE)
        assert all(not call["cached"] and call["cost_usd"] > 0 for call in model_calls(fresh))
        assert all(call["cached"] and call["cost_usd"] == 0 for call in model_calls(cached))
        assert all(call["attempts"] == [] for call in model_calls(cached))
    assert load_json(b / "results.json")["summary"]["usage"]["cost_usd"] == 0
    for written in [
        *cache_dir.rglob("*"),
        *(tmp_path / "a").rglob("*"),
        *(tmp_path / "b").rglob("*"),
    ]:
        if written.is_file():
            assert SECRET not in written.read_text(encoding="utf-8", errors="replace")


@pytest.mark.slow
def test_errors_are_never_cached(tmp_path: Path) -> None:
    benches = [bundled()[NAMES[0]]]
    player = SolutionPlayer(benches)
    failing = {"on": True}

    def script(body: dict[str, Any]) -> Reply:
        return (
            Reply(status=400, error_message="scripted refusal") if failing["on"] else player(body)
        )

    cache_dir = tmp_path / "cache"
    args = [
        "run",
        FILES[0],
        "--agent",
        "local/scripted-model",
        "--cache-dir",  # REEV_CACHE_DIR's option: giving a directory turns the cache on
        str(cache_dir),
    ]
    with FakeOpenAI(script) as server:
        failed = reev(*args, "--base-url", server.base_url, "--log-dir", str(tmp_path / "a"))
        assert failed.returncode == 1, failed.stderr
        assert not list(cache_dir.glob("*/*.json"))
        failing["on"] = False
        seen = len(server.requests)
        passed = reev(*args, "--base-url", server.base_url, "--log-dir", str(tmp_path / "b"))
        assert passed.returncode == 0, passed.stderr
        assert len(server.requests) > seen  # nothing was answered from the cache
        assert list(cache_dir.glob("*/*.json"))
