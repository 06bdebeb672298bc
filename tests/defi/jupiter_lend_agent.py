"""An `--agent-cmd` agent that knows only Jupiter Lend's Earn API and Solana's JSON-RPC.

REEV_TEST_LEND lists one operation per flow step, `operation:asset:amount` separated by spaces
(operation deposit | withdraw | mint | redeem; amount in base units). For step REEV_STEP it
reads its positions at REEV_JUPITER_LEND_URL, asks /earn/<operation> for the transaction, signs
it with the REEV_KEYPAIR key and sends it with sendTransaction over REEV_RPC_URL: what a script
written against https://lite-api.jup.ag/lend/v1 does. Standard library HTTP and solders for
signing; nothing from reev.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
import urllib.request

from solders.keypair import Keypair
from solders.transaction import VersionedTransaction


def http(url: str, body: dict | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main() -> None:
    lend, rpc = os.environ["REEV_JUPITER_LEND_URL"], os.environ["REEV_RPC_URL"]
    with open(os.environ["REEV_KEYPAIR"]) as file:
        keypair = Keypair.from_bytes(bytes(json.load(file)))
    me = str(keypair.pubkey())
    plan = os.environ["REEV_TEST_LEND"].split()[int(os.environ["REEV_STEP"]) - 1]
    operation, asset, amount = plan.split(":")
    positions = http(f"{lend}/earn/positions?{urllib.parse.urlencode({'users': me})}")
    assert isinstance(positions, list)
    held = {p["token"]["assetAddress"]: p["shares"] for p in positions}
    print(json.dumps({"shares_before": held[asset]}))
    field = "amount" if operation in ("deposit", "withdraw") else "shares"
    answer = http(f"{lend}/earn/{operation}", {"asset": asset, "signer": me, field: amount})
    assert isinstance(answer, dict)
    unsigned = VersionedTransaction.from_bytes(base64.b64decode(answer["transaction"]))
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
    assert isinstance(sent, dict)
    if "error" in sent:
        raise SystemExit(f"sendTransaction failed: {sent['error']}")
    print(json.dumps({"signature": sent["result"]}))


if __name__ == "__main__":
    main()
