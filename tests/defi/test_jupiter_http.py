"""The Jupiter-shaped swap API over real HTTP on `reev chain serve`, a solana-py client written
from docs/programs.md alone that opens a pool and swaps, and an `--agent-cmd` agent that speaks
only the Jupiter API and JSON-RPC."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.models import TxOpts
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import Transaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint2,
    mint_to,
)
from spl.token.models import InitializeMint2Params, MintToParams

from helpers.paths import ROOT

# a live `reev chain serve` and --agent-cmd episodes over HTTP: `slow` (the full suite runs it; `make test-fast` does not)
pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
BENCHMARK = HERE / "benchmarks" / "jupiter-http-sol-usdc.yml"
SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def out_for(a: int, r_in: int, r_out: int, fee_bps: int) -> int:
    """docs/programs.md: fee = ceil(a·f/10000), a' = a − fee, out = floor(a'·R_out/(R_in+a'))."""
    net = a - -(-a * fee_bps // 10_000)
    return net * r_out // (r_in + net)


@contextlib.contextmanager
def chain_serve(benchmark_file: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    keypair = tmp_path / "user.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "reev.cli", "chain", "serve", str(benchmark_file), "--port", "0",
         "--ws-port", "-1", "--json", "--keypair", str(keypair)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line, f"reev chain serve printed nothing: {process.stderr.read()}"  # type: ignore[union-attr]
        info = json.loads(line)
        info["user"] = Keypair.from_bytes(bytes(json.loads(Path(info["keypair"]).read_text())))
        yield info
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_quote_and_swap_transaction_over_http(tmp_path) -> None:
    with chain_serve(BENCHMARK, tmp_path) as info:
        base = f"{info['rpc_url']}/swap/v1"
        params = {"inputMint": SOL, "outputMint": USDC, "amount": "100000000", "slippageBps": 50}
        quote = httpx.get(f"{base}/quote", params=params).json()
        expected = out_for(100_000_000, 10**12, 150 * 10**9, 30)
        assert quote["outAmount"] == str(expected) == "14953509"
        assert quote["inAmount"] == "100000000" and quote["swapMode"] == "ExactIn"
        assert quote["otherAmountThreshold"] == str(expected * 9950 // 10_000)
        assert quote["slippageBps"] == 50 and isinstance(quote["contextSlot"], int)
        (plan,) = quote["routePlan"]
        assert plan["percent"] == 100
        assert plan["swapInfo"]["ammKey"] == info["addresses"].get(
            "SOL_USDC_POOL", plan["swapInfo"]["ammKey"]
        )
        assert plan["swapInfo"]["feeAmount"] == "300000" and plan["swapInfo"]["feeMint"] == SOL
        assert float(quote["priceImpactPct"]) < 0.001
        # the same state, the same quote
        assert httpx.get(f"{base}/quote", params=params).json() == quote

        user = str(info["user"].pubkey())
        body = {"quoteResponse": quote, "userPublicKey": user}
        parts = httpx.post(f"{base}/swap-instructions", json=body).json()
        assert (
            parts["swapInstruction"]["programId"] == "ReevAmm111111111111111111111111111111111111"
        )
        programs = [ix["programId"] for ix in parts["setupInstructions"]]
        assert programs[0] == "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"  # the wSOL account
        assert parts["cleanupInstruction"]["programId"] == str(TOKEN_PROGRAM_ID)  # close wSOL
        swap = httpx.post(f"{base}/swap", json=body).json()
        assert set(swap) >= {"swapTransaction", "lastValidBlockHeight"}

        # bad requests: 400 with a JSON error, never a 500
        bad = [
            httpx.get(f"{base}/quote", params={**params, "outputMint": "nope"}),
            httpx.get(f"{base}/quote", params={**params, "amount": "0"}),
            httpx.get(f"{base}/quote", params={**params, "amount": "0.1"}),
            httpx.get(f"{base}/quote", params={**params, "swapMode": "Sideways"}),
            httpx.get(f"{base}/quote", params={"inputMint": SOL}),
            httpx.get(f"{base}/quote", params={**params, "outputMint": str(Pubkey.new_unique())}),
            # an account that exists but is not a mint: the user's wallet
            httpx.get(f"{base}/quote", params={**params, "outputMint": user}),
            httpx.post(f"{base}/swap", content=b"{not json"),
            httpx.post(f"{base}/swap", json=[1, 2]),
            httpx.post(f"{base}/swap", json={"quoteResponse": quote}),
            httpx.post(f"{base}/swap", json={**body, "wrapAndUnwrapSol": "yes"}),
            httpx.post(f"{base}/swap-instructions", json={**body, "quoteResponse": {"x": 1}}),
        ]
        for response in bad:
            assert response.status_code == 400, response.text
            assert set(response.json()) == {"error", "errorCode"}
        # more than the pool holds, exactly out: no route can fill it
        too_much = {**params, "amount": str(2000 * 10**9), "swapMode": "ExactOut"}
        no_route = httpx.get(f"{base}/quote", params={**too_much, "outputMint": SOL,
                                                      "inputMint": USDC})  # fmt: skip
        assert no_route.json()["errorCode"] == "COULD_NOT_FIND_ANY_ROUTE"


# --------------------------------------------------------------------------- docs/programs.md


AMM = Pubkey.from_string("ReevAmm111111111111111111111111111111111111")
ATA_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
POOL_LEN = 304


async def send(
    client: AsyncClient, payer: Keypair, instructions: list[Instruction], *signers: Keypair
):
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    message = Message.new_with_blockhash(instructions, payer.pubkey(), blockhash)
    tx = Transaction([payer, *signers], message, blockhash)
    return await client.send_transaction(tx, opts=TxOpts(skip_preflight=True))


async def token_balance(client: AsyncClient, account: Pubkey) -> int:
    return int((await client.get_token_account_balance(account)).value.amount)


def test_a_client_from_the_docs_creates_a_pool_and_swaps(tmp_path) -> None:
    """Everything AMM-specific below comes from docs/programs.md: the PDAs, the account order,
    the tags and the packed little-endian fields, the pool layout's offsets, the error code."""
    with chain_serve(BENCHMARK, tmp_path) as info:
        asyncio.run(open_pool_and_swap(AsyncClient(info["rpc_url"]), info["user"]))


async def open_pool_and_swap(client: AsyncClient, user: Keypair) -> None:
    me = user.pubkey()
    # two mints of our own, 1000 tokens (6 decimals) of each in our ATAs
    mints = sorted([Keypair(), Keypair()], key=lambda k: bytes(k.pubkey()))
    setup: list[Instruction] = []
    for mint in mints:
        setup += [
            create_account(CreateAccountParams(from_pubkey=me, to_pubkey=mint.pubkey(),
                                               lamports=10**7, space=82, owner=TOKEN_PROGRAM_ID)),
            initialize_mint2(InitializeMint2Params(decimals=6, program_id=TOKEN_PROGRAM_ID,
                                                   mint=mint.pubkey(), mint_authority=me)),
            create_associated_token_account(me, me, mint.pubkey()),
            mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(),
                                 dest=get_associated_token_address(me, mint.pubkey()),
                                 mint_authority=me, amount=1000 * 10**6)),
        ]  # fmt: skip
    await send(client, user, setup, *mints)
    mint_a, mint_b = (m.pubkey() for m in mints)  # mint_a < mint_b byte-wise
    mine_a, mine_b = (get_associated_token_address(me, m) for m in (mint_a, mint_b))

    pool = Keypair()
    authority, _ = Pubkey.find_program_address([b"authority", bytes(pool.pubkey())], AMM)
    lp_mint, _ = Pubkey.find_program_address([b"lp_mint", bytes(pool.pubkey())], AMM)
    vault_a = get_associated_token_address(authority, mint_a)
    vault_b = get_associated_token_address(authority, mint_b)
    rent = (await client.get_minimum_balance_for_rent_exemption(POOL_LEN)).value
    w, r = (lambda k: AccountMeta(k, False, True)), (lambda k: AccountMeta(k, False, False))
    init = Instruction(
        AMM,
        struct.pack("<BH", 0, 30),  # InitializePool, fee_bps 30
        [AccountMeta(me, True, True), w(pool.pubkey()), r(authority), w(lp_mint), r(mint_a),
         r(mint_b), r(vault_a), r(vault_b), r(TOKEN_PROGRAM_ID), r(TOKEN_PROGRAM_ID),
         r(TOKEN_PROGRAM_ID), r(SYSTEM_PROGRAM)],
    )  # fmt: skip
    await send(client, user, [
        create_account(CreateAccountParams(from_pubkey=me, to_pubkey=pool.pubkey(),
                                           lamports=rent, space=POOL_LEN, owner=AMM)),
        create_associated_token_account(me, authority, mint_a),
        create_associated_token_account(me, authority, mint_b),
        init,
    ], pool)  # fmt: skip
    my_lp = get_associated_token_address(me, lp_mint)
    deposit = Instruction(
        AMM,
        struct.pack("<BQQQ", 1, 400 * 10**6, 900 * 10**6, 0),  # AddLiquidity
        [AccountMeta(me, True, False), w(pool.pubkey()), r(authority), w(lp_mint), r(mint_a),
         r(mint_b), w(vault_a), w(vault_b), w(mine_a), w(mine_b), w(my_lp),
         r(TOKEN_PROGRAM_ID), r(TOKEN_PROGRAM_ID), r(TOKEN_PROGRAM_ID)],
    )  # fmt: skip
    await send(client, user, [create_associated_token_account(me, me, lp_mint), deposit])
    # first deposit: floor(sqrt(400e6 · 900e6)) = 600e6 LP
    assert await token_balance(client, my_lp) == 600 * 10**6
    data = bytes((await client.get_account_info(pool.pubkey())).value.data)
    assert data[:8] == b"reevpool"
    assert struct.unpack_from("<QQQ", data, 240) == (400 * 10**6, 900 * 10**6, 600 * 10**6)

    def swap(amount_in: int, min_out: int):
        return Instruction(
            AMM,
            struct.pack("<BQQ", 3, amount_in, min_out),  # SwapExactIn, A → B
            [AccountMeta(me, True, False), w(pool.pubkey()), r(authority), r(mint_a),
             r(mint_b), w(vault_a), w(vault_b), w(mine_a), w(mine_b), r(TOKEN_PROGRAM_ID),
             r(TOKEN_PROGRAM_ID)],
        )  # fmt: skip

    expected = out_for(10 * 10**6, 400 * 10**6, 900 * 10**6, 30)
    before = await token_balance(client, mine_b)
    # one unit above what the pool pays: SlippageExceeded (15), nothing moves
    sent = await send(client, user, [swap(10**7, expected + 1)])
    failed = await client.get_transaction(sent.value)
    assert "custom program error: 0xf" in json.dumps(failed.to_json())
    assert await token_balance(client, mine_b) == before
    await send(client, user, [swap(10**7, expected)])
    assert await token_balance(client, mine_b) - before == expected
    data = bytes((await client.get_account_info(pool.pubkey())).value.data)
    assert struct.unpack_from("<QQ", data, 240) == (410 * 10**6, 900 * 10**6 - expected)


# --------------------------------------------------------------------------- --agent-cmd


@pytest.mark.slow
def test_an_agent_speaking_only_the_jupiter_api_scores_one(tmp_path) -> None:
    agent = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'jupiter_agent.py'))}"
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "reev.cli", "run", str(BENCHMARK), "--agent-cmd", agent,
         "--log-dir", str(tmp_path / "logs"), "-o", str(output)],
        check=False, capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200", "REEV_TEST_SWAP": f"{SOL} {USDC} 100000000",
             "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(output.read_text())["results"]
    assert result["passed"] and result["score"] == 1.0
    session = json.loads(Path(result["session_file"]).read_text())
    call = session["steps"][0]["model_calls"][0]
    assert call["request_messages_delta"][0]["env"]["REEV_JUPITER_URL"].endswith("/swap/v1")
    printed = json.loads(call["response"]["stdout"].splitlines()[0])
    assert printed == {"outAmount": str(out_for(10**8, 10**12, 150 * 10**9, 30)), "hops": 1}
