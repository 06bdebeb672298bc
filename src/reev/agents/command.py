"""Any program as the agent (`reev run --agent-cmd CMD`): it talks to the chain over Solana's
JSON-RPC, the way most Solana agents in the wild do (web3.js, @solana/kit, solana-py,
solana-agent-kit, …).

It is an `EndpointAgent`: for each step the runner serves the episode's chain on a free loopback
port and hands over the endpoint; CMD runs in a shell with:

- `REEV_RPC_URL`, `REEV_WS_URL`: the HTTP and WebSocket endpoints;
- `REEV_JUPITER_URL`: the Jupiter-shaped swap API (`…/swap/v1`, `reev.rpc.jupiter`);
- `REEV_JUPITER_LEND_URL`: the Jupiter Lend-shaped Earn API (`…/lend/v1`, `reev.rpc.jupiter_lend`);
- `REEV_KEYPAIR`: a Solana CLI keypair file (64-byte JSON array) for the user's wallet;
- `REEV_PROMPT`: the request, addresses filled in;
- `REEV_CONTEXT`: JSON: `wallet`, `key_map` (the named addresses), `accounts` (their balances,
  token accounts), `last_transaction`; `REEV_CONTEXT_TEXT` is the same as prose;
- `REEV_BENCHMARK_ID`, `REEV_STEP`, `REEV_STEP_COUNT`, `REEV_TIME_LIMIT_S`.

The program's stdout and stderr, its exit code and every RPC call it made go into the session
file (as one `command` model call); the runner records every transaction it sent with
sendTransaction (landed or rejected by preflight, once per signature) as a step transaction, so
the final state and the instructions are scored as for any agent. A program that outlives the time limit is killed
(its whole process group) and the step ends as a timeout. Nothing about the ground truth is in
its environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

from reev.agents.base import (
    AgentEndpoint,
    AgentError,
    AgentTask,
    EndpointAgent,
    ModelAttempt,
    ModelCallRecord,
    ToolBox,
)
from reev.agents.context import context_prompt

STDERR_TAIL_LINES = 3  # of the agent's stderr, in the error of a failed step
OUTPUT_LIMIT = 64 * 1024  # bytes of stdout / stderr kept in the session file, each
DONE_GRACE_S = 5.0  # a program that said it is done (MCP `finish`) has this long to exit


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


# reev's own configuration is not passed on: an agent under evaluation has no use for it, and
# the database URL and the API token may be secrets.
REEV_SETTINGS = ("REEV_DATABASE_URL", "REEV_API_TOKEN", "REEV_LOG_DIR")
# Told to the process but not recorded: the keypair file's path is of no use once it is gone.
UNRECORDED = ("REEV_KEYPAIR",)


class CommandAgent(EndpointAgent):
    """Runs a shell command per step against the episode's chain served over JSON-RPC."""

    def __init__(self, command: str, *, time_limit_s: float | None = 600.0):
        self.command = command
        self.name = f"cmd:{command}"
        self.time_limit_s = time_limit_s

    async def run_step_at(self, task: AgentTask, tools: ToolBox, endpoint: AgentEndpoint) -> None:
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
            "stopped_after_done": False,
            "stdout": "",
            "stderr": "",
        }
        started = time.perf_counter()
        try:
            async with self.step_services(task, tools) as (services, done):
                told = {**endpoint.env, **services, **self._task_variables(task)}
                # What reev told the agent, for the session file: its own variables only (the
                # inherited environment may hold keys), and not the keypair's path.
                record.request_messages[0]["env"] = {
                    k: v for k, v in told.items() if k not in UNRECORDED
                }
                inherited = {k: v for k, v in os.environ.items() if k not in REEV_SETTINGS}
                await self._run({**inherited, **told}, outcome, self.command_for(told), done)
        finally:
            # Also when the episode's step timeout cancelled us: keep what happened.
            self._record(endpoint, record, outcome, started, tools)
        if outcome["timed_out"]:
            raise TimeoutError(f"agent command killed after {self.time_limit_s} s")
        if outcome["exit_code"] != 0 and not outcome["stopped_after_done"]:
            # Labelled as the agent's stderr, so a user reads it as the agent's words, not reev's.
            tail = outcome["stderr"].strip().splitlines()[-STDERR_TAIL_LINES:]
            said = (
                f"; the last lines of its stderr: {' | '.join(tail)[:500]}"
                if tail
                else " (its stderr is empty)"
            )
            raise AgentError(f"agent command exited with code {outcome['exit_code']}{said}")

    @contextlib.asynccontextmanager
    async def step_services(
        self, task: AgentTask, tools: ToolBox
    ) -> AsyncIterator[tuple[dict[str, str], asyncio.Event | None]]:
        """What a subclass serves the program beside the chain for a step (`--agent-mcp`: an MCP
        server): the variables naming it, and an event set when the program said it is done
        (it then has DONE_GRACE_S to exit). Nothing for a plain command."""
        yield {}, None

    def command_for(self, told: dict[str, str]) -> str:
        """The shell command of a step, given the variables it is told (a subclass may fill
        them in)."""
        return self.command

    def _task_variables(self, task: AgentTask) -> dict[str, str]:
        """The step's variables (docs/rpc.md); the endpoint's come from the runner."""
        context = task.observation.model_dump(mode="json")
        return {
            "REEV_PROMPT": task.prompt,
            "REEV_CONTEXT": json.dumps(context),
            "REEV_CONTEXT_TEXT": context_prompt(task),
            "REEV_BENCHMARK_ID": task.benchmark_id,
            "REEV_STEP": str(task.step),
            "REEV_STEP_COUNT": str(task.step_count),
            "REEV_TIME_LIMIT_S": "" if self.time_limit_s is None else str(self.time_limit_s),
        }

    async def _run(
        self,
        env: dict[str, str],
        outcome: dict[str, Any],
        command: str,
        done: asyncio.Event | None = None,
    ) -> None:
        """Run `command` until it exits, or, once `done` is set (the agent said it has
        finished), for at most DONE_GRACE_S more seconds."""
        process = await asyncio.create_subprocess_shell(
            command,
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
        exited_itself = False
        try:
            await asyncio.wait_for(self._wait(process, done), timeout=self.time_limit_s)
            exited_itself = process.returncode is not None
        except TimeoutError:
            outcome["timed_out"] = True
        except asyncio.CancelledError:  # the step's own time limit (a benchmark `timeout`) ran out
            outcome["timed_out"] = True
            raise
        finally:
            _kill_group(process.pid)  # leftovers too: nothing outlives the step
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait(), timeout=5)
            _, pending = await asyncio.wait(readers, timeout=2)
            for task in pending:
                task.cancel()
            outcome["exit_code"] = None if outcome["timed_out"] else process.returncode
            # Said it was done, then had to be stopped: not a failure of the step.
            outcome["stopped_after_done"] = bool(done and done.is_set() and not exited_itself)
            outcome["stdout"], outcome["stderr"] = out.text(), err.text()

    @staticmethod
    async def _wait(process: asyncio.subprocess.Process, done: asyncio.Event | None) -> None:
        if done is None:
            await process.wait()
            return
        exited = asyncio.ensure_future(process.wait())
        said = asyncio.ensure_future(done.wait())
        try:
            await asyncio.wait({exited, said}, return_when=asyncio.FIRST_COMPLETED)
            if not exited.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(exited), timeout=DONE_GRACE_S)
        finally:
            said.cancel()
            exited.cancel()

    def _record(
        self,
        endpoint: AgentEndpoint,
        record: ModelCallRecord,
        outcome: dict[str, Any],
        started: float,
        tools: ToolBox,
    ) -> None:
        record.latency_ms = (time.perf_counter() - started) * 1000
        timed_out, code = outcome["timed_out"], outcome["exit_code"]
        if outcome["stopped_after_done"]:
            record.error = None
        elif timed_out:
            record.error = "killed after the step's time limit"
        elif code is None:
            record.error = "stopped before the command finished"
        elif code != 0:
            record.error = f"exited with code {code}"
        record.finish_reason = "timeout" if timed_out else "exit"
        record.response = {**outcome, "rpc_calls": endpoint.rpc_calls}
        record.attempts = [
            ModelAttempt(
                attempt=1, ok=record.error is None, error=record.error, latency_ms=record.latency_ms
            )
        ]
        tools.record_model_call(record)
        tools.set_final_answer(self.final_answer(outcome))

    def final_answer(self, outcome: dict[str, Any]) -> str | None:
        """The program's closing words: the end of its stdout."""
        return str(outcome["stdout"]).strip()[-4000:] or None


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
