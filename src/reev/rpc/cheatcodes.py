"""surfpool's cheat codes (`surfnet_*`) and requestAirdrop: changes no transaction made.

They write accounts or move the clock directly, so they exist only where the chain is a
developer's (`reev chain serve`); the server an agent under evaluation gets has none of them.
Every change goes through the node's lock and is heard by its listeners (account and slot
subscriptions); `surfnet_resetAccount` puts back the first state the node knew of an account.
"""

from __future__ import annotations

import hashlib
from typing import Any

from solders.account import Account
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import ACCOUNT_LEN, extensions
from reev.chain.layouts import ACCOUNT_LAYOUT
from reev.constants import NATIVE_MINT, SYSTEM_PROGRAM, TOKEN_2022_PROGRAM, U64_MAX
from reev.rpc.encoding import empty_account, token_kind
from reev.rpc.errors import INTERNAL_ERROR, RpcError, invalid_param, invalid_params
from reev.rpc.node import LAMPORTS_PER_SIGNATURE, ChainNode, NodeEvent

MAX_TRAVEL_EPOCHS = 512  # surfnet_timeTravel's reach per call (the StakeHistory sysvar's length)
FAUCET = Keypair.from_seed(hashlib.sha256(b"reev/rpc/faucet").digest())


def airdrop(node: ChainNode, to: Pubkey, lamports: int) -> Signature:
    """A transfer from the node's faucet (topped up as needed), recorded like any other."""
    with node.lock:
        faucet = FAUCET.pubkey()
        overhead = LAMPORTS_PER_SIGNATURE + node.rent_exempt_minimum(0)
        if lamports > U64_MAX - overhead:
            # Balances are u64: the faucet must hold the airdrop plus its fee and rent reserve.
            raise invalid_params(
                f"requestAirdrop of {lamports} lamports: at most {U64_MAX - overhead} lamports "
                f"(u64::MAX less the faucet's fee and rent reserve of {overhead}) can be airdropped"
            )
        balance = node.lamports_in_svm(to)
        if lamports > U64_MAX - balance:
            raise invalid_params(
                f"requestAirdrop of {lamports} lamports would take {to}'s balance of {balance} "
                f"past u64::MAX; at most {U64_MAX - balance} lamports can be airdropped to it"
            )
        need = lamports + overhead
        if node.lamports_in_svm(faucet) < need:
            top_up = min(need + 10**15, U64_MAX)
            node.svm.set_account(faucet, Account(top_up, b"", SYSTEM_PROGRAM, False, 0))
        blockhash, _ = node.latest_blockhash()
        message = Message.new_with_blockhash(
            [transfer(TransferParams(from_pubkey=faucet, to_pubkey=to, lamports=lamports))],
            faucet,
            blockhash,
        )
        tx = VersionedTransaction(message, [FAUCET])
        record, err = node.process(tx)
        if record is None:
            raise RpcError(INTERNAL_ERROR, f"airdrop request failed: {err}")
        return record.signature


def set_account(node: ChainNode, address: Pubkey, account: Account) -> None:
    with node.lock:
        node.remember(address)
        node.chain.set_account(address, account)
        node.emit(NodeEvent("accounts", node.slot, pubkeys=(address,)))


def update_account(
    node: ChainNode,
    address: Pubkey,
    *,
    lamports: int | None = None,
    data: bytes | None = None,
    owner: Pubkey | None = None,
    executable: bool | None = None,
    rent_epoch: int | None = None,
) -> None:
    with node.lock:
        base = node.before_write(address) or empty_account()
        set_account(
            node,
            address,
            Account(
                lamports=base.lamports if lamports is None else lamports,
                data=bytes(base.data) if data is None else data,
                owner=base.owner if owner is None else owner,
                executable=base.executable if executable is None else executable,
                rent_epoch=base.rent_epoch if rent_epoch is None else rent_epoch,
            ),
        )


