"""The README and the repository agree (issue 17, item 10): the suite table lists the bundled
suite, `make bench` runs every speed script, the documents it points to ship with a clone, the
`--agent-cmd` example it gives is a file that works."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers.api_server import clean_env
from helpers.paths import BENCHMARKS, ROOT, subprocess_env

README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The README's `## title` section, up to the next `## `."""
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_suite_table_lists_every_bundled_benchmark_once() -> None:
    table = re.findall(r"^\| [^|]+ \| `([^`]+)` \|", section("The bundled suite"), re.MULTILINE)
    bundled = [yaml.safe_load(p.read_text("utf-8"))["id"] for p in BENCHMARKS.glob("*.yml")]
    assert sorted(table) == sorted(bundled)


def test_each_assertion_type_is_listed_once() -> None:
    listed = re.findall(r"`([A-Z][A-Za-z]+)\{", section("Benchmark format"))
    assert "TokenAccountWithheld" in listed
    assert sorted(t for t in set(listed) if listed.count(t) > 1) == []


def test_the_documents_the_readme_names_ship_with_a_clone() -> None:
    named = re.findall(r"`((?:\.\./|docs/|examples/)[^`\s]+\.(?:md|py|mjs))`", README)
    assert "docs/architecture.md" in named
    assert [n for n in named if n.startswith("../")] == []
    assert [n for n in named if not (ROOT / n).is_file()] == []


def test_make_bench_runs_every_bench_script() -> None:
    dry = subprocess.run(
        ["make", "-n", "-s", "bench", "BIN=/bin"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    ran = set(re.findall(r"scripts/bench_\w+\.py", dry))
    assert ran == {f"scripts/{p.name}" for p in (ROOT / "scripts").glob("bench_*.py")}


def agent_cmd_example() -> str:
    """The --agent-cmd of the README's Commands block."""
    found = re.search(r'--agent-cmd "([^"]+)"', section("Commands"))
    assert found is not None
    return found.group(1)


def run_agent_cmd(benchmark: str, tmp_path: Path) -> dict[str, object]:
    command = shlex.split(agent_cmd_example())
    assert (ROOT / command[-1]).is_file(), f"the README's example {command[-1]} is not shipped"
    command[0] = sys.executable if command[0] == "python" else command[0]
    env = clean_env()
    env["PYTHONPATH"] = subprocess_env()["PYTHONPATH"]
    out = tmp_path / f"{benchmark}.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "reev.cli",
            "run",
            str(BENCHMARKS / f"{benchmark}.yml"),
            "--agent-cmd",
            shlex.join(command),
            "--log-dir",
            str(tmp_path / "logs"),
            "--no-trace",
            "--output",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    results = json.loads(out.read_text("utf-8"))["results"]
    assert len(results) == 1
    result: dict[str, object] = results[0]
    return result


@pytest.mark.slow
def test_the_agent_cmd_example_solves_what_it_says(tmp_path: Path) -> None:
    result = run_agent_cmd("001-sol-transfer", tmp_path)
    assert (result["status"], result["score"]) == ("Completed", 1.0)


@pytest.mark.slow
def test_a_failing_agent_cmd_shows_its_stderr_as_such(tmp_path: Path) -> None:
    result = run_agent_cmd("002-spl-transfer", tmp_path)  # not a SOL transfer: the example exits 1
    assert result["status"] == "Failed"
    assert (
        "exited with code 1; the last lines of its stderr: examples/agent.py only sends SOL"
        in str(result["error"])
    )


def test_the_format_example_is_a_suite_file_that_validates() -> None:
    from reev.chain.litesvm import LiteSVMChain
    from reev.spec import load_many
    from reev.validation import check_benchmark

    block = section("Benchmark format").split("```yaml\n", 1)[1].split("```\n", 1)[0]
    benchmark_id = yaml.safe_load(block)["id"]
    path = BENCHMARKS / f"{benchmark_id}.yml"
    assert block == path.read_text("utf-8")
    loaded, errors = load_many([path], strict=True)
    assert errors == [] and len(loaded) == 1
    assert [str(d) for d in check_benchmark(loaded[0], chain_factory=LiteSVMChain)] == []


def test_the_format_section_links_the_tools_and_states_the_flow_rules() -> None:
    text = section("Benchmark format")
    assert "(docs/tools.md)" in text
    assert "top-level `prompt`" in text
    assert "`[step_1]`" in text
