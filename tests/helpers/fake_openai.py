"""An OpenAI-compatible chat-completions server on 127.0.0.1 that plays scripted model turns.

The real `openai` SDK talks to it over HTTP, exactly as it would to a provider. A script is a
function from the request body to a reply; `Reply` can be a normal completion, an HTTP error
with headers (429 + Retry-After), or a delay. Every request body is kept for inspection.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from helpers.local_server import LocalServer
from reev.spec.models import Benchmark
from reev.spec.placeholders import PLACEHOLDER_RE


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[tuple[str, Any]] = field(default_factory=list)  # (name, args dict or raw str)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    error_message: str = "scripted error"


Script = Callable[[dict[str, Any]], Reply]


def completion(reply: Reply, body: dict[str, Any], counter: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{counter}_{i}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for i, (name, args) in enumerate(reply.tool_calls)
        ]
    prompt_tokens = len(json.dumps(body["messages"])) // 4
    completion_tokens = len(json.dumps(message)) // 4
    return {
        "id": f"chatcmpl-{counter}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body.get("model", "scripted"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class FakeOpenAI:
    """Start with `with FakeOpenAI(script) as server:`; `server.base_url` is the /v1 URL."""

    def __init__(
        self, script: Script, *, models: list[str] | None = None, api_key: str | None = None
    ):
        """`models`: served at GET /v1/models (None: no such endpoint, a 404, as many local
        servers have); `api_key`: every request must carry it (else 401)."""
        self.script = script
        self.models = models
        self.api_key = api_key
        self.model_list_requests = 0
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._chat)
        if models is not None:
            self.app.get("/v1/models")(self._models)
        self._server = LocalServer(self.app)

    def _refused(self, request: Request) -> JSONResponse | None:
        if self.api_key is None or request.headers.get("authorization") == f"Bearer {self.api_key}":
            return None
        error = {"message": "invalid api key", "type": "invalid_request_error", "code": 401}
        return JSONResponse({"error": error}, status_code=401)

    async def _models(self, request: Request) -> JSONResponse:
        self.model_list_requests += 1
        refused = self._refused(request)
        if refused is not None:
            return refused
        items = [{"id": m, "object": "model", "owned_by": "scripted"} for m in self.models or []]
        return JSONResponse({"object": "list", "data": items})

    async def _chat(self, request: Request) -> JSONResponse:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            counter = len(self.requests)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self.script(body)
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
            if reply.status != 200:
                return JSONResponse(
                    {
                        "error": {
                            "message": reply.error_message,
                            "type": "scripted",
                            "code": reply.status,
                        }
                    },
                    status_code=reply.status,
                    headers=reply.headers,
                )
            return JSONResponse(completion(reply, body, counter))
        finally:
            with self._lock:
                self.in_flight -= 1

    @property
    def base_url(self) -> str:
        return f"{self._server.url}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)


# --------------------------------------------------------------------------- scripts

ADDRESS = r"([1-9A-HJ-NP-Za-km-z]{32,44})"


def user_message(body: dict[str, Any]) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def named_addresses(body: dict[str, Any]) -> dict[str, str]:
    """Parse the 'Named addresses:' block the agent's context carries."""
    text = user_message(body)
    block = text.split("Named addresses:", 1)[1] if "Named addresses:" in text else ""
    return dict(re.findall(r"^- ([A-Z0-9_]+): " + ADDRESS + r"$", block, flags=re.M))


def turns_so_far(body: dict[str, Any]) -> int:
    return sum(1 for m in body["messages"] if m["role"] == "assistant")


def prompt_pattern(prompt: str) -> re.Pattern[str]:
    escaped = re.escape(prompt)
    for name in set(PLACEHOLDER_RE.findall(prompt)):
        escaped = escaped.replace(re.escape(name), ADDRESS)
    return re.compile("^" + escaped)


class SolutionPlayer:
    """A 'competent model': finds the benchmark step by its prompt and plays the reference
    solution one tool call per turn, resolving placeholder names ONLY from what the agent was
    shown (the context's named addresses), then gives a final answer."""

    def __init__(
        self, benchmarks: list[Benchmark], *, mutate: Callable[[str, dict], dict] | None = None
    ):
        self.steps: list[tuple[re.Pattern[str], list[tuple[str, dict]]]] = []
        self.mutate = mutate
        for b in benchmarks:
            steps = b.flow or []
            pairs = [(s.prompt, s.solution) for s in steps] if steps else [(b.prompt, b.solution)]
            for prompt, solution in pairs:
                calls = [(c.tool, c.args) for c in (solution or [])]
                self.steps.append((prompt_pattern(prompt), calls))

    def calls_for(self, body: dict[str, Any]) -> list[tuple[str, dict]]:
        text = user_message(body)
        matches = [calls for pattern, calls in self.steps if pattern.search(text)]
        assert matches, f"no benchmark prompt matches: {text[:200]}"
        return max(matches, key=len) if len(matches) > 1 else matches[0]

    def __call__(self, body: dict[str, Any]) -> Reply:
        calls = self.calls_for(body)
        turn = turns_so_far(body)
        if turn >= len(calls):
            return Reply(content="Done.")
        tool, args = calls[turn]
        names = named_addresses(body)

        def resolve(value: Any) -> Any:
            if isinstance(value, str) and PLACEHOLDER_RE.fullmatch(value):
                assert value in names, f"solution uses {value}, which the agent was never shown"
                return names[value]
            if isinstance(value, dict):
                return {k: resolve(v) for k, v in value.items()}
            if isinstance(value, list):
                return [resolve(v) for v in value]
            return value

        resolved = resolve(args)
        if self.mutate is not None:
            resolved = self.mutate(tool, resolved)
        return Reply(tool_calls=[(tool, resolved)])


def serve_solutions(limit: int, latency: float, ready: Any, stop: Any) -> None:
    """The scripted provider of the LLM-shaped speed scripts (scripts/bench_agents.py,
    bench_scale.py), meant for a process of its own as a real provider would be: plays the
    first `limit` bundled benchmarks' reference solutions (0: all), each reply after `latency`
    seconds; puts its base URL on `ready` and serves until `stop` is set."""
    from helpers.paths import BENCHMARKS
    from reev.spec import load_many

    loaded, _ = load_many([BENCHMARKS])
    player = SolutionPlayer([item.benchmark for item in loaded][: limit or None])

    def slow(body: dict[str, Any]) -> Reply:
        reply = player(body)
        reply.delay_s = latency
        return reply

    with FakeOpenAI(slow) as server:
        ready.put(server.base_url)
        stop.wait()
