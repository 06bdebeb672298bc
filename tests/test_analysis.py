"""`reev.analysis` on episodes run in-process through the real runner: loading inputs (and their
bad forms), the DataFrames from folders and from the database, the API's report route, the
oracle's trajectories as JSONL, and the optional dependencies staying optional."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import reev.analysis as ra
from helpers.episodes import ScriptedAgent, run
from helpers.paths import ROOT, subprocess_env
from helpers.suite import bundled
from reev.agents import DeterministicAgent
from reev.analysis.deps import require
from reev.analysis.export import ExportFormat, conversations, export
from reev.analysis.frames import COLUMNS
from reev.errors import InfrastructureError, InputError
from reev.runner.session import read_session
from reev.service.app import create_app
from reev.service.settings import ServiceSettings
from reev.store import repository as repo
from reev.store import upgrade
from reev.store.engine import make_engine, session_factory

IDS = [
    "001-sol-transfer",
    "002-spl-transfer",
    "005-sol-transfer-multi",
    "011-sol-transfer-memo",
    "020-spl-approve-delegate",
    "022-spl-burn",
    "027-spl-transfer-checked",
]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The oracle and an agent that does nothing, each on IDS, in their own folders."""
    root = tmp_path_factory.mktemp("logs")
    suite = bundled()
    for b in IDS:
        run(suite[b], DeterministicAgent(), root / "oracle")
        run(suite[b], ScriptedAgent([]), root / "idle")  # calls no tool
    return {"oracle": root / "oracle", "idle": root / "idle"}


@pytest.mark.slow
def test_a_folder_of_session_files_is_one_arm_named_after_it(logs):
    data = ra.load(logs["oracle"], logs["idle"], benchmarks=[ROOT / "benchmarks"])
    assert data.labels == ["oracle", "idle"]
    frame = ra.episodes_df(data)
    assert list(frame.columns) == COLUMNS["episodes"]
    assert len(frame) == 2 * len(IDS)
    assert frame.groupby("label").score.mean()["oracle"] == 1.0
    assert set(frame[frame.benchmark_id == "002-spl-transfer"].tags) == {
        ",".join(bundled()["002-spl-transfer"].tags)
    }
    steps = ra.steps_df(data)
    assert list(steps.columns) == COLUMNS["steps"] and len(steps) == 2 * len(IDS)
    txs = ra.transactions_df(data)
    assert set(txs.label) == {"oracle"}  # the idle agent sent nothing
    assert (txs.success).all() and txs.signature.notna().all()
    assert json.loads(txs.instructions.iloc[0])[0]["program_id"]
    assert set(ra.tool_calls_df(data).label) == {"oracle"}


@pytest.mark.slow
def test_labels_from_the_command_line_and_for_inputs_of_the_same_name(logs, tmp_path):
    twin = tmp_path / "again" / "oracle"
    shutil.copytree(logs["oracle"], twin)
    data = ra.load(logs["oracle"], twin)
    assert data.labels == ["oracle", "oracle#2"]
    named = ra.load(f"base={logs['oracle']}", f"new={twin}")
    assert named.labels == ["base", "new"]
    # --agent keeps agents (by name) or arms (by label)
    assert ra.load(logs["oracle"], logs["idle"], agents=["scripted"]).labels == ["idle"]
    assert ra.load(logs["oracle"], twin, agents=["oracle#2"]).labels == ["oracle#2"]
    with pytest.raises(InputError, match="no episodes of nobody in"):
        ra.load(logs["oracle"], agents=["nobody"])


