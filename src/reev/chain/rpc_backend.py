"""The `Chain` protocol over Solana JSON-RPC: `reev chain serve`, or surfpool for tasks that need
mainnet programs.

State is written with surfpool's cheat codes (`surfnet_setAccount`), read back with
`getAccountInfo` / `getProgramAccounts`, and time moves with `surfnet_timeTravel`. A transaction
is sent with preflight; when preflight fails on an error that happens during execution, it is
sent again with `skipPreflight` so that it lands and pays its fee — what the embedded chain (no
preflight) does — and its outcome is read back from `getTransaction`. `reset=True` starts each
chain with `surfnet_resetNetwork` (the served chain as it started), so episodes do not see each
other.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_status import TransactionErrorType, TransactionStatus

from reev.chain.errors import describe_error
from reev.chain.instructions import InstructionRecord
from reev.chain.jsonrpc import JsonRpcClient, JsonRpcError, account_from_json
from reev.chain.litesvm import PACKET_DATA_SIZE
from reev.chain.protocol import TxResult
from reev.errors import InputError

# Preflight errors raised while executing: the transaction would land (fee paid) without preflight.
_LANDING_ERRORS = (
    "InstructionError",
    "InsufficientFundsForRent",
    "ProgramExecutionTemporarilyRestricted",
)


def _solders_error(err: Any) -> TransactionErrorType:
    """A transaction error from its JSON form to solders' (whose fields reev's messages read)."""
    status = {
        "slot": 0,
        "confirmations": None,
        "status": {"Ok": None},
        "err": err,
        "confirmationStatus": "finalized",
    }
    parsed = TransactionStatus.from_json(json.dumps(status)).err
    assert parsed is not None  # `err` was not None
    return parsed


class RpcChain:
    """`Chain` over JSON-RPC. Synchronous, as the protocol is: the server must run elsewhere
    (another process or thread), never on the caller's event loop."""

    def __init__(
        self,
        url: str,
        *,
        reset: bool = False,
        timeout_s: float = 30.0,
        confirm_timeout_s: float = 30.0,
    ):
        self.url = url
        self.confirm_timeout_s = confirm_timeout_s
        self._rpc = JsonRpcClient(url, timeout_s=timeout_s)
        self._rent: dict[int, int] = {}
        if reset:
            self._call("surfnet_resetNetwork", [])

    def _call(self, method: str, params: list[Any]) -> Any:
        return self._rpc.call(method, params)

    # ---- accounts -----------------------------------------------------------------------

    @staticmethod
    def _account(value: dict[str, Any] | None) -> Account | None:
        account = account_from_json(value)
        if account is not None and account.lamports == 0 and not account.data:
            return None  # closed, as LiteSVMChain reports it
        return account

    def get_account(self, address: Pubkey) -> Account | None:
        result = self._call(
            "getAccountInfo", [str(address), {"encoding": "base64", "commitment": "confirmed"}]
        )
        return self._account(result["value"])

    def set_account(self, address: Pubkey, account: Account) -> None:
        update = {
            "lamports": account.lamports,
            "data": bytes(account.data).hex(),
            "owner": str(account.owner),
            "executable": account.executable,
            "rentEpoch": account.rent_epoch,
        }
        self._call("surfnet_setAccount", [str(address), update])

    def rent_exempt_minimum(self, data_len: int) -> int:
        if data_len not in self._rent:
            self._rent[data_len] = int(self._call("getMinimumBalanceForRentExemption", [data_len]))
        return self._rent[data_len]

    def accounts_owned_by(self, program: Pubkey) -> list[tuple[Pubkey, Account]]:
        found = self._call(
            "getProgramAccounts", [str(program), {"encoding": "base64", "commitment": "confirmed"}]
        )
        out = []
        for item in found:
            account = self._account(item["account"])
            if account is not None and account.lamports > 0:
                out.append((Pubkey.from_string(item["pubkey"]), account))
        return out

    # ---- time ---------------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        return int(self._call("getEpochInfo", [])["epoch"])

    def warp_to_slot(self, slot: int) -> None:
        """Move the clock to `slot` (surfnet_timeTravel); `reev chain serve` also goes back."""
        self._call("surfnet_timeTravel", [{"absoluteSlot": slot}])

    def advance_epochs(self, epochs: int) -> int:
        """To the first slot of the epoch `epochs` ahead (surfnet_timeTravel)."""
        if epochs < 0:
            raise InputError(f"cannot advance by {epochs} epochs")
        current = self.epoch
        if epochs == 0:
            return current
        return int(self._call("surfnet_timeTravel", [{"absoluteEpoch": current + epochs}])["epoch"])

    # ---- transactions -------------------------------------------------------------------

    def send(
        self, instructions: list[Instruction], payer: Keypair, signers: list[Keypair]
    ) -> TxResult:
        records = [InstructionRecord.from_instruction(ix) for ix in instructions]
        programs = [r.program_id for r in records]
        blockhash = self._call("getLatestBlockhash", [{"commitment": "confirmed"}])["value"][
            "blockhash"
        ]
        from solders.hash import Hash

        message = Message.new_with_blockhash(
            instructions, payer.pubkey(), Hash.from_string(blockhash)
        )
        required = message.account_keys[: message.header.num_required_signatures]
        available = {kp.pubkey(): kp for kp in [payer, *signers]}
        missing = [str(key) for key in required if key not in available]
        if missing:
            return TxResult(
                signature=None,
                success=False,
                error=f"cannot sign for {', '.join(missing)}: the agent holds no key for it",
                instructions=records,
            )
        tx = Transaction([available[key] for key in required], message, message.recent_blockhash)
        raw = bytes(tx)
        if len(raw) > PACKET_DATA_SIZE:
            return TxResult(
                signature=None,
                success=False,
                error=f"transaction too large: {len(raw)} bytes, the limit is {PACKET_DATA_SIZE}",
                instructions=records,
            )
        signature = str(tx.signatures[0])
        wire = base64.b64encode(raw).decode()
        try:
            self._call(
                "sendTransaction",
                [wire, {"encoding": "base64", "preflightCommitment": "confirmed"}],
            )
        except JsonRpcError as exc:
            data = exc.data if isinstance(exc.data, dict) else {}
            err = data.get("err")
            if exc.code != -32002 or err is None:
                return TxResult(
                    signature=signature, success=False, error=str(exc), instructions=records
                )
            if not (isinstance(err, dict) and next(iter(err)) in _LANDING_ERRORS):
                # Rejected before execution (no fee payer, no funds for the fee, …): nothing lands.
                return TxResult(
                    signature=signature,
                    success=False,
                    error=describe_error(_solders_error(err), programs),
                    logs=list(data.get("logs") or []),
                    instructions=records,
                )
            self._call("sendTransaction", [wire, {"encoding": "base64", "skipPreflight": True}])
        return self._outcome(signature, records)

    def _outcome(self, signature: str, records: list[InstructionRecord]) -> TxResult:
        deadline = time.monotonic() + self.confirm_timeout_s
        while True:
            status = self._call("getSignatureStatuses", [[signature]])["value"][0]
            if status is not None and status.get("confirmationStatus") in (
                "confirmed",
                "finalized",
            ):
                break
            if time.monotonic() > deadline:
                return TxResult(
                    signature=signature,
                    success=False,
                    error=f"not confirmed within {self.confirm_timeout_s} s",
                    instructions=records,
                )
            time.sleep(0.05)
        landed = self._call(
            "getTransaction",
            [
                signature,
                {
                    "encoding": "json",
                    "commitment": "confirmed",
                    "maxSupportedTransactionVersion": 0,
                },
            ],
        )
        meta = (landed or {}).get("meta") or {}
        err = meta.get("err", status.get("err"))
        return TxResult(
            signature=signature,
            success=err is None,
            error=None
            if err is None
            else describe_error(_solders_error(err), [r.program_id for r in records]),
            logs=list(meta.get("logMessages") or []),
            compute_units=int(meta.get("computeUnitsConsumed") or 0),
            fee=int(meta.get("fee") or 0),
            instructions=records,
        )
