"""`reev report` and `reev export` on real runs: `reev run --agent local/scripted-model` against the
scripted OpenAI-compatible server, three runs of the same 12 benchmarks (8 spl-token, 4
system). `good` and `twin` play every reference solution; `lazy` declines every spl-token
request. The report must find `good` better than `lazy` on spl-token with an interval that
excludes 0, find no difference on system, and none at all between `good` and `twin`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from helpers.api_server import clean_env
from helpers.fake_openai import FakeOpenAI, Reply, SolutionPlayer, user_message
from helpers.paths import BENCHMARKS, ROOT, subprocess_env
from helpers.suite import benchmark
from reev.analysis.frames import COLUMNS

pytestmark = pytest.mark.slow

SPL_TOKEN = [
    "002-spl-transfer",
    "006-spl-transfer-new-ata",
    "008-close-empty-token-account",
    "020-spl-approve-delegate",
    "021-spl-revoke-delegate",
    "022-spl-burn",
    "023-spl-mint-to",
    "027-spl-transfer-checked",
]
SYSTEM = ["001-sol-transfer", "005-sol-transfer-multi", "011-sol-transfer-memo", "029-sol-transfer-priority-fee"]  # fmt: skip
IDS = SYSTEM + SPL_TOKEN


def reev(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reev.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
        env=clean_env(COLUMNS="250", PYTHONPATH=subprocess_env()["PYTHONPATH"]),
    )


class DeclinesSplToken:
    """A model that plays the system benchmarks' solutions and declines everything else."""

    def __init__(self) -> None:
        self.player = SolutionPlayer([benchmark(b) for b in SYSTEM])

    def __call__(self, body: dict[str, Any]) -> Reply:
        text = user_message(body)
        if any(pattern.search(text) for pattern, _ in self.player.steps):
            return self.player(body)
        return Reply(content="I would rather not touch tokens.")


def run_dir(root: Path, name: str, script: Any) -> Path:
    """`reev run` with the scripted model into `root/name` (session files + results.json)."""
    out = root / name
    with FakeOpenAI(script) as server:
        proc = reev(
            "run",
            *(str(BENCHMARKS / f"{b}.yml") for b in IDS),
            "--agent",
            "local/scripted-model",
            "--base-url",
            server.base_url,
            "--log-dir",
            str(out),
            "-o",
            str(out / "results.json"),
            "--no-trace",
            "--max-concurrency",
            "4",
        )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    every = [benchmark(b) for b in IDS]
    return {
        "good": run_dir(root, "good", SolutionPlayer(every)),
        "lazy": run_dir(root, "lazy", DeclinesSplToken()),
        "twin": run_dir(root, "twin", SolutionPlayer(every)),
    }


