"""The Jupiter Lend–shaped Earn API (reev.rpc.jupiter_lend) over real HTTP: a client that knows
only that API and Solana's JSON-RPC deposits, reads its position and earnings, withdraws, mints
and redeems against reev Lend's default market (docs/lending.md), and every number it reads is
recomputed here from the documented formulas."""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from spl.token.instructions import get_associated_token_address

from helpers.local_server import LocalServer
from helpers.paths import ROOT
from reev.chain.accounts import pack_token_account
from reev.chain.litesvm import LiteSVMChain
from reev.defi.lend import instructions as lend
from reev.defi.lend.default_market import build_default_market
from reev.defi.lend.layout import obligation_address
from reev.defi.pools import add_supply
from reev.rpc.app import RpcServer
from reev.rpc.node import ChainNode

# a live `reev chain serve` and --agent-cmd episodes over HTTP: `slow` (the full suite runs it; `make test-fast` does not)
pytestmark = pytest.mark.slow

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
JL_USDC = "9BEcn9aPEmhSPbPQeFGjidRiEKki46fVQDyPpSQXPA2D"
JL_SOL = "2uQsyo1fXXQkDtcpXnLofWy88PxcvnfH2L8FPSE62FVU"
TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
SYSTEM = Pubkey.default()
FEE = 5000
WAD, SLOTS_PER_YEAR = 10**18, 78_840_000


def give_usdc(chain: LiteSVMChain, owner: Pubkey, amount: int) -> Pubkey:
    mint = Pubkey.from_string(USDC)
    account = get_associated_token_address(owner, mint)
    data = pack_token_account(mint=mint, owner=owner, amount=amount)
    chain.set_account(account, Account(chain.rent_exempt_minimum(165), data, TOKEN, False, 0))
    add_supply(chain, mint, amount)
    return account


@pytest.fixture
def served() -> Iterator[dict[str, Any]]:
    chain = LiteSVMChain()
    view = build_default_market(chain, chain.svm.get_clock().slot)
    user = Keypair()
    chain.set_account(user.pubkey(), Account(10 * 10**9, b"", SYSTEM, False, 0))
    give_usdc(chain, user.pubkey(), 100_000_000)
    node = ChainNode(chain)
    with LocalServer(RpcServer(node).app) as server:
        yield {"url": server.url, "user": user, "chain": chain, "node": node, "view": view}


def send(url: str, user: Keypair, answer: httpx.Response) -> str:
    """Sign the API's unsigned transaction and send it over JSON-RPC; the signature."""
    assert answer.status_code == 200, answer.text
    unsigned = VersionedTransaction.from_bytes(base64.b64decode(answer.json()["transaction"]))
    signed = VersionedTransaction(unsigned.message, [user])
    body = {"jsonrpc": "2.0", "id": 1, "method": "sendTransaction",
            "params": [base64.b64encode(bytes(signed)).decode(), {"encoding": "base64"}]}  # fmt: skip
    sent = httpx.post(url, json=body).json()
    assert "result" in sent, sent
    status = httpx.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "getSignatureStatuses",
                                   "params": [[sent["result"]]]}).json()  # fmt: skip
    assert status["result"]["value"][0]["err"] is None, status
    return str(sent["result"])


def rpc(url: str, method: str, *params: Any) -> Any:
    return httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                 "params": list(params)}).json()["result"]  # fmt: skip


def token_balance(url: str, owner: Pubkey, mint: str) -> int:
    account = get_associated_token_address(owner, Pubkey.from_string(mint))
    return int(rpc(url, "getTokenAccountBalance", str(account))["value"]["amount"])


