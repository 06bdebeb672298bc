"""`reev chain serve` driven by @solana/web3.js in Node.js (tests/node/transfer.mjs): build,
sign, send and confirm a transfer with web3.js's own `sendAndConfirmTransaction`, whose
confirmation races a WebSocket signatureSubscribe against block-height polling, then a second
transfer confirmed by an `onSignature` WebSocket notification alone.

`make test` installs the npm packages (`make node-deps`: `npm ci --prefix tests/node`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.paths import BENCHMARKS, ROOT

NODE_DIR = ROOT / "tests" / "node"
NODE = shutil.which("node")

pytestmark = [pytest.mark.node, pytest.mark.skipif(NODE is None, reason="Node.js is not installed")]


@pytest.fixture(scope="module")
def node_modules() -> Path:
    modules = NODE_DIR / "node_modules"
    if not (modules / "@solana" / "web3.js").exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(
                "tests/node/node_modules is missing and npm is not installed: run `make node-deps`"
            )
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            check=False,
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed (run `make node-deps`): {done.stderr[-2000:]}")
    return modules


def test_web3js_send_and_confirm_over_websocket(tmp_path, node_modules):
    keypair = tmp_path / "user.json"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reev.cli",
            "chain",
            "serve",
            str(BENCHMARKS / "002-spl-transfer.yml"),
            "--port",
            "0",
            "--json",
            "--log-calls",
            "--keypair",
            str(keypair),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        recipient = info["addresses"]["RECIPIENT_WALLET_PUBKEY"]
        env = {
            **os.environ,
            "REEV_RPC_URL": info["rpc_url"],
            "REEV_WS_URL": info["ws_url"],
            "REEV_KEYPAIR": info["keypair"],
            "REEV_TRANSFER_TO": recipient,
            "REEV_TRANSFER_LAMPORTS": "100000000",
        }
        done = subprocess.run(
            [NODE, str(NODE_DIR / "transfer.mjs")],
            check=False,
            cwd=NODE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        _, calls = server.communicate(timeout=30)

    assert seen["payer"] == info["wallet"] and seen["to"] == recipient
    assert seen["before"] == 1_000_000_000
    assert seen["after"] == 1_000_000_000 - 2 * (100_000_000 + 5_000)
    assert seen["received"] == 1_000_000_000 + 2 * 100_000_000
    assert seen["confirmation"] == "finalized" and seen["fee"] == 5_000
    assert seen["second_notification"]["result"] == {"err": None}
    assert seen["second_notification"]["context"]["slot"] == seen["slot"] + 1
    # web3.js confirmed through the WebSocket: it subscribed to both signatures there.
    subscribed = [
        line for line in calls.splitlines() if line.startswith("ws signatureSubscribe ok")
    ]
    assert len(subscribed) == 2, calls
    assert "http sendTransaction ok" in calls and "http getBlockHeight ok" in calls
