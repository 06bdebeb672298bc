"""The model clients' transport (reev.agents.transport) and how reev names what went wrong.

Each case is a raw TCP server on 127.0.0.1 that behaves in one way, and the request goes
through the real `openai` SDK on the client reev builds (`LLMSettings.new_client`). reev's retry
messages say "request timed out" only for a timeout (`timed_out`) and "connection error" for
anything else on the wire (reev.agents.retry); a provider that refuses connections is
tests/test_llm_agents.py's case.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest

from reev.agents.llm import LLMSettings
from reev.agents.providers import ModelEndpoint
from reev.agents.retry import _message
from reev.agents.transport import timed_out


@contextmanager
def raw_server(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    """A server that accepts connections and hands each to `handle`; yields the /v1 URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            handle(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def read_request(conn: socket.socket) -> None:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def endpoint(base_url: str) -> ModelEndpoint:
    return ModelEndpoint(
        agent="local/scripted",
        provider="local",
        model="scripted",
        base_url=base_url,
        api_key_env=None,
    )


def create(base_url: str, timeout_s: float = 5.0) -> BaseException:
    """One chat-completions call through reev's client; the exception it raised."""
    settings = LLMSettings(endpoint=endpoint(base_url), request_timeout_s=timeout_s)

    async def call() -> BaseException:
        client = settings.new_client()
        try:
            await client.chat.completions.create(
                model="scripted", messages=[{"role": "user", "content": "hi"}]
            )
        except Exception as exc:
            return exc
        finally:
            await client.close()
        raise AssertionError("the call succeeded against a misbehaving server")

    return asyncio.run(call())


def test_a_server_that_hangs_up_before_answering_is_a_connection_error_not_a_timeout():
    def hang_up(conn: socket.socket) -> None:
        read_request(conn)
        conn.close()

    with raw_server(hang_up) as url:
        exc = create(url)
    assert isinstance(exc, openai.APIConnectionError)  # the SDK may say APITimeoutError here
    assert not timed_out(exc), repr(exc.__cause__)
    assert _message(exc).startswith("connection error: ")


def test_a_server_that_never_answers_is_still_a_timeout():
    with raw_server(read_request) as url:  # reads the request, then says nothing
        exc = create(url, timeout_s=0.3)
    assert isinstance(exc, openai.APITimeoutError) and timed_out(exc)
    assert _message(exc) == "request timed out"


def test_a_body_cut_short_is_a_connection_error_not_a_timeout():
    def cut_short(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n"
            b'{"id": "chatcmpl-1", "object": "chat.comp'
        )
        conn.close()

    with raw_server(cut_short) as url:
        exc = create(url)
    assert isinstance(exc, openai.APIConnectionError) and not timed_out(exc)
    assert _message(exc).startswith("connection error: ")


@pytest.mark.parametrize("status", [500, 404])
def test_an_http_error_still_reaches_the_sdk_as_a_status_error(status):
    """The transport changes how bytes travel, not what a response means."""

    def answer(conn: socket.socket) -> None:
        read_request(conn)
        body = b'{"error": {"message": "scripted", "type": "scripted"}}'
        head = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
        conn.sendall(f"{head}content-length: {len(body)}\r\n\r\n".encode() + body)
        conn.close()

    with raw_server(answer) as url:
        exc = create(url)
    assert isinstance(exc, openai.APIStatusError) and exc.status_code == status
    assert _message(exc).startswith(f"HTTP {status}: ")


def test_model_calls_go_through_the_proxy_the_environment_names(monkeypatch):
    """The client is the SDK's as it comes: HTTP_PROXY applies (a host that does not resolve
    can only be reached through the proxy, which answers for it)."""
    request_lines: list[bytes] = []

    def proxy(conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        request_lines.append(data.split(b"\r\n", 1)[0])
        body = (
            b'{"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",'
            b' "choices": [{"index": 0, "finish_reason": "stop",'
            b' "message": {"role": "assistant", "content": "via proxy"}}]}'
        )
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
        conn.sendall(head + f"content-length: {len(body)}\r\n\r\n".encode() + body)
        conn.close()

    with raw_server(proxy) as url:
        for name in ("NO_PROXY", "ALL_PROXY", "HTTP_PROXY"):  # the lowercase ones win
            monkeypatch.delenv(name, raising=False)
            monkeypatch.delenv(name.lower(), raising=False)
        monkeypatch.setenv("HTTP_PROXY", url.removesuffix("/v1"))
        settings = LLMSettings(endpoint=endpoint("http://model.example.invalid/v1"))

        async def call() -> str | None:
            client = settings.new_client()
            try:
                completion = await client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "hi"}]
                )
                return completion.choices[0].message.content
            finally:
                await client.close()

        assert asyncio.run(call()) == "via proxy"
    assert request_lines == [b"POST http://model.example.invalid/v1/chat/completions HTTP/1.1"]


def test_a_timeout_is_told_from_a_connection_error_by_what_lies_under_it():
    """The SDK's exception and the error under it, as the SDK and httpx-aiohttp chain them."""
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")

    def chained(exc: Exception, *causes: BaseException) -> Exception:
        outer: BaseException = exc
        for cause in causes:
            outer.__cause__ = cause
            outer = cause
        return exc

    refused = chained(
        openai.APITimeoutError(request), httpx.ConnectTimeout("x"), ConnectionRefusedError()
    )
    read_timeout = chained(openai.APITimeoutError(request), httpx.ReadTimeout("x"), TimeoutError())
    bare_timeout = chained(openai.APIConnectionError(request=request), TimeoutError())
    reset = chained(openai.APIConnectionError(request=request), ConnectionResetError())
    assert [timed_out(e) for e in (refused, read_timeout, bare_timeout, reset)] == [
        False,
        True,
        True,
        False,
    ]
