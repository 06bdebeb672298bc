"""The HTTP client under every model client: the SDK's aiohttp backend, connection errors named.

The `openai` SDK speaks httpx; by default httpx's own transport (httpcore, h11: pure Python)
carries the bytes. The SDK's documented alternative for concurrent use, `DefaultAioHttpClient`
(`openai[aiohttp]`), keeps httpx's interface and hands the wire to aiohttp (C-accelerated
HTTP parsing). On the bundled suite against the scripted provider that is 0.75 ms less runner
CPU per model call (8.1 → 7.4 ms, medians of 5 interleaved runs) and efficiency at
`--max-concurrency 32` 0.61 → 0.67 (medians of 6; issue 18, docs/scale.md).

httpx-aiohttp 0.2 maps every `aiohttp.ClientConnectionError` it has no closer entry for to
`httpx.ConnectTimeout`, and a refused connection or a server that hangs up matches that entry
before the right one: the SDK then reports a provider that is down as a *timeout*.
`ModelTransport` puts it back: a "timeout" whose cause is not a timeout is a connection error.
A connection lost while the body is read needs no such help: aiohttp raises
`ClientPayloadError` there, which httpx-aiohttp maps to `httpx.ReadError`
(tests/test_model_transport.py pins all three cases).
"""

from __future__ import annotations

import ssl

import httpx
import openai
from httpx_aiohttp import AiohttpTransport


def _named(exc: httpx.ConnectTimeout) -> httpx.TransportError:
    """`exc` as what it is: a timeout if aiohttp's error was one, else a connection error."""
    if exc.__cause__ is None or isinstance(exc.__cause__, TimeoutError):
        return exc  # aiohttp's timeouts subclass TimeoutError (asyncio's, since 3.11)
    return httpx.ConnectError(str(exc) or type(exc.__cause__).__name__)


class ModelTransport(AiohttpTransport):
    """httpx-aiohttp's transport with a refused or dropped connection reported as such."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            raise _named(exc) from exc.__cause__


def model_http_client(verify: ssl.SSLContext) -> httpx.AsyncClient:
    """The SDK's aiohttp-backed client (its timeouts, limits and redirect policy) on
    `ModelTransport`; `verify` is the TLS context (shared per process, reev.agents.llm).
    Proxies from the environment (`HTTPS_PROXY`, …) still go through httpx-aiohttp's own
    transport, which httpx mounts for them."""
    return openai.DefaultAioHttpClient(transport=ModelTransport(verify=verify))
