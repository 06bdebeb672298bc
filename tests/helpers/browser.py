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


@contextmanager
def offline_page(*, viewport: dict[str, int] | None = None) -> Iterator[tuple[object, list[str]]]:
    """A Playwright page that may only talk to loopback; yields (page, blocked_urls)."""
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})

            def guard(route):  # type: ignore[no-untyped-def]
                url = route.request.url
                host = urlparse(url).hostname or ""
                if url.startswith(("data:", "about:", "blob:", "file:")) or host in LOCAL_HOSTS:
                    route.continue_()
                else:
                    blocked.append(url)
                    route.abort()

            context.route("**/*", guard)
            yield context.new_page(), blocked
        finally:
            browser.close()
