"""The JSON-RPC methods by family, in Agave's shapes; `dispatch` runs one by name.

Importing the package registers every handler in `METHODS` (`registry.method`). Parameters are
parsed by `reev.rpc.params`; docs/rpc.md lists the methods and where they differ from a real
cluster.
"""

from reev.rpc.handlers import accounts, cheatcodes, cluster, tokens, transactions
from reev.rpc.handlers.registry import METHODS, Handler, dispatch

__all__ = [
    "METHODS",
    "Handler",
    "accounts",
    "cheatcodes",
    "cluster",
    "dispatch",
    "tokens",
    "transactions",
]
