"""A disk cache of chat-completion responses, so a re-run of the same requests costs nothing.

The key is a SHA-256 over everything that determines a response: the provider, the endpoint
(scheme, host, port and path, never its credentials), the model, the messages, the tools, the
sampling parameters and the episode's epoch (so each epoch of a pass@k run stays its own
sample). A file holds the response and when it was stored, nothing else: the API key is not part
of a request body and is never written. Only successful responses with a choice are stored;
errors are never cached. The directory is bounded: once it holds more than `max_bytes` the
oldest entries go, and entries older than `max_age_s` count as absent (and are removed).

Layout: `<dir>/<key[:2]>/<key>.json`, written atomically (readers never see a torn entry).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reev.files import write_text_atomic

CACHE_FORMAT = 1
DEFAULT_MAX_BYTES = 512 * 1024 * 1024


def endpoint_identity(base_url: str) -> str:
    """scheme://host:port/path of an endpoint: which server answered, without a secret."""
    try:
        parts = urlsplit(base_url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
    except ValueError:
        return "(unparseable URL)"


class ResponseCache:
    """Chat-completion responses on disk; shared by every episode of a run (thread-safe)."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_age_s: float | None = None,
    ):
        if max_bytes <= 0:
            raise ValueError("the cache's size limit must be positive")
        if max_age_s is not None and max_age_s <= 0:
            raise ValueError("the cache's expiry must be positive")
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._size: int | None = None  # bytes on disk, counted on the first store

    @staticmethod
    def key(
        *,
        provider: str,
        base_url: str,
        model: str,
        request: dict[str, Any],
        epoch: int,
    ) -> str:
        """The entry of a request: `request` is the chat-completions body (model, messages,
        tools, tool_choice, temperature, …) exactly as sent."""
        payload = {
            "format": CACHE_FORMAT,
            "provider": provider,
            "endpoint": endpoint_identity(base_url),
            "model": model,
            "request": request,
            "epoch": epoch,
        }
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored response of `key`, or None (absent, expired or unreadable)."""
        path = self._path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            stored = float(entry["stored_at"])
            response = entry["response"]
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        if self.max_age_s is not None and time.time() - stored > self.max_age_s:
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return response if isinstance(response, dict) else None

    def put(self, key: str, response: dict[str, Any]) -> None:
        """Store a successful response (the caller never passes an error), then trim the
        directory to its size limit, oldest entries first."""
        data = json.dumps({"stored_at": time.time(), "response": response}, ensure_ascii=False)
        write_text_atomic(self._path(key), data)
        with self._lock:
            if self._size is None:
                self._size = sum(p.stat().st_size for p in self._entries())
            else:
                self._size += len(data.encode())
            if self._size > self.max_bytes:
                self._trim()

    def _entries(self) -> list[Path]:
        return [p for p in self.directory.glob("*/*.json") if not p.name.startswith(".")]

    def _trim(self) -> None:
        """Delete the oldest entries until the directory is within 90% of its limit (a margin,
        so not every store trims)."""
        entries = []
        for p in self._entries():
            try:
                stat = p.stat()
            except OSError:
                continue
            entries.append((stat.st_mtime, stat.st_size, p))
        entries.sort()
        size = sum(size for _, size, _ in entries)
        for _, entry_size, p in entries:
            if size <= self.max_bytes * 0.9:
                break
            p.unlink(missing_ok=True)
            size -= entry_size
        self._size = size
