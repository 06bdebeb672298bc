"""Requests per second of `reev chain serve`, beside the in-process rates.

Starts `reev chain serve benchmarks/001-sol-transfer.yml --port 0` as a subprocess (server and
client do not share a process or a GIL), then drives it over HTTP with an async client keeping
`--concurrency` requests in flight:

- getBalance;
- sendTransaction of pre-signed SOL transfers (each lands in its own block), with preflight
  (the default: a simulation, then the execution) and with skipPreflight.

For comparison, the same work in-process: LiteSVM's get_balance and send_transaction, and
`ChainNode.submit` (LiteSVM plus the node's bookkeeping, no HTTP).

    python scripts/bench_rpc.py [--requests 4000] [--transactions 1500] [--concurrency 32] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from solders.account import Account
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = ROOT / "benchmarks" / "001-sol-transfer.yml"
BATCH = 100  # transactions signed per blockhash: well inside the 150-block window


def transfers(
    payer: Keypair, to: Pubkey, blockhash: Hash, start: int, count: int
) -> list[VersionedTransaction]:
    return [
        VersionedTransaction(
            Message.new_with_blockhash(
                [
                    transfer(
                        TransferParams(
                            from_pubkey=payer.pubkey(), to_pubkey=to, lamports=1_000_000 + start + i
                        )
                    )
                ],
                payer.pubkey(),
                blockhash,
            ),
            [payer],
        )
        for i in range(count)
    ]


async def bounded(concurrency: int, jobs: list[Any]) -> None:
    limit = asyncio.Semaphore(concurrency)

    async def run(job: Any) -> None:
        async with limit:
            await job

    await asyncio.gather(*(run(job) for job in jobs))


class Client:
    """A load generator: `concurrency` keep-alive HTTP/1.1 connections (asyncio streams), each
    sending its next request as soon as the previous answer arrived. General-purpose clients
    (httpx, aiohttp) cost more per request than the server does, which would hide its rate."""

    def __init__(self, url: str, concurrency: int):
        address = url.removeprefix("http://").rstrip("/")
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        self.errors = 0
        self.name = f"{concurrency} keep-alive connections"
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self._size = concurrency
        self._opened = 0

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._idle.empty() and self._opened < self._size:
            self._opened += 1
            return await asyncio.open_connection(self.host, self.port)
        return await self._idle.get()

    async def rpc(self, method: str, params: list[Any]) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        reader, writer = await self._connection()
        writer.write(
            b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        answer = json.loads(await reader.readexactly(length))
        self._idle.put_nowait((reader, writer))
        if "error" in answer:
            self.errors += 1
        return answer.get("result")

    async def close(self) -> None:
        while not self._idle.empty():
            _, writer = self._idle.get_nowait()
            writer.close()


async def over_http(
    url: str, payer: Keypair, to: Pubkey, requests: int, transactions: int, concurrency: int
) -> dict[str, Any]:
    client = Client(url, concurrency)
    rpc = client.rpc
    try:
        for _ in range(50):  # warm up connections
            await rpc("getHealth", [])
        started = time.perf_counter()
        await bounded(
            concurrency, [rpc("getBalance", [str(payer.pubkey())]) for _ in range(requests)]
        )
        balance_rate = requests / (time.perf_counter() - started)

        rates = {}
        for label, skip in (("sendTransaction", False), ("sendTransaction (skipPreflight)", True)):
            elapsed, sent = 0.0, 0
            while sent < transactions:
                latest = await rpc("getLatestBlockhash", [])
                blockhash = Hash.from_string(latest["value"]["blockhash"])
                batch = transfers(
                    payer,
                    to,
                    blockhash,
                    sent + (10**6 if skip else 0),
                    min(BATCH, transactions - sent),
                )
                wire = [base64.b64encode(bytes(tx)).decode() for tx in batch]
                started = time.perf_counter()
                await bounded(
                    concurrency,
                    [
                        rpc("sendTransaction", [w, {"encoding": "base64", "skipPreflight": skip}])
                        for w in wire
                    ],
                )
                elapsed += time.perf_counter() - started
                sent += len(batch)
            rates[label] = sent / elapsed
        if client.errors:
            raise SystemExit(f"{client.errors} requests answered with an error")
        return {"client": client.name, "getBalance": balance_rate, **rates}
    finally:
        await client.close()


def in_process(transactions: int) -> dict[str, float]:
    from reev.chain.litesvm import LiteSVMChain
    from reev.constants import SYSTEM_PROGRAM
    from reev.rpc.node import ChainNode

    chain = LiteSVMChain()
    payer, to = Keypair(), Pubkey.new_unique()
    chain.set_account(payer.pubkey(), Account(10**15, b"", SYSTEM_PROGRAM, False, 0))
    chain.set_account(to, Account(10**9, b"", SYSTEM_PROGRAM, False, 0))
    started = time.perf_counter()
    for _ in range(20_000):
        chain.svm.get_balance(payer.pubkey())
    balance = 20_000 / (time.perf_counter() - started)

    sent = 0
    elapsed = 0.0
    while sent < transactions:
        batch = transfers(payer, to, chain.svm.latest_blockhash(), sent, 1)
        started = time.perf_counter()
        chain.svm.send_transaction(batch[0])
        chain.svm.expire_blockhash()
        elapsed += time.perf_counter() - started
        sent += 1
    litesvm_send = sent / elapsed

    node = ChainNode(chain)
    sent, elapsed = 0, 0.0
    while sent < transactions:
        blockhash, _ = node.latest_blockhash()
        batch = transfers(payer, to, blockhash, 10**6 + sent, min(BATCH, transactions - sent))
        started = time.perf_counter()
        for tx in batch:
            assert node.submit(tx) is None
        elapsed += time.perf_counter() - started
        sent += len(batch)
    return {
        "getBalance": balance,
        "send_transaction": litesvm_send,
        "ChainNode.submit": sent / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--transactions", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        keypair = Path(tmp) / "user.json"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reev.cli",
                "chain",
                "serve",
                str(BENCHMARK),
                "--port",
                "0",
                "--json",
                "--keypair",
                str(keypair),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=tmp,
            env={**os.environ},
        )
        try:
            assert server.stdout is not None
            info = json.loads(server.stdout.readline())
            payer = Keypair.from_bytes(bytes(json.loads(keypair.read_text())))
            recipient = Pubkey.from_string(info["addresses"]["RECIPIENT_WALLET_PUBKEY"])
            # The payer holds 1 SOL: top it up for thousands of transfers (surfpool's cheat code).
            httpx.post(
                info["rpc_url"],
                json={
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "surfnet_setAccount",
                    "params": [str(payer.pubkey()), {"lamports": 10**15}],
                },
            ).raise_for_status()
            http = asyncio.run(
                over_http(
                    info["rpc_url"],
                    payer,
                    recipient,
                    args.requests,
                    args.transactions,
                    args.concurrency,
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    local = in_process(args.transactions)
    figures = {
        "server": http,
        "in_process": local,
        "concurrency": args.concurrency,
        "requests": args.requests,
        "transactions": args.transactions,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"reev chain serve over HTTP ({args.concurrency} requests in flight):")
    client = http.pop("client")
    for name, rate in http.items():
        print(f"  {name:<34} {rate:>10,.0f} requests/s")
    print(f"  (client: {client})")
    print("in-process, same work, no HTTP:")
    for name, rate in local.items():
        print(f"  {name:<34} {rate:>10,.0f} calls/s")


if __name__ == "__main__":
    main()
