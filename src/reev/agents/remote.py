"""An agent behind an HTTP endpoint, in any language (the original reev `/gen/tx` protocol).

Per step reev POSTs `{id, session_id, prompt, context_prompt, key_map, account_states}` and
accepts either `{"transactions": [instruction, …]}` (executed as one transaction, as reev did)
or `{"tool_calls": [{"name", "arguments"}, …]}` (run in order through the tool layer).
Instructions use the reev contract: `{program_id, accounts[{pubkey, is_signer, is_writable}],
data (base58)}`. docs/agents.md has an example server.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from reev.agents.base import Agent, AgentError, AgentTask, ModelAttempt, ModelCallRecord, ToolBox
from reev.agents.context import context_prompt
from reev.spec.models import ToolCallSpec


class RemoteAgent(Agent):
    def __init__(self, url: str, *, timeout_s: float = 60.0, session_id: str = ""):
        self.url = url
        self.name = url
        self.timeout_s = timeout_s
        self.session_id = session_id

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        payload = {
            "id": task.benchmark_id,
            "session_id": self.session_id,
            "step": task.step,
            "prompt": task.prompt,
            "context_prompt": context_prompt(task),
            "key_map": task.observation.key_map,
            "account_states": {
                a.address: a.model_dump(mode="json") for a in task.observation.accounts
            },
        }
        record = ModelCallRecord(
            index=0, provider="remote", model=self.url, request_messages=[payload], tools=[]
        )
        started = time.perf_counter()
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(self.url, json=payload)
            body: Any = response.json() if response.content else None
        except (httpx.HTTPError, ValueError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            self._finish(record, started, None, tools)
            raise AgentError(f"remote agent {self.url} failed: {record.error}") from None
        if response.status_code >= 400 or not isinstance(body, dict):
            record.error = f"HTTP {response.status_code}: {str(body)[:300]}"
            self._finish(record, started, response.status_code, tools)
            raise AgentError(f"remote agent {self.url} answered {record.error}")
        self._finish(record, started, response.status_code, tools)
        record.response = body
        if "transactions" in body:
            await tools.call("stage_instructions", {"instructions": body["transactions"]})
            await tools.call("submit_transaction", {})
        elif "tool_calls" in body:
            for call in body["tool_calls"] or []:
                if not isinstance(call, dict):
                    raise AgentError(
                        f"remote agent {self.url}: a tool call must be an object, got {call!r}"
                    )
                await tools.call(str(call.get("name")), call.get("arguments", {}))
        else:
            raise AgentError(
                f"remote agent {self.url}: expected `transactions` or `tool_calls` in {list(body)}"
            )
        tools.set_final_answer(body.get("summary"))

    @staticmethod
    def _finish(
        record: ModelCallRecord, started: float, status: int | None, tools: ToolBox
    ) -> None:
        record.latency_ms = (time.perf_counter() - started) * 1000
        record.attempts = [
            ModelAttempt(
                attempt=1,
                ok=record.error is None and (status or 500) < 400,
                status_code=status,
                error=record.error,
                latency_ms=record.latency_ms,
            )
        ]
        tools.record_model_call(record)
