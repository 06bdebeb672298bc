"""The embedded chain over Solana's JSON-RPC and WebSocket APIs (`reev chain serve`).

`ChainNode` adds what a validator keeps (blocks, a blockhash window, signature statuses,
transaction history in `reev.rpc.history`) to a `LiteSVMChain`; `reev.rpc.handlers` answers the
methods (parameters parsed by `reev.rpc.params`, cheat codes in `reev.rpc.cheatcodes`);
`create_app` serves a node with Starlette (strict JSON and request rules in `reev.rpc.wire`;
node work off the event loop, one call at a time, in `reev.rpc.turns`) and `reev.rpc.serve`
runs it with uvicorn. What is
served is the caller's: rpc/ knows nothing of benchmarks, episodes or agents. docs/rpc.md lists
the methods and where they differ from a real cluster.
"""

from reev.rpc.app import MAX_REQUEST_BODY, RpcServer, create_app
from reev.rpc.errors import RpcError
from reev.rpc.history import TxRecord
from reev.rpc.node import ChainNode

__all__ = ["MAX_REQUEST_BODY", "ChainNode", "RpcError", "RpcServer", "TxRecord", "create_app"]
