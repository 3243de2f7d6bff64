"""The floor: a minimal WSGI app doing the hub's database work per request with plain psycopg2, nothing else.

The benchmarks serve it with the same gunicorn, gunicorn.conf.py, worker class and worker count as the hub
(bench/harness.py) and load it in the same run, so that the hub's figures can be quoted as a ratio to what
the machine allows at that moment. Per request it parses the JSON body and runs the statements a plain
implementation needs, no auth, validation, rate limit, outbox, logging or response schema:

  POST /floor/batch        one `INSERT ... SELECT FROM json_populate_recordset(...)` of the events into
                           `floor_clicks` (the columns of `link_clicks`), for 1 or 1,000 events alike
  GET  /floor/track/<id>   one SELECT of the link's destination, one INSERT of the click, then a 302
  POST /floor/form         one INSERT into `floor_forms` (the columns of a SentraTech demo request)
  POST /floor/lead         one INSERT into `floor_leads` (the columns of FASTCore's `lead_inbox`)

Each in a transaction (psycopg2's implicit BEGIN, then COMMIT), on one connection per worker process: the
calls do not yield to gevent, so the greenlets of a worker take the connection in turns. `create_tables`
makes the tables in the benchmark's throw-away database; FLOOR_DATABASE_URL names it.
"""

from __future__ import annotations

import json
import os

import psycopg2

TABLES = """
CREATE TABLE IF NOT EXISTS floor_links (
    tracking_id varchar(100) PRIMARY KEY, original_url varchar(2000), is_active boolean NOT NULL DEFAULT true);
CREATE TABLE IF NOT EXISTS floor_clicks (
    click_id uuid PRIMARY KEY, tracking_id varchar(100) NOT NULL, clicked_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL, ip_address varchar(45), user_agent varchar(500), referrer_url varchar(1000),
    session_id varchar(100), click_source varchar(50) NOT NULL, metadata jsonb, event_id varchar(100));
CREATE INDEX IF NOT EXISTS ix_floor_clicks_tracking_id ON floor_clicks (tracking_id, clicked_at);
CREATE TABLE IF NOT EXISTS floor_forms (
    id uuid PRIMARY KEY, user_name varchar(200), email varchar(254), company varchar(200), message text,
    company_website varchar(500), phone varchar(50), source varchar(100), call_volume integer,
    interaction_volume integer, sync_status varchar(30) NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS floor_leads (
    id uuid PRIMARY KEY, request_id varchar(36) UNIQUE NOT NULL, name varchar(200), email varchar(254),
    phone varchar(50), company varchar(200), service varchar(20), message text, consent boolean, meta jsonb,
    status varchar(20) NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS ix_floor_leads_email ON floor_leads (email);
"""

INSERT_BATCH = """
INSERT INTO floor_clicks (click_id, tracking_id, clicked_at, received_at, ip_address, user_agent, referrer_url,
                          session_id, click_source, metadata, event_id)
SELECT gen_random_uuid(), tracking_id, coalesce(clicked_at, now()), now(), ip_address, user_agent, referrer_url,
       session_id, coalesce(click_source, 'external_domain'), metadata, event_id
FROM json_populate_recordset(NULL::floor_clicks, %s::json -> 'events')
"""
SELECT_LINK = "SELECT original_url FROM floor_links WHERE tracking_id = %s AND is_active"
INSERT_CLICK = """
INSERT INTO floor_clicks (click_id, tracking_id, clicked_at, received_at, ip_address, user_agent, referrer_url,
                          session_id, click_source)
VALUES (gen_random_uuid(), %s, now(), now(), %s, %s, %s, %s, %s)
"""
INSERT_FORM = """
INSERT INTO floor_forms (id, user_name, email, company, message, company_website, phone, source, call_volume,
                         interaction_volume, sync_status, created_at)
VALUES (gen_random_uuid(), %(user_name)s, %(email)s, %(company)s, %(message)s, %(company_website)s, %(phone)s,
        %(source)s, %(call_volume)s, %(interaction_volume)s, 'pending', now())
"""
INSERT_LEAD = """
INSERT INTO floor_leads (id, request_id, name, email, phone, company, service, message, consent, meta, status,
                         created_at)
VALUES (gen_random_uuid(), %(request_id)s, %(name)s, %(email)s, %(phone)s, %(company)s, %(service)s, %(message)s,
        %(consent)s, %(meta)s, 'received', now())
"""
FORM_FIELDS = ("user_name", "email", "company", "message", "company_website", "phone", "source", "call_volume",
               "interaction_volume")
LEAD_FIELDS = ("name", "email", "phone", "company", "service", "message", "consent")

_connection = None  # this worker process's


def create_tables(database_url: str) -> None:
    """The floor's tables in the benchmark's database (idempotent)."""
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(TABLES)
    connection.close()


def _cursor():
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg2.connect(os.environ["FLOOR_DATABASE_URL"])
    return _connection.cursor()


def _run(statement: str, parameters: object) -> None:
    """One statement in its own transaction."""
    with _cursor() as cursor:
        try:
            cursor.execute(statement, parameters)
            _connection.commit()
        except Exception:
            _connection.rollback()
            raise


def _answer(start_response, status: str, body: dict, headers: tuple = ()) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers])
    return [data]


def _body(environ) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length)


def batch(environ, start_response):
    raw = _body(environ)
    events = json.loads(raw)["events"]
    _run(INSERT_BATCH, (raw.decode(),))
    return _answer(start_response, "200 OK", {"success": True, "message": f"Processed {len(events)} events"})


def track(environ, start_response, tracking_id: str):
    with _cursor() as cursor:
        cursor.execute(SELECT_LINK, (tracking_id,))
        row = cursor.fetchone()
        if row is None:
            _connection.rollback()
            return _answer(start_response, "404 Not Found", {"error": "not found"})
        cursor.execute(INSERT_CLICK, (tracking_id, environ.get("REMOTE_ADDR"), environ.get("HTTP_USER_AGENT"),
                                      environ.get("HTTP_REFERER"), "floor-session", "redirect"))
        _connection.commit()
    start_response("302 Found", [("Location", row[0]), ("Content-Length", "0"), ("Cache-Control", "no-store")])
    return [b""]


def form(environ, start_response):
    fields = json.loads(_body(environ))
    _run(INSERT_FORM, {name: fields.get(name) for name in FORM_FIELDS})
    return _answer(start_response, "200 OK", {"success": True})


def lead(environ, start_response):
    fields = json.loads(_body(environ))
    meta = fields.get("meta") or {}
    _run(INSERT_LEAD, {**{name: fields.get(name) for name in LEAD_FIELDS}, "request_id": meta.get("request_id"),
                       "meta": json.dumps(meta)})
    return _answer(start_response, "201 Created", {"status": "received"})


def app(environ, start_response):
    """The WSGI entry point (`floor:app`)."""
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
    if method == "POST" and path == "/floor/batch":
        return batch(environ, start_response)
    if method == "GET" and path.startswith("/floor/track/"):
        return track(environ, start_response, path.removeprefix("/floor/track/"))
    if method == "POST" and path == "/floor/form":
        return form(environ, start_response)
    if method == "POST" and path == "/floor/lead":
        return lead(environ, start_response)
    if path == "/health":
        return _answer(start_response, "200 OK", {"status": "ok"})
    return _answer(start_response, "404 Not Found", {"error": "not found"})
