"""An `--agent-cmd` agent that knows only Jupiter's swap API and Solana's JSON-RPC.

It quotes REEV_TEST_SWAP ("inputMint outputMint amount") at REEV_JUPITER_URL, asks /swap for
the transaction, signs it with the REEV_KEYPAIR key and sends it with sendTransaction over
REEV_RPC_URL: exactly what a script written against https://lite-api.jup.ag/swap/v1 does.
Standard library HTTP and solders for signing; nothing from reev.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
import urllib.request

from solders.keypair import Keypair
from solders.transaction import VersionedTransaction


def http(url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main() -> None:
    jupiter, rpc = os.environ["REEV_JUPITER_URL"], os.environ["REEV_RPC_URL"]
    with open(os.environ["REEV_KEYPAIR"]) as file:
        keypair = Keypair.from_bytes(bytes(json.load(file)))
    input_mint, output_mint, amount = os.environ["REEV_TEST_SWAP"].split()
    query = urllib.parse.urlencode(
        {"inputMint": input_mint, "outputMint": output_mint, "amount": amount, "slippageBps": 50}
    )
    quote = http(f"{jupiter}/quote?{query}")
    print(json.dumps({"outAmount": quote["outAmount"], "hops": len(quote["routePlan"])}))
    swap = http(
        f"{jupiter}/swap",
        {"quoteResponse": quote, "userPublicKey": str(keypair.pubkey()), "wrapAndUnwrapSol": True},
    )
    unsigned = VersionedTransaction.from_bytes(base64.b64decode(swap["swapTransaction"]))
    signed = VersionedTransaction(unsigned.message, [keypair])
    sent = http(
        rpc,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "sendTransaction",
            "params": [base64.b64encode(bytes(signed)).decode(), {"encoding": "base64"}],
        },
    )
    if "error" in sent:
        raise SystemExit(f"sendTransaction failed: {sent['error']}")
    print(json.dumps({"signature": sent["result"]}))


if __name__ == "__main__":
    main()
