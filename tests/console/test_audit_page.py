"""The audit log page: each filter, keyset pages without duplicates or gaps, the CSV export, and console
actions audited with the signed-in admin as the actor."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from modules.core.extensions import db
from modules.core.models import AuditEntry
from tests.console.conftest import csrf_token

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def add_entries(app, *specs: dict) -> None:
    """Audit rows with the given columns (created_at defaults to T0, domain to core)."""
    with app.app_context():
        for spec in specs:
            db.session.add(AuditEntry(**{"domain": "core", "event": "test.event", "created_at": T0, **spec}))
        db.session.commit()


def subjects(page_html: str) -> list[str]:
    """The subject ids of the listed entries (the tests name them s-...), in page order."""
    return re.findall(r'<td class="mono">(s-[^<]+)</td>', page_html)


def older_link(page_html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page_html)
    return html.unescape(found.group(1)) if found else None


def listed(client, **args) -> list[str]:
    response = client.get("/console/audit", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    return subjects(response.get_data(as_text=True))


def test_the_actor_filter_is_exact(app, admin_client):
    add_entries(app, {"actor": "cli", "subject_id": "s-cli"}, {"actor": "system", "subject_id": "s-system"},
                {"actor": "key:INGEST_KEY", "subject_id": "s-key"}, {"actor": "client", "subject_id": "s-client"})
    assert listed(admin_client, actor="cli") == ["s-cli"], "exact: `client` does not match `cli`"
    assert listed(admin_client, actor="key:INGEST_KEY") == ["s-key"]
    assert listed(admin_client, actor="system") == ["s-system"]
    assert listed(admin_client, actor="key:") == []


def test_an_operator_picked_by_email_is_their_actor_and_is_shown_with_their_email(app, admin, field_operator,
                                                                                  admin_client):
    add_entries(app, {"actor": f"operator:{field_operator}", "subject_id": "s-field"},
                {"actor": f"operator:{admin}", "subject_id": "s-admin", "created_at": T0 - timedelta(hours=1)})
    page = admin_client.get("/console/audit").get_data(as_text=True)
    assert f'<option value="operator:{field_operator}">field@example.com</option>' in page
    assert listed(admin_client, operator=f"operator:{field_operator}") == ["s-field"]
    shown = admin_client.get("/console/audit", query_string={"actor": f"operator:{field_operator}"})
    text = shown.get_data(as_text=True)
    assert f"operator:{field_operator}" in text and "field@example.com" in text
    assert "console.signed_in" not in text, "the admin's own sign-in is another actor"


def test_the_subject_and_domain_filters(app, admin_client):
    add_entries(app, {"subject_id": "s-1", "domain": "insight"}, {"subject_id": "s-2", "domain": "insight"},
                {"subject_id": "s-1", "domain": "dtech", "created_at": T0 - timedelta(minutes=1)})
    assert listed(admin_client, subject="s-1") == ["s-1", "s-1"]
    assert listed(admin_client, subject="s-") == [], "a subject id is exact"
    assert listed(admin_client, domain="dtech") == ["s-1"]
    assert sorted(listed(admin_client, domain="insight")) == ["s-1", "s-2"]
    assert listed(admin_client, domain="insight", subject="s-2") == ["s-2"]


def test_the_action_filter_is_exact_or_a_prefix(app, admin_client):
    add_entries(app, {"event": "outbox.replayed", "subject_id": "s-replayed"},
                {"event": "outbox.paused", "subject_id": "s-paused", "created_at": T0 - timedelta(seconds=1)},
                {"event": "outboxes.other", "subject_id": "s-other"},
                {"event": "outbox_replayed", "subject_id": "s-underscore"})
    assert listed(admin_client, action="outbox.replayed") == ["s-replayed"]
    assert listed(admin_client, action="outbox.") == ["s-replayed", "s-paused"]
    assert listed(admin_client, action="outbox.*") == ["s-replayed", "s-paused"]
    assert listed(admin_client, action="outbox") == [], "without a dot or star the action is exact"
    assert listed(admin_client, action="o_tbox.") == [], "LIKE wildcards are taken literally"
    assert listed(admin_client, action="%.") == []


def test_the_time_range_is_since_inclusive_until_exclusive(app, admin_client):
    add_entries(app, *({"subject_id": f"s-{hour}", "created_at": T0.replace(hour=hour)} for hour in (9, 10, 11)))
    assert listed(admin_client, since="2026-11-30T10:00", until="2026-11-30T11:00") == ["s-10"]
    assert listed(admin_client, since="2026-11-30T10:00:00+00:00") == ["s-11", "s-10"]
    assert listed(admin_client, until="2026-11-30T10:00") == ["s-9"]
    assert listed(admin_client, since="2026-11-30T12:00+01:00", until="2026-11-30T11:00:00.000001") == ["s-11"]


def test_a_bad_time_or_cursor_is_a_422_naming_it(admin_client):
    response = admin_client.get("/console/audit", query_string={"since": "yesterday"})
    assert response.status_code == 422 and "From: &#39;yesterday&#39; is not a time" in response.get_data(as_text=True)
    for name in ("actor", "subject", "action", "domain"):
        nul = admin_client.get("/console/audit", query_string={name: "a\x00b"})
        assert nul.status_code == 422 and "must not contain NUL" in nul.get_data(as_text=True), name
    nul_csv = admin_client.get("/console/audit", query_string={"actor": "a\x00b", "format": "csv"})
    assert nul_csv.status_code == 422
    for cursor in ("nonsense", "2026-11-30T10:00:00+00:00_x", "2026-11-30T10:00:00_5",
                   "0001-01-01T00:00:00+05:00_1", "2026-11-30T10:00:00+00:00_99999999999999999999"):
        broken = admin_client.get("/console/audit", query_string={"after": cursor})
        assert broken.status_code == 422 and "This page link is broken" in broken.get_data(as_text=True), cursor


def test_keyset_pages_walk_every_entry_once_newest_first(app, admin_client):
    """120 entries, many sharing one created_at (the id breaks the tie): three pages, no duplicate, no gap,
    even when entries are added while paging."""
    add_entries(app, *({"subject_id": f"s-{number:03d}", "created_at": T0 + timedelta(seconds=number // 7)}
                       for number in range(120)))
    expected = [f"s-{number:03d}" for number in reversed(range(120))]
    seen, url, pages = [], "/console/audit?action=test.event", 0
    while url:
        page = admin_client.get(url).get_data(as_text=True)
        seen += subjects(page)
        pages += 1
        if pages == 1:
            add_entries(app, {"subject_id": "s-new", "created_at": T0 + timedelta(hours=1)})
        url = older_link(page)
    assert pages == 3 and seen == expected
    assert pages == 3


def test_an_older_page_is_one_keyset_read_without_a_count(app, admin_client):
    add_entries(app, *({"subject_id": f"s-{number:03d}"} for number in range(60)))
    url = older_link(admin_client.get("/console/audit").get_data(as_text=True))
    statements: list[str] = []

    def remember(_connection, _cursor, statement, *_args):
        statements.append(statement.lower())

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            assert subjects(admin_client.get(url).get_data(as_text=True))
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
    reads = [statement for statement in statements if "from audit_log" in statement]
    assert len(reads) == 1 and "count(" not in reads[0]
    assert "(audit_log.created_at, audit_log.id) <" in reads[0]
    assert "order by audit_log.created_at desc, audit_log.id desc" in reads[0]


def test_csv_export_streams_every_matching_row_with_formula_cells_neutralised(app, admin_client):
    add_entries(app, *({"subject_id": f"s-{number:03d}", "created_at": T0 + timedelta(seconds=number)}
                       for number in range(620)))
    add_entries(app, {"subject_id": "=HYPERLINK(\"http://evil\")", "event": "test.formula", "actor": "cli",
                      "details": {"b": 1, "a": "x y"}, "status_code": 201, "request_id": "r-1",
                      "created_at": T0 + timedelta(hours=1)})
    response = admin_client.get("/console/audit", query_string={"action": "test.", "format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["time", "domain", "event", "actor", "operator_email", "subject_id", "request_id",
                       "status", "details"]
    assert len(rows) == 1 + 621, "every matching row, more than one export chunk, not one page"
    assert [row[5] for row in rows[2:]] == [f"s-{number:03d}" for number in reversed(range(620))]
    formula = rows[1]
    assert formula[5] == "'=HYPERLINK(\"http://evil\")" and formula[3] == "cli"
    assert formula[6:] == ["r-1", "201", '{"a":"x y","b":1}']
    other = admin_client.get("/console/audit", query_string={"action": "test.formula", "format": "csv"})
    assert len(list(csv.reader(io.StringIO(other.get_data(as_text=True))))) == 2, "the filter applies"


def test_the_page_shows_each_column(app, admin_client):
    add_entries(app, {"subject_id": "s-full", "actor": "key:INGEST_KEY", "request_id": "req-42",
                      "status_code": 202, "details": {"kind": "x", "n": 2}, "domain": "sentratech",
                      "event": "form.received"})
    page = admin_client.get("/console/audit", query_string={"subject": "s-full"}).get_data(as_text=True)
    for shown in ("2026-11-30 10:00:00 UTC", "sentratech", "form.received", "key:INGEST_KEY", "req-42", ">202<",
                  '{&#34;kind&#34;:&#34;x&#34;,&#34;n&#34;:2}'):
        assert shown in page, shown


def test_console_actions_are_audited_with_the_admin_as_actor(app, admin, admin_client):
    page = admin_client.get("/console/operators").get_data(as_text=True)
    response = admin_client.post("/console/operators", data={
        "csrf_token": csrf_token(page), "email": "new@example.com", "name": "New", "role": "operator",
        "password": "long-enough-password"})
    assert response.status_code == 303
    assert "new@example.com created" in admin_client.get(response.location).get_data(as_text=True)
    audit_page = admin_client.get("/console/audit", query_string={"action": "operator."}).get_data(as_text=True)
    assert "operator.created" in audit_page
    assert f"operator:{admin}" in audit_page and "admin@example.com" in audit_page
    entries = audit_page.split("<tbody>")[1]
    assert "new@example.com" not in entries, "an audit entry names the subject by id, not by e-mail"
    mine = admin_client.get("/console/audit", query_string={"operator": f"operator:{admin}",
                                                            "action": "operator.created"})
    assert "operator.created" in mine.get_data(as_text=True)
