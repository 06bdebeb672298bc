"""The dashboard items of issue 17 (item 8) and the shared overview of issue 18, in Chromium.

`reev serve --dashboard` runs as a subprocess with the bundled suite and the deterministic
agent; every check below failed on the dashboard before these issues:
- 003 is designed to fail (`expected_outcome: fail`): its row says so, its cell carries the
  "as designed" mark, and the agent table counts it apart from the failures;
- the Flow card shows "drawing the flow…" while Mermaid has not drawn yet;
- a failed check's red reason wraps inside its card, however long its words;
- a benchmark stored while the page is open appears without a reload;
- in dark mode the chart and the Mermaid diagram use dark themes;
- two open pages share one overview, loaded once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.api_server import (
    ApiServer,
    clean_env,
    copy_benchmarks,
    sqlite_url,
    wait_for,
    wait_status,
)
from helpers.browser import offline_page
from reev.events import ExecutionStatus
from reev.store import make_engine, session_factory
from reev.store import repository as repo

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TIMEOUT = 90_000
FAIL, PASS = "003-spl-transfer-fail", "001-sol-transfer"
LONG_WORD = "AccountWithAVeryLongName" * 12  # 288 characters without a space


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("web-dashboard")
    benchmarks = copy_benchmarks(workdir / "benchmarks", [PASS, FAIL])
    api = ApiServer(
        workdir / "serve",
        db_url=sqlite_url(workdir / "reev.db"),
        benchmarks=benchmarks,
        log_dir=workdir / "logs",
        args=["--dashboard", "--max-concurrency", "2"],
        env=clean_env(),
    )
    api.start(timeout=120)
    with api.client() as client:
        ids = [
            client.post(f"/benchmarks/{b}/run", json={"agent": "deterministic"}).json()[
                "execution_id"
            ]
            for b in (PASS, FAIL)
        ]
        finals = [
            wait_status(client, b, i, {"Completed", "Failed"}, timeout=120)
            for b, i in zip((PASS, FAIL), ids, strict=True)
        ]
    assert [f["passed"] for f in finals] == [True, False], finals
    api.executions = dict(zip((PASS, FAIL), ids, strict=True))  # type: ignore[attr-defined]
    yield api
    api.stop()


@pytest.fixture
def page():
    with offline_page(viewport={"width": 1280, "height": 900}) as (page, blocked):
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        assert blocked == [], f"the dashboard tried to reach the network: {blocked}"
        assert errors == [], errors


def open_overview(page: Any, server: ApiServer) -> None:
    page.goto(f"{server.url}/")
    page.locator(f'td[data-cell="{FAIL}|deterministic"] a').wait_for(timeout=TIMEOUT)


def stats_row(page: Any, agent: str) -> dict[str, str]:
    table = page.get_by_test_id("agent-stats")
    headers = [  # sortable headers carry Quasar's arrow icon, spelled out as its name
        h.replace("arrow_upward", "").strip() for h in table.locator("thead th").all_inner_texts()
    ]
    row = table.locator("tbody tr").filter(has_text=agent).first
    return dict(zip(headers, row.locator("td").all_inner_texts(), strict=False))


def test_designed_to_fail_is_marked_and_counted_apart(page, server: ApiServer) -> None:
    open_overview(page, server)
    failing = page.locator(f'td[data-cell="{FAIL}|deterministic"]')
    assert failing.get_attribute("data-as-designed") == "true"
    assert "⊘" in failing.inner_text() and "as designed" in (failing.get_attribute("title") or "")
    passing = page.locator(f'td[data-cell="{PASS}|deterministic"]')
    assert passing.get_attribute("data-as-designed") is None and "✓" in passing.inner_text()
    assert page.locator(f'tr[data-benchmark="{FAIL}"] [data-testid="expected-fail"]').count() == 1
    assert page.locator(f'tr[data-benchmark="{PASS}"] [data-testid="expected-fail"]').count() == 0
    row = stats_row(page, "deterministic")
    assert (row["Failed"], row["As designed"]) == ("0", "1"), row


def test_two_pages_share_one_overview_and_a_new_benchmark_appears_live(
    page, server: ApiServer
) -> None:
    open_overview(page, server)
    second = page.context.new_page()
    second.goto(f"{server.url}/")
    second.locator(f'td[data-cell="{FAIL}|deterministic"] a').wait_for(timeout=TIMEOUT)
    text = (server.benchmarks / f"{PASS}.yml").read_text().replace(PASS, "901-added-live", 1)
    response = httpx.post(f"{server.api}/upsert-yml", json={"yml_content": text}, timeout=30)
    assert response.status_code == 200, response.text
    for each in (page, second):  # no reload: the open pages receive it
        each.locator('tr[data-benchmark="901-added-live"]').wait_for(timeout=20_000)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    second.close()


def long_reason_execution(server: ApiServer, tmp_path: Path) -> str:
    """A stored execution whose session has a failed check with a 288-character word."""
    source = server.executions[FAIL]  # type: ignore[attr-defined]
    record = httpx.get(f"{server.api}/executions/{source}/session", timeout=30).json()
    failed = next(c for c in record["final_result"]["checks"] if not c["passed"])
    failed["reason"] = f"balance of {LONG_WORD} is wrong"
    record["execution_id"] = "long-reason-1"
    path = tmp_path / "long-reason-1.json"
    path.write_text(json.dumps(record))
    engine = make_engine(server.db_url)
    try:
        with session_factory(engine).begin() as session:
            repo.create_execution(
                session, execution_id="long-reason-1", benchmark_id=FAIL, agent="deterministic"
            )
            repo.transition(session, "long-reason-1", ExecutionStatus.RUNNING)
            repo.transition(
                session,
                "long-reason-1",
                ExecutionStatus.COMPLETED,
                score=record["final_result"]["score"],
                passed=False,
                session_file=str(path),
            )
    finally:
        engine.dispose()
    return "long-reason-1"


def test_failed_check_reason_stays_inside_its_card(page, server: ApiServer, tmp_path: Path) -> None:
    execution_id = long_reason_execution(server, tmp_path)
    page.goto(f"{server.url}/executions/{execution_id}")
    reason = page.get_by_test_id("check-reason").filter(has_text="AccountWithAVeryLongName")
    reason.wait_for()
    card = page.get_by_test_id("checks").bounding_box()
    box = reason.bounding_box()
    assert box["x"] + box["width"] <= card["x"] + card["width"] + 1, (box, card)
    assert reason.evaluate("e => e.scrollWidth <= e.clientWidth + 1")


def test_flow_card_says_drawing_until_mermaid_has_drawn(page, server: ApiServer) -> None:
    page.goto(f"{server.url}/executions/{server.executions[PASS]}")  # type: ignore[attr-defined]
    diagram = page.get_by_test_id("flow").locator(".reev-flow")
    diagram.locator("svg").first.wait_for()
    assert diagram.evaluate("e => getComputedStyle(e, '::before').content") in ("none", "normal")
    # Before Mermaid draws, the element is empty: the same element, emptied, shows the note.
    placeholder = diagram.evaluate(
        "e => { const c = e.cloneNode(false); e.parentNode.appendChild(c);"
        " const text = getComputedStyle(c, '::before').content;"
        " const height = c.getBoundingClientRect().height; c.remove(); return [text, height]; }"
    )
    assert "drawing the flow" in placeholder[0] and placeholder[1] >= 100, placeholder


LUMINANCE = """
colour => {
  const [r, g, b] = colour.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}
