"""Tool-calling agent over any OpenAI-compatible chat-completions endpoint (official SDK, async).

One conversation per step: system prompt + the step's request with its on-chain context. The
model calls tools; each result goes back as a `tool` message; the step ends when the model
answers without a tool call or after `max_turns` model calls. Model failures that survive the
retries end the episode as an agent error carrying the provider's message.
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletion

from reev.agents.base import (
    Agent,
    AgentError,
    AgentTask,
    ModelAttempt,
    ModelCallRecord,
    ToolBox,
)
from reev.agents.budget import RunBudget
from reev.agents.cache import ResponseCache
from reev.agents.context import system_prompt, user_prompt
from reev.agents.pricing import PriceTable
from reev.agents.providers import ModelEndpoint
from reev.agents.retry import ModelCallFailed, RetryPolicy, call_with_retries
from reev.agents.transport import model_http_client
from reev.spec.models import ToolCallSpec


@dataclass
class LLMSettings:
    """Shared by every episode of a run: one HTTP client (connection pool), one budget."""

    endpoint: ModelEndpoint
    max_turns: int = 10
    request_timeout_s: float = 60.0
    temperature: float | None = 0.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    prices: PriceTable = field(default_factory=PriceTable)
    budget: RunBudget = field(default_factory=RunBudget)
    cache: ResponseCache | None = None  # --cache: responses from disk, no request sent

    def api_key(self) -> str:
        """The key the model client sends: the endpoint's, read from the environment."""
        return self.endpoint.api_key()

    def new_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=self.endpoint.base_url,
            api_key=self.api_key(),
            timeout=self.request_timeout_s,
            max_retries=0,  # retried (and recorded) by call_with_retries
            http_client=model_http_client(shared_ssl_context()),
        )


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every model client of the process. Building one (loading the CA
    bundle) was 30 ms of CPU per episode, more than a minimal episode (issue 18); a client
    context is safe to share. httpx builds it as it would for each client, honouring
    SSL_CERT_FILE / SSL_CERT_DIR."""
    return httpx.create_ssl_context()


def _assistant_message(message: Any) -> dict[str, Any]:
    """The assistant turn as it must be sent back: content plus any tool calls."""
    out: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in message.tool_calls
        ]
    return out


def _dumps(value: Any) -> str:
    """JSON as the SDK encodes a request body (openai._utils._json.openapi_dumps)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


_TOOLS_JSON_ENTRIES = 32
_tools_json_cache: dict[tuple[tuple[str, str, int], ...], tuple[list[Any], str]] = {}


def _tools_json(specs: list[dict[str, Any]]) -> str:
    """The tool schemas' JSON, encoded once per process for each tool set, not per episode
    (1.2 ms of CPU per episode for the 39 built-in tools, issue 18).

    A built-in tool's `parameters` is one dict for the life of the process (reev.tools.base
    builds it once), so a tool set is known by each tool's name, description and the identity
    of its `parameters`; the entry holds those dicts, so no other dict can take their ids
    while it lives. An MCP server's tools come as new dicts each time the agent connects to
    its servers (every step): they miss and are encoded each step. The `_TOOLS_JSON_ENTRIES`
    most recently used tool sets are kept, so such misses never push out the built-in set
    that every episode uses."""
    functions = [spec["function"] for spec in specs]
    key = tuple((f["name"], f.get("description", ""), id(f["parameters"])) for f in functions)
    entry = _tools_json_cache.pop(key, None)  # re-inserted below: the most recent is last
    if entry is None:
        entry = ([f["parameters"] for f in functions], _dumps(specs))
        while len(_tools_json_cache) >= _TOOLS_JSON_ENTRIES:
            _tools_json_cache.pop(next(iter(_tools_json_cache)), None)
    _tools_json_cache[key] = entry
    return entry[1]


class _RequestBody:
    """A step's request bodies as JSON bytes, each message encoded once as the conversation
    grows and the tool schemas once per process for each tool set (`_tools_json`), instead of
    the whole history every turn."""

    def __init__(self, tools_json: str):
        self.tools_json = tools_json
        self.encoded: list[str] = []

    def encode(self, request: dict[str, Any]) -> bytes:
        """`request` (the dict the cache keys) as the bytes to send: its keys in its order,
        `messages` from the encoded prefix plus whatever was appended since the last call
        (messages are only ever appended), `tools` from the episode's encoding."""
        messages = request["messages"]
        self.encoded.extend(_dumps(m) for m in messages[len(self.encoded) :])
        parts = []
        for key, value in request.items():
            if key == "messages":
                text = "[" + ",".join(self.encoded) + "]"
            elif key == "tools":
                text = self.tools_json
            else:
                text = _dumps(value)
            parts.append(f"{_dumps(key)}:{text}")
        return ("{" + ",".join(parts) + "}").encode()