@pytest.fixture(scope="module")
def report(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("report")
    proc = reev(
        "report",
        str(runs["good"]),
        str(runs["lazy"]),
        str(runs["twin"]),
        "--json",
        "--html",
        str(out / "report.html"),
        "--md",
        str(out / "report.md"),
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    result["_files"] = out
    return result


def comparison(report: dict[str, Any], a: str, b: str, scope: str) -> dict[str, Any]:
    return next(c for c in report["comparisons"] if (c["a"], c["b"], c["scope"]) == (a, b, scope))


def test_the_worse_agent_on_a_category_is_named_with_an_interval_excluding_zero(report):
    spl = comparison(report, "good", "lazy", "spl-token")
    assert spl["benchmarks"] == len(SPL_TOKEN)
    assert spl["significant"]
    assert spl["difference"]["high"] < 0  # lazy − good: below 0 over the whole interval
    assert spl["p_value"] == pytest.approx(2 / 2 ** len(SPL_TOKEN), abs=1e-6)  # all one sign
    verdict = spl["verdict"]
    match = re.fullmatch(
        r"good is better than lazy on spl-token: \+(\d\.\d\d) \[(\d\.\d\d), (\d\.\d\d)\] .*",
        verdict,
    )
    assert match, verdict
    value, low, high = map(float, match.groups())
    assert 0 < low <= value <= high
    assert value == pytest.approx(-spl["difference"]["value"], abs=0.005)
    assert verdict in report["verdicts"]
    system = comparison(report, "good", "lazy", "system")
    assert system["identical"] and not system["significant"]
    assert "no difference" in system["verdict"]


def test_two_identical_agents_show_no_difference(report):
    twins = comparison(report, "good", "twin", "all")
    assert twins["benchmarks"] == len(IDS)
    assert not twins["significant"]
    assert twins["difference"] == {"value": 0.0, "low": 0.0, "high": 0.0}
    assert twins["verdict"].startswith("good vs twin overall: no difference")
    pair = [c for c in report["comparisons"] if (c["a"], c["b"]) == ("good", "twin")]
    assert len(pair) > 1 and all(c["identical"] and not c["significant"] for c in pair)


def test_arms_have_intervals_usage_and_categories(report):
    arms = {a["label"]: a for a in report["arms"]}
    assert list(arms) == ["good", "lazy", "twin"]
    good, lazy = arms["good"], arms["lazy"]
    assert good["mean_score"] == {"value": 1.0, "low": 1.0, "high": 1.0}
    assert good["pass_rate"]["value"] == 1.0
    passed = len(SYSTEM) / len(IDS)  # lazy passes only the system benchmarks
    assert lazy["pass_rate"]["value"] == pytest.approx(passed, abs=1e-6)
    assert lazy["pass_rate"]["low"] < passed < lazy["pass_rate"]["high"]
    assert good["usage"]["model_calls"] > lazy["usage"]["model_calls"] > 0
    assert good["usage"]["input_tokens"] > 0 and good["usage"]["model_latency_ms_median"] > 0
    categories = {c["category"]: c for c in report["categories"]}
    assert categories["spl-token"]["arms"]["lazy"]["pass_rate"] == 0.0
    assert categories["system"]["arms"]["lazy"]["pass_rate"] == 1.0
    assert {b["benchmark_id"] for b in report["benchmarks"]} == set(IDS)


def test_markdown_carries_the_verdicts_and_tables(report):
    text = (report["_files"] / "report.md").read_text()
    for verdict in report["verdicts"]:
        assert f"- {verdict}" in text
    for title in ("## Agents", "## By category", "## Paired comparisons", "## By benchmark"):
        assert title in text


def test_the_report_is_reproducible_from_its_seed(runs, report):
    again = reev("report", str(runs["good"]), str(runs["lazy"]), str(runs["twin"]), "--json")
    assert again.returncode == 0, again.stderr
    first = {k: v for k, v in report.items() if k != "_files"}
    assert json.loads(again.stdout) == first


@pytest.mark.browser
def test_the_html_page_renders_offline_and_requests_nothing(report):
    from helpers.browser import offline_page

    page_file = report["_files"] / "report.html"
    source = page_file.read_text()
    assert "http://" not in source and "https://" not in source  # nothing to fetch, not even a font
    requests: list[str] = []
    with offline_page() as (page, blocked):
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        verdicts = page.locator('[data-testid="verdicts"] li').all_inner_texts()
        images = page.locator("img")
        assert images.count() == 3
        widths = images.evaluate_all("els => els.map(e => e.naturalWidth)")
    assert blocked == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert all(w > 0 for w in widths)  # every plot decoded
    assert any(v.startswith("good is better than lazy on spl-token") for v in verdicts)


def test_export_parquet_has_one_row_per_episode_and_the_documented_columns(runs, tmp_path):
    out = tmp_path / "episodes.parquet"
    proc = reev(
        "export", str(runs["good"]), str(runs["lazy"]), "--format", "parquet", "-o", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_parquet(out)
    assert len(frame) == 2 * len(IDS)
    assert list(frame.columns) == documented_columns("episodes")
    assert set(frame.label) == {"good", "lazy"}
    assert frame.groupby("label").score.mean()["good"] == 1.0
    spl = frame[frame.tags.str.split(",").apply(lambda t: "spl-token" in t)]
    assert set(spl.benchmark_id) == set(SPL_TOKEN)
    assert (spl[spl.label == "lazy"].passed == False).all()  # noqa: E712 (a pandas mask)
    results = json.loads((runs["good"] / "results.json").read_text())
    assert set(frame[frame.label == "good"].execution_id) == {
        r["execution_id"] for r in results["results"]
    }


def test_export_jsonl_is_one_chat_conversation_per_step(runs, tmp_path):
    out = tmp_path / "trajectories.jsonl"
    proc = reev("export", str(runs["good"]), "--format", "jsonl", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == len(IDS)  # single-step benchmarks
    for line in lines:
        roles = [m["role"] for m in line["messages"]]
        assert roles[0] == "system" and roles[1] == "user" and roles[-1] == "assistant"
        assert set(roles) <= {"system", "user", "assistant", "tool"}
        assert all(t["type"] == "function" for t in line["tools"]) and line["tools"]
        assert line["metadata"]["passed"] is True and line["metadata"]["synthetic"] is False
        calls = [c for m in line["messages"] for c in m.get("tool_calls", [])]
        answered = {m["tool_call_id"] for m in line["messages"] if m["role"] == "tool"}
        assert {c["id"] for c in calls} == answered  # every tool call has its result


def test_export_csv_of_tool_calls(runs, tmp_path):
    out = tmp_path / "tools.csv"
    proc = reev(
        "export", str(runs["lazy"]), "--format", "csv", "--table", "tool_calls", "-o", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == documented_columns("tool_calls")
    assert set(frame.benchmark_id) <= set(SYSTEM)  # lazy called no tool on spl-token tasks


def documented_columns(table: str) -> list[str]:
    """The column names docs/analysis.md lists under `### <table>`, in order."""
    text = (ROOT / "docs" / "analysis.md").read_text()
    section = text.split(f"### `{table}`", 1)[1].split("\n### ", 1)[0]
    names = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)
    assert names == COLUMNS[table], f"docs/analysis.md and reev.analysis.frames differ on {table}"
    return names