"""


def test_dark_mode_themes_the_chart_and_the_flow(page, server: ApiServer) -> None:
    page.context.add_cookies([{"name": "reev_dark", "value": "1", "url": server.url}])
    open_overview(page, server)
    chart = page.get_by_test_id("score-chart").locator("canvas").first
    chart.wait_for()
    option = page.evaluate(
        "() => { const el = document.querySelector('[data-testid=score-chart] .nicegui-echart')"
        " || document.querySelector('[data-testid=score-chart] canvas').closest('[id^=c]');"
        " const o = getElement(el.id.slice(1)).chart.getOption();"
        " return {dark: o.darkMode, tooltip: o.tooltip[0].backgroundColor,"
        " legend: o.legend[0].textStyle.color}; }"
    )
    assert option["dark"] is True, option
    assert page.evaluate(f"({LUMINANCE})({json.dumps(_rgb(option['tooltip']))})") < 0.3, option
    assert page.evaluate(f"({LUMINANCE})({json.dumps(_rgb(option['legend']))})") > 0.6, option

    page.goto(f"{server.url}/executions/{server.executions[PASS]}")  # type: ignore[attr-defined]
    node = (
        page.get_by_test_id("flow")
        .locator(".reev-flow")
        .locator("g.node rect, g.node polygon")
        .first
    )
    node.wait_for()
    fill = node.evaluate("e => getComputedStyle(e).fill")
    assert page.evaluate(f"({LUMINANCE})({json.dumps(fill)})") < 0.4, fill
    # Switching back redraws it light.
    page.get_by_test_id("dark-toggle").click()
    first_node = (
        "document.querySelector('[data-testid=flow] .reev-flow g.node rect,"
        " [data-testid=flow] .reev-flow g.node polygon')"
    )
    script = (
        f"(() => {{ const e = {first_node};"
        f" return e ? ({LUMINANCE})(getComputedStyle(e).fill) : 0; }})()"
    )
    wait_for(lambda: page.evaluate(script) > 0.6, 20, "the light flow after dark mode is off")


def _rgb(colour: str) -> str:
    """`#rrggbb` as `rgb(r, g, b)` for the luminance helper (ECharts keeps what it was given)."""
    if colour.startswith("#") and len(colour) == 7:
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgb({r}, {g}, {b})"
    return colour


def test_executions_card_pages_through_every_execution(page, server: ApiServer) -> None:
    engine = make_engine(server.db_url)
    try:
        with session_factory(engine).begin() as session:
            for i in range(14):
                repo.create_execution(
                    session, execution_id=f"paged-{i:02d}", benchmark_id=PASS, agent="paged"
                )
                repo.transition(session, f"paged-{i:02d}", ExecutionStatus.FAILED, error="test")
            total = repo.list_executions(session, limit=1)[1]
            newest = [r.execution_id for r in repo.list_executions(session, limit=24)[0]]
    finally:
        engine.dispose()
    open_overview(page, server)
    activity = page.get_by_test_id("activity")
    rows = lambda: activity.locator("[data-execution]").evaluate_all(  # noqa: E731 (read twice)
        "rows => rows.map(r => r.dataset.execution)"
    )
    page.get_by_test_id("activity-pager").filter(has_text=f"1–12 of {total}").wait_for()
    assert rows() == newest[:12]
    page.get_by_test_id("activity-older").click()
    page.get_by_test_id("activity-pager").filter(
        has_text=f"13–{min(24, total)} of {total}"
    ).wait_for()
    assert rows() == newest[12:24]
    page.get_by_test_id("activity-newer").click()
    page.get_by_test_id("activity-pager").filter(has_text=f"1–12 of {total}").wait_for()
    assert rows() == newest[:12]
