"""The JSON-RPC server driven by clients nobody here wrote: solana-py's `AsyncClient` and
`SolanaWsClient`, plus raw HTTP for the shapes and errors, and `reev chain serve` as a process.

Each test serves a benchmark's initial state (as `reev chain serve` does) with uvicorn in a
thread (`LocalServer`) and records every call the server answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import base58
import pytest
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solana.rpc.models import TokenAccountOpts, TxOpts
from solana.rpc.websocket_api import SolanaWsClient
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    GetAccountInfoResp,
    GetProgramAccountsResp,
    GetTransactionResp,
    SimulateTransactionResp,
)
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.instructions import transfer_checked
from spl.token.models import TransferCheckedParams

from helpers.local_server import LocalServer
from helpers.paths import BENCHMARKS
from helpers.rpc import HTTP, call, chain_serve, post
from helpers.suite import benchmark
from reev.defi.market import market_addresses
from reev.rpc import ChainNode, create_app
from reev.rpc.handlers import METHODS
from reev.runner.chain_serve import ServedBenchmark, prepare

TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
SOL = 1_000_000_000


@dataclass
class Served:
    chain: ServedBenchmark
    url: str
    calls: list[dict[str, Any]]

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    @property
    def node(self) -> ChainNode:
        return self.chain.node

    @property
    def user(self) -> Keypair:
        return self.chain.keys.user

    def address(self, name: str) -> Pubkey:
        return self.chain.keys.addresses[name]


@contextlib.contextmanager
def serve(benchmark_id: str = "002-spl-transfer", seed: int = 7) -> Iterator[Served]:
    chain = prepare(benchmark(benchmark_id), seed)
    calls: list[dict[str, Any]] = []
    with LocalServer(create_app(chain.node, on_call=calls.append)) as server:
        yield Served(chain, server.url, calls)


def transfer_tx(payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash) -> VersionedTransaction:
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    return VersionedTransaction(
        Message.new_with_blockhash([ix], payer.pubkey(), blockhash), [payer]
    )


# ---- solana-py AsyncClient --------------------------------------------------------------------


def test_solana_py_transfer_confirm_and_balances():
    with serve() as s:

        async def scenario() -> None:
            user = s.user
            recipient = s.address("RECIPIENT_WALLET_PUBKEY")
            async with AsyncClient(s.url) as client:
                assert await client.is_connected()
                assert (await client.get_balance(user.pubkey())).value == 1 * SOL
                latest = (await client.get_latest_blockhash()).value
                tx = transfer_tx(user, recipient, SOL // 10, latest.blockhash)
                sig = (await client.send_transaction(tx)).value
                status = await client.confirm_transaction(
                    sig,
                    "confirmed",
                    sleep_seconds=0.05,
                    last_valid_block_height=latest.last_valid_block_height,
                )
                assert status.value[0].err is None
                assert (
                    str(status.value[0].confirmation_status)
                    == "TransactionConfirmationStatus.Finalized"
                )
                assert (await client.get_balance(user.pubkey())).value == SOL - SOL // 10 - 5000
                assert (await client.get_balance(recipient)).value == SOL + SOL // 10
                got = (await client.get_transaction(sig)).value
                assert got is not None and got.slot == status.value[0].slot
                meta = got.transaction.meta
                assert meta.fee == 5000 and meta.err is None
                assert meta.pre_balances[:2] == [SOL, SOL] and meta.post_balances[:2] == [
                    SOL - SOL // 10 - 5000,
                    SOL + SOL // 10,
                ]
                assert meta.log_messages == [
                    "Program 11111111111111111111111111111111 invoke [1]",
                    "Program 11111111111111111111111111111111 success",
                ]
                history = (await client.get_signatures_for_address(recipient)).value
                assert [h.signature for h in history] == [sig]
                # The same transaction again is a duplicate, as on a real cluster.
                with pytest.raises(RPCException, match="already been processed"):
                    await client.send_transaction(tx)
                epoch = (await client.get_epoch_info()).value
                assert epoch.absolute_slot == got.slot + 1 and epoch.transaction_count == 1

        asyncio.run(scenario())


def test_solana_py_token_accounts_and_spl_transfer():
    with serve() as s:

        async def scenario() -> None:
            user = s.user
            source = s.address("USER_USDC_ATA")
            destination = s.address("RECIPIENT_USDC_ATA")
            async with AsyncClient(s.url) as client:
                by_mint = (
                    await client.get_token_accounts_by_owner(
                        user.pubkey(), TokenAccountOpts(mint=USDC)
                    )
                ).value
                by_program = (
                    await client.get_token_accounts_by_owner(
                        user.pubkey(), TokenAccountOpts(program_id=TOKEN)
                    )
                ).value
                assert [a.pubkey for a in by_mint] == [a.pubkey for a in by_program] == [source]
                parsed = (
                    await client.get_token_accounts_by_owner_json_parsed(
                        user.pubkey(), TokenAccountOpts(program_id=TOKEN)
                    )
                ).value
                info = parsed[0].account.data.parsed["info"]
                assert (
                    parsed[0].account.data.program == "spl-token"
                    and parsed[0].account.data.space == 165
                )
                assert info["mint"] == str(USDC) and info["owner"] == str(user.pubkey())
                assert info["tokenAmount"] == {
                    "amount": "50000000",
                    "decimals": 6,
                    "uiAmount": 50.0,
                    "uiAmountString": "50",
                }
                balance = (await client.get_token_account_balance(source)).value
                assert (balance.amount, balance.decimals, balance.ui_amount_string) == (
                    "50000000",
                    6,
                    "50",
                )
                assert (await client.get_token_supply(USDC)).value.amount == "50000000"

                latest = (await client.get_latest_blockhash()).value
                ix = transfer_checked(
                    TransferCheckedParams(
                        program_id=TOKEN,
                        source=source,
                        mint=USDC,
                        dest=destination,
                        owner=user.pubkey(),
                        amount=15_000_000,
                        decimals=6,
                    )
                )
                message = MessageV0.try_compile(user.pubkey(), [ix], [], latest.blockhash)
                sig = (await client.send_transaction(VersionedTransaction(message, [user]))).value
                await client.confirm_transaction(sig, "finalized", sleep_seconds=0.05)
                assert (
                    await client.get_token_account_balance(source)
                ).value.ui_amount_string == "35"
                assert (
                    await client.get_token_account_balance(destination)
                ).value.amount == "15000000"
                # A v0 transaction needs maxSupportedTransactionVersion, as on a real cluster.
                with pytest.raises(RPCException, match="maxSupportedTransactionVersion"):
                    await client.get_transaction(sig)
                got = (await client.get_transaction(sig, max_supported_transaction_version=0)).value
                assert got is not None
                meta = got.transaction.meta
                pre = {(b.account_index, b.ui_token_amount.amount) for b in meta.pre_token_balances}
                post = {
                    (b.account_index, b.ui_token_amount.amount) for b in meta.post_token_balances
                }
                assert pre == {(1, "50000000"), (2, "0")} and post == {
                    (1, "35000000"),
                    (2, "15000000"),
                }
                assert all(b.mint == USDC for b in meta.post_token_balances)

        asyncio.run(scenario())


def test_preflight_failure_and_skip_preflight():
    with serve() as s:

        async def scenario() -> None:
            user, recipient = s.user, s.address("RECIPIENT_WALLET_PUBKEY")
            async with AsyncClient(s.url) as client:
                blockhash = (await client.get_latest_blockhash()).value.blockhash
                too_much = transfer_tx(user, recipient, 5 * SOL, blockhash)
                with pytest.raises(RPCException) as failure:
                    await client.send_transaction(too_much)
                error = failure.value.args[0]
                assert error.message.startswith(
                    "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1"
                )
                assert any("insufficient lamports" in line for line in error.data.logs)
                assert (await client.get_balance(user.pubkey())).value == SOL  # nothing landed
                # skipPreflight: the failing transaction lands and pays its fee.
                sig = (await client.send_transaction(too_much, TxOpts(skip_preflight=True))).value
                status = (await client.get_signature_statuses([sig])).value[0]
                assert status is not None and status.err is not None
                assert (await client.get_balance(user.pubkey())).value == SOL - 5000

        asyncio.run(scenario())
    raw = s.calls[-1]
    assert raw["method"] == "getBalance" and raw["ok"]


def test_preflight_error_shape_is_agaves():
    with serve() as s:
        blockhash = Hash.from_string(
            call(s.url, "getLatestBlockhash")["result"]["value"]["blockhash"]
        )
        tx = transfer_tx(s.user, s.address("RECIPIENT_WALLET_PUBKEY"), 5 * SOL, blockhash)
        import base64

        answer = call(
            s.url, "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}]
        )
        assert answer["id"] == 1 and answer["jsonrpc"] == "2.0"
        error = answer["error"]
        assert error["code"] == -32002
        assert error["data"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
        assert error["data"]["accounts"] is None and error["data"]["unitsConsumed"] == 150
        # Default encoding is base58, as in Agave.
        answer = call(s.url, "sendTransaction", [base58.b58encode(bytes(tx)).decode()])
        assert answer["error"]["code"] == -32002
        # An unknown blockhash fails preflight with Agave's message.
        stale = transfer_tx(s.user, s.address("RECIPIENT_WALLET_PUBKEY"), 1, Hash.new_unique())
        answer = call(s.url, "sendTransaction", [base58.b58encode(bytes(stale)).decode()])
        assert answer["error"]["code"] == -32002
        assert answer["error"]["message"] == "Transaction simulation failed: Blockhash not found"
        assert answer["error"]["data"]["err"] == "BlockhashNotFound"
        # A bad signature: Agave's -32003.
        forged = VersionedTransaction.populate(tx.message, [Keypair().sign_message(b"x")])
        answer = call(s.url, "sendTransaction", [base58.b58encode(bytes(forged)).decode()])
        assert answer["error"] == {
            "code": -32003,
            "message": "Transaction signature verification failure",
        }


def test_blockhash_window_matches_what_send_accepts():
    """LiteSVM alone accepts only its latest blockhash; the node keeps 150 blocks' worth."""
    with serve() as s:
        first = call(s.url, "getLatestBlockhash")["result"]["value"]
        recipient = s.address("RECIPIENT_WALLET_PUBKEY")
        for lamports in (1_000_000, 2_000_000, 3_000_000):
            now = Hash.from_string(
                call(s.url, "getLatestBlockhash")["result"]["value"]["blockhash"]
            )
            tx = transfer_tx(s.user, recipient, lamports, now)
            assert "result" in call(
                s.url, "sendTransaction", [base58.b58encode(bytes(tx)).decode()]
            )
        latest = call(s.url, "getLatestBlockhash")["result"]["value"]
        assert latest["blockhash"] != first["blockhash"]
        assert latest["lastValidBlockHeight"] == first["lastValidBlockHeight"] + 3
        assert call(s.url, "getBlockHeight")["result"] == latest["lastValidBlockHeight"] - 150
        assert call(s.url, "isBlockhashValid", [first["blockhash"]])["result"]["value"] is True
        assert (
            call(s.url, "isBlockhashValid", [str(Hash.new_unique())]).get("result")["value"]
            is False
        )
        old = transfer_tx(s.user, recipient, 4_000_000, Hash.from_string(first["blockhash"]))
        assert "result" in call(s.url, "sendTransaction", [base58.b58encode(bytes(old)).decode()])
        assert s.node.lamports(recipient) == SOL + 10_000_000
        # Past the window the blockhash is gone, for every method alike.
        s.node.block_height += 151
        assert call(s.url, "isBlockhashValid", [first["blockhash"]])["result"]["value"] is False
        again = transfer_tx(s.user, recipient, 5_000_000, Hash.from_string(first["blockhash"]))
        assert (
            call(s.url, "sendTransaction", [base58.b58encode(bytes(again)).decode()])["error"][
                "data"
            ]["err"]
            == "BlockhashNotFound"
        )
        message = base64_of(bytes(again.message))
        assert call(s.url, "getFeeForMessage", [message])["result"]["value"] is None


