"""Account methods: balances, account data in every encoding, program accounts."""

from __future__ import annotations

from typing import Any

from solders.pubkey import Pubkey

from reev.rpc.encoding import empty_account, encode_account
from reev.rpc.errors import invalid_params
from reev.rpc.handlers.registry import method, with_context
from reev.rpc.node import ChainNode
from reev.rpc.params import Params, account_options, parse_filters, parse_pubkey, type_name

MAX_MULTIPLE_ACCOUNTS = 100


@method("getBalance")
def get_balance(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    address = p.pubkey(0)
    p.config(1).check_common(node)
    return with_context(node, node.lamports(address))


@method("getAccountInfo")
def get_account_info(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    address = p.pubkey(0)
    config = p.config(1)
    config.check_common(node)
    encoding, data_slice = account_options(config)
    return with_context(
        node, encode_account(node.get_account(address), encoding, data_slice, node.decimals_of)
    )


@method("getMultipleAccounts")
def get_multiple_accounts(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    raw = p.get(0)
    if not isinstance(raw, list):
        raise invalid_params(f"invalid type: {type_name(raw)}, expected a sequence of addresses")
    if len(raw) > MAX_MULTIPLE_ACCOUNTS:
        raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
    addresses = [parse_pubkey(a) for a in raw]
    config = p.config(1)
    config.check_common(node)
    encoding, data_slice = account_options(config, "base64")
    with node.lock:
        node.chain.load(addresses)  # a fork fetches what it lacks in one request
        return with_context(
            node,
            [
                encode_account(node.get_account(a), encoding, data_slice, node.decimals_of)
                for a in addresses
            ],
        )


def keyed(pubkey: Pubkey, encoded: dict[str, Any] | None) -> dict[str, Any]:
    return {"account": encoded, "pubkey": str(pubkey)}


@method("getProgramAccounts")
def get_program_accounts(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    program = p.pubkey(0, "program id")
    config = p.config(1)
    config.check_common(node)
    encoding, data_slice = account_options(config)
    filters = parse_filters(config.raw.get("filters"))
    with node.lock:
        found = [
            keyed(address, encode_account(account, encoding, data_slice, node.decimals_of))
            for address, account in node.accounts_owned_by(program)
            if all(f(bytes(account.data)) for f in filters)
        ]
        return with_context(node, found) if config.boolean("withContext") else found


def encode_for_subscription(
    node: ChainNode, address: Pubkey, encoding: str, data_slice: Any
) -> dict[str, Any]:
    """An account as accountNotification shows it (a closed account reads as empty)."""
    account = node.get_account(address) or empty_account()
    encoded = encode_account(account, encoding, data_slice, node.decimals_of, size_check=False)
    assert encoded is not None
    return encoded
