"""The console benchmark's data: outbox messages, their attempts, audit entries and operators, made by
PostgreSQL itself (INSERT ... SELECT generate_series), then VACUUM ANALYZE.

The mix follows the hub's real kinds and destinations (modules/*/jobs.py):

- outbox: half `sentratech.dashboard_sync` (dashboard), 12 % each `fastcore.welcome_email` and
  `fastcore.admin_alert` (smtp), 20 % `insight.sms` (arkesel), 6 % `dtech.recording_put` (dtech.uploads);
  created over the last 30 days, evenly; mostly delivered, the newest 1 % and one in 1,009 pending, one in
  331 dead (about 3,000 of 10^6); two messages per subject (a record id);
- outbox_attempt: 1 to 3 attempts for one message in 7, 3 for each dead one (15 % of messages in all), the
  last one's outcome matching the message's status;
- audit_log: 24 events of six domains, from 12 actors (operators, keys, the mailer, the receipt token,
  system), over the last 365 days; three entries per subject;
- operator: BENCH_OPERATORS accounts besides the stack's admin (they act in the audit log).
"""

from __future__ import annotations

import time

import psycopg2

DAYS_OF_MESSAGES = 30
DAYS_OF_AUDIT = 365
BENCH_OPERATORS = 12
KINDS = (  # (share in %, kind, payload made from the subject id `s`)
    (50, "sentratech.dashboard_sync", "jsonb_build_object('form', 'contact')"),
    (12, "fastcore.welcome_email", "jsonb_build_object('lead_id', s)"),
    (12, "fastcore.admin_alert", "jsonb_build_object('lead_id', s)"),
    (20, "insight.sms", "jsonb_build_object('sms_id', s)"),
    (6, "dtech.recording_put", "jsonb_build_object('upload_id', s)"),
)
EVENTS = (
    ("core", "console.signed_in"), ("core", "console.signed_out"), ("core", "outbox.replayed"),
    ("core", "outbox.destination_paused"), ("core", "outbox.destination_resumed"), ("core", "operator.created"),
    ("sentratech", "form.received"), ("sentratech", "sync.failed"),
    ("fastcore", "lead.received"), ("fastcore", "lead.status_changed"), ("fastcore", "email.sent"),
    ("fastcore", "email.failed"), ("fastcore", "lead.duplicate_refused"),
    ("insight", "sms.queued"), ("insight", "sms.receipt"), ("insight", "customer.created"),
    ("insight", "customer.updated"), ("insight", "action.batch"),
    ("dtech", "sales.started"), ("dtech", "sales.stopped"), ("dtech", "recording.announced"),
    ("dtech", "recording.received"),
    ("link_tracking", "link.created"), ("link_tracking", "link.updated"),
)
SYSTEM_ACTORS = ("key:INGEST_KEY", "key:FASTCORE_SITE_INGEST_TOKEN", "mailer", "token:insight.sms-receipt",
                 "system", "flush-job")


def _kind_case() -> tuple[str, str]:
    """CASE expressions on `n % 100` for the kind and its payload."""
    kinds, payloads, upper = [], [], 0
    for share, kind, payload in KINDS:
        upper += share
        kinds.append(f"WHEN n % 100 < {upper} THEN '{kind}'")
        payloads.append(f"WHEN n % 100 < {upper} THEN {payload}")
    return f"CASE {' '.join(kinds)} END", f"CASE {' '.join(payloads)} END"


def _outbox_sql(count: int) -> str:
    kind, payload = _kind_case()
    return f"""
        INSERT INTO outbox (id, kind, subject_id, payload, status, attempts, next_attempt_at, claimed_until,
                            enqueued_at, last_error, last_status_code, created_at, updated_at, delivered_at)
        SELECT id, kind, s, payload, status, attempts, created_at + interval '2 seconds', NULL, NULL,
               CASE WHEN status = 'dead' THEN 'HTTP 503 from the peer: service unavailable' END,
               CASE WHEN attempts > 0 THEN CASE status WHEN 'delivered' THEN 200 ELSE 503 END END,
               created_at, created_at + interval '2 seconds',
               CASE WHEN status = 'delivered' THEN created_at + interval '2 seconds' END
        FROM (SELECT n, md5('m' || n)::uuid::text AS id, {kind} AS kind, s, {payload} AS payload,
                     CASE WHEN n % 331 = 5 THEN 'dead'
                          WHEN n < {count // 100} OR n % 1009 = 3 THEN 'pending' ELSE 'delivered' END AS status,
                     CASE WHEN n % 331 = 5 THEN 3 WHEN n % 7 = 0 THEN 1 + (n / 7) % 3
                          WHEN n % 1009 = 3 THEN 1 ELSE 0 END AS attempts,
                     now() - n * (interval '{DAYS_OF_MESSAGES} days' / {count}) AS created_at
              FROM generate_series(0, {count - 1}) AS n, LATERAL (SELECT md5('s' || (n / 2))::uuid::text) AS subject(s))
             AS made"""


