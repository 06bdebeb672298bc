"""Raw JSON-RPC over HTTP, and `reev chain serve` as a subprocess (the RPC and fork tests)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from helpers.paths import subprocess_env

HTTP = httpx.Client(timeout=30)  # one client: a new one per request costs ~80 ms (TLS setup)


def post(url: str, payload: Any) -> httpx.Response:
    content = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return HTTP.post(url, content=content, headers={"content-type": "application/json"})


def call(url: str, method: str, params: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        body["params"] = params
    return post(url, body).json()


@contextlib.contextmanager
def chain_serve(benchmark_file: Path, tmp_path: Path, *extra: str) -> Iterator[dict[str, Any]]:
    """`reev chain serve --json` on a free port; yields the JSON object it prints once it listens."""
    keypair = tmp_path / "user.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reev.cli",
            "chain",
            "serve",
            str(benchmark_file),
            "--port",
            "0",
            "--json",
            "--keypair",
            str(keypair),
            *extra,
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            raise AssertionError(
                f"reev chain serve printed nothing: {process.stderr.read() if process.stderr else ''}"
            )
        yield json.loads(line)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