def base64_of(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def test_simulate_transaction_shapes():
    with serve() as s:
        recipient = s.address("RECIPIENT_WALLET_PUBKEY")
        unsigned = VersionedTransaction.populate(
            Message.new_with_blockhash(
                [
                    transfer(
                        TransferParams(
                            from_pubkey=s.user.pubkey(), to_pubkey=recipient, lamports=SOL // 2
                        )
                    )
                ],
                s.user.pubkey(),
                Hash.default(),
            ),
            [Keypair().sign_message(b"unsigned")],
        )
        params = [
            base64_of(bytes(unsigned)),
            {
                "encoding": "base64",
                "replaceRecentBlockhash": True,
                "accounts": {"addresses": [str(recipient)], "encoding": "base64"},
            },
        ]
        raw = post(
            s.url, {"jsonrpc": "2.0", "id": 3, "method": "simulateTransaction", "params": params}
        ).text
        parsed = SimulateTransactionResp.from_json(raw)  # what solana-py parses
        assert parsed.value.err is None and parsed.value.units_consumed == 150
        value = json.loads(raw)["result"]["value"]
        assert (
            value["replacementBlockhash"]["blockhash"]
            == call(s.url, "getLatestBlockhash")["result"]["value"]["blockhash"]
        )
        assert value["accounts"][0]["lamports"] == SOL + SOL // 2
        assert value["fee"] == 5000
        assert s.node.lamports(recipient) == SOL  # nothing committed
        params[1]["sigVerify"] = True
        assert call(s.url, "simulateTransaction", params)["error"]["code"] == -32602
        del params[1]["replaceRecentBlockhash"]
        assert call(s.url, "simulateTransaction", params)["error"]["code"] == -32003
        del params[1]["sigVerify"]
        assert (
            call(s.url, "simulateTransaction", params)["result"]["value"]["err"]
            == "BlockhashNotFound"
        )


def test_account_encodings_and_program_account_filters():
    with serve() as s:
        source = s.address("USER_USDC_ATA")
        # Agave refuses base58 (the default, "binary") for more than 128 bytes.
        answer = call(s.url, "getAccountInfo", [str(source)])
        assert answer["error"]["code"] == -32602 and "128 bytes" in answer["error"]["message"]
        raw = post(
            s.url,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "getAccountInfo",
                "params": [str(source), {"encoding": "base64"}],
            },
        ).text
        account = GetAccountInfoResp.from_json(raw).value
        assert account is not None and account.owner == TOKEN and len(account.data) == 165
        value = json.loads(raw)["result"]["value"]
        assert value["space"] == 165 and value["data"][1] == "base64"
        sliced = call(
            s.url,
            "getAccountInfo",
            [str(source), {"encoding": "base58", "dataSlice": {"offset": 32, "length": 32}}],
        )
        assert sliced["result"]["value"]["data"] == [str(s.user.pubkey()), "base58"]
        mint = call(s.url, "getAccountInfo", [str(USDC), {"encoding": "jsonParsed"}])["result"][
            "value"
        ]["data"]
        assert mint["parsed"] == {
            "type": "mint",
            "info": {
                "mintAuthority": None,
                "supply": "50000000",
                "decimals": 6,
                "isInitialized": True,
                "freezeAuthority": None,
            },
        }
        # Not parseable as a token account: jsonParsed falls back to base64.
        wallet = call(s.url, "getAccountInfo", [str(s.user.pubkey()), {"encoding": "jsonParsed"}])[
            "result"
        ]["value"]
        assert wallet["data"] == ["", "base64"] and wallet["lamports"] == SOL
        assert call(s.url, "getAccountInfo", [str(Pubkey.new_unique())])["result"]["value"] is None
        many = call(
            s.url,
            "getMultipleAccounts",
            [[str(source), str(Pubkey.new_unique())], {"encoding": "base64"}],
        )
        assert (
            many["result"]["value"][0]["owner"] == str(TOKEN) and many["result"]["value"][1] is None
        )

        filters = [{"dataSize": 165}, {"memcmp": {"offset": 32, "bytes": str(s.user.pubkey())}}]
        raw = post(
            s.url,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "getProgramAccounts",
                "params": [str(TOKEN), {"encoding": "base64", "filters": filters}],
            },
        ).text
        found = GetProgramAccountsResp.from_json(raw).value
        assert [a.pubkey for a in found] == [source]
        by_base64 = [
            {"memcmp": {"offset": 0, "bytes": base64_of(bytes(USDC)), "encoding": "base64"}}
        ]
        all_usdc = call(
            s.url,
            "getProgramAccounts",
            [str(TOKEN), {"encoding": "base64", "filters": by_base64, "withContext": True}],
        )
        # the benchmark's two USDC accounts, besides the default market's vaults (reev.defi.market)
        market = {str(a) for a in market_addresses()}
        assert {a["pubkey"] for a in all_usdc["result"]["value"]} - market == {
            str(source),
            str(s.address("RECIPIENT_USDC_ATA")),
        }
        mints = call(
            s.url,
            "getProgramAccounts",
            [str(TOKEN), {"filters": [{"dataSize": 82}], "encoding": "base64"}],
        )
        benchmark_mints = {str(USDC), "So11111111111111111111111111111111111111112"}
        found = {a["pubkey"] for a in mints["result"]}
        # the benchmark's mints, and otherwise only the default market's (its mints, LP mints)
        assert found >= benchmark_mints and found - benchmark_mints <= market


