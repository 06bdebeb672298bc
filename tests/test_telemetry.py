"""Telemetry: JSONL traces, OTLP export, flow diagrams, transaction-log trees."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from helpers.browser import offline_page
from helpers.episodes import ScriptedAgent, run
from helpers.local_server import LocalServer
from helpers.paths import ROOT
from helpers.suite import benchmark, bundled
from reev.agents import DeterministicAgent
from reev.report.flow import flow_html, load_nodes, mermaid, nodes_from_session
from reev.report.txlogs import transaction_tree
from reev.runner import read_session, run_suite
from reev.telemetry.tracing import Tracing


def spans_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def traced_suite(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("traced")
    tracing = Tracing(log_dir / "sessions", otlp=False)
    suite = asyncio.run(
        run_suite(
            list(bundled().values()), DeterministicAgent, log_dir=log_dir, tracer=tracing.tracer
        )
    )
    tracing.shutdown()
    return log_dir, suite


def test_every_episode_has_one_span_tree_matching_its_session(traced_suite):
    log_dir, suite = traced_suite
    for result in suite.results:
        session = read_session(result.session_file)
        spans = spans_of(log_dir / "sessions" / f"enhanced_otel_{result.execution_id}.jsonl")
        ids = {s["span_id"] for s in spans}
        roots = [s for s in spans if s["parent_id"] is None]
        assert [r["name"] for r in roots] == ["run"]
        assert all(s["parent_id"] in ids for s in spans if s["parent_id"] is not None)
        assert len({s["trace_id"] for s in spans}) == 1
        episode = next(s for s in spans if s["name"] == "episode")
        assert episode["attributes"]["reev.benchmark_id"] == result.benchmark_id
        assert episode["attributes"]["reev.score"] == pytest.approx(result.score)
        assert episode["attributes"]["reev.passed"] == result.passed
        assert {s["resource"]["service.name"] for s in spans} == {"reev"}

        tool_spans = sorted(
            (s for s in spans if s["name"] == "tool_call"), key=lambda s: s["start_time"]
        )
        session_calls = [c for step in session.steps for c in step.tool_calls]
        assert [s["attributes"]["gen_ai.tool.name"] for s in tool_spans] == [
            c.tool for c in session_calls
        ]
        assert [json.loads(s["attributes"]["reev.tool.arguments"]) for s in tool_spans] == [
            c.args for c in session_calls
        ]

        tx_spans = [s for s in spans if s["name"] == "transaction"]
        session_txs = [t for step in session.steps for t in step.transactions]
        assert sorted(s["attributes"].get("solana.signature", "") for s in tx_spans) == sorted(
            t.signature or "" for t in session_txs
        )
        for span in tx_spans:  # each transaction hangs under the submit call that sent it
            parent = next(s for s in spans if s["span_id"] == span["parent_id"])
            assert parent["name"] == "tool_call"
        steps = [s for s in spans if s["name"] == "step"]
        assert len(steps) == len(session.steps)


def test_failed_transactions_are_error_spans(traced_suite):
    log_dir, suite = traced_suite
    result = next(r for r in suite.results if r.benchmark_id == "003-spl-transfer-fail")
    spans = spans_of(log_dir / "sessions" / f"enhanced_otel_{result.execution_id}.jsonl")
    tx = next(s for s in spans if s["name"] == "transaction")
    assert tx["status"]["code"] == "ERROR" and "insufficient funds" in tx["status"]["description"]
    assert tx["attributes"]["solana.success"] is False


@pytest.mark.slow
def test_otlp_export_reaches_a_local_receiver(tmp_path):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[dict] = []
    app = FastAPI()

    @app.post("/v1/traces")
    async def traces(request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        for resource_spans in message.resource_spans:
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    received.append({"name": span.name, "span_id": span.span_id.hex()})
        return Response(status_code=200)

    with LocalServer(app) as server:
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": server.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "reev.cli",
                "run",
                "benchmarks/001-sol-transfer.yml",
                "benchmarks/012-flow-wrap-then-send-wsol.yml",
                "--execution-id",
                "otlp",
                "--log-dir",
                str(tmp_path),
            ],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    jsonl = {}
    for path in (tmp_path / "sessions").glob("enhanced_otel_*.jsonl"):
        for span in spans_of(path):
            jsonl[span["span_id"]] = span["name"]
    otlp = {s["span_id"]: s["name"] for s in received}
    assert otlp == jsonl
    assert sorted(set(otlp.values())) == ["episode", "run", "step", "tool_call", "transaction"]


def test_secrets_never_reach_span_attributes(tmp_path, monkeypatch):
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", secret)
    agent = ScriptedAgent([[("add_memo", {"text": f"key={secret}"}), ("get_wallet_overview", {})]])
    tracing = Tracing(tmp_path / "sessions", otlp=False)
    asyncio.run(
        run_suite(
            [benchmark("001-sol-transfer")],
            lambda: agent,
            log_dir=tmp_path,
            tracer=tracing.tracer,
            execution_id="s",
        )
    )
    tracing.shutdown()
    text = (tmp_path / "sessions" / "enhanced_otel_s.jsonl").read_text()
    assert secret not in text and "[redacted]" in text


def test_flow_diagram_of_a_two_step_flow_names_every_tool_call(tmp_path):
    _, session = run(benchmark("012-flow-wrap-then-send-wsol"), DeterministicAgent(), tmp_path)
    diagram = mermaid(nodes_from_session(session))
    lines = diagram.splitlines()
    assert lines[0] == "flowchart TD"
    calls = [c.tool for step in session.steps for c in step.tool_calls]
    node_lines = [line for line in lines if '["' in line]
    for tool in calls:
        assert any(f'["{tool}' in line for line in node_lines), tool
    assert sum("Step " in line for line in node_lines) == 2
    assert sum("tx " in line and "✓" in line for line in node_lines) == 2
    # amounts in token units, addresses shortened
    assert any("amount: 0.5" in line for line in node_lines) and any(
        "amount: 0.2" in line for line in node_lines
    )
    assert not any(len(w) >= 32 for line in node_lines for w in line.replace("<br/>", " ").split())
    # grammar: every node id is defined once and every edge joins defined nodes in order
    defined = [line.split("[", 1)[0].strip() for line in node_lines]
    edges = [line.strip().split(" --> ") for line in lines if "-->" in line]
    assert len(set(defined)) == len(defined) and edges == [
        [defined[i], defined[i + 1]] for i in range(len(defined) - 1)
    ]
    # the same diagram from the JSONL trace
    tracing = Tracing(tmp_path / "t" / "sessions", otlp=False)
    traced = asyncio.run(
        run_suite(
            [benchmark("012-flow-wrap-then-send-wsol")],
            DeterministicAgent,
            log_dir=tmp_path / "t",
            tracer=tracing.tracer,
            execution_id="flow",
        )
    )
    tracing.shutdown()
    from_trace = mermaid(load_nodes(tmp_path / "t" / "sessions" / "enhanced_otel_flow.jsonl"))
    from_session = mermaid(load_nodes(traced.results[0].session_file))
    assert [line for line in from_trace.splitlines() if '["' in line][1:] == [
        line for line in from_session.splitlines() if '["' in line
    ][1:]
    assert traced.results[0].passed


@pytest.mark.browser
def test_flow_page_renders_offline_in_chromium(tmp_path, artifacts):
    _, session = run(benchmark("012-flow-wrap-then-send-wsol"), DeterministicAgent(), tmp_path)
    diagram = mermaid(nodes_from_session(session))
    page_file = tmp_path / "flow.html"
    page_file.write_text(flow_html(diagram, "flow"))
    with offline_page() as (page, blocked):
        page.goto(page_file.as_uri())
        page.wait_for_function("document.body.dataset.rendered !== undefined", timeout=30_000)
        assert page.evaluate("document.body.dataset.rendered") == "ok", page.evaluate(
            "document.body.dataset.error"
        )
        # Mermaid's own parser accepts the text.
        assert page.evaluate("async (text) => !!(await mermaid.parse(text))", diagram)
        svg_text = page.locator("svg").first.text_content()
        assert "wrap_sol" in svg_text and "spl_transfer" in svg_text
        page.screenshot(path=str(artifacts / "flow-012.png"), full_page=True)
    assert blocked == []


@pytest.mark.slow
def test_cli_flow_and_tx_logs(tmp_path):
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "reev.cli"]
    subprocess.run(
        [
            *cmd,
            "run",
            "benchmarks/003-spl-transfer-fail.yml",
            "--execution-id",
            "f",
            "--log-dir",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env=env,
    )
    session_file = tmp_path / "sessions" / "session_f.json"
    flow = subprocess.run(
        [*cmd, "flow", str(session_file), "--html", str(tmp_path / "f.html")],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert flow.returncode == 0 and flow.stdout.startswith("flowchart TD")
    assert "<script>" in (tmp_path / "f.html").read_text()  # Mermaid inlined: no network needed
    logs = subprocess.run(
        [*cmd, "tx-logs", str(session_file)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert logs.returncode == 0
    assert (
        "Error: insufficient funds" in logs.stdout
        and "Transfer" in logs.stdout
        and "CU" in logs.stdout
    )
    as_json = json.loads(
        subprocess.run(
            [*cmd, "tx-logs", str(session_file), "--json"],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
        ).stdout
    )
    assert as_json[0]["success"] is False and as_json[0]["tree"]["invocations"][0][
        "error"
    ].startswith("custom program error")
    bad = subprocess.run(
        [*cmd, "flow", str(tmp_path / "nope.json")],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert bad.returncode == 2


def test_log_tree_of_a_failing_spl_transfer(tmp_path):
    _, session = run(benchmark("003-spl-transfer-fail"), DeterministicAgent(), tmp_path)
    tx = session.steps[0].transactions[0]
    tree = transaction_tree(tx)
    token = tree.invocations[0]
    assert token.program == "SPL Token" and token.instruction == "Transfer"
    assert token.success is False and "Error: insufficient funds" in token.logs
    assert token.compute_units == tx.compute_units and token.compute_units > 0


@pytest.mark.parametrize(
    "benchmark_id", ["002-spl-transfer", "006-spl-transfer-new-ata", "011-sol-transfer-memo"]
)
def test_log_tree_units_sum_to_the_transaction_total(benchmark_id, tmp_path):
    _, session = run(benchmark(benchmark_id), DeterministicAgent(), tmp_path)
    for step in session.steps:
        for tx in step.transactions:
            tree = transaction_tree(tx)
            assert tx.success and tree.total_compute_units == tx.compute_units
            assert all(node.success for node in tree.invocations)
            if benchmark_id == "006-spl-transfer-new-ata":
                ata = tree.invocations[0]
                assert ata.instruction == "CreateIdempotent" and len(ata.children) >= 3  # CPIs nest
