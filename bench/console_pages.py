"""Benchmark of the operator console's pages at data size: 10^6 outbox messages and 10^5 audit entries.

Starts the hub as the other benchmarks do (faults/stack.py: PostgreSQL, Redis, migrations, gunicorn with
3 gevent workers, LOG_LEVEL INFO so that every request's access line is written), loads the data with
PostgreSQL's generate_series (bench/console_data.py: the real kinds and destinations, mostly delivered,
some pending, about 3,000 dead, attempts for 15 % of the messages, audit entries of six domains over a
year), signs in to /console over HTTP as a browser does (the login form's CSRF token, the session
cookie), then per run, for each page: --requests GETs one after the other (after 3 not counted), each
with its own X-Request-ID, status 200 checked; then the page's main SQL statement alone, the same number
of times through psycopg2 (the floor: what the page cannot avoid). Pages: the overview; deliveries with no
filter, each filter, and the 2nd and 10th pages following the "Older" link (rel="next"); one message with
its attempts; the replay preview of the dead messages; the audit log (no filter, actor, action, subject,
a time window, page 2) and the operators page when the hub has them (else "not yet measured"). The
deliveries CSV of a 3-day window is streamed once per run: its rows per second.

Prints per page p50 and p99 of the server time (the access line's duration_ms, found by request id in
gunicorn's log), of the client's time, and of the floor, and the ratio server p50 / floor p50; then the
medians of --runs runs. Target (issue 18): every page under 200 ms of server time. The load takes about
2 minutes for 10^6 messages; each run about a minute.

    .venv/bin/python bench/console_pages.py [--messages 1000000] [--audit 100000] [--requests 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import math
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import console_data  # noqa: E402
import psycopg2  # noqa: E402
import requests  # noqa: E402
from harness import Bench  # noqa: E402

from faults.stack import OPERATOR_EMAIL, OPERATOR_PASSWORD  # noqa: E402

WARM_UP = 3
OUTBOX_COLUMNS = ("id, kind, subject_id, payload, status, attempts, next_attempt_at, claimed_until, enqueued_at, "
                  "last_error, last_status_code, created_at, updated_at, delivered_at")
AUDIT_COLUMNS = "id, domain, event, actor, subject_id, request_id, status_code, details, created_at"
NEWEST_FIRST = "ORDER BY created_at DESC, id DESC LIMIT 51"  # a page of 50 and one more: is there an older page?
NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next">')
Statement = tuple[str, tuple]
KINDS = tuple(kind for _share, kind, _payload in console_data.KINDS)
# Every destination's backlog (outbox.control.states(): the overview, and the panel of every Deliveries page).
DESTINATION_STATES = ("SELECT kind, status, count(*), min(created_at) FROM outbox WHERE status IN ('pending', 'dead') "
                      "AND kind IN %s GROUP BY kind, status", (KINDS,))


@dataclass
class Page:
    """A console page to time: its label, path (with query) and its main statement(s) for the floor."""

    label: str
    path: str
    floor: list[Statement] = field(default_factory=list)


def keep_cookies(session: requests.Session, response: requests.Response) -> None:
    """Keep the response's cookies for plain http too. The hub marks its console cookie Secure in production;
    browsers keep a Secure cookie from http://127.0.0.1 (a loopback origin counts as secure), requests does not."""
    for cookie in response.cookies:
        session.cookies.set(cookie.name, cookie.value, path=cookie.path)


def sign_in(base_url: str) -> requests.Session:
    """A session signed in as the stack's admin through the login form."""
    session = requests.Session()
    form = session.get(f"{base_url}/console/login", timeout=30)
    keep_cookies(session, form)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)[1]
    answer = session.post(f"{base_url}/console/login", allow_redirects=False, timeout=30,
                          data={"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD, "csrf_token": token,
                                "next": "/console/overview"})
    keep_cookies(session, answer)
    if answer.status_code != 303 or session.get(f"{base_url}/console/overview", timeout=30).status_code != 200:
        raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text[:300]}")
    return session