def test_get_transaction_encodings_parse_with_solders():
    with serve() as s:

        async def send() -> str:
            async with AsyncClient(s.url) as client:
                blockhash = (await client.get_latest_blockhash()).value.blockhash
                tx = transfer_tx(s.user, s.address("RECIPIENT_WALLET_PUBKEY"), 1_000_000, blockhash)
                return str((await client.send_transaction(tx)).value)

        sig = asyncio.run(send())
        for encoding in ("json", "jsonParsed", "base64", "base58"):
            raw = post(
                s.url,
                {
                    "jsonrpc": "2.0",
                    "id": 9,
                    "method": "getTransaction",
                    "params": [sig, {"encoding": encoding, "maxSupportedTransactionVersion": 0}],
                },
            ).text
            parsed = GetTransactionResp.from_json(raw).value
            assert parsed is not None and parsed.transaction.meta.fee == 5000, encoding
            result = json.loads(raw)["result"]
            assert result["version"] == "legacy" and "costUnits" not in result["meta"]
        assert "version" not in call(s.url, "getTransaction", [sig])["result"]
        assert (
            call(s.url, "getTransaction", [str(Keypair().sign_message(b"none"))])["result"] is None
        )
        statuses = call(s.url, "getSignatureStatuses", [[sig, str(Keypair().sign_message(b"x"))]])[
            "result"
        ]
        assert (
            statuses["value"][0]["confirmationStatus"] == "finalized"
            and statuses["value"][1] is None
        )
        assert statuses["context"]["slot"] == statuses["value"][0]["slot"] + 1


