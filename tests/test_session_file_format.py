"""The session file on disk: compact JSON from pydantic's serializer (issue 18, part 5),
readable back to an equal model, UTF-8 with non-ASCII kept (docs/session.md)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from helpers.paths import BENCHMARKS
from reev.agents.deterministic import DeterministicAgent
from reev.runner import read_session, run_episode
from reev.spec import load_benchmark


def test_a_session_file_is_one_compact_line_that_reads_back_to_the_same_model(tmp_path: Path):
    bench = load_benchmark(BENCHMARKS / "002-spl-transfer.yml").benchmark
    result = asyncio.run(run_episode(bench, DeterministicAgent(), log_dir=tmp_path))
    assert result.session_file is not None
    raw = Path(result.session_file).read_text(encoding="utf-8")
    assert raw.endswith("\n") and raw.count("\n") == 1, "one line: no indentation"
    parsed = json.loads(raw)
    # Compact means no padding between tokens: re-encoding without spaces changes nothing.
    assert raw.rstrip("\n") == json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)
    session = read_session(result.session_file)
    assert session.model_dump(mode="json") == parsed
    assert session.execution_id == result.execution_id and session.benchmark_id == bench.id


def test_non_ascii_is_kept_as_is_not_escaped(tmp_path: Path):
    bench = load_benchmark(BENCHMARKS / "002-spl-transfer.yml").benchmark
    bench = bench.model_copy(update={"prompt": bench.prompt + " — envoyez-les, s'il vous plaît"})
    result = asyncio.run(run_episode(bench, DeterministicAgent(), log_dir=tmp_path))
    assert result.session_file is not None
    raw = Path(result.session_file).read_text(encoding="utf-8")
    assert "plaît" in raw and "\\u00ee" not in raw


def test_a_run_directorys_session_file_is_written_the_same_way(tmp_path: Path):
    """`reev run` names each episode's file in its run directory (`session_file=`): the same
    writer, so the same compact format."""
    bench = load_benchmark(BENCHMARKS / "001-sol-transfer.yml").benchmark
    target = tmp_path / "runs" / "r" / "sessions" / "001-sol-transfer" / "epoch-0.json"
    result = asyncio.run(
        run_episode(bench, DeterministicAgent(), log_dir=None, session_file=target)
    )
    assert result.session_file == str(target)
    raw = target.read_text(encoding="utf-8")
    assert raw.count("\n") == 1 and read_session(target).execution_id == result.execution_id
