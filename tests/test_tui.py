"""The terminal cockpit driven by Textual's pilot, at 80×24 and larger."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from rich.console import Console

from helpers.fake_openai import FakeOpenAI, Reply
from helpers.paths import BENCHMARKS
from reev.agents import AgentOptions
from reev.spec import load_many
from reev.tui import ReevTui, default_agents
from reev.tui.app import AgentTab


def suite():
    loaded, errors = load_many([BENCHMARKS])
    assert not errors
    return loaded


def text_of(renderable) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def wait_for(pilot, predicate, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await pilot.pause(0.05)


def nav_text(app: ReevTui) -> str:
    tree = app.query_one("#nav")
    return "\n".join(str(node.label) for branch in tree.root.children for node in branch.children)


@pytest.mark.slow
def test_run_001_with_the_oracle_and_read_its_trace(tmp_path, artifacts):
    agents = [
        AgentTab("openai/gpt-4.1-mini", "openai/gpt-4.1-mini"),
        AgentTab("deterministic", "deterministic"),
    ]

    async def scenario() -> None:
        app = ReevTui(suite(), agents=agents, log_dir=tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            # benchmarks are grouped by category; 001 is under "system"
            categories = [str(b.label) for b in app.query_one("#nav").root.children]
            assert categories[0] == "system" and "flow" in categories
            await pilot.press("tab")  # switch to the deterministic tab
            assert app.agent.name == "deterministic"
            app.selected = "001-sol-transfer"
            await pilot.press("r")
            await wait_for(
                pilot,
                lambda: (
                    (o := app.state.outcomes.get(("deterministic", "001-sol-transfer"))) is not None
                    and o.status == "Completed"
                ),
            )
            outcome = app.state.outcomes[("deterministic", "001-sol-transfer")]
            assert outcome.passed and outcome.score == 1.0
            assert "✔ 100% 001-sol-transfer" in nav_text(app)
            await pilot.pause(0.1)
            trace = text_of(app.query_one("#trace-body").content)
            logs = text_of(app.query_one("#txlogs-body").content)
            from reev.runner import read_session

            tx = read_session(outcome.session_file).steps[0].transactions[0]
            assert tx.signature in trace and f"CU={tx.compute_units}" in trace
            assert tx.signature in logs and "150 CU" in logs
            await pilot.press("l")
            assert not app.query_one("#txlogs").display
            await pilot.press("o")
            assert str(Path(outcome.session_file).resolve()) in str(
                app.query_one("#message").content
            )
            app.save_screenshot(filename="tui-after-run.svg", path=str(artifacts))

    asyncio.run(scenario())
    assert (artifacts / "tui-after-run.svg").stat().st_size > 1000


@pytest.mark.slow
def test_agent_without_a_key_is_refused_with_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    agents = default_agents([])
    assert any(
        a.name == "glm-4.6" and a.missing_key == "ZAI_API_KEY" and a.label.endswith("✗")
        for a in agents
    )

    async def scenario() -> None:
        app = ReevTui(suite(), agents=agents, log_dir=tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            while app.agent.name != "glm-4.6":
                await pilot.press("right")
            await pilot.press("r")
            await pilot.pause(0.05)
            assert "ZAI_API_KEY" in str(app.query_one("#message").content)
            assert not app.runs

    asyncio.run(scenario())


@pytest.mark.slow
def test_stop_a_long_run(tmp_path):
    with FakeOpenAI(lambda body: Reply(content="thinking…", delay_s=30)) as server:
        agents = [AgentTab("local/slow-model", "local/slow-model")]
        options = AgentOptions(base_url=server.base_url, request_timeout_s=60)

        async def scenario() -> None:
            app = ReevTui(suite(), agents=agents, options=options, log_dir=tmp_path)
            async with app.run_test(size=(100, 30)) as pilot:
                app.selected = "001-sol-transfer"
                await pilot.press("r")
                await wait_for(pilot, lambda: len(server.requests) >= 1)
                assert (
                    app.state.outcomes[("local/slow-model", "001-sol-transfer")].status == "Running"
                )
                await pilot.press("s")
                await pilot.pause(0.2)
                outcome = app.state.outcomes[("local/slow-model", "001-sol-transfer")]
                assert outcome.status == "Cancelled"
                assert "■" in nav_text(app)
                assert "stopped 001-sol-transfer" in str(app.query_one("#message").content)

        asyncio.run(scenario())


@pytest.mark.slow
def test_filter_and_run_all_shown(tmp_path):
    async def scenario() -> None:
        app = ReevTui(
            suite(), agents=[AgentTab("deterministic", "deterministic")], log_dir=tmp_path
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f")
            for key in "wsol":
                await pilot.press(key)
            await pilot.press("enter")
            shown = app.visible_ids()
            assert shown and all(
                "wsol" in " ".join([*app.benchmarks[b].benchmark.tags, b])
                or "wsol" in app.benchmarks[b].benchmark.description.lower()
                for b in shown
            )
            await pilot.press("a")
            await wait_for(
                pilot,
                lambda: all(
                    app.state.outcomes.get(("deterministic", b))
                    and app.state.outcomes[("deterministic", b)].status == "Completed"
                    for b in shown
                ),
            )
            assert all(app.state.outcomes[("deterministic", b)].passed for b in shown)

    asyncio.run(scenario())


@pytest.mark.slow
def test_runs_are_stored_when_a_database_is_configured(tmp_path):
    db = f"sqlite:///{tmp_path / 'reev.db'}"

    async def scenario() -> None:
        app = ReevTui(
            suite(),
            agents=[AgentTab("deterministic", "deterministic")],
            log_dir=tmp_path,
            db_url=db,
        )
        async with app.run_test(size=(80, 24)) as pilot:
            app.selected = "002-spl-transfer"
            await pilot.press("r")
            await wait_for(
                pilot,
                lambda: (
                    (o := app.state.outcomes.get(("deterministic", "002-spl-transfer"))) is not None
                    and o.status == "Completed"
                ),
            )

    asyncio.run(scenario())
    from reev.store import make_engine, session_factory
    from reev.store import repository as repo

    with session_factory(make_engine(db))() as session:
        row = repo.latest_execution(session, "002-spl-transfer", "deterministic")
        assert row is not None and row.source == "tui" and row.score == 1.0
    # a new TUI on the same database shows the stored result
    app = ReevTui(
        suite(), agents=[AgentTab("deterministic", "deterministic")], log_dir=tmp_path, db_url=db
    )
    assert app.state.outcomes[("deterministic", "002-spl-transfer")].passed


@pytest.mark.slow
def test_results_of_earlier_cli_runs_show_without_a_database(tmp_path):
    """Issue 17, item 11: after `reev run`, the TUI on the same log directory shows each
    benchmark's latest result, and `o` names its session file (it said "no session file for
    this benchmark and agent yet")."""
    from helpers.reev_cli import reev

    log_dir = tmp_path / "logs"
    for _ in range(2):  # two runs: the later one's sessions are the ones shown
        done = reev(
            "run",
            str(BENCHMARKS / "001-sol-transfer.yml"),
            str(BENCHMARKS / "003-spl-transfer-fail.yml"),
            "--log-dir",
            str(log_dir),
        )
        assert done.returncode in (0, 1), done.stderr
    from reev.runs import list_runs

    latest = list_runs(log_dir)[-1]

    async def scenario() -> None:
        app = ReevTui(suite(), agents=[AgentTab("deterministic", "deterministic")], log_dir=log_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            outcome = app.state.outcomes[("deterministic", "001-sol-transfer")]
            assert outcome.passed and outcome.score == 1.0
            assert outcome.session_file == str(latest.session_file("001-sol-transfer", 0))
            failed = app.state.outcomes[("deterministic", "003-spl-transfer-fail")]
            assert failed.passed is False  # designed to fail: shown as the run scored it
            assert "✔ 100% 001-sol-transfer" in nav_text(app)
            app.selected = "001-sol-transfer"
            await pilot.press("o")
            assert str(Path(outcome.session_file).resolve()) in str(
                app.query_one("#message").content
            )

    asyncio.run(scenario())