@pytest.mark.slow
def test_the_oracle_gives_synthetic_trajectories(logs, tmp_path):
    data = ra.load(logs["oracle"])
    lines = conversations(data)
    assert len(lines) == len(IDS)
    first = next(c for c in lines if c["metadata"]["benchmark_id"] == "001-sol-transfer")
    assert first["metadata"]["synthetic"] is True
    session = read_session(
        next(e.session_file for e in data.episodes if e.benchmark_id == "001-sol-transfer")
    )
    agent_calls = [c for c in session.steps[0].tool_calls if not c.auto]
    roles = [m["role"] for m in first["messages"]]
    assert roles == ["user"] + ["assistant", "tool"] * len(agent_calls)
    assert [t["function"]["name"] for t in first["tools"]] == list(
        dict.fromkeys(c.tool for c in agent_calls)
    )
    out = tmp_path / "t.jsonl"
    assert export(data, ExportFormat.JSONL, out) == len(IDS)
    assert len(out.read_text().splitlines()) == len(IDS)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "nope", "no such file or directory"),
        (lambda p: p, "no results.json and no session_*.json files"),
        (lambda p: _write(p / "x.json", "{not json"), "not valid JSON"),
        (lambda p: _write(p / "results.json", '{"results": [{"epoch": 0}]}'), "results[0] is not an episode"),
        (lambda p: _write(p / "session_x.json", '{"execution_id": "x"}'), "not a reev session file"),
    ],
)  # fmt: skip
def test_bad_inputs_are_named(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        ra.load(path)
    assert str(path) in str(info.value)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_missing_dependency_names_the_extra():
    with pytest.raises(
        InfrastructureError, match=r"no_such_package_xyz: pip install 'reev\[analysis\]'"
    ):
        require(("no_such_package_xyz",))


@pytest.mark.slow
def test_core_reev_imports_none_of_the_analysis_packages():
    code = (
        "import sys, reev.cli, reev.analysis, reev.analysis.export, reev.service.app;"
        "print(sorted(m for m in ('numpy', 'scipy', 'pandas', 'pyarrow', 'matplotlib')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        check=True,
    )
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- the database


@pytest.fixture(scope="module")
def database(logs, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The two folders' episodes recorded as `reev run --record` records them."""
    from reev.spec import load_many
    from reev.store.recording import open_store, store_benchmarks

    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'reev.db'}"
    sessions = open_store(url)
    loaded, _ = load_many([ROOT / "benchmarks" / f"{b}.yml" for b in IDS])
    store_benchmarks(sessions, loaded)
    with sessions.begin() as session:
        for folder in logs.values():
            for path in sorted(folder.rglob("session_*.json")):
                repo.record_finished_episode(
                    session, read_session(path), str(path), model=None, source="cli"
                )
    return url


@pytest.mark.slow
def test_the_database_gives_one_arm_per_agent_with_tags(database, logs):
    frame = ra.episodes_df(db=database)
    assert sorted(set(frame.agent)) == ["deterministic", "scripted"]
    assert len(frame) == 2 * len(IDS)
    assert set(frame.tags) == {",".join(bundled()[b].tags) for b in IDS}
    calls = ra.tool_calls_df(db=database, agents=["deterministic"])
    assert len(calls) == sum(
        len(s.tool_calls)
        for p in logs["oracle"].rglob("session_*.json")
        for s in read_session(p).steps
    )


@pytest.mark.slow
def test_without_its_session_file_an_execution_keeps_its_calls_from_the_database(
    database, tmp_path
):
    engine = make_engine(database)
    with session_factory(engine)() as session:
        row = next(r for r in repo.finished_executions(session) if r.agent == "deterministic")
        execution_id, moved = row.execution_id, Path(row.session_file or "")
    engine.dispose()
    kept = tmp_path / moved.name
    shutil.move(moved, kept)
    try:
        data = ra.load(db=database, agents=["deterministic"])
        episode = next(e for e in data.episodes if e.execution_id == execution_id)
        assert episode.session is None and episode.db_children is not None
        calls = ra.tool_calls_df(data)
        assert len(calls[calls.execution_id == execution_id]) == len(
            [c for s in read_session(kept).steps for c in s.tool_calls]
        )
    finally:
        shutil.move(kept, moved)


@pytest.mark.slow
def test_the_api_serves_the_report_as_json_html_and_markdown(database, tmp_path):
    upgrade(database)
    settings = ServiceSettings(
        database_url=database,
        benchmarks_dir=tmp_path / "benchmarks",
        log_dir=tmp_path / "logs",
        max_concurrency=0,
        allowed_hosts=["testserver"],  # TestClient's Host; the server checks Host (issue 16)
    )
    with TestClient(create_app(settings)) as client:
        query = {"agents": ["scripted", "deterministic"]}
        body = client.get("/api/v1/report", params=query).json()
        assert [a["label"] for a in body["arms"]] == ["scripted", "deterministic"]
        overall = next(c for c in body["comparisons"] if c["scope"] == "all")
        assert overall["significant"] and overall["difference"]["low"] > 0
        assert overall["verdict"].startswith(
            f"deterministic is better than scripted overall: +{overall['difference']['value']:.2f}"
        )
        page = client.get("/api/v1/report", params={**query, "format": "html"})
        assert page.headers["content-type"].startswith("text/html")
        assert page.text.count("<img") == 3 and "http://" not in page.text
        md = client.get("/api/v1/report", params={**query, "format": "markdown"})
        assert md.text.startswith("# reev report") and overall["verdict"] in md.text
        missing = client.get("/api/v1/report", params={"agents": ["nobody"]})
        assert missing.status_code == 404 and "nobody" in missing.json()["detail"]
        bad = client.get("/api/v1/report", params={"format": "pdf"})
        assert bad.status_code == 422
