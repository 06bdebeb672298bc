"""Session file size against the number of model turns: schema version 2 (deltas) against the
version 1 form of the same episode (every call's whole request), measured in the same run.

An LLM agent runs `001-sol-transfer` against the scripted OpenAI-compatible server
(tests/helpers/fake_openai.py), asking for the wallet overview N times before it answers, for
each N of `--turns`. The version 1 figure is the same session serialized with each call's
full request (what reev wrote before version 2), so the ratio is the saving. Also timed, best
of a few repeats: writing (serializing) and reading (validating) the session in both forms.

    python scripts/bench_session.py [--turns 10 25 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.fake_openai import FakeOpenAI, Reply, turns_so_far  # noqa: E402 (after the sys.path insert above)
from reev.agents import AgentOptions, agent_factory  # noqa: E402 (after the sys.path insert above)
from reev.runner import read_session, run_suite  # noqa: E402 (after the sys.path insert above)
from reev.runner.history import full_requests  # noqa: E402 (after the sys.path insert above)
from reev.runner.session import SessionFile  # noqa: E402 (after the sys.path insert above)
from reev.spec import load_benchmark  # noqa: E402 (after the sys.path insert above)


def episode(tool_turns: int, log_dir: Path) -> Path:
    """One episode of `tool_turns` tool calls and a final answer; returns its session file."""
    bench = load_benchmark(ROOT / "benchmarks" / "001-sol-transfer.yml").benchmark

    def script(body: dict[str, Any]) -> Reply:
        if turns_so_far(body) < tool_turns:
            return Reply(tool_calls=[("get_wallet_overview", {})])
        return Reply(content="Done.")

    with FakeOpenAI(script) as server:
        options = AgentOptions(base_url=server.base_url, max_turns=tool_turns + 1)
        suite = asyncio.run(
            run_suite([bench], agent_factory("local/scripted-model", options), log_dir=log_dir)
        )
        assert len(server.requests) == tool_turns + 1
    return Path(suite.results[0].session_file or "")


def version_1(text: str) -> str:
    """The version 1 file of a version 2 one: whole requests in `request_messages`."""
    raw = json.loads(text)
    raw["schema_version"] = 1
    for step in raw["steps"]:
        for call, request in zip(
            step["model_calls"], full_requests(step["model_calls"]), strict=True
        ):
            del call["messages_from"], call["request_messages_delta"]
            call["request_messages"] = request
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":")) + "\n"


def best_ms(fn: Callable[[], object], repeats: int = 10) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--json", type=Path, help="Also write the figures here")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.turns:
            path = episode(n, Path(tmp) / str(n))
            v2 = path.read_text(encoding="utf-8")
            v1 = version_1(v2)
            session = read_session(path)
            assert SessionFile.model_validate_json(v1) == session
            rows.append(
                {
                    "tool_turns": n,
                    "model_calls": n + 1,
                    "v1_bytes": len(v1.encode()),
                    "v2_bytes": len(v2.encode()),
                    "v2_write_ms": best_ms(session.model_dump_json),
                    "v2_read_ms": best_ms(lambda t=v2: SessionFile.model_validate_json(t)),
                    "v1_read_ms": best_ms(lambda t=v1: SessionFile.model_validate_json(t)),
                }
            )
    print(f"{'turns':>5} {'v1 bytes':>10} {'v2 bytes':>10} {'v1/v2':>7} "
          f"{'write v2':>9} {'read v2':>8} {'read v1':>8}")  # fmt: skip
    for r in rows:
        print(
            f"{r['tool_turns']:>5} {r['v1_bytes']:>10} {r['v2_bytes']:>10} "
            f"{r['v1_bytes'] / r['v2_bytes']:>7.2f} {r['v2_write_ms']:>7.2f}ms "
            f"{r['v2_read_ms']:>6.2f}ms {r['v1_read_ms']:>6.2f}ms"
        )
    for a, b in itertools.pairwise(rows):
        turns = b["tool_turns"] / a["tool_turns"]
        print(
            f"growth {a['tool_turns']}→{b['tool_turns']} turns (×{turns:.1f}): "
            f"v1 ×{b['v1_bytes'] / a['v1_bytes']:.2f}, v2 ×{b['v2_bytes'] / a['v2_bytes']:.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
