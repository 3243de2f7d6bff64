"""A real browser for the console's tests: Debian's Chromium (/usr/bin/chromium, installed by `make chromium`)
driven by Playwright from pip. Playwright never downloads a browser here (`playwright install` is not used):
it starts the system's Chromium through `executable_path`.

- `launch(playwright)`: one headless Chromium, with the flags that keep it from calling home (no background
  networking, component updates, sync or first-run) and a fresh profile (Playwright makes a new temporary
  user-data-dir for every launch and deletes it on close).
- `PageWatch`: everything a page did that a test must fail on: a request to a host other than 127.0.0.1,
  a Content-Security-Policy violation (Chromium logs each one as a console error), an uncaught script error.
- `shoot(page, name)`: screenshots at 1280 px and 360 px wide into tests/console/screenshots/ (git-ignored);
  `shoot_fitting` also fails when the page scrolls sideways at 360 px.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Request, WebError

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
LOCAL_HOST = "127.0.0.1"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "console" / "screenshots"
WIDTHS = (1280, 360)
HEIGHT = 800


def chromium_problem() -> str | None:
    """Why the browser tests cannot run (Chromium missing), or None."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return None
    return (f"{CHROMIUM} is missing: the console's browser tests need Debian's chromium package. "
            "`make chromium` installs it (apt-get install chromium); `make test` does it first.")


def launch(playwright: Playwright) -> Browser:
    """A headless Chromium with a fresh profile that makes no request of its own."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_FLAGS))


@dataclass
class PageWatch:
    """What the pages of a browser context (popups included) requested and reported while a test drove
    them; `problems()` lists what fails the test."""

    requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> PageWatch:
        context.on("request", self._on_request)
        context.on("console", self._on_console)
        context.on("weberror", self._on_error)
        return self

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def _on_error(self, error: WebError) -> None:
        self.script_errors.append(str(error.error))

    def foreign_requests(self) -> list[str]:
        """Requests to anything but 127.0.0.1 (data: and blob: URLs never leave the browser)."""
        return [url for url in self.requests
                if urlsplit(url).scheme not in ("data", "blob", "about") and urlsplit(url).hostname != LOCAL_HOST]

    def problems(self) -> list[str]:
        return ([f"request leaving {LOCAL_HOST}: {url}" for url in self.foreign_requests()]
                + [f"CSP violation: {text}" for text in self.csp_violations]
                + [f"script error: {text}" for text in self.script_errors])


def shoot(page: Page, name: str) -> list[Path]:
    """Full-page screenshots of `page` as it is now, at each of WIDTHS: `<name>-1280.png`, `<name>-360.png`.
    The page keeps the viewport it had."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    paths = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        path = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    if before:
        page.set_viewport_size(before)
    return paths


def overflows_horizontally(page: Page) -> bool:
    """Whether the page is wider than its viewport (a 360 px phone would have to scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def shoot_fitting(page: Page, name: str) -> list[Path]:
    """`shoot`, and fail when the page at 360 px is wider than the screen (wide tables must scroll inside their
    .table-wrap, not the page). The page keeps its 1280 px viewport."""
    paths = shoot(page, name)
    page.set_viewport_size({"width": WIDTHS[1], "height": HEIGHT})
    try:
        assert not overflows_horizontally(page), f"{name}: the page scrolls sideways at {WIDTHS[1]} px"
    finally:
        page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
    return paths
