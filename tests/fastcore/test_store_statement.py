"""The PostgreSQL path of a new lead: lead, audit entry and e-mail messages in one autocommit statement."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxMessage
from modules.fastcore.models import Lead
from tests.support.fastcore import SITE, lead_body

pytestmark = pytest.mark.postgres_only

REFUSE_MESSAGES = """
CREATE FUNCTION refuse_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
CREATE TRIGGER refuse_message BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_message();
"""
ALLOW_MESSAGES = "DROP TRIGGER refuse_message ON outbox; DROP FUNCTION refuse_message();"


def stored(app):
    with app.app_context():
        return [db.session.scalar(select(func.count()).select_from(model))
                for model in (Lead, AuditEntry, OutboxMessage)]


@pytest.mark.parametrize("consent, kinds", [(True, ["fastcore.admin_alert", "fastcore.welcome_email"]),
                                             (False, ["fastcore.admin_alert"])])
def test_the_lead_its_audit_entry_and_its_messages_are_stored_together(app, client, consent, kinds):
    for _ in range(2):  # the second on a connection that has the statement prepared
        body = lead_body(consent=consent)
        lead_id = client.post("/inbound/leads", json=body, headers=SITE).get_json()["leadId"]
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert (lead.status, lead.received_via, lead.consent, lead.created_at == lead.updated_at) == (
            "received", "direct", consent, True)
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.subject_id == lead_id)).all()
        assert (entry.event, entry.request_id, entry.status_code, entry.details) == (
            "lead.received", body["meta"]["request_id"], 201, {"source": "contact-page", "service": "compresseurs"})
        messages = db.session.execute(select(OutboxMessage.kind, OutboxMessage.payload, OutboxMessage.status)
                                      .where(OutboxMessage.subject_id == lead_id)).all()
        assert sorted(messages) == [(kind, {"lead_id": lead_id}, "pending") for kind in kinds]


def test_a_failing_statement_stores_nothing_and_a_duplicate_is_still_refused(app, client):
    body = lead_body()
    with app.app_context():
        db.session.execute(text(REFUSE_MESSAGES))
        db.session.commit()
    try:
        assert client.post("/inbound/leads", json=body, headers=SITE).status_code >= 500
    finally:
        with app.app_context():
            db.session.execute(text(ALLOW_MESSAGES))
            db.session.commit()
    assert stored(app) == [0, 0, 0]
    assert client.post("/inbound/leads", json=body, headers=SITE).status_code == 201
    duplicate = client.post("/inbound/leads", json=body, headers=SITE)
    assert duplicate.status_code == 400 and stored(app) == [1, 2, 2]