class LLMAgent(Agent):
    def __init__(self, settings: LLMSettings):
        self.settings = settings
        self.name = settings.endpoint.agent
        # One client per episode, closed with it: a connection pool must not outlive the event
        # loop it was made in, and a run may use several loops.
        self._client: openai.AsyncOpenAI | None = None

    def client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            self._client = self.settings.new_client()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _create(self, request: dict[str, Any], body: bytes) -> Any:
        """The SDK's chat-completions request for `request` (the body as the cache keys it),
        sent as `body`, its JSON already encoded (`_RequestBody`).

        It goes through the SDK's public `post` (its documented way to send a body it did not
        build), to the path, with the auth, headers, response parsing (`ChatCompletion`) and
        errors of `chat.completions.create`. `create` runs its TypedDict transform and encodes
        the whole body again every turn, where the tool schemas are 90% of it (32 of 35 KB)
        and never change within an episode: 2.4 ms of CPU per call through `create`, 1.85 ms
        this way (bundled suite's bodies, scripts/bench_agents.py's provider; issue 18)."""
        return self.client().post(
            "/chat/completions",
            cast_to=ChatCompletion,
            content=body,
            options={"security": {"bearer_auth": True}},  # as `create` asks for it
        )

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        settings = self.settings
        endpoint = settings.endpoint
        tool_specs = [t.openai_schema() for t in tools.tools]
        tool_names = [t.name for t in tools.tools]
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system_prompt(task, tool_names)},
            {"role": "user", "content": user_prompt(task)},
        ]
        body = _RequestBody(_tools_json(tool_specs))
        for turn in range(settings.max_turns):
            reason = settings.budget.exhausted()
            if reason:
                raise AgentError(f"run budget exhausted: {reason}")
            request: dict[str, Any] = {
                "model": endpoint.model,
                "messages": messages,
                "tools": tool_specs,
                "tool_choice": "auto",
            }
            if settings.temperature is not None:
                request["temperature"] = settings.temperature
            record = ModelCallRecord(
                index=turn,
                provider=endpoint.provider,
                model=endpoint.model,
                request_messages=[dict(m) for m in messages],
                tools=tool_names,
            )
            started = time.perf_counter()
            cache, key = settings.cache, ""
            if cache is not None:
                key = cache.key(
                    provider=endpoint.provider,
                    base_url=endpoint.base_url,
                    model=endpoint.model,
                    request=request,
                    epoch=task.epoch,
                )
            stored = cache.get(key) if cache is not None else None
            try:
                if stored is not None:  # no HTTP attempt: `attempts` stays empty
                    # Typed as the SDK's call is (Any, through the lambda): the same model.
                    completion: Any = ChatCompletion.model_validate(stored)
                    attempts: list[ModelAttempt] = []
                    record.cached = True
                else:
                    content = body.encode(request)
                    completion, attempts = await call_with_retries(
                        # Awaited within this iteration: the lambda never outlives `request`.
                        lambda: self._create(request, content),  # noqa: B023
                        settings.retry,
                    )
                    if cache is not None and completion.choices:  # errors are never stored
                        cache.put(key, completion.model_dump(mode="json"))
            except ModelCallFailed as exc:
                record.attempts = exc.attempts
                record.error = str(exc)
                record.latency_ms = (time.perf_counter() - started) * 1000
                tools.record_model_call(record)
                raise AgentError(
                    f"model call to {endpoint.provider}/{endpoint.model} failed after "
                    f"{len(exc.attempts)} attempt(s): {exc}"
                ) from None
            record.attempts = attempts
            record.latency_ms = (time.perf_counter() - started) * 1000
            usage = completion.usage
            record.input_tokens = usage.prompt_tokens if usage else 0
            record.output_tokens = usage.completion_tokens if usage else 0
            if not record.cached:  # a cached call spent nothing, whatever its tokens say
                record.cost_usd = settings.prices.cost(
                    endpoint.model, record.input_tokens, record.output_tokens
                )
                settings.budget.add(record.input_tokens + record.output_tokens, record.cost_usd)
            if not completion.choices:
                record.error = "the response has no choices"
                tools.record_model_call(record)
                raise AgentError(f"{endpoint.provider}/{endpoint.model} returned no choices")
            choice = completion.choices[0]
            message = choice.message
            assistant = _assistant_message(message)
            record.response = assistant
            record.finish_reason = choice.finish_reason
            tools.record_model_call(record)
            messages.append(assistant)
            if not message.tool_calls:
                tools.set_final_answer(message.content)
                return
            for call in message.tool_calls:
                result = await tools.call(call.function.name, call.function.arguments)
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": call.id,
                        "content": json.dumps(result, ensure_ascii=False),
                    }
                )
        tools.set_final_answer(None)