def test_misc_methods():
    with serve() as s:
        assert call(s.url, "getHealth")["result"] == "ok"
        assert HTTP.get(f"{s.url}/health").text == "ok"
        assert set(call(s.url, "getVersion")["result"]) == {"solana-core", "feature-set"}
        assert call(s.url, "getMinimumBalanceForRentExemption", [165])["result"] == 2039280
        assert call(s.url, "getMinimumBalanceForRentExemption", [0])["result"] == 890880
        slot = call(s.url, "getSlot")["result"]
        assert call(s.url, "getSlot", [{"commitment": "processed"}])["result"] == slot
        too_soon = call(s.url, "getBalance", [str(s.user.pubkey()), {"minContextSlot": slot + 5}])[
            "error"
        ]
        assert too_soon == {
            "code": -32016,
            "message": "Minimum context slot has not been reached",
            "data": {"contextSlot": slot},
        }
        fees = call(s.url, "getRecentPrioritizationFees", [[str(s.user.pubkey())]])["result"]
        assert fees == [{"slot": slot, "prioritizationFee": 0}]
        blockhash = Hash.from_string(
            call(s.url, "getLatestBlockhash")["result"]["value"]["blockhash"]
        )
        from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price

        ixs = [
            set_compute_unit_limit(10_000),
            set_compute_unit_price(1_000_000),
            transfer(
                TransferParams(
                    from_pubkey=s.user.pubkey(),
                    to_pubkey=s.address("RECIPIENT_WALLET_PUBKEY"),
                    lamports=1,
                )
            ),
        ]
        message = Message.new_with_blockhash(ixs, s.user.pubkey(), blockhash)
        assert (
            call(s.url, "getFeeForMessage", [base64_of(bytes(message))])["result"]["value"]
            == 15_000
        )
        tx = VersionedTransaction(message, [s.user])
        sig = call(s.url, "sendTransaction", [base64_of(bytes(tx)), {"encoding": "base64"}])[
            "result"
        ]
        landed = call(s.url, "getTransaction", [sig])["result"]
        assert landed["meta"]["fee"] == 15_000  # what getFeeForMessage said, what LiteSVM charged
        fees = call(s.url, "getRecentPrioritizationFees", [[str(s.user.pubkey())]])["result"]
        assert fees[-2:] == [
            {"slot": landed["slot"], "prioritizationFee": 1_000_000},
            {"slot": landed["slot"] + 1, "prioritizationFee": 0},
        ]
        largest = call(s.url, "getTokenLargestAccounts", [str(USDC)])["result"]["value"]
        market = {str(a) for a in market_addresses()}  # the default market's vaults
        largest = [a for a in largest if a["address"] not in market]
        assert (
            largest[0]["address"] == str(s.address("USER_USDC_ATA"))
            and largest[0]["amount"] == "50000000"
        )
        batch = post(
            s.url, [{"jsonrpc": "2.0", "id": i, "method": "getSlot"} for i in range(3)]
        ).json()
        assert [a["id"] for a in batch] == [0, 1, 2] and all(a["result"] == slot + 1 for a in batch)
        # A notification (no id) gets no answer.
        assert post(s.url, {"jsonrpc": "2.0", "method": "getSlot"}).content == b""


def test_airdrop_and_cheat_codes():
    with serve() as s:
        stranger = Pubkey.new_unique()

        async def scenario() -> None:
            async with AsyncClient(s.url) as client:
                sig = (await client.request_airdrop(stranger, 2 * SOL)).value
                await client.confirm_transaction(sig, sleep_seconds=0.05)
                assert (await client.get_balance(stranger)).value == 2 * SOL

        asyncio.run(scenario())
        user = str(s.user.pubkey())
        assert (
            call(s.url, "surfnet_setAccount", [user, {"lamports": 42 * SOL, "data": "0xdeadbeef"}])[
                "result"
            ]["value"]
            is None
        )
        account = call(s.url, "getAccountInfo", [user, {"encoding": "base64"}])["result"]["value"]
        assert account["lamports"] == 42 * SOL and account["data"] == [
            base64_of(bytes.fromhex("deadbeef")),
            "base64",
        ]
        assert call(s.url, "surfnet_setAccount", [user, {"data": "zz"}])["error"]["code"] == -32602
        # A token account for a wallet that has none: created at its associated address.
        assert "result" in call(
            s.url, "surfnet_setTokenAccount", [str(stranger), str(USDC), {"amount": 7_000_000}]
        )
        owned = call(
            s.url,
            "getTokenAccountsByOwner",
            [str(stranger), {"mint": str(USDC)}, {"encoding": "jsonParsed"}],
        )
        (entry,) = owned["result"]["value"]
        assert entry["account"]["data"]["parsed"]["info"]["tokenAmount"]["uiAmountString"] == "7"
        update = {"amount": 1, "state": "frozen", "delegate": user, "delegatedAmount": 1}
        call(s.url, "surfnet_setTokenAccount", [str(stranger), str(USDC), update, str(TOKEN)])
        info = call(s.url, "getAccountInfo", [entry["pubkey"], {"encoding": "jsonParsed"}])[
            "result"
        ]["value"]["data"]["parsed"]["info"]
        assert (
            info["state"] == "frozen"
            and info["delegate"] == user
            and info["delegatedAmount"]["amount"] == "1"
        )
        call(s.url, "surfnet_setTokenAccount", [str(stranger), str(USDC), {"delegate": "null"}])
        info = call(s.url, "getAccountInfo", [entry["pubkey"], {"encoding": "jsonParsed"}])[
            "result"
        ]["value"]["data"]["parsed"]["info"]
        assert "delegate" not in info
        # resetAccount: back to the state the chain started with (absent accounts disappear).
        call(s.url, "surfnet_resetAccount", [user])
        assert call(s.url, "getBalance", [user])["result"]["value"] == SOL
        call(s.url, "surfnet_resetAccount", [entry["pubkey"]])
        assert call(s.url, "getAccountInfo", [entry["pubkey"]])["result"]["value"] is None
        # timeTravel: forward only; the clock and epoch follow.
        epoch = call(s.url, "getEpochInfo")["result"]["epoch"]
        travelled = call(s.url, "surfnet_timeTravel", [{"absoluteEpoch": epoch + 2}])["result"]
        assert travelled["epoch"] == epoch + 2 and travelled["slotIndex"] == 0
        assert call(s.url, "getEpochInfo")["result"] == travelled
        assert (
            call(s.url, "surfnet_timeTravel", [{"absoluteTimestamp": 5}])["error"]["code"] == -32602
        )  # the past
        assert (
            call(s.url, "surfnet_timeTravel", [{"absoluteEpoch": epoch + 10_000}])["error"]["code"]
            == -32602
        )
        back = call(s.url, "surfnet_timeTravel", [{"absoluteEpoch": epoch}])[
            "result"
        ]  # reev goes back too
        assert back["epoch"] == epoch
        assert call(s.url, "surfnet_timeTravel", [{}])["error"]["code"] == -32602


