"""The HTTP client under every model client: the SDK's aiohttp backend, and what its errors mean.

The `openai` SDK speaks httpx; by default httpx's own transport (httpcore, h11: pure Python)
carries the bytes. The SDK's documented alternative for concurrent use, `DefaultAioHttpClient`
(`openai[aiohttp]`), keeps httpx's interface and hands the wire to aiohttp (C-accelerated
HTTP parsing). One call at a time against a local server it costs 2.2 ms of CPU where httpx
costs 2.9–3.5 ms; on the bundled suite it is most of a 12 % cut in the runner's CPU per model
call (issue 18, docs/scale.md "Session 11"). The client is the SDK's as it comes: its
timeouts, connection limits and the environment's proxies (`HTTPS_PROXY`, `NO_PROXY`) apply.

httpx-aiohttp 0.2 maps every `aiohttp.ClientConnectionError` it has no closer entry for to
`httpx.ConnectTimeout`, and a refused connection or a server that hangs up matches that entry
first: the SDK then raises `APITimeoutError` for a provider that is down. The aiohttp error is
kept as the httpx error's cause, so `timed_out` asks it what happened, and reev.agents.retry
names a failed attempt by that answer.
"""

from __future__ import annotations

import ssl

import httpx
import openai


def model_http_client(verify: ssl.SSLContext) -> httpx.AsyncClient:
    """The SDK's aiohttp-backed HTTP client; `verify` is the TLS context (one per process,
    reev.agents.llm.shared_ssl_context)."""
    return openai.DefaultAioHttpClient(verify=verify)


def timed_out(exc: BaseException) -> bool:
    """Whether a failed model call timed out, rather than failing to connect or losing its
    connection: an `APITimeoutError` whose underlying error, if any, is a timeout (aiohttp's
    timeouts subclass `TimeoutError`, asyncio's since Python 3.11), or a connection error
    raised straight from a `TimeoutError` (one httpx-aiohttp has no mapping for and re-raises
    as it is, which the SDK then wraps as a connection error)."""
    if isinstance(exc, openai.APITimeoutError):
        underlying = exc.__cause__.__cause__ if exc.__cause__ is not None else None
        return underlying is None or isinstance(underlying, TimeoutError)
    return isinstance(exc, openai.APIConnectionError) and isinstance(exc.__cause__, TimeoutError)
