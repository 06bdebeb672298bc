"""The Solana MCP tool server of the tests of `reev run --mcp-server`: examples/mcp_tool_server.py
(official `mcp` SDK, real transactions to `REEV_RPC_URL`), plus `--mode` to misbehave: `crash`
(exits at start, saying why on stderr), `hang` (never answers), `malformed` (lists a tool whose
input schema has a property that is not a schema).

Run as `python tests/helpers/mcp_tool_server.py [--mode MODE]`; it speaks MCP on stdio.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
import time
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mcp_tool_server.py"


def _malformed() -> None:
    """A server that speaks the protocol by hand, as a buggy one in another language might:
    its tool's schema has a property that is not a schema (the SDK's own server would refuse
    to send it)."""
    for line in sys.stdin:
        request = json.loads(line)
        if "id" not in request:
            continue  # a notification
        method = request["method"]
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        if method == "initialize":
            reply["result"] = {
                "protocolVersion": request["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "malformed", "version": "0"},
            }
        elif method == "tools/list":
            schema = {"type": "object", "properties": {"amount": 5}}
            reply["result"] = {"tools": [{"name": "bad_tool", "inputSchema": schema}]}
        else:
            reply["error"] = {"code": -32601, "message": f"no method {method}"}
        print(json.dumps(reply), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["ok", "crash", "hang", "malformed"], default="ok")
    mode = parser.parse_args().mode
    if mode == "crash":
        print("test server: no wallet configured, giving up", file=sys.stderr)
        sys.exit(3)
    if mode == "hang":
        time.sleep(3600)
    if mode == "malformed":
        _malformed()
        return
    runpy.run_path(str(EXAMPLE), run_name="__main__")


if __name__ == "__main__":
    main()