# ---- WebSocket -------------------------------------------------------------------------------------


def test_websocket_subscriptions_with_solana_py():
    with serve() as s:

        async def scenario() -> None:
            user, recipient = s.user, s.address("RECIPIENT_WALLET_PUBKEY")
            async with AsyncClient(s.url) as client, SolanaWsClient(s.ws_url) as ws:
                account_sub = await ws.account_subscribe(pubkey=recipient, encoding="base64")
                slot_sub = await ws.slot_subscribe()
                logs_sub = await ws.logs_subscribe()
                blockhash = (await client.get_latest_blockhash()).value.blockhash
                tx = transfer_tx(user, recipient, 3 * SOL // 10, blockhash)
                # Subscribed before it is sent: the notification comes when it lands.
                signature_sub = await ws.signature_subscribe(
                    signature=tx.signatures[0], commitment="finalized"
                )
                await client.send_transaction(tx)
                seen: dict[int, Any] = {}
                while len(seen) < 4:
                    note = await asyncio.wait_for(ws.recv(), 10)
                    seen[note.subscription] = note.result
                assert seen[signature_sub.subscription_id].value.err is None
                assert seen[account_sub.subscription_id].value.lamports == SOL + 3 * SOL // 10
                assert seen[logs_sub.subscription_id].value.signature == tx.signatures[0]
                assert (
                    seen[slot_sub.subscription_id].slot
                    == seen[signature_sub.subscription_id].context.slot + 1
                )
                await ws.unsubscribe(account_sub)
                # Subscribed after it landed: notified at once, as the transaction is final.
                late = await ws.signature_subscribe(
                    signature=tx.signatures[0], commitment="confirmed"
                )
                while True:
                    note = await asyncio.wait_for(ws.recv(), 10)
                    if note.subscription == late.subscription_id:
                        break

        asyncio.run(scenario())
        assert any(
            c["transport"] == "ws" and c["method"] == "accountUnsubscribe" and c["ok"]
            for c in s.calls
        )


def test_websocket_bad_input_keeps_connection():
    import websockets.sync.client as wsc

    with serve() as s, wsc.connect(s.ws_url) as ws:
        ws.send("{not json")
        assert json.loads(ws.recv())["error"]["code"] == -32700
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getBalance", "params": []}))
        assert json.loads(ws.recv())["error"] == {"code": -32601, "message": "Method not found"}
        ws.send(
            json.dumps(
                {"jsonrpc": "2.0", "id": 2, "method": "accountSubscribe", "params": ["nope"]}
            )
        )
        assert json.loads(ws.recv())["error"]["code"] == -32602
        ws.send(
            json.dumps({"jsonrpc": "2.0", "id": 3, "method": "slotUnsubscribe", "params": [99]})
        )
        assert json.loads(ws.recv())["error"]["message"] == "Invalid subscription id."
        ws.send("x" * 60_000)
        assert json.loads(ws.recv())["error"]["code"] == -32600
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 4, "method": "slotSubscribe"}))
        assert json.loads(ws.recv()) == {"jsonrpc": "2.0", "result": 1, "id": 4}


# ---- bad input ---------------------------------------------------------------------------------------


def _is_error(answer: Any, code: int | None = None) -> bool:
    return (
        isinstance(answer, dict)
        and answer.get("jsonrpc") == "2.0"
        and isinstance(answer.get("error"), dict)
        and isinstance(answer["error"].get("code"), int)
        and isinstance(answer["error"].get("message"), str)
        and (code is None or answer["error"]["code"] == code)
    )


