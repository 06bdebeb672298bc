"""Retries for model calls: exponential backoff with full jitter, honouring `Retry-After`.

The SDK's own retries are switched off (`max_retries=0`) so that every attempt is visible in
the session file, and so that the total time spent retrying is bounded by us.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypeVar

from reev.agents.base import ModelAttempt
from reev.errors import AgentError

if TYPE_CHECKING:  # imported where used: the SDK costs about a second to import, and runs of
    import openai  # the deterministic or a remote agent (every `reev serve` execution) never need it

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_total_wait_s: float = 60.0


class ModelCallFailed(AgentError):
    """Every attempt failed (or the error was not worth retrying)."""

    def __init__(self, message: str, attempts: list[ModelAttempt]):
        super().__init__(message)
        self.attempts = attempts


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after") if exc.response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _retryable(exc: Exception) -> bool:
    import openai

    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
        return True  # APITimeoutError subclasses APIConnectionError; both are transient
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def _message(exc: Exception) -> str:
    import openai

    from reev.agents.transport import timed_out

    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"
    if timed_out(exc):
        return "request timed out"
    if isinstance(exc, openai.APIConnectionError):  # a timeout that was not one included
        return f"connection error: {exc.__cause__ or exc}"
    return f"{type(exc).__name__}: {exc}"


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> tuple[T, list[ModelAttempt]]:
    import openai

    rng = rng or random.Random()
    attempts: list[ModelAttempt] = []
    waited = 0.0
    for number in range(1, policy.max_attempts + 1):
        started = time.perf_counter()
        try:
            result = await fn()
        except openai.OpenAIError as exc:
            latency = (time.perf_counter() - started) * 1000
            retry_after = _retry_after(exc) if isinstance(exc, openai.APIStatusError) else None
            status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
            attempts.append(
                ModelAttempt(
                    attempt=number,
                    ok=False,
                    status_code=status,
                    error=_message(exc),
                    latency_ms=latency,
                    retry_after_s=retry_after,
                )
            )
            if not _retryable(exc) or number == policy.max_attempts:
                raise ModelCallFailed(_message(exc), attempts) from exc
            backoff = rng.uniform(
                0, min(policy.max_delay_s, policy.base_delay_s * 2 ** (number - 1))
            )
            delay = min(policy.max_delay_s, retry_after) if retry_after is not None else backoff
            if waited + delay > policy.max_total_wait_s:
                raise ModelCallFailed(
                    f"{_message(exc)} (gave up: retrying would exceed {policy.max_total_wait_s:.0f} s)",
                    attempts,
                ) from exc
            waited += delay
            await sleep(delay)
            continue
        attempts.append(
            ModelAttempt(
                attempt=number,
                ok=True,
                status_code=200,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        )
        return result, attempts
    raise AssertionError("unreachable")  # pragma: no cover
