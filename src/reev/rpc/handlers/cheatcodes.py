"""requestAirdrop and surfpool's cheat codes (`surfnet_*`): parameters checked here, the
changes made by `reev.rpc.cheatcodes`. The server an agent under evaluation gets has none."""

from __future__ import annotations

from typing import Any

from solders.pubkey import Pubkey

from reev.constants import TOKEN_PROGRAM, TOKEN_PROGRAMS
from reev.rpc import cheatcodes as cheats
from reev.rpc.errors import invalid_param, invalid_params
from reev.rpc.handlers.registry import method, with_context
from reev.rpc.node import ChainNode
from reev.rpc.params import Params, parse_pubkey


@method("requestAirdrop")
def request_airdrop(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=2, maximum=3)
    address = p.pubkey(0)
    lamports = p.integer(1, "lamports")
    p.config(2).check_common(node)
    return str(cheats.airdrop(node, address, lamports))


# ---- surfpool cheat codes --------------------------------------------------------------------------


def _ok(node: ChainNode) -> dict[str, Any]:
    return with_context(node, None)


@method("surfnet_setAccount")
def surfnet_set_account(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=2, maximum=2)
    address = p.pubkey(0)
    update = p.config(1)
    data = update.string("data")
    raw: bytes | None = None
    if data is not None:
        try:
            raw = bytes.fromhex(data.removeprefix("0x"))
        except ValueError as exc:
            raise invalid_params(f"Invalid hex data provided: {exc}") from None
    owner = update.string("owner")
    cheats.update_account(
        node,
        address,
        lamports=update.integer("lamports"),
        data=raw,
        owner=parse_pubkey(owner) if owner is not None else None,
        executable=update.boolean("executable")
        if update.raw.get("executable") is not None
        else None,
        rent_epoch=update.integer("rentEpoch"),
    )
    return _ok(node)


def _some_account(value: Any, what: str) -> Pubkey | None:
    """surfpool's SetSomeAccount: an address, or the string "null" to clear it."""
    if value == "null":
        return None
    return parse_pubkey(value)


@method("surfnet_setTokenAccount")
def surfnet_set_token_account(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=3, maximum=4)
    owner = p.pubkey(0, "owner")
    mint = p.pubkey(1, "mint")
    raw = p.config(2)
    program = p.pubkey(3, "token program") if p.has(3) else TOKEN_PROGRAM
    if program not in TOKEN_PROGRAMS:
        raise invalid_param("unrecognized Token program id")
    update: dict[str, Any] = {}
    if raw.raw.get("amount") is not None:
        update["amount"] = raw.integer("amount")
    if raw.raw.get("delegatedAmount") is not None:
        update["delegatedAmount"] = raw.integer("delegatedAmount")
    if raw.raw.get("state") is not None:
        state = raw.string("state")
        if state not in ("uninitialized", "initialized", "frozen"):
            raise invalid_params(
                f"unknown token account state {state!r}: initialized, frozen or uninitialized"
            )
        update["state"] = state
    for key in ("delegate", "closeAuthority"):
        if raw.raw.get(key) is not None:
            update[key] = _some_account(raw.raw[key], key)
    cheats.set_token_account(node, owner, mint, update, program)
    return _ok(node)


@method("surfnet_timeTravel")
def surfnet_time_travel(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=0, maximum=1)
    config = p.config(0)
    given = [
        k
        for k in ("absoluteSlot", "absoluteEpoch", "absoluteTimestamp")
        if config.raw.get(k) is not None
    ]
    if len(given) != 1:
        raise invalid_params(
            "expected exactly one of absoluteSlot, absoluteEpoch, absoluteTimestamp"
        )
    (key,) = given
    value = config.integer(key)
    if key == "absoluteSlot":
        cheats.time_travel(node, slot=value)
    elif key == "absoluteEpoch":
        cheats.time_travel(node, epoch=value)
    else:
        cheats.time_travel(node, timestamp_ms=value)
    return node.epoch_info()


@method("surfnet_resetAccount")
def surfnet_reset_account(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    address = p.pubkey(0)
    config = p.config(1)
    cheats.reset_account(node, address, include_owned=config.boolean("includeOwnedAccounts"))
    return _ok(node)


@method("surfnet_resetNetwork")
def surfnet_reset_network(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    node.reset_network()
    return _ok(node)
