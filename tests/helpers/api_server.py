"""`reev serve` as a real subprocess for the API tests, plus the helpers they share.

Every server gets a free 127.0.0.1 port, its own database URL, log dir and benchmarks folder;
`stop()` (called by the fixtures' finalizers) terminates it, then kills it if it lingers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx

from helpers.paths import BENCHMARKS
from reev import events as statuses

PROVIDER_KEYS = (
    "ZAI_API_KEY",
    "GLM_CODING_API_KEY",
    "OPENAI_API_KEY",
    "OPENROUTER_API_KEY",
    "REEV_API_TOKEN",
    "REEV_DATABASE_URL",
    "REEV_LOG_DIR",
)
TERMINAL = set(statuses.TERMINAL)
# The test's own remote agents listen on other 127.0.0.1 ports; the server refuses remote agents
# unless told (issue 16), so the servers that run them are started with these flags.
LOOPBACK_AGENTS = ("--allow-remote-agents", "http://127.0.0.1:*")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_benchmarks(target: Path, ids: Iterable[str] | None = None) -> Path:
    """A private copy of the suite (or of some of its files): the tests never touch benchmarks/."""
    target.mkdir(parents=True, exist_ok=True)
    files = (
        sorted(BENCHMARKS.glob("*.yml")) if ids is None else [BENCHMARKS / f"{i}.yml" for i in ids]
    )
    for file in files:
        shutil.copy2(file, target / file.name)
    return target


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a child: no provider key or reev setting leaks in from the caller's."""
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_KEYS}
    env.update(extra)
    return env


def serve_options() -> list[str]:
    """The API tests test the API: the web dashboard (its own tests) stays off where it can be."""
    import inspect

    from reev.cli import serve

    return ["--no-dashboard"] if "dashboard" in inspect.signature(serve).parameters else []


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class ApiServer:
    def __init__(
        self,
        workdir: Path,
        *,
        db_url: str,
        benchmarks: Path,
        log_dir: Path | None = None,
        args: Iterable[str] = (),
        env: dict[str, str] | None = None,
    ):
        self.workdir = workdir
        self.db_url = db_url
        self.benchmarks = benchmarks
        self.log_dir = log_dir or workdir / "logs"
        self.args = list(args)
        self.env = env if env is not None else clean_env()
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.output = workdir / "serve.log"
        self.token: str | None = self.env.get("REEV_API_TOKEN")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def start(self, timeout: float = 60.0) -> ApiServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "reev.cli",
            "serve",
            "--port",
            str(self.port),
            "--db",
            self.db_url,
            "--benchmarks",
            str(self.benchmarks),
            "--log-dir",
            str(self.log_dir),
            *serve_options(),
            *self.args,
        ]
        with self.output.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"reev serve exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.api}/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"reev serve did not answer /health within {timeout:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the server only (its executions live in their own process groups)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # uvicorn shuts down; the manager kills its runs
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.output.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.api, timeout=30, **kwargs)

    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------- helpers


def wait_for(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def submit(
    client: httpx.Client,
    benchmark_id: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> str:
    response = client.post(f"/benchmarks/{benchmark_id}/run", json=body, headers=headers or {})
    assert response.status_code == 202, response.text
    payload = response.json()
    assert payload["status"] == "Queued"
    return payload["execution_id"]


def status_of(client: httpx.Client, benchmark_id: str, execution_id: str) -> dict[str, Any]:
    response = client.get(f"/benchmarks/{benchmark_id}/status/{execution_id}")
    assert response.status_code == 200, response.text
    return response.json()


def wait_status(
    client: httpx.Client,
    benchmark_id: str,
    execution_id: str,
    statuses: Iterable[str],
    timeout: float = 60,
) -> dict[str, Any]:
    wanted = set(statuses)
    last: dict[str, Any] = {}

    def reached() -> dict[str, Any] | None:
        nonlocal last
        last = status_of(client, benchmark_id, execution_id)
        return last if last["status"] in wanted else None

    try:
        return wait_for(reached, timeout, f"{execution_id} to reach {sorted(wanted)}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status: {last}") from None


def sse_events(
    client: httpx.Client, execution_id: str, until: Callable[[dict[str, Any]], bool] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Read `/executions/{id}/events` as a text/event-stream: `(event name, JSON data)` pairs until
    the server closes the stream (or `until` says stop)."""
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream(
        "GET", f"/executions/{execution_id}/events", timeout=httpx.Timeout(10, read=90)
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        name, data = "message", []
        for line in response.iter_lines():
            if line.startswith(":"):
                continue  # a comment / keep-alive
            if line == "":
                if data:
                    event = json.loads("\n".join(data))
                    events.append((name, event))
                    if until is not None and until(event):
                        return events
                name, data = "message", []
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
    return events


def process_gone(pid: int) -> bool:
    """True when `pid` no longer runs. An orphan whose parent died is reparented to PID 1, which
    in some sandboxes never reaps it: a zombie (state Z) runs no code, so it counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def cli_scores(benchmark_files: list[Path], workdir: Path) -> dict[str, float]:
    """What `reev run` itself gives for these files with the deterministic agent (seed 0)."""
    output = workdir / "cli-results.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reev.cli",
            "run",
            *map(str, benchmark_files),
            "--agent",
            "deterministic",
            "--log-dir",
            str(workdir / "cli-logs"),
            "--output",
            str(output),
            "--no-trace",
        ],
        check=False,
        cwd=workdir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(output.read_text())
    scores = {}
    for item in data["results"]:  # the session file has the exact score (the JSON rounds it)
        assert item["status"] == "Completed", item
        record = json.loads(Path(item["session_file"]).read_text())
        assert round(record["final_result"]["score"], 6) == item["score"]
        scores[item["benchmark_id"]] = record["final_result"]["score"]
    return scores
