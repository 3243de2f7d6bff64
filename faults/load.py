"""The load generator's plumbing: an HTTP client that retries like the hub's real clients, and the record
of every request the hub accepted.

A refused request (connection refused, a timeout, 429, 5xx) is retried with a growing pause, honouring
Retry-After, for at most `RETRY_WINDOW_SECONDS`; it is "accepted" only once a 2xx arrives. Every
answer's status is counted, and a 5xx that is not a clean refusal (a 500, or a body that is not JSON)
is kept as a finding. Only 127.0.0.1 is ever called. With several web servers, each request (a retry
too) goes to the next one in turn, as a load balancer spreads requests over web dynos.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

RETRY_WINDOW_SECONDS = 45
RETRYABLE = {429, 500, 502, 503, 504}
REQUEST_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class Accepted:
    """One record the hub accepted: `key` is what the client chose (or the hub's id when the client chose
    nothing); `hub_id` is the id the hub answered; `details` what the checks need besides."""

    domain: str
    kind: str
    key: str
    hub_id: str
    details: dict[str, Any] = field(default_factory=dict)


class Results:
    """Thread-safe log of accepted records, answer statuses and unclean failures."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: list[Accepted] = []
        self.answers: Counter[tuple[str, str]] = Counter()
        self.unclean: Counter[tuple[str, str, int]] = Counter()
        self.gave_up: Counter[str] = Counter()
        self.after_ambiguity: Counter[str] = Counter()

    def accept(self, domain: str, kind: str, key: str, hub_id: str, **details: Any) -> None:
        with self.lock:
            self.accepted.append(Accepted(domain, kind, key, hub_id, details))

    def answer(self, domain: str, label: str) -> None:
        with self.lock:
            self.answers[(domain, label)] += 1

    def note_unclean(self, domain: str, route: str, status: int) -> None:
        with self.lock:
            self.unclean[(domain, route, status)] += 1

    def note(self, counter: Counter[str], domain: str) -> None:
        with self.lock:
            counter[domain] += 1

    def of(self, domain: str, kind: str) -> list[Accepted]:
        with self.lock:
            return [a for a in self.accepted if a.domain == domain and a.kind == kind]


@dataclass
class Outcome:
    response: requests.Response | None
    attempts: int

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None

    def json(self) -> dict[str, Any]:
        try:
            body = self.response.json() if self.response is not None else {}
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}


class Client:
    """One domain's client of the hub: a session, its default headers, and the retry policy; requests go
    to the `base_urls` (web servers) in turn."""

    def __init__(self, base_urls: Sequence[str], domain: str, results: Results):
        if not all(url.startswith("http://127.0.0.1:") for url in base_urls):
            raise ValueError("the load generator only calls the hub on 127.0.0.1")
        self.base_urls = itertools.cycle(base_urls)
        self.domain, self.results = domain, results
        self.session = requests.Session()
        self.headers: dict[str, str] = {}

    def call(self, method: str, path: str, route: str, **kwargs: Any) -> Outcome:
        """Send until an answer that is not a refusal, or the retry window closes (then `response` is the
        last refusal, or None). `route` names the endpoint in findings without its ids."""
        deadline = time.monotonic() + RETRY_WINDOW_SECONDS
        attempts, pause, last = 0, 0.5, None
        headers = {**self.headers, **kwargs.pop("headers", {})}
        while True:
            attempts += 1
            retry_after = None
            try:
                last = self.session.request(method, next(self.base_urls) + path, headers=headers,
                                            timeout=REQUEST_TIMEOUT_SECONDS, **kwargs)
                self.results.answer(self.domain, str(last.status_code))
                if last.status_code not in RETRYABLE:
                    return Outcome(last, attempts)
                self._judge_refusal(route, last)
                retry_after = last.headers.get("Retry-After")
            except requests.RequestException as exc:
                self.results.answer(self.domain, type(exc).__name__)
                last = None
            if time.monotonic() + pause > deadline:
                self.results.note(self.results.gave_up, self.domain)
                return Outcome(last, attempts)
            wait = float(retry_after) if retry_after and retry_after.isdigit() else pause
            time.sleep(min(wait, 5) * random.uniform(0.8, 1.2))
            pause = min(pause * 2, 4)

    def _judge_refusal(self, route: str, response: requests.Response) -> None:
        """503 (database down), 502/504 (partner down) and 429 are clean refusals; a 500 or a body that
        is not JSON is not."""
        try:
            response.json()
            is_json = True
        except ValueError:
            is_json = False
        if response.status_code == 500 or not is_json:
            self.results.note_unclean(self.domain, route, response.status_code)
