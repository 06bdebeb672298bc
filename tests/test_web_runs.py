"""The dashboard grouped by run (issue 19), in headless Chromium with every non-loopback request
blocked: `/runs` lists the runs with the summary `GET /api/v1/runs` gives, a new run appears
without a reload, selecting a run shows its executions (each linking to its execution page), an
unknown run says so, and the run panel's "Run all shown" makes one run of every benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.api_server import ApiServer, clean_env, copy_benchmarks, sqlite_url, wait_for
from helpers.browser import offline_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TIMEOUT = 90_000
PASS, FAIL = "001-sol-transfer", "003-spl-transfer-fail"
TERMINAL = {"Completed", "Failed", "Timeout", "Cancelled"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("web-runs")
    api = ApiServer(
        workdir / "serve",
        db_url=sqlite_url(workdir / "reev.db"),
        benchmarks=copy_benchmarks(workdir / "benchmarks", [PASS, FAIL]),
        log_dir=workdir / "logs",
        args=["--dashboard", "--max-concurrency", "2"],
        env=clean_env(),
    )
    api.start(timeout=120)
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


def submit(server: ApiServer, benchmark_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.api}/benchmarks/{benchmark_id}/run", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()


def finished_run(server: ApiServer, run_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        run = httpx.get(f"{server.api}/runs/{run_id}", timeout=30).json()
        return run if run["status"] == "finished" else None

    return wait_for(done, 120, f"run {run_id} to finish")


def cells(page: Any, row: Any) -> dict[str, str]:
    headers = page.get_by_test_id("runs-table").locator("thead th").all_inner_texts()
    return dict(zip(headers, row.locator("td").all_inner_texts(), strict=True))


def shown_as(run: dict[str, Any]) -> dict[str, str]:
    """How the list shows a run, by the page's rules, from the API's answer."""
    summary = run["summary"]
    return {
        "Run": run["run_id"],
        "Name": run["name"] or "",
        "From": run["source"],
        "Status": run["status"],
        "Episodes": f"{summary['finished']}/{summary['planned']}",
        "Mean": "—" if summary["mean_score"] is None else f"{summary['mean_score']:.3f}",
        "Pass rate": "—" if summary["pass_rate"] is None else f"{summary['pass_rate']:.0%}",
    }


def test_runs_list_and_a_runs_executions(page, server: ApiServer, artifacts: Path) -> None:
    passing = submit(server, PASS, {"epochs": 2, "name": "web-pass"})
    failing = submit(server, FAIL, {"name": "web-fail"})
    runs = [finished_run(server, a["run_id"]) for a in (passing, failing)]

    page.goto(f"{server.url}/runs")
    for run in runs:
        row = page.locator("tr").filter(has=page.locator(f'[data-run-link="{run["run_id"]}"]'))
        row.wait_for(timeout=TIMEOUT)
        shown = cells(page, row)
        assert {k: shown[k] for k in shown_as(run)} == shown_as(run), shown
    # newest first
    links = page.locator("[data-run-link]").evaluate_all("els => els.map(e => e.dataset.runLink)")
    assert links.index(failing["run_id"]) < links.index(passing["run_id"])
    assert page.get_by_test_id("runs-position").inner_text() == f"1–{len(links)} of {len(links)}"
    page.screenshot(path=str(artifacts / "runs.png"), full_page=True)

    # a run queued while the page is open appears without a reload
    third = submit(server, PASS, {"name": "web-live"})
    page.locator(f'[data-run-link="{third["run_id"]}"]').wait_for(timeout=TIMEOUT)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    finished_run(server, third["run_id"])

    # selecting a run shows its executions
    page.locator(f'[data-run-link="{passing["run_id"]}"]').click()
    page.wait_for_url(f"**/runs/{passing['run_id']}")
    assert page.get_by_test_id("run-name").inner_text() == "web-pass"
    assert page.get_by_test_id("run-status").inner_text() == "finished"
    table = page.get_by_test_id("run-executions-table")
    links = table.locator("tbody a")
    links.first.wait_for()
    hrefs = links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert hrefs == [f"/executions/{e}" for e in passing["execution_ids"]]
    statuses = table.locator("[data-status]").all_inner_texts()
    assert statuses == [e["status"] for e in runs[0]["executions"]]
    numbers = page.get_by_test_id("run-numbers").inner_text()
    summary = runs[0]["summary"]
    assert f"episodes {summary['finished']}/{summary['planned']}" in numbers
    assert f"mean {summary['mean_score']:.3f}" in numbers
    page.screenshot(path=str(artifacts / "run.png"), full_page=True)
    links.first.click()
    page.wait_for_url(f"**/executions/{passing['execution_ids'][0]}")


def test_an_unknown_run_says_so(page, server: ApiServer) -> None:
    page.goto(f"{server.url}/runs/20990101-000000-beef")
    assert "20990101-000000-beef" in page.get_by_test_id("not-found").inner_text()


def test_run_all_shown_makes_one_named_run_of_every_benchmark(page, server: ApiServer) -> None:
    before = {r["run_id"] for r in httpx.get(f"{server.api}/runs", timeout=30).json()["items"]}
    page.goto(f"{server.url}/")
    field = page.get_by_test_id("run-name-input")
    field.fill("no spaces please")  # the API's rule, said on the page; nothing is queued
    page.get_by_test_id("run-all").filter(has_text="(2)").click()
    page.get_by_test_id("run-error").filter(has_text="name").wait_for()
    assert httpx.get(f"{server.api}/runs", timeout=30).json()["total"] == len(before)
    field.fill("from-the-panel")
    page.get_by_test_id("run-all").filter(has_text="(2)").click()

    def new_runs() -> list[dict[str, Any]] | None:
        items = httpx.get(f"{server.api}/runs", timeout=30).json()["items"]
        fresh = [r for r in items if r["run_id"] not in before]
        return fresh or None

    [run] = wait_for(new_runs, 60, "the dashboard's run")
    assert sorted(run["benchmarks"]) == sorted([PASS, FAIL]) and run["name"] == "from-the-panel"
    done = finished_run(server, run["run_id"])
    assert sorted(e["benchmark_id"] for e in done["executions"]) == sorted([PASS, FAIL])
    assert done["summary"]["executions"] == done["summary"]["planned"] == 2
