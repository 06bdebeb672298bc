"""SPL Token and Token-2022 methods: token balances, supplies, holders, accounts by owner."""

from __future__ import annotations

from typing import Any

from solders.pubkey import Pubkey

from reev.chain.accounts import decode_mint, decode_token_account
from reev.constants import TOKEN_PROGRAMS
from reev.rpc.encoding import encode_account, token_amount, token_kind
from reev.rpc.errors import invalid_param, invalid_params
from reev.rpc.handlers.accounts import keyed
from reev.rpc.handlers.registry import method, with_context
from reev.rpc.node import ChainNode
from reev.rpc.params import Params, account_options, parse_pubkey


def _token_state(node: ChainNode, address: Pubkey) -> tuple[Any, Any]:
    account = node.get_account(address)
    if account is None or account.owner not in TOKEN_PROGRAMS:
        raise invalid_param("not a Token account")
    data = bytes(account.data)
    if token_kind(data) != "account":
        raise invalid_param("not a Token account")
    return account, decode_token_account(data)


@method("getTokenAccountBalance")
def get_token_account_balance(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    address = p.pubkey(0)
    p.config(1).check_common(node)
    with node.lock:
        _, info = _token_state(node, address)
        decimals = node.decimals_of(Pubkey.from_string(info.mint))
        if decimals is None:
            raise invalid_param("Token mint could not be unpacked")
        return with_context(node, token_amount(info.amount, decimals))


@method("getTokenSupply")
def get_token_supply(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    address = p.pubkey(0)
    p.config(1).check_common(node)
    with node.lock:
        account = node.get_account(address)
        if (
            account is None
            or account.owner not in TOKEN_PROGRAMS
            or token_kind(bytes(account.data)) != "mint"
        ):
            raise invalid_param("not a Token mint")
        mint = decode_mint(bytes(account.data))
        return with_context(node, token_amount(mint.supply, mint.decimals))


@method("getTokenLargestAccounts")
def get_token_largest_accounts(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    mint = p.pubkey(0, "mint")
    p.config(1).check_common(node)
    with node.lock:
        mint_account = node.get_account(mint)
        decimals = node.decimals_of(mint)
        if mint_account is None or decimals is None:
            raise invalid_param("not a Token mint")
        holders = []
        for address, account in node.accounts_owned_by(mint_account.owner):
            data = bytes(account.data)
            if token_kind(data) == "account":
                info = decode_token_account(data)
                if info.mint == str(mint):
                    holders.append((info.amount, address))
        holders.sort(key=lambda h: (-h[0], bytes(h[1])))
        return with_context(
            node,
            [{"address": str(a), **token_amount(amount, decimals)} for amount, a in holders[:20]],
        )


def _token_accounts_by(node: ChainNode, params: Any, field: str) -> Any:
    p = Params(params, required=2, maximum=3)
    who = p.pubkey(0)
    selector = p.get(1)
    if (
        not isinstance(selector, dict)
        or len(selector) != 1
        or next(iter(selector)) not in ("mint", "programId")
    ):
        raise invalid_params('expected {"mint": address} or {"programId": address}')
    ((kind, value),) = selector.items()
    key = parse_pubkey(value)
    config = p.config(2)
    config.check_common(node)
    encoding, data_slice = account_options(config)
    with node.lock:
        mint: Pubkey | None = None
        if kind == "programId":
            if key not in TOKEN_PROGRAMS:
                raise invalid_param("unrecognized Token program id")
            programs = [key]
        else:
            mint_account = node.get_account(key)
            if mint_account is None or mint_account.owner not in TOKEN_PROGRAMS:
                raise invalid_param("could not find mint")
            mint, programs = key, [mint_account.owner]
        found = []
        for program in programs:
            for address, account in node.accounts_owned_by(program):
                data = bytes(account.data)
                if token_kind(data) != "account":
                    continue
                info = decode_token_account(data)
                if getattr(info, field) != str(who) or (
                    mint is not None and info.mint != str(mint)
                ):
                    continue
                found.append(
                    keyed(address, encode_account(account, encoding, data_slice, node.decimals_of))
                )
        return with_context(node, found)


@method("getTokenAccountsByOwner")
def get_token_accounts_by_owner(node: ChainNode, params: Any) -> Any:
    return _token_accounts_by(node, params, "owner")


@method("getTokenAccountsByDelegate")
def get_token_accounts_by_delegate(node: ChainNode, params: Any) -> Any:
    return _token_accounts_by(node, params, "delegate")