def test_deposit_positions_withdraw_usdc(served) -> None:
    url, user = served["url"], served["user"]
    me = str(user.pubkey())
    base = f"{url}/lend/v1/earn"
    tokens = httpx.get(f"{base}/tokens").json()
    by_symbol = {t["symbol"]: t for t in tokens}
    assert set(by_symbol) == {"jlUSDC", "jlSOL"}
    assert by_symbol["jlUSDC"]["address"] == JL_USDC and by_symbol["jlSOL"]["address"] == JL_SOL
    assert by_symbol["jlUSDC"]["assetAddress"] == USDC and by_symbol["jlSOL"]["assetAddress"] == SOL
    # an empty vault: price exactly 1 (virtual share and asset), nothing borrowed, rate 0
    assert (
        by_symbol["jlUSDC"]["convertToAssets"] == "1" and by_symbol["jlUSDC"]["supplyRate"] == "0"
    )
    assert by_symbol["jlSOL"]["asset"]["price"] == "150"

    send(
        url,
        user,
        httpx.post(f"{base}/deposit", json={"asset": USDC, "signer": me, "amount": "50000000"}),
    )
    # shares = floor(50e6 · (0 + 1) / (0 + 1)) = 50e6
    assert token_balance(url, user.pubkey(), JL_USDC) == 50_000_000
    assert token_balance(url, user.pubkey(), USDC) == 50_000_000
    (usdc_position,) = [p for p in httpx.get(f"{base}/positions", params={"users": me}).json()
                        if p["token"]["symbol"] == "jlUSDC"]  # fmt: skip
    assert usdc_position["ownerAddress"] == me
    assert usdc_position["shares"] == usdc_position["underlyingAssets"] == "50000000"
    assert usdc_position["underlyingBalance"] == "50000000"
    (earned,) = httpx.get(f"{base}/earnings", params={"user": me, "positions": JL_USDC}).json()
    assert earned == {"address": JL_USDC, "ownerAddress": me, "totalDeposits": "50000000",
                      "totalWithdraws": "0", "totalBalance": "50000000",
                      "totalAssets": "50000000", "earnings": "0"}  # fmt: skip

    send(
        url,
        user,
        httpx.post(f"{base}/withdraw", json={"asset": USDC, "signer": me, "amount": "20000000"}),
    )
    assert token_balance(url, user.pubkey(), JL_USDC) == 30_000_000
    send(
        url,
        user,
        httpx.post(f"{base}/redeem", json={"asset": USDC, "signer": me, "shares": "30000000"}),
    )
    assert token_balance(url, user.pubkey(), JL_USDC) == 0
    assert token_balance(url, user.pubkey(), USDC) == 100_000_000
    (earned,) = httpx.get(f"{base}/earnings", params={"user": me, "positions": USDC}).json()
    assert (earned["totalDeposits"], earned["totalWithdraws"], earned["earnings"]) == (
        "50000000", "50000000", "0")  # fmt: skip


def test_sol_is_wrapped_and_unwrapped_and_mint_costs_what_the_formula_says(served) -> None:
    url, user = served["url"], served["user"]
    me = str(user.pubkey())
    base = f"{url}/lend/v1/earn"
    before = rpc(url, "getBalance", me)["value"]
    send(
        url,
        user,
        httpx.post(f"{base}/mint", json={"asset": SOL, "signer": me, "shares": "100000000"}),
    )
    # an empty vault mints at 1: ceil(1e8 · 1 / 1) = 1e8 lamports; the wSOL account's rent
    # is paid and refunded in the same transaction, the share account's rent is the user's
    after = rpc(url, "getBalance", me)["value"]
    assert before - after == 100_000_000 + FEE + 2_039_280
    assert token_balance(url, user.pubkey(), JL_SOL) == 100_000_000
    assert rpc(url, "getAccountInfo", str(get_associated_token_address(user.pubkey(), Pubkey.from_string(SOL))))["value"] is None  # fmt: skip
    send(
        url,
        user,
        httpx.post(f"{base}/withdraw", json={"asset": SOL, "signer": me, "amount": "100000000"}),
    )
    assert rpc(url, "getBalance", me)["value"] == after + 100_000_000 - FEE