def test_fuzz_bad_input_gets_json_rpc_errors_and_server_keeps_serving():
    with serve() as s:
        url = s.url
        valid_tx = transfer_tx(s.user, s.address("RECIPIENT_WALLET_PUBKEY"), 1, Hash.default())
        cases: list[tuple[Any, int]] = [
            (b"{not json", -32700),
            (b"", -32700),
            (b"\xff\xfe\x00garbage", -32700),
            (b"[" * 100_00 + b"]" * 100_00, -32700),  # nesting too deep to parse
            (b"[]", -32600),
            (b"42", -32600),
            ({"jsonrpc": "2.0", "id": 1}, -32600),
            ({"jsonrpc": "1.0", "id": 1, "method": "getSlot"}, -32600),
            ({"jsonrpc": "2.0", "id": {"a": 1}, "method": "getSlot"}, -32600),
            ({"jsonrpc": "2.0", "id": 1, "method": 5}, -32600),
            ({"jsonrpc": "2.0", "id": 1, "method": "getSlot", "params": "x"}, -32600),
            ({"jsonrpc": "2.0", "id": 1, "method": "noSuchMethod"}, -32601),
            ({"jsonrpc": "2.0", "id": 1, "method": "getBalance"}, -32602),
            (
                {"jsonrpc": "2.0", "id": 1, "method": "getBalance", "params": {"pubkey": "x"}},
                -32602,
            ),
            ({"jsonrpc": "2.0", "id": 1, "method": "getBalance", "params": [12]}, -32602),
            ({"jsonrpc": "2.0", "id": 1, "method": "getBalance", "params": ["0OIl"]}, -32602),
            ({"jsonrpc": "2.0", "id": 1, "method": "getBalance", "params": ["1" * 500]}, -32602),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getBalance",
                    "params": [str(Pubkey.default()), "finalized"],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getBalance",
                    "params": [str(Pubkey.default()), {"commitment": "soon"}],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getMinimumBalanceForRentExemption",
                    "params": [-1],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getMinimumBalanceForRentExemption",
                    "params": [1.5],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getMinimumBalanceForRentExemption",
                    "params": [True],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getMultipleAccounts",
                    "params": [[str(Pubkey.default())] * 101],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getProgramAccounts",
                    "params": [str(TOKEN), {"filters": [{"memcmp": {"offset": "x"}}]}],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getProgramAccounts",
                    "params": [str(TOKEN), {"filters": [{"bogus": 1}]}],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getTokenAccountBalance",
                    "params": [str(s.user.pubkey())],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getTokenSupply",
                    "params": [str(s.user.pubkey())],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getTokenAccountsByOwner",
                    "params": [str(s.user.pubkey())],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getTokenAccountsByOwner",
                    "params": [str(s.user.pubkey()), {"programId": str(Pubkey.default())}],
                },
                -32602,
            ),
            (
                {"jsonrpc": "2.0", "id": 1, "method": "getSignatureStatuses", "params": [["nope"]]},
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getSignaturesForAddress",
                    "params": [str(Pubkey.default()), {"limit": 0}],
                },
                -32602,
            ),
            (
                {"jsonrpc": "2.0", "id": 1, "method": "getTransaction", "params": ["x" * 200]},
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "sendTransaction",
                    "params": ["not base58 0OIl"],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "sendTransaction",
                    "params": ["!!!", {"encoding": "base64"}],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "sendTransaction",
                    "params": [base64_of(b"\x01" * 40), {"encoding": "base64"}],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "sendTransaction",
                    "params": [base64_of(bytes(valid_tx)[:-3]), {"encoding": "base64"}],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "sendTransaction",
                    "params": [base64_of(b"\x00" * 1300), {"encoding": "base64"}],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "sendTransaction",
                    "params": ["A" * 3000, {"encoding": "base64"}],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "sendTransaction",
                    "params": [base64_of(bytes(valid_tx)), {"encoding": "hex"}],
                },
                -32602,
            ),
            ({"jsonrpc": "2.0", "id": 1, "method": "sendTransaction", "params": [12345]}, -32602),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "simulateTransaction",
                    "params": [base64_of(b"junk"), {"encoding": "base64"}],
                },
                -32602,
            ),
            ({"jsonrpc": "2.0", "id": 1, "method": "getFeeForMessage", "params": ["%%%"]}, -32602),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getFeeForMessage",
                    "params": [base64_of(b"\x80\x01")],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "requestAirdrop",
                    "params": [str(Pubkey.default()), -5],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "requestAirdrop",
                    "params": [str(Pubkey.default()), 2**64],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "surfnet_setAccount",
                    "params": [str(Pubkey.default()), {"lamports": "many"}],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "surfnet_setTokenAccount",
                    "params": [str(Pubkey.default()), str(Pubkey.default()), {}],
                },
                -32602,
            ),
            (
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "surfnet_setTokenAccount",
                    "params": [str(Pubkey.default()), str(USDC), {"state": "melted"}],
                },
                -32602,
            ),
        ]
        for payload, code in cases:
            response = post(url, payload)
            answer = response.json()
            assert _is_error(answer, code), (
                payload if not isinstance(payload, bytes) else payload[:60],
                answer,
            )
            assert response.status_code == 200
        # Oversized bodies: HTTP 413 with a JSON-RPC error, whatever their size.
        for size in (60_000, 5_000_000):
            response = post(
                url,
                b'{"jsonrpc":"2.0","id":1,"method":"getSlot","params":["' + b"a" * size + b'"]}',
            )
            assert response.status_code == 413 and _is_error(response.json(), -32600)
        # Cheat codes may carry a program (a 100 KB+ ELF as hex): a body of surfnet_* calls only
        # may be larger; mixed with anything else, Agave's limit holds.
        program = Pubkey.new_unique()
        big = {
            "lamports": 10**9,
            "data": (b"\x01" * 60_000).hex(),
            "owner": str(TOKEN),
            "executable": False,
        }
        answer = post(
            url,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "surfnet_setAccount",
                "params": [str(program), big],
            },
        )
        assert answer.status_code == 200 and "error" not in answer.json(), answer.text[:200]
        assert s.node.get_account(program).data == b"\x01" * 60_000
        mixed = [
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "surfnet_setAccount",
                "params": [str(program), big],
            },
            {"jsonrpc": "2.0", "id": 2, "method": "getSlot"},
        ]
        assert post(url, mixed).status_code == 413
        # A batch answers each member, errors included.
        batch = post(
            url,
            [
                {"jsonrpc": "2.0", "id": 1, "method": "getSlot"},
                7,
                {"jsonrpc": "2.0", "id": 2, "method": "nope"},
            ],
        ).json()
        assert (
            batch[0]["result"] > 0 and _is_error(batch[1], -32600) and _is_error(batch[2], -32601)
        )
        assert call(url, "getHealth") == {"jsonrpc": "2.0", "result": "ok", "id": 1}


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    choices = [
        lambda: None,
        lambda: True,
        lambda: rng.randint(-(2**70), 2**70),
        lambda: rng.random() * 1e6,
        lambda: "",
        lambda: "x" * rng.randint(1, 300),
        lambda: str(Pubkey.new_unique()),
        lambda: str(Keypair().sign_message(b"f")),
        lambda: base64_of(os.urandom(rng.randint(0, 1400))),
        lambda: base58.b58encode(os.urandom(rng.randint(0, 200))).decode(),
        lambda: "finalized",
        lambda: "base64",
        lambda: "jsonParsed",
    ]
    if depth < 2:
        choices += [
            lambda: [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))],
            lambda: {
                rng.choice(
                    [
                        "encoding",
                        "commitment",
                        "filters",
                        "dataSlice",
                        "limit",
                        "before",
                        "mint",
                        "programId",
                        "skipPreflight",
                        "sigVerify",
                        "replaceRecentBlockhash",
                        "accounts",
                        "minContextSlot",
                        "maxSupportedTransactionVersion",
                        "amount",
                        "lamports",
                        "data",
                        "absoluteSlot",
                    ]
                ): _random_value(rng, depth + 1)
                for _ in range(rng.randint(0, 4))
            },
        ]
    return rng.choice(choices)()


