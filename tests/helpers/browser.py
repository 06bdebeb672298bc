"""Headless Chromium for tests: Debian's `chromium` driven by Playwright, with no network.

Browser downloads are impossible here, so Playwright drives the system Chromium
(`executable_path=shutil.which("chromium")`); `.ci/run` installs it. Every request to a host
other than 127.0.0.1/localhost is aborted and recorded, so a page that needs the internet fails
visibly.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", ""}


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "Debian's chromium is not installed: run .ci/run (it installs it) or apt-get install chromium"
        )
    return path


def is_local(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return url.startswith(("data:", "about:", "blob:", "file:")) or host in LOCAL_HOSTS


@contextmanager
def offline_page(
    *, viewport: dict[str, int] | None = None, browser_cache: bool = False
) -> Iterator[tuple[object, list[str]]]:
    """A Playwright page that may only talk to loopback; yields (page, blocked_urls).

    Requests elsewhere are aborted by a route, which also turns Chromium's HTTP cache off (every
    load fetches every asset again). `browser_cache=True` (the benchmark scripts' returning
    visitor) keeps the cache: no route, every request is watched instead, and one to another
    host is recorded in `blocked` (it fails anyway where there is no network), so a caller
    that checks `blocked` still fails on it."""
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
            if browser_cache:
                context.on(
                    "request",
                    lambda request: None if is_local(request.url) else blocked.append(request.url),
                )
                yield context.new_page(), blocked
                return

            def guard(route):  # type: ignore[no-untyped-def]
                url = route.request.url
                if is_local(url):
                    route.continue_()
                else:
                    blocked.append(url)
                    route.abort()

            context.route("**/*", guard)
            yield context.new_page(), blocked
        finally:
            browser.close()
