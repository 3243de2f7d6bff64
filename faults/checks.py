"""The verdict: every accepted record stored exactly once, every expected delivery made at least once.

Records are looked up in PostgreSQL by the marker their client chose, so a second row for one submission
(a duplicate) is seen whatever id the hub gave it. Deliveries are looked up in the peers' ledgers under
the key that the hub must send: the record id (dashboard), the outbox id in the Message-ID (e-mails),
the SMS text's ref (Arkesel), the recording id in the upload URL (DTech). `redelivered` counts extra
deliveries under one key: allowed by at-least-once delivery, harmless where the peer has the key.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg2

from faults.load import Accepted, Results
from modules.core.outbox import DEFAULT_BACKOFF
from modules.core.outbox.policy import JITTER

SENTRATECH_MARKERS = {  # form -> (table, column, how the driver wrote the marker there)
    "demo_requests": ("sentratech_demo_request", "company", "co-{}"),
    "contact_requests": ("sentratech_contact_request", "company_name", "co-{}"),
    "roi_reports": ("sentratech_roi_report", "contact_email", "roi-{}@example.com"),
    "subscriptions": ("sentratech_subscription", "email", "sub-{}@example.com"),
}
EMAIL_KINDS = ("fastcore.welcome_email", "fastcore.admin_alert")
FIRST_ATTEMPT_MEDIAN_LIMIT_SECONDS = 10


@dataclass
class Row:
    name: str
    accepted: int = 0
    stored: int = 0
    delivered: int | None = None  # None: this record leaves nothing to deliver
    duplicates: int = 0
    lost: int = 0
    redelivered: int | None = None


@dataclass
class Verdict:
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the hub did that is allowed but worth knowing

    @property
    def passed(self) -> bool:
        return not self.problems and all(row.lost == 0 and row.duplicates == 0 for row in self.rows)


class Checker:
    def __init__(self, database_url: str, results: Results, ledgers: dict[str, Any]):
        self.connection = psycopg2.connect(database_url)
        self.results, self.ledgers = results, ledgers

    def rows_by(self, sql: str, values: list[str]) -> dict[str, list[str]]:
        """{marker: [ids of the rows that carry it]} for a query returning (marker, id)."""
        found: dict[str, list[str]] = defaultdict(list)
        if values:
            with self.connection.cursor() as cursor:
                cursor.execute(sql, (values,))
                for marker, row_id in cursor.fetchall():
                    found[str(marker)].append(str(row_id))
        return found

    def tally(self, name: str, accepted: list[Accepted], rows: dict[str, list[str]], by_hub_id: bool,
              ledger: Counter[str] | None = None, delivery_key=None) -> Row:
        """Stored: a row carries the marker (and, with `by_hub_id`, it is the row the hub answered).
        Lost: not stored, or (with a ledger) stored but never delivered under its key."""
        row = Row(name, accepted=len(accepted))
        if ledger is not None:
            row.delivered, row.redelivered = 0, 0
        for record in accepted:
            ids = rows.get(record.key, [])
            stored = bool(ids) and (not by_hub_id or record.hub_id in ids)
            row.stored += stored
            row.duplicates += len(ids) > 1
            delivered = True
            if ledger is not None:
                count = ledger.get(delivery_key(record), 0)
                delivered = count > 0
                row.delivered += delivered
                row.redelivered += max(0, count - 1)
            row.lost += not (stored and delivered)
        return row

    def verdict(self) -> Verdict:
        verdict = Verdict()
        verdict.rows.append(self.tally("link_tracking clicks", self.results.of("link_tracking", "clicks"),
                                       self.rows_by("SELECT event_id, click_id FROM link_clicks "
                                                    "WHERE event_id = ANY(%s)", self._keys("link_tracking",
                                                                                           "clicks")), False))
        dashboard = self.ledgers["dashboard"].deliveries
        for form, (table, column, pattern) in SENTRATECH_MARKERS.items():
            accepted = self.results.of("sentratech", form)
            found = self.rows_by(f"SELECT {column}, id FROM {table} WHERE {column} = ANY(%s)",
                                 [pattern.format(a.key) for a in accepted])
            rows = {a.key: found.get(pattern.format(a.key), []) for a in accepted}
            verdict.rows.append(self.tally(f"sentratech {form}", accepted, rows, True, dashboard,
                                           lambda a: a.hub_id))
        verdict.rows.append(self._leads(verdict.problems))
        verdict.rows.extend(self._insight())
        verdict.rows.extend(self._dtech())
        for name, ledger in self.ledgers.items():
            verdict.problems.extend(f"{name} peer: {problem}" for problem in sorted(set(ledger.problems)))
        for (domain, route, status), count in sorted(self.results.unclean.items()):
            verdict.problems.append(f"{domain} {route}: {count} answer(s) {status} that are not a clean refusal")
        verdict.notes.extend([self._early_retries(), self._orphan_processes(), self._leads_received_via()])
        self._first_attempt_delay(verdict)
        return verdict

    def _first_attempt_delay(self, verdict: Verdict) -> None:
        """How long messages waited from their commit to their first delivery attempt. Drains are queued on
        commit, so the median is well under a second even with partners failing; the periodic sweeper
        (30 s grace) and the drain phase's operator sweep would still deliver everything if they were not,
        so a slow median is the only sign of it."""
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM "
                           "a.started_at - m.created_at)) FROM outbox m JOIN outbox_attempt a "
                           "ON a.outbox_id = m.id AND a.number = 1")
            median, p90 = cursor.fetchone()[0] or (0.0, 0.0)
        verdict.notes.append(f"from commit to first delivery attempt: median {median:.1f} s, 90% within {p90:.1f} s")
        if median > FIRST_ATTEMPT_MEDIAN_LIMIT_SECONDS:
            verdict.problems.append(f"half the outbox messages waited over {FIRST_ATTEMPT_MEDIAN_LIMIT_SECONDS} s "
                                    "for their first attempt: drains are not queued on commit")

    def _early_retries(self) -> str:
        """Retries that started sooner after a failed attempt than the backoff allows (every kind's
        backoff begins 10 s, 60 s, 300 s, each jittered by up to -20%): the sign of a second job for a
        message already queued."""
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT number, outcome, finished_at, lead(started_at) OVER (PARTITION BY outbox_id "
                           "ORDER BY number) FROM outbox_attempt")
            attempts = cursor.fetchall()
        early = retries = 0
        for number, outcome, finished_at, next_started in attempts:
            if outcome == "retry" and next_started is not None:
                retries += 1
                allowed = DEFAULT_BACKOFF[min(number, len(DEFAULT_BACKOFF)) - 1] * (1 - JITTER)
                early += (next_started - finished_at).total_seconds() < allowed - 1
        return f"retries that started before their backoff delay had passed: {early} of {retries}"

    def _orphan_processes(self) -> str:
        """DTech processes the partner started whose answer never reached the hub (a timeout): the
        agent's retry started another one; the partner keeps both (its start has no idempotency key)."""
        started = list(self.ledgers["dtech_starts"].deliveries)
        kept = self.rows_by("SELECT sales_process_id, id FROM dtech_sales_process WHERE sales_process_id = ANY(%s)",
                            started)
        return f"DTech sales processes started at the partner but unknown to the hub: {len(started) - len(kept)}"

    def _leads_received_via(self) -> str:
        """How the accepted leads reached the database: `file` ones were queued in a web server's own
        fallback file while PostgreSQL and Redis were down together, and written by that server."""
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT received_via, count(*) FROM lead_inbox WHERE request_id = ANY(%s) "
                           "GROUP BY received_via ORDER BY received_via", (self._keys("fastcore", "leads"),))
            counts = ", ".join(f"{via} {count}" for via, count in cursor.fetchall())
        return f"FASTCore leads by the way they reached the database: {counts or 'none'}"

    def _keys(self, domain: str, kind: str) -> list[str]:
        return [a.key for a in self.results.of(domain, kind)]

    def _leads(self, problems: list[str]) -> Row:
        """A lead is delivered when each e-mail it calls for (the alert; the welcome with consent) has an
        outbox message that reached the SMTP peer under its id."""
        accepted = self.results.of("fastcore", "leads")
        rows = self.rows_by("SELECT request_id, id FROM lead_inbox WHERE request_id = ANY(%s)",
                            [a.key for a in accepted])
        lead_ids = [ids[0] for ids in rows.values()]
        emails: dict[str, list[tuple[str, str]]] = defaultdict(list)
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT subject_id, kind, id FROM outbox WHERE kind = ANY(%s) AND subject_id = ANY(%s)",
                           (list(EMAIL_KINDS), lead_ids))
            for subject_id, kind, message_id in cursor.fetchall():
                emails[subject_id].append((kind, message_id))
        smtp = self.ledgers["smtp"].deliveries
        row = self.tally("fastcore leads", accepted, rows, True)
        row.delivered, row.redelivered = 0, 0
        for record in accepted:
            ids = rows.get(record.key, [])
            if not ids:
                continue
            messages = emails.get(ids[0], [])
            expected = ["fastcore.admin_alert"] + (["fastcore.welcome_email"] if record.details["consent"] else [])
            kinds = Counter(kind for kind, _ in messages)
            if any(kinds[kind] > 1 for kind in kinds):
                problems.append(f"fastcore lead {ids[0]}: more than one outbox message of one e-mail kind")
            sent = all(any(kind == wanted and smtp.get(message_id) for kind, message_id in messages)
                       for wanted in expected)
            row.delivered += sent
            row.lost += not sent
            row.redelivered += sum(max(0, smtp.get(message_id, 0) - 1) for _, message_id in messages)
        return row

    def _insight(self) -> list[Row]:
        arkesel = self.ledgers["arkesel"].deliveries
        customers = self.rows_by("SELECT account_number, id FROM insight_customer WHERE account_number = ANY(%s)",
                                 self._keys("insight", "customers"))
        actions = self.rows_by("SELECT substring(batch_id from 8), id FROM insight_action "
                               "WHERE batch_id = ANY(%s)",
                               [f"faults-{key}" for key in self._keys("insight", "actions")])
        sms = self.rows_by("SELECT substring(message from 'ref=([0-9a-f]{32})'), id FROM insight_sms "
                           "WHERE substring(message from 'ref=([0-9a-f]{32})') = ANY(%s)", self._keys("insight", "sms"))
        return [
            self.tally("insight customers", self.results.of("insight", "customers"), customers, False),
            self.tally("insight actions", self.results.of("insight", "actions"), actions, True),
            self.tally("insight sms", self.results.of("insight", "sms"), sms, True, arkesel, lambda a: a.key),
            self._batches(),
        ]

    def _batches(self) -> Row:
        """A batch is stored when its row, its three customers and exactly three batch actions exist."""
        accepted = self.results.of("insight", "batches")
        batch_rows = self.rows_by("SELECT batch_id, batch_id FROM insight_batch WHERE batch_id = ANY(%s)",
                                  [a.key for a in accepted])
        actions = self.rows_by("SELECT batch_id, id FROM insight_action WHERE batch_id = ANY(%s)",
                               [a.key for a in accepted])
        accounts = self.rows_by("SELECT account_number, id FROM insight_customer WHERE account_number = ANY(%s)",
                                [account for a in accepted for account in a.details["accounts"]])
        row = Row("insight batches", accepted=len(accepted))
        for record in accepted:
            complete = (len(batch_rows.get(record.key, [])) == 1 and len(actions.get(record.key, [])) >= 3
                        and all(accounts.get(account) for account in record.details["accounts"]))
            row.stored += complete
            row.duplicates += len(actions.get(record.key, [])) > 3
            row.lost += not complete
        return row

    def _dtech(self) -> list[Row]:
        puts = self.ledgers["dtech"].deliveries
        processes = self.rows_by("SELECT sales_process_id, id FROM dtech_sales_process "
                                 "WHERE sales_process_id = ANY(%s)", self._keys("dtech", "processes"))
        recordings = self.rows_by("SELECT file_name, id FROM dtech_call_recording WHERE file_name = ANY(%s)",
                                  self._keys("dtech", "recordings"))
        uploads = self.rows_by("SELECT recording_id, id FROM dtech_call_recording WHERE recording_id = ANY(%s) "
                               "AND status IN ('uploading', 'complete')", self._keys("dtech", "uploads"))
        return [
            self.tally("dtech processes", self.results.of("dtech", "processes"), processes, False),
            self.tally("dtech recordings", self.results.of("dtech", "recordings"), recordings, True),
            self.tally("dtech uploads", self.results.of("dtech", "uploads"), uploads, True, puts, lambda a: a.key),
        ]

    def close(self) -> None:
        self.connection.close()


def table(verdict: Verdict) -> str:
    header = f"{'domain / record':28} {'accepted':>9} {'stored':>8} {'delivered':>10} {'duplicates':>11} " \
             f"{'lost':>6} {'redelivered':>12}"
    lines = [header, "-" * len(header)]
    for row in verdict.rows:
        delivered = "-" if row.delivered is None else str(row.delivered)
        redelivered = "-" if row.redelivered is None else str(row.redelivered)
        lines.append(f"{row.name:28} {row.accepted:>9} {row.stored:>8} {delivered:>10} {row.duplicates:>11} "
                     f"{row.lost:>6} {redelivered:>12}")
    return "\n".join(lines)