def set_token_account(
    node: ChainNode, owner: Pubkey, mint: Pubkey, update: dict[str, Any], program: Pubkey
) -> Pubkey:
    """Create or update the associated token account of (owner, mint) under `program`."""
    with node.lock:
        mint_account = node.chain.get_account(mint)
        if mint_account is None:
            raise invalid_param(f"mint {mint} does not exist")
        if mint_account.owner != program:
            raise invalid_param(f"mint {mint} is owned by {mint_account.owner}, not {program}")
        address = get_associated_token_address(owner, mint, program)
        existing = node.before_write(address)
        if (
            existing is not None
            and existing.owner == program
            and token_kind(bytes(existing.data)) == "account"
        ):
            data = bytes(existing.data)
            fields = dict(ACCOUNT_LAYOUT.parse(data[:ACCOUNT_LEN]))
            tail = data[ACCOUNT_LEN:]
        else:
            fields = {
                "mint": bytes(mint),
                "owner": bytes(owner),
                "amount": 0,
                "delegate_option": 0,
                "delegate": bytes(32),
                "state": 1,
                "is_native_option": 0,
                "is_native": 0,
                "delegated_amount": 0,
                "close_authority_option": 0,
                "close_authority": bytes(32),
            }
            tail = _new_account_extensions(mint_account) if program == TOKEN_2022_PROGRAM else b""
        if "amount" in update:
            fields["amount"] = update["amount"]
        if "delegate" in update:
            delegate = update["delegate"]
            fields["delegate_option"] = 0 if delegate is None else 1
            fields["delegate"] = bytes(32) if delegate is None else bytes(delegate)
        if "state" in update:
            fields["state"] = {"uninitialized": 0, "initialized": 1, "frozen": 2}[update["state"]]
        if "delegatedAmount" in update:
            fields["delegated_amount"] = update["delegatedAmount"]
        if "closeAuthority" in update:
            authority = update["closeAuthority"]
            fields["close_authority_option"] = 0 if authority is None else 1
            fields["close_authority"] = bytes(32) if authority is None else bytes(authority)
        data = ACCOUNT_LAYOUT.build(fields) + tail
        rent = node.rent_exempt_minimum(len(data))
        if mint == NATIVE_MINT:
            if fields["amount"] > U64_MAX - rent:
                # A wrapped-SOL account holds rent + amount lamports, a u64.
                raise invalid_params(
                    f"amount {fields['amount']} of wrapped SOL leaves no room for the account's "
                    f"rent-exempt reserve of {rent} lamports: at most {U64_MAX - rent}"
                )
            fields["is_native_option"], fields["is_native"] = 1, rent
            data = ACCOUNT_LAYOUT.build(fields) + tail
            lamports = rent + fields["amount"]
        else:
            lamports = max(existing.lamports if existing is not None else 0, rent)
        set_account(node, address, Account(lamports, data, program, False, 0))
        return address


def _new_account_extensions(mint_account: Account) -> bytes:
    """A new Token-2022 associated account: ImmutableOwner, plus TransferFeeAmount when the
    mint charges transfer fees (what the ATA program would create)."""
    tlv = (7).to_bytes(2, "little") + (0).to_bytes(2, "little")
    if 1 in extensions(bytes(mint_account.data)):
        tlv += (2).to_bytes(2, "little") + (8).to_bytes(2, "little") + bytes(8)
    return bytes([2]) + tlv


def time_travel(
    node: ChainNode,
    *,
    slot: int | None = None,
    epoch: int | None = None,
    timestamp_ms: int | None = None,
) -> None:
    """Move the clock (surfnet_timeTravel): to a slot, the first slot of an epoch, or the
    slot whose timestamp reaches a unix time in milliseconds (forward only)."""
    with node.lock:
        current = node.slot
        schedule = node.svm.get_epoch_schedule()
        if epoch is not None:
            target = schedule.get_first_slot_in_epoch(epoch)
        elif timestamp_ms is not None:
            now = node.block_time()
            seconds = timestamp_ms / 1000 - now
            target = current + max(0, int(-(-seconds // 0.4)))
            if seconds < 0:
                raise invalid_param(
                    f"cannot travel to {timestamp_ms} ms: the clock is already at {now * 1000} ms"
                )
        else:
            assert slot is not None
            target = slot
        if target < current and timestamp_ms is not None:
            raise invalid_param(
                f"cannot travel back in time: slot {target} is before the current slot {current}"
            )
        epochs = (
            schedule.get_epoch(target) - schedule.get_epoch(current)
            if target < 2**63
            else MAX_TRAVEL_EPOCHS + 1
        )
        if epochs > MAX_TRAVEL_EPOCHS:
            # Every epoch crossed is recorded in the StakeHistory sysvar (512 entries long).
            raise invalid_param(
                f"cannot travel more than {MAX_TRAVEL_EPOCHS} epochs ahead at once ({epochs} asked)"
            )
        if target != current:
            # Backward too (surfpool refuses): reev's stake setup opens "already active"
            # stake accounts two epochs back. Nothing is recorded on the way back.
            node.chain.warp_to_slot(target)
            node.emit(NodeEvent("slot", node.slot))


def reset_account(node: ChainNode, address: Pubkey, *, include_owned: bool = False) -> list[Pubkey]:
    """Put accounts back as they were when the node started (surfnet_resetAccount)."""
    with node.lock:
        targets = [address]
        if include_owned:
            targets += [key for key, _ in node.chain.accounts_owned_by(address)]
        reset = []
        for key in targets:
            if key not in node.originals:  # never written since the node started
                continue
            original = node.originals[key]
            node.chain.set_account(key, original if original is not None else empty_account())
            reset.append(key)
        if reset:
            node.emit(NodeEvent("accounts", node.slot, pubkeys=tuple(reset)))
        return reset
