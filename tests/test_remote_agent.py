"""Remote agents over HTTP: the original reev `/gen/tx` answer and the tool-call answer."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from helpers.local_server import LocalServer
from helpers.suite import benchmark
from reev.agents import AgentOptions, agent_factory
from reev.runner import run_suite
from reev.scoring.profiles import VERIFIED_WEIGHTS as W

SYSTEM = "11111111111111111111111111111111"
ADDRESS = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,44}")


def make_app(received: list[dict]) -> FastAPI:
    """A rule-based agent in the style of docs/agents.md, with three endpoints."""
    app = FastAPI()

    def parse(task: dict) -> tuple[str, str, str]:
        amount = re.search(r"send ([0-9.]+) SOL", task["prompt"], re.I).group(1)
        wallet = task["key_map"]["USER_WALLET_PUBKEY"]
        recipient = [a for a in ADDRESS.findall(task["prompt"]) if a != wallet][-1]
        return amount, wallet, recipient

    @app.post("/tools")
    async def tools(request: Request) -> dict:
        task = await request.json()
        received.append(task)
        amount, _, recipient = parse(task)
        return {
            "tool_calls": [
                {"name": "sol_transfer", "arguments": {"recipient": recipient, "amount": amount}},
                {"name": "submit_transaction", "arguments": {}},
            ],
            "summary": "sent",
        }

    @app.post("/gen/tx")
    async def gen_tx(request: Request) -> dict:
        task = await request.json()
        received.append(task)
        amount, wallet, recipient = parse(task)
        lamports = int(float(amount) * 10**9)
        import base58
        from solders.pubkey import Pubkey
        from solders.system_program import TransferParams, transfer

        ix = transfer(
            TransferParams(
                from_pubkey=Pubkey.from_string(wallet),
                to_pubkey=Pubkey.from_string(recipient),
                lamports=lamports,
            )
        )
        return {
            "transactions": [
                {
                    "program_id": SYSTEM,
                    "accounts": [
                        {
                            "pubkey": str(m.pubkey),
                            "is_signer": m.is_signer,
                            "is_writable": m.is_writable,
                        }
                        for m in ix.accounts
                    ],
                    "data": base58.b58encode(bytes(ix.data)).decode(),
                }
            ]
        }

    @app.post("/broken")
    async def broken(request: Request) -> JSONResponse:
        received.append(await request.json())
        return JSONResponse({"detail": "boom"}, status_code=500)

    return app


def run(url: str, tmp_path: Path):
    suite = asyncio.run(
        run_suite(
            [benchmark("001-sol-transfer")],
            agent_factory(url, AgentOptions(request_timeout_s=5)),
            log_dir=tmp_path,
        )
    )
    result = suite.results[0]
    return result, json.loads(Path(result.session_file).read_text())


def test_gen_tx_transactions_answer_passes(tmp_path):
    received: list[dict] = []
    with LocalServer(make_app(received)) as server:
        result, session = run(f"{server.url}/gen/tx", tmp_path)
    assert result.passed and result.score == 1.0
    task = received[0]
    assert set(task) >= {
        "id",
        "session_id",
        "prompt",
        "context_prompt",
        "key_map",
        "account_states",
    }
    assert "solution" not in json.dumps(task) and "ground_truth" not in json.dumps(task)
    calls = [c["tool"] for c in session["steps"][0]["tool_calls"]]
    assert calls == ["stage_instructions", "submit_transaction"]


def test_tool_calls_answer_passes(tmp_path):
    received: list[dict] = []
    with LocalServer(make_app(received)) as server:
        result, session = run(f"{server.url}/tools", tmp_path)
    assert result.passed
    assert session["steps"][0]["final_answer"] == "sent"
    assert session["steps"][0]["model_calls"][0]["provider"] == "remote"


def test_broken_and_unreachable_agents_are_recorded_failures(tmp_path):
    received: list[dict] = []
    with LocalServer(make_app(received)) as server:
        result, _ = run(f"{server.url}/broken", tmp_path / "a")
        url = server.url
    assert result.status == "Failed" and "HTTP 500" in result.error
    result, _ = run(f"{url}/gen/tx", tmp_path / "b")  # the server is gone now
    assert result.status == "Failed" and "ConnectError" in result.error


def test_raw_instructions_cannot_spend_someone_elses_funds(tmp_path):
    """A remote agent that builds a transfer *from the recipient* gets no signature for it."""
    app = FastAPI()

    @app.post("/steal")
    async def steal(request: Request) -> dict:
        task = await request.json()
        victim = task["key_map"]["RECIPIENT_WALLET_PUBKEY"]
        thief = task["key_map"]["USER_WALLET_PUBKEY"]
        import base58
        from solders.pubkey import Pubkey
        from solders.system_program import TransferParams, transfer

        ix = transfer(
            TransferParams(
                from_pubkey=Pubkey.from_string(victim),
                to_pubkey=Pubkey.from_string(thief),
                lamports=1,
            )
        )
        return {
            "transactions": [
                {
                    "program_id": SYSTEM,
                    "accounts": [
                        {
                            "pubkey": str(m.pubkey),
                            "is_signer": m.is_signer,
                            "is_writable": m.is_writable,
                        }
                        for m in ix.accounts
                    ],
                    "data": base58.b58encode(bytes(ix.data)).decode(),
                }
            ]
        }

    with LocalServer(app) as server:
        result, session = run(f"{server.url}/steal", tmp_path)
    tx = session["steps"][0]["transactions"][0]
    assert not tx["success"] and tx["signature"] is None and "cannot sign" in tx["error"]
    assert not result.passed
    # nothing moved: state 0 of 2 assertions, no instruction match on the data, failed transaction
    assert result.breakdown.transaction == 0.0
    assert result.score < W["instruction"]