@pytest.mark.slow
def test_random_params_for_every_method_never_crash():
    """Random parameters for every method: an answer each time, and never an internal error
    (-32603 means a handler let an exception escape)."""
    rng = random.Random(8)
    with serve() as s:
        internal = []
        for name in sorted(METHODS):
            for _ in range(40):
                params = [_random_value(rng) for _ in range(rng.randint(0, 4))]
                answer = call(s.url, name, params)
                assert ("result" in answer) != ("error" in answer), (name, params, answer)
                if "error" in answer and answer["error"]["code"] == -32603:
                    internal.append((name, params, answer["error"]["message"]))
        assert not internal, internal[:3]
        assert call(s.url, "getHealth")["result"] == "ok"


def test_concurrent_clients():
    with serve() as s:

        async def scenario() -> None:
            recipient = s.address("RECIPIENT_WALLET_PUBKEY")
            async with AsyncClient(s.url) as client:
                blockhash = (await client.get_latest_blockhash()).value.blockhash
                txs = [transfer_tx(s.user, recipient, 1_000 + i, blockhash) for i in range(20)]
                results = await asyncio.gather(
                    *(client.send_transaction(tx) for tx in txs),
                    *(client.get_balance(recipient) for _ in range(20)),
                )
                assert len({str(r.value) for r in results[:20]}) == 20
                statuses = (
                    await client.get_signature_statuses([r.value for r in results[:20]])
                ).value
                assert all(st is not None and st.err is None for st in statuses)

        asyncio.run(scenario())
        assert s.node.transaction_count == 20


# ---- `reev chain serve` as a process ----------------------------------------------------------------


@pytest.mark.slow
def test_reev_chain_serve_subprocess(tmp_path):
    with chain_serve(BENCHMARKS / "002-spl-transfer.yml", tmp_path, "--seed", "3") as info:
        secret = json.loads(Path(info["keypair"]).read_text())
        assert len(secret) == 64 and all(isinstance(b, int) and 0 <= b < 256 for b in secret)
        user = Keypair.from_bytes(bytes(secret))
        assert str(user.pubkey()) == info["wallet"] == info["addresses"]["USER_WALLET_PUBKEY"]
        assert oct(Path(info["keypair"]).stat().st_mode & 0o777) == "0o600"
        assert info["rpc_url"].startswith("http://127.0.0.1:") and info["ws_url"].startswith(
            "ws://127.0.0.1:"
        )
        assert info["addresses"]["USER_USDC_ATA"] in info["prompt"]
        # Same addresses as `reev run --seed 3` gives the episode.
        from reev.runner.suite import episode_seed
        from reev.spec.placeholders import resolve_placeholders

        keys = resolve_placeholders(
            benchmark("002-spl-transfer"), episode_seed(3, "002-spl-transfer", 0)
        )
        assert info["wallet"] == str(keys.user.pubkey())

        async def scenario() -> None:
            async with AsyncClient(info["rpc_url"]) as client:
                assert await client.is_connected()  # straight after the line: no start-up race
                assert (await client.get_balance(user.pubkey())).value == SOL
                source = Pubkey.from_string(info["addresses"]["USER_USDC_ATA"])
                assert (await client.get_token_account_balance(source)).value.amount == "50000000"

        asyncio.run(scenario())


@pytest.mark.slow
def test_reev_chain_serve_rejects_a_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "reev.cli", "chain", "serve", str(BENCHMARKS), "--port", "0"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "serve one benchmark file" in result.stderr


def test_unreachable_server_raises_in_client():
    """Sanity check for the helpers: a closed port is an error in the client, not a hang."""

    async def scenario() -> None:
        async with AsyncClient("http://127.0.0.1:9", timeout=2) as client:
            with pytest.raises(SolanaRpcException):
                await client.get_slot()

    asyncio.run(scenario())


