"""The embedded chain over Solana's JSON-RPC and WebSocket APIs (`reev chain serve`).

`ChainNode` adds what a validator keeps (blocks, a blockhash window, signature statuses,
transaction history) to a `LiteSVMChain`; `create_app` serves it with Starlette; `reev.rpc.serve`
builds a benchmark's initial state and runs the server with uvicorn. docs/rpc.md lists the
methods and where they differ from a real cluster.
"""

from reev.rpc.app import MAX_REQUEST_BODY, RpcServer, create_app
from reev.rpc.errors import RpcError
from reev.rpc.node import ChainNode, TxRecord

__all__ = ["MAX_REQUEST_BODY", "ChainNode", "RpcError", "RpcServer", "TxRecord", "create_app"]
