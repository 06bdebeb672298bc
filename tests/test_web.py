"""The web dashboard in real headless Chromium (issue 7, "What it must show").

`reev serve` runs as a subprocess on a free 127.0.0.1 port with a temporary SQLite database, log
dir and copy of the benchmarks; Playwright drives Debian's chromium with every non-loopback
request blocked and recorded (tests/helpers/browser.py). Everything is done from the page: runs, stops,
edits. A scripted OpenAI-compatible server plays an LLM (`local/<model>`), and a tiny remote agent
that sleeps makes an execution long enough to stop. Screenshots go to the `artifacts` folder (conftest.py).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from helpers.api_server import (
    LOOPBACK_AGENTS,
    ApiServer,
    clean_env,
    copy_benchmarks,
    sqlite_url,
    wait_for,
    wait_status,
)
from helpers.browser import offline_page
from helpers.fake_openai import FakeOpenAI, SolutionPlayer
from helpers.local_server import LocalServer
from helpers.suite import bundled
from reev.spec.categories import category_of, tier_of

TIMEOUT = 90_000  # ms: an execution is a subprocess; a loaded CI machine starts them slowly


# ---------------------------------------------------------------------------- servers


def sleepy_agent(state: dict[str, Any]) -> FastAPI:
    """A remote agent that takes a minute to answer (or until released): a long execution."""
    app = FastAPI()

    @app.post("/slow")
    async def slow() -> JSONResponse:
        state["calls"] = state.get("calls", 0) + 1
        for _ in range(600):
            if state.get("release"):
                break
            await asyncio.sleep(0.1)
        return JSONResponse({"error": "released"}, status_code=503)

    return app


@pytest.fixture(scope="module")
def slow_agent():
    state: dict[str, Any] = {}
    with LocalServer(sleepy_agent(state)) as server:
        yield f"{server.url}/slow", state
        state["release"] = True


@pytest.fixture(scope="module")
def model_server():
    """`local/competent` replays the reference solution; `local/sloppy` sends half the amount."""
    suite = list(bundled().values())
    competent = SolutionPlayer(suite)

    def halve(tool: str, args: dict[str, Any]) -> dict[str, Any]:
        if "amount" in args:
            args = {**args, "amount": str(float(args["amount"]) / 2)}
        return args

    sloppy = SolutionPlayer(suite, mutate=halve)
    with FakeOpenAI(
        lambda body: (sloppy if body.get("model") == "sloppy" else competent)(body)
    ) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_server: FakeOpenAI):
    workdir = tmp_path_factory.mktemp("web")
    benchmarks = copy_benchmarks(workdir / "benchmarks")
    api = ApiServer(
        workdir / "serve",
        db_url=sqlite_url(workdir / "reev.db"),
        benchmarks=benchmarks,
        log_dir=workdir / "logs",
        # api_server turns the dashboard off for the API tests; the last flag wins
        args=["--dashboard", "--max-concurrency", "1", *LOOPBACK_AGENTS],
        env=clean_env(LOCAL_MODEL_URL=model_server.base_url),
    )
    api.start(timeout=120)
    yield api
    api.stop()


@pytest.fixture(scope="module")
def browser():
    with offline_page(viewport={"width": 1280, "height": 900}) as (page, blocked):
        page.set_default_timeout(30_000)
        yield page, blocked


@pytest.fixture
def page(browser):
    """The shared page; after every test nothing may have been fetched from outside 127.0.0.1."""
    page, blocked = browser
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert blocked == [], f"the dashboard tried to reach the network: {blocked}"
    assert errors == [], errors


# ---------------------------------------------------------------------------- helpers


def cell(page, benchmark_id: str, agent: str):  # type: ignore[no-untyped-def]
    return page.locator(f'td[data-cell="{benchmark_id}|{agent}"]')


RECORDER = """
() => {
  window.__cells = {}; window.__badges = {}; window.__marker = 'no reload';
  const push = (store, key, value) => {
    const seen = store[key] || (store[key] = []);
    if (seen[seen.length - 1] !== value) seen.push(value);
  };
  const record = () => {
    document.querySelectorAll('td[data-cell]').forEach(td => push(window.__cells, td.dataset.cell,
      td.dataset.status || 'empty'));
    document.querySelectorAll('[data-execution]').forEach(row => {
      const badge = row.querySelector('.reev-status');
      if (badge) push(window.__badges, row.dataset.execution, badge.textContent.trim());
    });
  };
  new MutationObserver(record).observe(document.body,
    {subtree: true, childList: true, attributes: true, characterData: true});
  record();
}
"""


def open_overview(page, server: ApiServer) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/")
    page.get_by_test_id("matrix").locator("table").wait_for()
    page.evaluate(RECORDER)


def choose_agent(page, label: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("agent-select").click()
    page.get_by_role("option").filter(has_text=label).first.click()


def show_only(page, benchmark_id: str) -> None:  # type: ignore[no-untyped-def]
    field = page.get_by_test_id("filter-text")
    field.fill(benchmark_id)
    page.get_by_test_id("run-all").filter(has_text="(1)").wait_for()
    assert page.locator("tr[data-benchmark]").count() == 1


def executions_of(server: ApiServer, **query: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.api}/executions", params={**query, "limit": 100}, timeout=10)
    response.raise_for_status()
    return response.json()["items"]


def in_order(seen: list[str], wanted: list[str]) -> bool:
    """`wanted` appears in `seen` as a subsequence."""
    it = iter(seen)
    return all(any(s == w for s in it) for w in wanted)


# ---------------------------------------------------------------------------- tests


@pytest.mark.slow
def test_api_and_docs_still_served(server: ApiServer) -> None:
    assert httpx.get(f"{server.url}/docs", timeout=10).status_code == 200
    assert httpx.get(f"{server.api}/health", timeout=10).json()["status"] == "ok"
    missing = httpx.get(f"{server.api}/no-such-endpoint", timeout=10)
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    wrong_method = httpx.get(f"{server.api}/sync", timeout=10)
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    page = httpx.get(f"{server.url}/", timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


@pytest.mark.browser
def test_run_from_the_page_turns_the_cell_to_100(page, server: ApiServer) -> None:
    open_overview(page, server)
    show_only(page, "001-sol-transfer")
    choose_agent(page, "deterministic")
    page.get_by_test_id("run-all").click()

    target = cell(page, "001-sol-transfer", "deterministic")
    target.filter(has_text="100%").wait_for(timeout=TIMEOUT)
    assert page.evaluate("window.__marker") == "no reload"
    cells = page.evaluate("window.__cells")["001-sol-transfer|deterministic"]
    assert cells[-1] == "Completed" and {"Queued", "Running"} & set(cells[:-1]), cells
    [execution] = executions_of(server, agent="deterministic", benchmark="001-sol-transfer")
    badges = page.evaluate("window.__badges")[execution["execution_id"]]
    assert in_order(badges, ["Running", "Completed"]), badges
    assert execution["status"] == "Completed" and execution["score"] == 1.0
    page.get_by_test_id("live-counts").filter(has_text="0 running").wait_for()


@pytest.mark.browser
def test_execution_page(page, server: ApiServer, artifacts: Path) -> None:
    open_overview(page, server)
    show_only(page, "001-sol-transfer")
    cell(page, "001-sol-transfer", "deterministic").locator("a").click()
    page.wait_for_url(re.compile(r"/executions/[0-9a-f-]{36}$"))
    execution_id = page.url.rsplit("/", 1)[1]

    assert page.get_by_test_id("execution-status").inner_text() == "Completed"
    assert page.get_by_test_id("score-value").inner_text() == "100.0%"
    breakdown = page.get_by_test_id("breakdown").inner_text()
    for part in ("state", "instruction", "transaction"):
        assert re.search(part + r"\s+100\.0%", breakdown), breakdown
    assert "of" in page.get_by_test_id("checks").inner_text()

    tx = page.get_by_test_id("transaction").first
    signature = tx.get_by_test_id("signature").inner_text()
    units = int(tx.get_by_test_id("compute-units").inner_text().split()[0])
    logs = httpx.get(
        f"{server.api}/transaction-logs/001-sol-transfer", params={"execution_id": execution_id}
    ).json()
    assert [(t["signature"], t["compute_units"]) for t in logs["transactions"]] == [
        (signature, units)
    ]
    assert units > 0 and "System" in tx.inner_text()  # the invocation tree names the program

    svg = page.get_by_test_id("flow").locator("svg")
    svg.wait_for()
    flow_text = svg.text_content()
    assert "sol_transfer" in flow_text and "Score 1.000" in flow_text

    conversation = page.get_by_test_id("conversation")
    assert conversation.locator('[data-tool="sol_transfer"]').count() == 1
    assert "recipient" in conversation.inner_text()

    href = page.get_by_test_id("download-session").get_attribute("href")
    session = page.request.get(f"{server.url}{href}").json()
    assert session["execution_id"] == execution_id and session["final_result"]["score"] == 1.0
    page.screenshot(path=str(artifacts / "web-execution.png"), full_page=True)

    # Linkable: the URL alone brings the same page back.
    page.goto(f"{server.url}/executions/{execution_id}")
    assert page.get_by_test_id("score-value").inner_text() == "100.0%"


@pytest.mark.browser
def test_failed_checks_show_their_reasons(page, server: ApiServer) -> None:
    open_overview(page, server)
    show_only(page, "003-spl-transfer-fail")
    page.get_by_test_id("run-all").click()
    target = cell(page, "003-spl-transfer-fail", "deterministic")
    target.locator("a").filter(has_text="%").wait_for(timeout=TIMEOUT)
    target.locator("a").click()
    page.wait_for_url(re.compile(r"/executions/"))
    reasons = page.get_by_test_id("check-reason")
    assert reasons.count() >= 1
    assert page.locator('[data-testid="check"][data-passed="false"]').count() == reasons.count()
    assert "insufficient funds" in reasons.first.inner_text()
    assert "failed" in page.get_by_test_id("transaction").first.inner_text()


@pytest.mark.browser
def test_llm_agent_from_the_page_and_its_conversation(page, server: ApiServer) -> None:
    open_overview(page, server)
    show_only(page, "001-sol-transfer")
    choose_agent(page, "local/<model>")
    page.get_by_test_id("run-all").click()
    assert "needs a model" in page.get_by_test_id("run-error").inner_text()
    for model in ("competent", "sloppy"):
        page.get_by_test_id("model-input").fill(model)
        page.get_by_test_id("run-all").click()
        cell(page, "001-sol-transfer", f"local/{model}").locator("a").filter(has_text="%").wait_for(
            timeout=TIMEOUT
        )
    assert "100%" in cell(page, "001-sol-transfer", "local/competent").inner_text()
    assert "100%" not in cell(page, "001-sol-transfer", "local/sloppy").inner_text()

    cell(page, "001-sol-transfer", "local/competent").locator("a").click()
    page.wait_for_url(re.compile(r"/executions/"))
    conversation = page.get_by_test_id("conversation")
    assert conversation.locator('[data-role="user"]').count() == 1
    assistant = conversation.locator('[data-role="assistant"]')
    assert (
        "sol_transfer" in assistant.first.inner_text()
        and "recipient" in assistant.first.inner_text()
    )
    assert '"success": true' in conversation.locator('[data-role="tool"]').last.inner_text()
    assert "model calls" in page.get_by_test_id("score").inner_text()


@pytest.mark.browser
def test_editor_shows_the_error_line_and_stores_nothing(page, server: ApiServer) -> None:
    path = server.benchmarks / "001-sol-transfer.yml"
    original = path.read_text()
    before = httpx.get(f"{server.api}/benchmarks/001-sol-transfer").json()
    broken = original.replace("lamports: 1000000000", "lamports: lots", 1)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "lamports: lots" in text)

    page.goto(f"{server.url}/benchmarks/001-sol-transfer")
    assert "Please send 0.1 SOL" in page.get_by_test_id("benchmark-prompt").inner_text()
    assert page.get_by_test_id("yaml-view").locator(".codehilite, pre").count() >= 1
    page.get_by_test_id("edit-tab").click()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(broken)
    page.get_by_test_id("save-yaml").click()

    error = page.get_by_test_id("yaml-error").first
    error.wait_for()
    text = error.inner_text()
    assert text.startswith(f"line {line} · initial_state[0].lamports"), text
    assert "not saved" in page.get_by_test_id("save-status").inner_text()
    assert page.locator(".cm-line.reev-editor-error").count() == 1
    assert path.read_text() == original
    after = httpx.get(f"{server.api}/benchmarks/001-sol-transfer").json()
    assert (
        after["content_hash"] == before["content_hash"]
        and after["updated_at"] == before["updated_at"]
    )

    # A valid edit saves through the same code as POST /upsert-yml.
    edited = original.replace("A simple SOL transfer", "A simple SOL transfer (edited)", 1)
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(edited)
    page.get_by_test_id("save-yaml").click()
    page.get_by_test_id("save-status").filter(has_text="saved (updated)").wait_for()
    assert "(edited)" in page.get_by_test_id("benchmark-description").inner_text()
    assert path.read_text() == edited
    assert httpx.get(f"{server.api}/benchmarks/001-sol-transfer").json()["yaml"] == edited
    path.write_text(original)  # leave the copy as it was for the other tests
    httpx.post(f"{server.api}/sync", timeout=30).raise_for_status()


@pytest.mark.browser
def test_stop_a_long_running_execution(page, server: ApiServer, slow_agent) -> None:
    url, state = slow_agent
    open_overview(page, server)
    show_only(page, "002-spl-transfer")
    choose_agent(page, "remote agent")
    page.get_by_test_id("agent-url").fill(url)
    page.get_by_test_id("run-all").click()
    [slow] = wait_for(lambda: executions_of(server, agent=url), 30, "the slow execution")
    row = page.locator(f'[data-execution="{slow["execution_id"]}"]')
    row.locator('.reev-status[data-status="Running"]').wait_for(timeout=TIMEOUT)
    wait_for(lambda: state.get("calls"), 60, "the agent to be called")

    # With one worker busy, the next run waits in the queue: Queued → Running → Completed, live.
    choose_agent(page, "deterministic")
    page.get_by_test_id("run-all").click()
    queued = cell(page, "002-spl-transfer", "deterministic")
    queued.filter(has_text="Queued").wait_for(timeout=TIMEOUT)
    page.get_by_test_id("live-counts").filter(has_text="1 running").filter(
        has_text="1 queued"
    ).wait_for()

    row.get_by_test_id("stop").click()
    row.locator('.reev-status[data-status="Cancelled"]').wait_for(timeout=TIMEOUT)
    cell(page, "002-spl-transfer", url).filter(has_text="Cancelled").wait_for()
    with httpx.Client(base_url=server.api, timeout=30) as client:
        assert (
            wait_status(client, "002-spl-transfer", slow["execution_id"], ["Cancelled"], 30)[
                "status"
            ]
            == "Cancelled"
        )
    queued.filter(has_text="100%").wait_for(timeout=TIMEOUT)
    [done] = executions_of(server, agent="deterministic", benchmark="002-spl-transfer")
    badges = page.evaluate("window.__badges")[done["execution_id"]]
    assert in_order(badges, ["Queued", "Running", "Completed"]), badges
    assert page.evaluate("window.__marker") == "no reload"


@pytest.mark.browser
def test_compare_views(page, server: ApiServer, artifacts: Path) -> None:
    page.goto(f"{server.url}/compare?a=deterministic&b=local/sloppy")
    table = page.get_by_test_id("compare-table")
    row = table.locator("tr", has=page.locator('a[href="/benchmarks/001-sol-transfer"]'))
    assert "100%" in row.inner_text() and re.search(r"-\d+\.\d", row.inner_text()), row.inner_text()
    page.screenshot(path=str(artifacts / "web-compare.png"), full_page=True)
    # the statistical report of the two agents (issue 19), served by the API
    href = page.get_by_test_id("compare-report").get_attribute("href")
    assert href == "/api/v1/report?agents=deterministic&agents=local%2Fsloppy&format=html"
    report = page.request.get(f"{server.url}{href}")
    assert report.ok and report.headers["content-type"].startswith("text/html")
    assert 'data-testid="verdicts"' in report.text() and "local/sloppy" in report.text()

    row.get_by_text("side by side").click()
    page.wait_for_url(re.compile(r"/compare\?x=.+&y=.+"))
    side = page.get_by_test_id("side-by-side")
    assert side.get_by_test_id("score").count() == 2 and side.get_by_test_id("flow").count() == 2
    side.get_by_test_id("flow").nth(1).locator("svg").wait_for()
    page.screenshot(path=str(artifacts / "web-compare-executions.png"), full_page=True)


@pytest.mark.browser
def test_overview_filters_dark_mode_and_screenshots(
    page, server: ApiServer, artifacts: Path
) -> None:
    page.goto(f"{server.url}/")
    page.get_by_test_id("matrix").locator("table").wait_for()
    all_rows = page.locator("tr[data-benchmark]").count()
    assert all_rows == len(list(server.benchmarks.glob("*.yml")))
    stats = page.get_by_test_id("agent-stats").inner_text()
    assert "deterministic" in stats and "local/sloppy" in stats
    page.get_by_test_id("score-chart").locator("canvas").first.wait_for()
    page.screenshot(path=str(artifacts / "web-overview.png"), full_page=True)

    suite = bundled().values()
    spl = sorted(b.id for b in suite if category_of(b.tags) == "spl-token")
    spl_t1 = sorted(
        b.id for b in suite if category_of(b.tags) == "spl-token" and tier_of(b.tags) == "t1"
    )

    def shown() -> list[str]:
        return sorted(
            page.locator("tr[data-benchmark]").evaluate_all(
                "rows => rows.map(r => r.dataset.benchmark)"
            )
        )

    page.get_by_test_id("filter-category").click()
    page.get_by_role("option", name="spl-token", exact=True).click()
    wait_for(lambda: shown() == spl, 10, "the category filter")
    page.get_by_test_id("filter-tier").click()
    page.get_by_role("option", name="t1", exact=True).click()
    wait_for(lambda: shown() == spl_t1, 10, "the tier filter")
    assert (
        page.get_by_test_id("matrix-summary")
        .inner_text()
        .startswith(f"{len(spl_t1)} of {all_rows} benchmarks")
    )

    page.get_by_test_id("dark-toggle").click()
    page.wait_for_function("document.body.classList.contains('body--dark')")
    page.reload()
    page.get_by_test_id("matrix").locator("table").wait_for()
    assert page.evaluate("document.body.classList.contains('body--dark')")  # remembered (a cookie)
    page.screenshot(path=str(artifacts / "web-overview-dark.png"), full_page=True)
    page.get_by_test_id("dark-toggle").click()
    page.wait_for_function("!document.body.classList.contains('body--dark')")


@pytest.mark.slow
def test_no_dashboard_serves_the_api_only(tmp_path: Path) -> None:
    benchmarks = copy_benchmarks(tmp_path / "benchmarks", ["001-sol-transfer"])
    with ApiServer(
        tmp_path,
        db_url=sqlite_url(tmp_path / "reev.db"),
        benchmarks=benchmarks,
        args=["--no-dashboard"],
    ) as api:
        assert httpx.get(f"{api.api}/health", timeout=10).status_code == 200
        assert httpx.get(f"{api.url}/docs", timeout=10).status_code == 200
        assert httpx.get(f"{api.url}/", timeout=10).status_code == 404


@pytest.mark.browser
def test_with_an_api_token_the_page_asks_for_it_before_running(page, tmp_path: Path) -> None:
    benchmarks = copy_benchmarks(tmp_path / "benchmarks", ["001-sol-transfer"])
    token = "web-test-token-0123456789"
    with ApiServer(
        tmp_path,
        db_url=sqlite_url(tmp_path / "reev.db"),
        benchmarks=benchmarks,
        args=["--dashboard"],
        env=clean_env(REEV_API_TOKEN=token),
    ) as api:
        page.goto(f"{api.url}/")
        page.get_by_test_id("run-all").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("needs its API token").wait_for()
        assert executions_of(api) == []
        field = dialog.locator("input")
        field.fill("not-the-token")
        dialog.get_by_role("button", name="Use token").click()
        page.get_by_text("that is not the server's token").wait_for()
        field.fill(token)
        dialog.get_by_role("button", name="Use token").click()
        dialog.wait_for(state="hidden")
        page.get_by_test_id("run-all").click()
        cell(page, "001-sol-transfer", "deterministic").filter(has_text="100%").wait_for(
            timeout=TIMEOUT
        )
    page.context.clear_cookies()


# ---------------------------------------------------------------------------- the numbers (no browser)


def _run(
    execution_id: str, benchmark: str, agent: str, status: str, score: float | None, minute: int
) -> Any:
    from datetime import UTC, datetime, timedelta

    from reev.web.data import Run

    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    return Run(
        execution_id,
        benchmark,
        agent,
        None,
        status,
        score,
        score == 1.0 if score is not None else None,
        at,
        at if status not in ("Queued", "Running") else None,
    )


def test_overview_keeps_the_latest_execution_per_cell_and_escapes_names() -> None:
    from reev.web.data import BenchInfo, Overview, matrix_html

    overview = Overview(
        [
            BenchInfo("b1", "one", ("system", "t1"), "system", "t1"),
            BenchInfo("b2", "two", ("spl-token", "t2"), "spl-token", "t2"),
        ]
    )
    overview.apply(_run("e1", "b1", "a", "Completed", 0.5, 0))
    overview.apply(_run("e2", "b1", "a", "Queued", None, 1))
    assert overview.latest[("b1", "a")].execution_id == "e2" and overview.counts() == {
        "Queued": 1,
        "Running": 0,
    }
    overview.apply(
        _run("e2", "b1", "a", "Completed", 1.0, 1)
    )  # the live event of the same execution
    overview.apply(_run("e3", "b2", "<img src=x onerror=alert(1)>", "Failed", None, 2))
    stats = {s.agent: s for s in overview.agent_stats({"b1", "b2"})}
    a, evil = stats["a"], stats["<img src=x onerror=alert(1)>"]
    assert (a.runs, a.mean_score, a.pass_rate, a.latest_mean, a.covered) == (2, 0.75, 0.5, 1.0, 1)
    assert evil.runs == 1 and evil.mean_score is None
    html = matrix_html(overview, overview.filtered(), overview.agents)
    assert "<img" not in html and "&lt;img src=x" in html
    assert 'data-cell="b1|a" data-status="Completed"' in html and "100%" in html
    assert [b.id for b in overview.filtered(tags=["t2"])] == ["b2"]
    assert [b.id for b in overview.filtered(category="system", tier="t1")] == ["b1"]
    chart = overview.score_over_time({"b1", "b2"})
    assert [s["name"] for s in chart["series"]] == ["a"]  # runs without a score draw nothing
    assert [p[1] for p in chart["series"][0]["data"]] == [50.0, 100.0]