def test_interest_shows_in_positions_and_earnings(served) -> None:
    """A borrower takes 40 of 100 USDC deposited; N slots later the position is worth what the
    kink curve gives (docs/lending.md, "Interest accrual"), read without any transaction."""
    url, user, chain, node, view = (served[k] for k in ("url", "user", "chain", "node", "view"))
    me = str(user.pubkey())
    base = f"{url}/lend/v1/earn"
    send(
        url,
        user,
        httpx.post(f"{base}/deposit", json={"asset": USDC, "signer": me, "amount": "100000000"}),
    )
    borrower = Keypair()
    chain.set_account(borrower.pubkey(), Account(100 * 10**9, b"", SYSTEM, False, 0))
    (usdc_reserve, usdc), (sol_reserve, sol) = view.reserves
    wsol = Pubkey.from_string(SOL)
    wsol_account = get_associated_token_address(borrower.pubkey(), wsol)
    data = pack_token_account(
        mint=wsol, owner=borrower.pubkey(), amount=10**9, native_rent=2_039_280
    )
    chain.set_account(wsol_account, Account(2_039_280 + 10**9, data, TOKEN, False, 0))
    receiver = give_usdc(chain, borrower.pubkey(), 0)
    market = view.address
    pairs = [(usdc_reserve, usdc.oracle), (sol_reserve, sol.oracle)]
    with node.lock:
        result = chain.send(
            [lend.init_obligation(borrower.pubkey(), market),
             lend.deposit_collateral(borrower.pubkey(), market, sol_reserve, sol, wsol_account, 10**9),
             lend.borrow(borrower.pubkey(), market, usdc_reserve, usdc, receiver, 40_000_000, pairs)],
            borrower, [],
        )  # fmt: skip
        assert result.success, result.logs[-4:]
        assert obligation_address(market, borrower.pubkey())
        slot = node.slot
        chain.warp_to_slot(slot + 1_000_000)
    # U = 40/100 → apr = 0 + 800 bps · U / 80 % = 4 %; g = apr · Δ / year; I = floor(B · g)
    utilisation = 40_000_000 * WAD // 100_000_000
    apr = 800 * 10**14 * utilisation // (8000 * 10**14)
    growth = apr * 1_000_000 // SLOTS_PER_YEAR
    interest = 40_000_000 * growth // WAD
    assert interest == 20_294  # 40 USDC × 4 % × 1e6 / 78.84e6 slots, rounded down
    total = 100_000_000 + interest
    worth = 100_000_000 * (total + 1) // (100_000_000 + 1)
    (position,) = [p for p in httpx.get(f"{base}/positions", params={"users": me}).json()
                   if p["token"]["symbol"] == "jlUSDC"]  # fmt: skip
    assert position["underlyingAssets"] == str(worth)
    assert position["token"]["totalAssets"] == str(total)
    (earned,) = httpx.get(f"{base}/earnings", params={"user": me, "positions": JL_USDC}).json()
    assert earned["earnings"] == str(worth - 100_000_000)


def test_bad_requests_are_400_with_a_json_error(served) -> None:
    url, user = served["url"], served["user"]
    me = str(user.pubkey())
    base = f"{url}/lend/v1/earn"
    deposit = {"asset": USDC, "signer": me, "amount": "1000000"}
    bad = [
        httpx.post(f"{base}/deposit", content=b"{nope"),
        httpx.post(f"{base}/deposit", json=[1]),
        httpx.post(f"{base}/deposit", json={**deposit, "amount": "0"}),
        httpx.post(f"{base}/deposit", json={**deposit, "amount": "1.5"}),
        httpx.post(f"{base}/deposit", json={**deposit, "amount": str(2**64)}),
        httpx.post(f"{base}/deposit", json={"asset": USDC, "signer": me}),
        httpx.post(f"{base}/deposit", json={**deposit, "signer": "not-a-key"}),
        httpx.post(f"{base}/deposit", json={**deposit, "asset": str(Pubkey.new_unique())}),
        httpx.post(f"{base}/mint", json=deposit),  # mint takes shares, not amount
        # nothing deposited yet: no share account to withdraw from
        httpx.post(f"{base}/withdraw", json=deposit),
        httpx.get(f"{base}/positions"),
        httpx.get(f"{base}/positions", params={"users": "x,y"}),
        httpx.get(f"{base}/earnings", params={"user": me}),
        httpx.get(f"{base}/earnings", params={"user": me, "positions": me}),
    ]
    for response in bad:
        assert response.status_code == 400, response.text
        assert set(response.json()) == {"error", "errorCode"}


# --------------------------------------------------------------------------- --agent-cmd


def test_an_agent_speaking_only_the_jupiter_lend_api_scores_one(tmp_path) -> None:
    here = Path(__file__).parent
    agent = f"{shlex.quote(sys.executable)} {shlex.quote(str(here / 'jupiter_lend_agent.py'))}"
    output = tmp_path / "results.json"
    plan = f"deposit:{USDC}:50000000 withdraw:{USDC}:20000000"
    done = subprocess.run(
        [sys.executable, "-m", "reev.cli", "run", str(here / "benchmarks" / "jupiter-lend-http-usdc.yml"),
         "--agent-cmd", agent, "--log-dir", str(tmp_path / "logs"), "-o", str(output)],
        check=False, capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200", "REEV_TEST_LEND": plan, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(output.read_text())["results"]
    assert result["passed"] and result["score"] == 1.0, result
    session = json.loads(Path(result["session_file"]).read_text())
    first, second = (step["model_calls"][0] for step in session["steps"])
    assert first["request_messages_delta"][0]["env"]["REEV_JUPITER_LEND_URL"].endswith("/lend/v1")
    # what the positions endpoint told the agent before each step: no shares, then 50e6
    assert json.loads(first["response"]["stdout"].splitlines()[0]) == {"shares_before": "0"}
    assert json.loads(second["response"]["stdout"].splitlines()[0]) == {"shares_before": "50000000"}