ATTEMPTS_SQL = """
    INSERT INTO outbox_attempt (outbox_id, number, started_at, finished_at, outcome, status_code, error)
    SELECT id, number, created_at + number * interval '1 minute',
           created_at + number * interval '1 minute' + interval '180 milliseconds',
           CASE WHEN number < attempts THEN 'retry' WHEN status = 'pending' THEN 'retry'
                WHEN status = 'dead' THEN 'dead' ELSE 'delivered' END,
           CASE WHEN number = attempts AND status = 'delivered' THEN 200 ELSE 503 END,
           CASE WHEN number = attempts AND status = 'delivered' THEN NULL ELSE 'HTTP 503: service unavailable' END
    FROM outbox, generate_series(1, outbox.attempts) AS number
    WHERE outbox.attempts > 0"""


def _audit_sql(count: int, actors: list[str]) -> str:
    events = ", ".join(f"({n}, '{domain}', '{event}')" for n, (domain, event) in enumerate(EVENTS))
    named = ", ".join(f"({n}, '{actor}')" for n, actor in enumerate(actors))
    return f"""
        INSERT INTO audit_log (domain, event, actor, subject_id, request_id, status_code, details, created_at)
        SELECT e.domain, e.event, a.actor, md5('a' || (n / 3))::uuid::text, md5('r' || n),
               CASE WHEN n % 50 = 0 THEN 422 ELSE 200 END, jsonb_build_object('bench', n % 10),
               now() - n * (interval '{DAYS_OF_AUDIT} days' / {count})
        FROM generate_series(0, {count - 1}) AS n
        JOIN (VALUES {events}) AS e(i, domain, event) ON e.i = n % {len(EVENTS)}
        JOIN (VALUES {named}) AS a(i, actor) ON a.i = (n / 5) % {len(actors)}"""


def load(database_url: str, messages: int, audit_rows: int) -> dict[str, float]:
    """Load everything (see the module's docstring); the seconds each part took."""
    took = {}
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("INSERT INTO operator (id, email, name, password_hash, is_active, token_version, role, "
                       "created_at) SELECT md5('o' || n)::uuid::text, 'bench-' || n || '@example.com', "
                       "'Bench operator ' || n, 'not-a-hash', mod(n, 6) <> 5, 0, "
                       "CASE WHEN mod(n, 4) = 0 THEN 'admin' ELSE 'operator' END, now() - n * interval '9 days' "
                       "FROM generate_series(1, %s) AS n", (BENCH_OPERATORS,))
        cursor.execute("SELECT 'operator:' || id FROM operator ORDER BY created_at")
        actors = [row[0] for row in cursor.fetchall()] + list(SYSTEM_ACTORS)
        cursor.execute(_outbox_sql(messages))
        took["outbox"] = time.perf_counter() - started
        cursor.execute(ATTEMPTS_SQL)
        took["attempts"] = time.perf_counter() - started - took["outbox"]
        cursor.execute(_audit_sql(audit_rows, actors))
        took["audit"] = time.perf_counter() - started - took["outbox"] - took["attempts"]
    connection.close()
    started = time.perf_counter()
    connection = psycopg2.connect(database_url)
    connection.autocommit = True  # VACUUM runs outside a transaction
    with connection.cursor() as cursor:
        for table in ("outbox", "outbox_attempt", "audit_log", "operator"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    connection.close()
    took["vacuum"] = time.perf_counter() - started
    return took


def counts(database_url: str) -> str:
    """What was loaded, for the report."""
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status")
        statuses = ", ".join(f"{count:,} {status}" for status, count in cursor.fetchall())
        cursor.execute("SELECT (SELECT count(*) FROM outbox_attempt), (SELECT count(DISTINCT outbox_id) FROM "
                       "outbox_attempt), (SELECT count(*) FROM audit_log), (SELECT count(*) FROM operator)")
        attempts, attempted, audit_rows, operators = cursor.fetchone()
    connection.close()
    return (f"outbox: {statuses}; {attempts:,} attempts of {attempted:,} messages; {audit_rows:,} audit entries; "
            f"{operators} operators")