def _outbox_page(where: str = "true", params: tuple = ()) -> list[Statement]:
    return [(f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE {where} {NEWEST_FIRST}", params)]


def _audit_page(where: str = "true", params: tuple = ()) -> list[Statement]:
    return [(f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {where} {NEWEST_FIRST}", params)]


def _older(session: requests.Session, base_url: str, path: str, pages_on: int) -> str:
    """The path `pages_on` pages older than `path`, following the rel="next" links."""
    for _ in range(pages_on):
        found = NEXT_LINK.search(session.get(base_url + path, timeout=60).text)
        if not found:
            raise RuntimeError(f"{path} has no older page")
        path = html.unescape(found[1])
    return path


def _after(path: str) -> str:
    return parse_qs(urlsplit(path).query)["after"][0]


def outbox_position(path: str) -> tuple[str, str]:
    """(created_at, id) of a deliveries page link's cursor (outbox.listing.cursor_of)."""
    cursor = _after(path)
    return tuple(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|", 1))


def pages(session: requests.Session, base_url: str, database_url: str) -> tuple[list[Page], list[str]]:
    """The pages to time (with values found in the loaded data) and the labels of pages the hub has not yet."""
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id, subject_id FROM outbox WHERE status = 'dead' ORDER BY created_at DESC LIMIT 1")
        dead_id, dead_subject = cursor.fetchone()
        cursor.execute("SELECT subject_id FROM outbox WHERE kind = 'sentratech.dashboard_sync' "
                       "AND created_at < now() - interval '5 days' ORDER BY created_at DESC LIMIT 1")
        [record] = cursor.fetchone()
        cursor.execute("SELECT 'operator:' || id FROM operator WHERE email = 'bench-1@example.com'")
        [operator] = cursor.fetchone()
        cursor.execute("SELECT subject_id FROM audit_log WHERE created_at < now() - interval '100 days' "
                       "ORDER BY created_at DESC LIMIT 1")
        [audit_subject] = cursor.fetchone()
    connection.close()
    now = datetime.now(UTC).replace(microsecond=0)
    since, until = now - timedelta(days=10), now - timedelta(days=9)
    window = {"since": since.isoformat(), "until": until.isoformat()}
    key = f"{record}:3"
    found = [
        Page("overview", "/console/overview", [("SELECT count(*) FROM outbox WHERE status = %s", ("pending",)),
                                               ("SELECT count(*) FROM outbox WHERE status = %s", ("dead",)),
                                               DESTINATION_STATES]),
        Page("deliveries", "/console/deliveries", _outbox_page()),
        Page("deliveries status=dead", "/console/deliveries?status=dead", _outbox_page("status = %s", ("dead",))),
        Page("deliveries status=pending", "/console/deliveries?status=pending",
             _outbox_page("status = %s", ("pending",))),
        Page("deliveries destination=dashboard", "/console/deliveries?destination=dashboard",
             _outbox_page("kind = %s", ("sentratech.dashboard_sync",))),
        Page("deliveries kind=insight.sms", "/console/deliveries?kind=insight.sms",
             _outbox_page("kind = %s", ("insight.sms",))),
        Page("deliveries 1-day window", "/console/deliveries?" + urlencode(window),
             _outbox_page("created_at >= %s AND created_at < %s", (since, until))),
        Page("deliveries subject", "/console/deliveries?" + urlencode({"subject_id": dead_subject}),
             _outbox_page("subject_id = %s", (dead_subject,))),
        Page("deliveries idempotency_key", "/console/deliveries?" + urlencode({"idempotency_key": key}),
             _outbox_page("(id IN (%s) OR subject_id IN (%s, %s))", (key, record, key))),
    ]
    for label, pages_on in (("deliveries page 2", 1), ("deliveries page 10", 9)):
        path = _older(session, base_url, "/console/deliveries", pages_on)
        found.append(Page(label, path, _outbox_page("(created_at, id) < (%s, %s)", outbox_position(path))))
    found += [
        Page("message with attempts", f"/console/deliveries/{dead_id}",
             [(f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = %s", (dead_id,)),
              ("SELECT * FROM outbox_attempt WHERE outbox_id IN (%s) ORDER BY outbox_id, number", (dead_id,))]),
        Page("replay preview status=dead", "/console/deliveries/replay?status=dead",
             [("SELECT kind, count(*) FROM outbox WHERE status = %s GROUP BY kind ORDER BY kind", ("dead",))]),
    ]
    missing = []
    if session.get(f"{base_url}/console/audit", timeout=60).status_code == 404:
        missing += ["audit (every filter, page 2)"]
    else:
        found += audit_pages(session, base_url, operator, audit_subject, now)
    if session.get(f"{base_url}/console/operators", timeout=60).status_code == 404:
        missing.append("operators")
    else:
        found.append(Page("operators", "/console/operators",
                          [("SELECT * FROM operator ORDER BY email", ())]))
    return found, missing


def audit_pages(session: requests.Session, base_url: str, operator: str, subject: str, now: datetime) -> list[Page]:
    since, until = now - timedelta(days=200), now - timedelta(days=199)
    second = _older(session, base_url, "/console/audit", 1)
    created, _, entry_id = _after(second).rpartition("_")
    return [
        Page("audit", "/console/audit", _audit_page()),
        Page("audit actor", "/console/audit?" + urlencode({"actor": operator}), _audit_page("actor = %s", (operator,))),
        Page("audit action=lead.received", "/console/audit?action=lead.received",
             _audit_page("event = %s", ("lead.received",))),
        Page("audit subject", "/console/audit?" + urlencode({"subject": subject}),
             _audit_page("subject_id = %s", (subject,))),
        Page("audit 1-day window", "/console/audit?" + urlencode({"since": since.isoformat(),
                                                                  "until": until.isoformat()}),
             _audit_page("created_at >= %s AND created_at < %s", (since, until))),
        Page("audit page 2", second, _audit_page("(created_at, id) < (%s, %s)", (created, int(entry_id)))),
    ]


def percentiles(timings: list[float]) -> tuple[float, float]:
    """(p50, p99) in ms; p99 by nearest rank (with fewer than 100 requests, the slowest but none)."""
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[max(math.ceil(len(ordered) * 0.99) - 1, 0)]


def time_page(session: requests.Session, base_url: str, page: Page, count: int, tag: str) -> tuple[list[float],
                                                                                                    list[str]]:
    """`count` GETs of the page (after WARM_UP): the client's ms and the request ids sent."""
    timings, ids = [], []
    for n in range(-WARM_UP, count):
        request_id = f"{tag}-{n}"
        started = time.perf_counter()
        answer = session.get(base_url + page.path, headers={"X-Request-ID": request_id}, timeout=60)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"{page.label}: {page.path} answered {answer.status_code}")
        if n >= 0:
            timings.append(elapsed)
            ids.append(request_id)
    return timings, ids


def time_floor(cursor, page: Page, count: int) -> list[float]:
    """`count` runs of the page's statements (after WARM_UP), rows fetched: ms each."""
    timings = []
    for n in range(-WARM_UP, count):
        started = time.perf_counter()
        for sql, params in page.floor:
            cursor.execute(sql, params)
            cursor.fetchall()
        if n >= 0:
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def server_times(log: Path) -> dict[str, float]:
    """duration_ms of every access line in gunicorn's log, by request id."""
    found = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"duration_ms"' in line:
            entry = json.loads(line)
            found[entry["request_id"]] = entry["duration_ms"]
    return found


def csv_rate(session: requests.Session, base_url: str) -> tuple[int, float]:
    """(rows, rows per second) of the deliveries CSV of the last 3 days, streamed to the end."""
    since = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0).isoformat()
    started, rows = time.perf_counter(), -1  # the header is not a row
    with session.get(f"{base_url}/console/deliveries?" + urlencode({"since": since, "format": "csv"}), stream=True,
                     timeout=600) as answer:
        answer.raise_for_status()
        for _line in answer.iter_lines():
            rows += 1
    return rows, rows / (time.perf_counter() - started)


def one_run(bench: Bench, session: requests.Session, found: list[Page], args: argparse.Namespace,
            run: int) -> dict[str, dict[str, tuple[float, float]]]:
    """Every page, then its floor: {label: {"client", "floor": (p50, p99)}}, the server's added by `main`."""
    figures = {}
    connection = psycopg2.connect(bench.stack.database_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        for number, page in enumerate(found):
            client, ids = time_page(session, bench.stack.web_url, page, args.requests, f"bench-{run}-{number}")
            figures[page.label] = {"client": percentiles(client), "ids": ids,
                                   "floor": percentiles(time_floor(cursor, page, args.requests))}
    connection.close()
    return figures


def report(label: str, figures: dict) -> str:
    server, client, base = figures["server"], figures["client"], figures["floor"]
    return (f"  {label:36} server p50 {server[0]:6.1f} p99 {server[1]:6.1f} ms | client p50 {client[0]:6.1f} "
            f"p99 {client[1]:6.1f} | floor p50 {base[0]:6.2f} p99 {base[1]:6.2f} | ratio {server[0] / base[0]:5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000, help="outbox messages loaded (default 10^6)")
    parser.add_argument("--audit", type=int, default=100_000, help="audit_log entries loaded (default 10^5)")
    parser.add_argument("--requests", type=int, default=30, help="timed GETs of each page per run, one after the "
                        "other (default 30, after 3 not counted); as many runs of its floor statement")
    parser.add_argument("--runs", type=int, default=3, help="runs over every page (default 3); medians last")
    args = parser.parse_args()
    server = argparse.Namespace(web_workers=3, worker_class="gevent")
    with Bench({"LOG_LEVEL": "INFO"}, server, with_floor=False) as bench:
        took = console_data.load(bench.stack.database_url, args.messages, args.audit)
        print("loaded in " + ", ".join(f"{part} {seconds:.0f} s" for part, seconds in took.items()) + "; "
              + console_data.counts(bench.stack.database_url), flush=True)
        session = sign_in(bench.stack.web_url)
        found, missing = pages(session, bench.stack.web_url, bench.stack.database_url)
        runs = []
        for run in range(args.runs):
            load_before = os.getloadavg()[0]
            figures = one_run(bench, session, found, args, run)
            rows, rate = csv_rate(session, bench.stack.web_url)
            logged = server_times(bench.stack.logs / "web.log")
            print(f"run {run + 1}/{args.runs}: load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
                  f"deliveries CSV, 3 days: {rows:,} rows at {rate:,.0f} rows/s")
            for label, page in figures.items():
                page["server"] = percentiles([logged[request_id] for request_id in page.pop("ids")])
                print(report(label, page))
            figures["csv"] = {"rate": rate}
            runs.append(figures)
            sys.stdout.flush()
        print(f"\nmedians of {len(runs)} run(s), ms:")
        for page in found:
            print(report(page.label, {part: tuple(statistics.median(run[page.label][part][i] for run in runs)
                                                  for i in (0, 1)) for part in ("server", "client", "floor")}))
        print(f"  deliveries CSV: {statistics.median(run['csv']['rate'] for run in runs):,.0f} rows/s")
        for label in missing:
            print(f"  {label}: not yet measured (the hub has no such page at this commit)")


if __name__ == "__main__":
    main()