def test_inner_instructions_token_2022_extensions_and_cheat_code_notifications():
    import websockets.sync.client as wsc
    from spl.token.instructions import create_associated_token_account

    token_2022 = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
    with serve("040-token2022-transfer-fee") as s, wsc.connect(s.ws_url) as ws:
        mint = s.address("ARCADE_TOKEN_MINT")
        parsed = call(s.url, "getAccountInfo", [str(mint), {"encoding": "jsonParsed"}])["result"][
            "value"
        ]["data"]
        assert parsed["program"] == "spl-token-2022" and parsed["parsed"]["type"] == "mint"
        (fee_config,) = [
            e
            for e in parsed["parsed"]["info"]["extensions"]
            if e["extension"] == "transferFeeConfig"
        ]
        assert fee_config["state"]["newerTransferFee"]["transferFeeBasisPoints"] == 100
        account = call(
            s.url, "getAccountInfo", [str(s.address("USER_ARCADE_ATA")), {"encoding": "jsonParsed"}]
        )
        info = account["result"]["value"]["data"]["parsed"]["info"]
        assert {e["extension"] for e in info["extensions"]} == {
            "transferFeeAmount",
            "immutableOwner",
        }
        assert info["tokenAmount"]["uiAmountString"] == "1000"

        ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "programSubscribe",
                    "params": [
                        str(token_2022),
                        {
                            "encoding": "jsonParsed",
                            "filters": [{"memcmp": {"offset": 32, "bytes": str(s.user.pubkey())}}],
                        },
                    ],
                }
            )
        )
        program_sub = json.loads(ws.recv())["result"]
        ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "accountSubscribe",
                    "params": [str(s.user.pubkey()), {"encoding": "base64"}],
                }
            )
        )
        account_sub = json.loads(ws.recv())["result"]
        # A cheat code writes the wallet: its subscribers hear about it.
        call(s.url, "surfnet_setAccount", [str(s.user.pubkey()), {"lamports": 3 * SOL}])
        note = json.loads(ws.recv())
        assert (
            note["method"] == "accountNotification"
            and note["params"]["subscription"] == account_sub
        )
        assert note["params"]["result"]["value"]["lamports"] == 3 * SOL

        # Creating the user's associated account for another Token-2022 mint: the ATA program
        # calls System and Token-2022 (inner instructions); the new account is the user's.
        other_mint = Pubkey.new_unique()
        call(
            s.url,
            "surfnet_setAccount",
            [
                str(other_mint),
                {"lamports": SOL, "owner": str(token_2022), "data": call_data_of(s, mint)},
            ],
        )
        blockhash = Hash.from_string(
            call(s.url, "getLatestBlockhash")["result"]["value"]["blockhash"]
        )
        ix = create_associated_token_account(
            s.user.pubkey(), s.user.pubkey(), other_mint, token_2022
        )
        tx = VersionedTransaction(
            Message.new_with_blockhash([ix], s.user.pubkey(), blockhash), [s.user]
        )
        simulated = call(
            s.url,
            "simulateTransaction",
            [base64_of(bytes(tx)), {"encoding": "base64", "innerInstructions": True}],
        )
        assert (
            simulated["result"]["value"]["err"] is None
            and simulated["result"]["value"]["innerInstructions"]
        )
        sig = call(s.url, "sendTransaction", [base64_of(bytes(tx)), {"encoding": "base64"}])[
            "result"
        ]
        got = call(s.url, "getTransaction", [sig, {"encoding": "json"}])["result"]
        assert got["meta"]["err"] is None
        (inner,) = got["meta"]["innerInstructions"]
        assert inner["index"] == 0 and len(inner["instructions"]) >= 3
        assert all(i["stackHeight"] == 2 for i in inner["instructions"])
        keys = got["transaction"]["message"]["accountKeys"]
        assert {keys[i["programIdIndex"]] for i in inner["instructions"]} == {
            SYSTEM_ID,
            str(token_2022),
        }
        parsed_tx = post(
            s.url,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "getTransaction",
                "params": [sig, {"encoding": "jsonParsed"}],
            },
        ).text
        assert GetTransactionResp.from_json(parsed_tx).value is not None
        post_tokens = got["meta"]["postTokenBalances"]
        assert [b["mint"] for b in post_tokens] == [str(other_mint)] and post_tokens[0][
            "programId"
        ] == str(token_2022)
        seen = set()
        while len(seen) < 2:
            note = json.loads(ws.recv())
            seen.add(note["method"])
            if note["method"] == "programNotification":
                assert note["params"]["subscription"] == program_sub
                assert note["params"]["result"]["value"]["account"]["data"]["parsed"]["info"][
                    "mint"
                ] == str(other_mint)
        assert seen == {"programNotification", "accountNotification"}


SYSTEM_ID = "11111111111111111111111111111111"


def call_data_of(s: Served, address: Pubkey) -> str:
    """An account's data as hex (what surfnet_setAccount takes)."""
    import base64

    value = call(s.url, "getAccountInfo", [str(address), {"encoding": "base64"}])["result"]["value"]
    return base64.b64decode(value["data"][0]).hex()


def test_agent_facing_server_keeps_agaves_body_limit_for_cheat_codes_too():
    """Without cheat codes (what --agent-cmd serves) a large surfnet_* body is simply too large."""
    chain = prepare(benchmark("001-sol-transfer"), 1)
    with LocalServer(create_app(chain.node, cheat_codes=False)) as server:
        big = {"lamports": 1, "data": "00" * 60_000, "owner": str(TOKEN), "executable": False}
        response = post(
            server.url,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "surfnet_setAccount",
                "params": [str(Pubkey.new_unique()), big],
            },
        )
        assert response.status_code == 413 and _is_error(response.json(), -32600)
        small = post(
            server.url,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "surfnet_setAccount",
                "params": [str(Pubkey.new_unique()), {"lamports": 1}],
            },
        )
        assert _is_error(small.json(), -32601)


# ---- getRecentPerformanceSamples (solana-agent-kit's GET_TPS) -----------------------------------


@pytest.mark.slow  # two transfers and a solana-py client: ~2 s on the shared machine
def test_performance_samples_one_sample_of_the_kept_blocks():
    with serve("001-sol-transfer") as s:
        (fresh,) = call(s.url, "getRecentPerformanceSamples")["result"]
        # One sample over the blocks getRecentPrioritizationFees reports one entry each for.
        blocks = call(s.url, "getRecentPrioritizationFees")["result"]
        assert fresh == {
            "slot": call(s.url, "getSlot")["result"],
            "numTransactions": 0,
            "numNonVoteTransactions": 0,
            "numSlots": len(blocks),
            "samplePeriodSecs": 60,
        }
        recipient = s.address("RECIPIENT_WALLET_PUBKEY")
        sent = 2
        for _ in range(sent):
            blockhash = call(s.url, "getLatestBlockhash")["result"]["value"]["blockhash"]
            tx = transfer_tx(s.user, recipient, SOL // 100, Hash.from_string(blockhash))
            answer = call(s.url, "sendTransaction", [base58.b58encode(bytes(tx)).decode()])
            assert "result" in answer, answer

        async def parsed() -> list:
            async with AsyncClient(s.url) as client:
                return (await client.get_recent_performance_samples()).value

        (sample,) = asyncio.run(parsed())
        blocks = call(s.url, "getRecentPrioritizationFees")["result"]
        assert sample.num_transactions == sent and sample.num_non_vote_transactions == sent
        assert sample.num_slots == len(blocks) and sample.slot == blocks[-1]["slot"]
        assert sample.sample_period_secs == 60


def test_performance_samples_limit():
    with serve("001-sol-transfer") as s:
        assert call(s.url, "getRecentPerformanceSamples", [0])["result"] == []
        assert len(call(s.url, "getRecentPerformanceSamples", [720])["result"]) == 1
        too_many = call(s.url, "getRecentPerformanceSamples", [721])["error"]
        assert too_many == {"code": -32602, "message": "Invalid params: Invalid limit; max 720"}
        wrong = call(s.url, "getRecentPerformanceSamples", ["ten"])["error"]
        assert wrong["code"] == -32602 and "expected u64 (limit)" in wrong["message"]
