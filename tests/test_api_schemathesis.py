"""Schemathesis over the live OpenAPI schema of `reev serve`: no operation answers a 5xx.

Every operation in the schema is tested; none is excluded. Hypothesis examples are bounded per
operation so the whole file runs in well under a minute. Generated path ids are swapped, half of
the time, for ids that exist (a benchmark, a finished execution), so the fuzzing reaches past the
404 checks into the handlers. Two guards keep it hermetic and bounded:
- POST /benchmarks/{id}/run keeps its random benchmark id (nearly always unknown): with a real
  one, schemathesis's boundary values (`agent: deterministic`, `epochs: 100`) would queue
  hundreds of real runs on this 2-core machine. Its body checks (profile, agent, keys) run before
  the benchmark lookup, so they are fuzzed all the same.
- the server's environment routes any HTTP a spawned run could make to a closed loopback port,
  so no fuzzed agent URL ever reaches past this machine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from helpers.api_server import (
    ApiServer,
    clean_env,
    copy_benchmarks,
    sqlite_url,
    submit,
    wait_status,
)

# ~15 s: 20 examples per operation and mode against a real server
pytestmark = pytest.mark.slow

NOWHERE = "http://127.0.0.1:9"  # discard port: nothing listens
EXAMPLES = 20  # per operation and generation mode


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("api-fuzz")
    benchmarks = copy_benchmarks(workdir / "benchmarks", ["001-sol-transfer", "002-spl-transfer"])
    env = clean_env(
        HTTP_PROXY=NOWHERE,
        HTTPS_PROXY=NOWHERE,
        ALL_PROXY=NOWHERE,
        NO_PROXY="",
        http_proxy=NOWHERE,
        https_proxy=NOWHERE,
        all_proxy=NOWHERE,
        no_proxy="",
    )
    api = ApiServer(
        workdir,
        db_url=sqlite_url(workdir / "reev.db"),
        benchmarks=benchmarks,
        args=["--max-concurrency", "1"],
        env=env,
    )
    try:
        api.start()
        with api.client() as client:
            execution_id = submit(client, "001-sol-transfer", {"agent": "deterministic"})
            wait_status(client, "001-sol-transfer", execution_id, {"Completed"})
        api.known = {"benchmark_id": "001-sol-transfer", "execution_id": execution_id}  # type: ignore[attr-defined]
        yield api
    finally:
        api.stop()


def operation_has_inputs(operation) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        operation.definition.raw.get("parameters") or operation.definition.raw.get("requestBody")
    )


def with_known_ids(operation, strategy, known: dict[str, str]):  # type: ignore[no-untyped-def]
    """Half of the cases use path ids that exist (see the module docstring for POST …/run)."""
    if operation.method.upper() == "POST" and operation.path.endswith("/run"):
        return strategy

    def swap(pair):  # type: ignore[no-untyped-def]
        case, use_known = pair
        if use_known and case.path_parameters:
            case.path_parameters = {k: known.get(k, v) for k, v in case.path_parameters.items()}
        return case

    return st.tuples(strategy, st.booleans()).map(swap)


def checker(
    operation: Any, mode: GenerationMode, strategy: Any, tested: dict[str, int], failures: list[str]
) -> Callable[[], None]:
    """The Hypothesis test of one operation in one generation mode: it counts the calls in
    `tested` and records every 5xx in `failures` (bound here, not in the loop, so each test
    keeps its own operation and mode)."""

    @given(strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def check(case: Any) -> None:
        response = case.call(timeout=20)
        tested[operation.label] = tested.get(operation.label, 0) + 1
        if response.status_code >= 500:
            failures.append(
                f"{operation.label} ({mode.value}) -> {response.status_code}: "
                f"{case.as_curl_command()}\n{response.text[:300]}"
            )
        case.validate_response(response, checks=[not_a_server_error])

    return check


def test_no_operation_answers_5xx(live_server: ApiServer) -> None:
    """Every operation, with schema-valid (positive) and schema-invalid (negative) requests.

    The cases are drawn with Hypothesis directly from schemathesis strategies (`as_strategy`):
    schemathesis's pytest plugin (`from_fixture`) reads `request.node._nodeid`, which pytest 9
    no longer has."""
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    known = live_server.known  # type: ignore[attr-defined]
    operations = [result.ok() for result in schema.get_all_operations()]
    raw = httpx.get(f"{live_server.url}/openapi.json").json()["paths"]
    assert len(operations) == sum(len(methods) for methods in raw.values()) >= 19  # none excluded
    failures: list[str] = []
    tested: dict[str, int] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = with_known_ids(operation, operation.as_strategy(generation_mode=mode), known)
            check = checker(operation, mode, strategy, tested, failures)
            try:
                check()
            except Unsatisfiable:
                # no parameters and no body: nothing can be made schema-invalid; the positive
                # cases above called this operation
                assert mode is GenerationMode.NEGATIVE and not operation_has_inputs(operation), (
                    operation.label
                )
            except Exception as exc:
                if not failures or operation.label not in failures[-1]:
                    failures.append(
                        f"{operation.label} ({mode.value}): {type(exc).__name__}: {str(exc)[:500]}"
                    )
    assert not failures, "\n\n".join(failures)
    assert set(tested) == {op.label for op in operations}, "an operation was never called"


def test_the_schema_lists_every_endpoint_of_the_issue(live_server: ApiServer) -> None:
    paths = set(httpx.get(f"{live_server.url}/openapi.json").json()["paths"])
    api = "/api/v1"
    for path in [
        "/health",
        "/benchmarks",
        "/benchmarks/{benchmark_id}",
        "/benchmarks/{benchmark_id}/run",
        "/benchmarks/{benchmark_id}/status/{execution_id}",
        "/benchmarks/{benchmark_id}/status",
        "/benchmarks/{benchmark_id}/stop/{execution_id}",
        "/executions",
        "/executions/{execution_id}/events",
        "/agents",
        "/agent-performance",
        "/flows/{execution_id}",
        "/execution-logs/{benchmark_id}",
        "/flow-logs/{benchmark_id}",
        "/transaction-logs/{benchmark_id}",
        "/sync",
        "/upsert-yml",
    ]:
        assert api + path in paths, path
    assert httpx.get(f"{live_server.url}/docs").status_code == 200


def test_fuzzing_left_the_server_healthy(live_server: ApiServer) -> None:
    """Runs last in this file: after all the fuzzing the server still answers and is not stuck."""
    assert live_server.process is not None and live_server.process.poll() is None
    assert httpx.get(f"{live_server.api}/health").status_code == 200
    log = Path(live_server.output).read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
