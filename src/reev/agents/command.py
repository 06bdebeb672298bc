"""Any program as the agent (`reev run --agent-cmd CMD`): it talks to the chain over Solana's
JSON-RPC, the way most Solana agents in the wild do (web3.js, @solana/kit, solana-py,
solana-agent-kit, …).

For each step the episode's chain is served on a free loopback port (`reev.rpc`), and CMD runs
in a shell with:

- `REEV_RPC_URL`, `REEV_WS_URL`: the HTTP and WebSocket endpoints;
- `REEV_JUPITER_URL`: the Jupiter-shaped swap API (`…/swap/v1`, `reev.defi.jupiter_api`);
- `REEV_KEYPAIR`: a Solana CLI keypair file (64-byte JSON array) for the user's wallet;
- `REEV_PROMPT`: the request, addresses filled in;
- `REEV_CONTEXT`: JSON: `wallet`, `key_map` (the named addresses), `accounts` (their balances,
  token accounts), `last_transaction`; `REEV_CONTEXT_TEXT` is the same as prose;
- `REEV_BENCHMARK_ID`, `REEV_STEP`, `REEV_STEP_COUNT`, `REEV_TIME_LIMIT_S`.

The program's stdout and stderr, its exit code and every RPC call it made go into the session
file (as one `command` model call); every transaction it sent with sendTransaction (landed or
rejected by preflight, once per signature) becomes a step transaction, so the final state and the
instructions are scored as for any agent. A program that outlives the time limit is killed
(its whole process group) and the step ends as a timeout. Nothing about the ground truth is in
its environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import base58

from reev.agents.base import Agent, AgentError, AgentTask, ModelAttempt, ModelCallRecord, ToolBox
from reev.agents.context import context_prompt
from reev.chain.errors import describe_error
from reev.chain.instructions import AccountMetaRecord, InstructionRecord
from reev.chain.litesvm import LiteSVMChain
from reev.chain.protocol import TxResult
from reev.rpc.node import ChainNode, Submission
from reev.rpc.serve import serving, write_keypair
from reev.spec.models import ToolCallSpec

OUTPUT_LIMIT = 64 * 1024  # bytes of stdout / stderr kept in the session file, each


class _Capture:
    """A pipe read to its end, keeping the first OUTPUT_LIMIT bytes."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.dropped = 0

    async def read(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            room = OUTPUT_LIMIT - len(self.data)
            self.data += chunk[:room]
            self.dropped += max(0, len(chunk) - room)

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        return text + (f"\n… ({self.dropped} more bytes not kept)" if self.dropped else "")


def instruction_records(node: ChainNode, submission: Submission) -> list[InstructionRecord]:
    """The transaction's instructions in reev's contract. Signer and writable flags are the
    message's (what the runtime grants each instruction): the fee payer, for one, is always a
    writable signer in a compiled transaction."""
    message = submission.transaction.message
    if submission.record is not None:
        keys, writable = submission.record.account_keys, submission.record.writable
    else:
        keys, writable, _, _ = node.account_keys(message)
    signed = message.header.num_required_signatures
    records = []
    for ix in message.instructions:
        accounts = [
            AccountMetaRecord(pubkey=str(keys[i]), is_signer=i < signed, is_writable=writable[i])
            for i in bytes(ix.accounts)
            if i < len(keys)
        ]
        program = str(keys[ix.program_id_index]) if ix.program_id_index < len(keys) else "?"
        records.append(
            InstructionRecord(
                program_id=program,
                accounts=accounts,
                data=base58.b58encode(bytes(ix.data)).decode(),
            )
        )
    return records


def tx_result(node: ChainNode, submission: Submission) -> TxResult:
    """A sent transaction as reev records and scores it."""
    instructions = instruction_records(node, submission)
    record = submission.record
    error = None
    if submission.err is not None:
        error = describe_error(str(submission.err), [ix.program_id for ix in instructions])
        if record is None:
            error = f"not executed (rejected before landing): {error}"
    return TxResult(
        signature=str(submission.signature),
        success=record is not None and record.err is None,
        error=error,
        logs=list(submission.logs),
        compute_units=record.compute_units if record else submission.units_consumed,
        fee=record.fee if record else 0,
        instructions=instructions,
    )


# reev's own configuration is not passed on: an agent under evaluation has no use for it, and
# the database URL and the API token may be secrets.
REEV_SETTINGS = ("REEV_DATABASE_URL", "REEV_API_TOKEN", "REEV_LOG_DIR")
# What the agent's process is told (docs/rpc.md); the session file records these.
AGENT_VARIABLES = (
    "REEV_RPC_URL",
    "REEV_WS_URL",
    "REEV_JUPITER_URL",
    "REEV_KEYPAIR",
    "REEV_PROMPT",
    "REEV_CONTEXT",
    "REEV_CONTEXT_TEXT",
    "REEV_BENCHMARK_ID",
    "REEV_STEP",
    "REEV_STEP_COUNT",
    "REEV_TIME_LIMIT_S",
)


class CommandAgent(Agent):
    """Runs a shell command per step against the episode's chain served over JSON-RPC."""

    def __init__(
        self, command: str, *, time_limit_s: float | None = 600.0, host: str = "127.0.0.1"
    ):
        self.command = command
        self.name = f"cmd:{command}"
        self.time_limit_s = time_limit_s
        self.host = host

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        # An external agent acts on the episode's chain directly; its transactions are handed
        # back to the tool box, which records and scores them like tool-sent ones.
        if not isinstance(tools.chain, LiteSVMChain):
            raise AgentError("--agent-cmd runs only on reev's embedded chain")
        node = ChainNode(tools.chain)
        calls: list[dict[str, Any]] = []
        record = ModelCallRecord(
            index=0,
            provider="command",
            model=self.command,
            request_messages=[{"role": "user", "content": task.prompt}],
            tools=[],
        )
        outcome: dict[str, Any] = {
            "exit_code": None,
            "timed_out": False,
            "stdout": "",
            "stderr": "",
        }
        started = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory(prefix="reev-agent-") as workdir:
                keypair = write_keypair(Path(workdir) / "user.json", tools.wallet_keypair)
                # No cheat codes or airdrops for the agent: only its transactions change the chain.
                async with serving(
                    node, host=self.host, on_call=calls.append, cheat_codes=False
                ) as (rpc_url, ws_url):
                    env = self._environment(task, rpc_url, ws_url, keypair)
                    # What reev told the agent, for the session file: its own variables only (the
                    # inherited environment may hold keys), and not the keypair's path.
                    record.request_messages[0]["env"] = {
                        k: env[k] for k in AGENT_VARIABLES if k in env and k != "REEV_KEYPAIR"
                    }
                    await self._run(env, outcome)
        finally:
            # Also when the episode's step timeout cancelled us: keep what happened.
            self._record(node, calls, record, outcome, started, tools)
        if node.chain_error is not None:
            raise node.chain_error  # a fork's snapshot lacked an account the agent asked for
        if outcome["timed_out"]:
            raise TimeoutError(f"agent command killed after {self.time_limit_s} s")
        if outcome["exit_code"] != 0:
            tail = outcome["stderr"].strip().splitlines()[-3:]
            raise AgentError(
                f"agent command exited with code {outcome['exit_code']}: {' | '.join(tail)[:500]}"
            )

    def _environment(
        self, task: AgentTask, rpc_url: str, ws_url: str, keypair: Path
    ) -> dict[str, str]:
        context = task.observation.model_dump(mode="json")
        inherited = {k: v for k, v in os.environ.items() if k not in REEV_SETTINGS}
        return {
            **inherited,
            "REEV_RPC_URL": rpc_url,
            "REEV_WS_URL": ws_url,
            "REEV_JUPITER_URL": f"{rpc_url}/swap/v1",
            "REEV_KEYPAIR": str(keypair),
            "REEV_PROMPT": task.prompt,
            "REEV_CONTEXT": json.dumps(context),
            "REEV_CONTEXT_TEXT": context_prompt(task),
            "REEV_BENCHMARK_ID": task.benchmark_id,
            "REEV_STEP": str(task.step),
            "REEV_STEP_COUNT": str(task.step_count),
            "REEV_TIME_LIMIT_S": "" if self.time_limit_s is None else str(self.time_limit_s),
        }

    async def _run(self, env: dict[str, str], outcome: dict[str, Any]) -> None:
        process = await asyncio.create_subprocess_shell(
            self.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: a timeout kills children too
        )
        out, err = _Capture(), _Capture()
        readers = [
            asyncio.create_task(out.read(process.stdout)),
            asyncio.create_task(err.read(process.stderr)),
        ]
        try:
            await asyncio.wait_for(process.wait(), timeout=self.time_limit_s)
        except TimeoutError:
            outcome["timed_out"] = True
        except asyncio.CancelledError:  # the step's own time limit (a benchmark `timeout`) ran out
            outcome["timed_out"] = True
            raise
        finally:
            _kill_group(process.pid)  # leftovers too: nothing outlives the step
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait(), timeout=5)
            done, pending = await asyncio.wait(readers, timeout=2)
            for task in pending:
                task.cancel()
            outcome["exit_code"] = None if outcome["timed_out"] else process.returncode
            outcome["stdout"], outcome["stderr"] = out.text(), err.text()

    def _record(
        self,
        node: ChainNode,
        calls: list[dict[str, Any]],
        record: ModelCallRecord,
        outcome: dict[str, Any],
        started: float,
        tools: ToolBox,
    ) -> None:
        record.latency_ms = (time.perf_counter() - started) * 1000
        timed_out, code = outcome["timed_out"], outcome["exit_code"]
        if timed_out:
            record.error = "killed after the step's time limit"
        elif code is None:
            record.error = "stopped before the command finished"
        elif code != 0:
            record.error = f"exited with code {code}"
        record.finish_reason = "timeout" if timed_out else "exit"
        record.response = {**outcome, "rpc_calls": calls}
        record.attempts = [
            ModelAttempt(
                attempt=1, ok=record.error is None, error=record.error, latency_ms=record.latency_ms
            )
        ]
        tools.record_model_call(record)
        tools.set_final_answer(outcome["stdout"].strip()[-4000:] or None)
        with node.lock:
            submissions = list(node.submissions.values())
        for submission in submissions:
            tools.record_transaction(tx_result(node, submission))


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
