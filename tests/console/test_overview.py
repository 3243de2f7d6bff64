"""The console's overview: services, records received per domain in the last hour and day, destinations with
their backlog and dead messages, and "needs attention" with links for admins only; its live fragments."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from modules.core import outbox, scheduler
from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.redis_client import get_redis
from modules.core.types import isoformat, utcnow
from modules.fastcore.models import Lead
from modules.insight.models import SmsMessage
from modules.sentratech.models import Subscription
from tests.support.handlers import KIND
from tests.support.link_tracking import BATCH_PATH, TRACKING_KEY
from tests.support.sentratech import INGEST_HEADERS, valid_body

DEAD_LINK = f'href="/console/deliveries?status=dead&amp;destination={KIND}"'
PAUSED_LINK = f'href="/console/deliveries?destination={KIND}"'


def row_of(html: str, title: str) -> list[str]:
    """The cells of the records table's row for the domain `title`."""
    found = re.search(rf'<tr><th scope="row">{re.escape(title)}</th>(.*?)</tr>', html, re.S)
    assert found, f"no row for {title}"
    return re.findall(r'<td class="num">(\d+)</td>', found.group(1))


def attention_of(html: str) -> str:
    found = re.search(r'<h2 id="attention-title">Needs attention</h2>(.*?)</section>', html, re.S)
    assert found
    return found.group(1)


def page(client, path="/console/overview") -> str:
    answer = client.get(path)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def test_a_form_posted_through_the_ingest_api_counts_in_the_last_hour_and_day(app, admin_client):
    assert row_of(page(admin_client), "SentraTech") == ["0", "0"]
    for form in ("demo_requests", "subscriptions"):
        answer = app.test_client().post(f"/api/ingest/{form}", json=valid_body(form), headers=INGEST_HEADERS)
        assert answer.status_code in (200, 201), answer.get_data(as_text=True)
    assert row_of(page(admin_client), "SentraTech") == ["2", "2"]


def test_records_older_than_an_hour_count_in_the_day_only_and_older_than_a_day_not_at_all(app, operator_client):
    now = utcnow()
    with app.app_context():
        for number, age in enumerate((timedelta(minutes=5), timedelta(hours=2), timedelta(hours=23),
                                      timedelta(days=2))):
            db.session.add(Subscription(email=f"reader{number}@example.com", created_at=now - age, updated_at=now))
            db.session.add(Lead(request_id=f"request-{number}", name="Lead", email=f"lead{number}@example.com",
                                message="Call me", consent=True, created_at=now - age))
        db.session.commit()
    html = page(operator_client)
    assert row_of(html, "SentraTech") == ["1", "3"]
    assert row_of(html, "FASTCore") == ["1", "3"]
    for title in ("Link tracking", "Insight", "DTech"):
        assert row_of(html, title) == ["0", "0"]


def test_a_scheduler_that_stopped_needs_attention_with_the_time_it_last_ran(app, operator_client):
    ran = utcnow().replace(microsecond=0) - timedelta(minutes=7)
    scheduler.Scheduler(app).run_due(ran)
    html = page(operator_client)
    assert "last ran " + ran.strftime("%Y-%m-%d %H:%M:%S UTC") in html
    assert "The scheduler is not running" not in attention_of(html), "its heartbeat is fresh"
    get_redis(app).delete(scheduler.HEARTBEAT_KEY)  # what its expiry does once it stops
    attention = attention_of(page(operator_client))
    assert f"The scheduler is not running (last ran {ran.strftime('%Y-%m-%d %H:%M:%S UTC')})" in attention


def test_clicks_count_by_their_time_across_monthly_partitions(app, admin_client):
    now = utcnow()
    ages = (timedelta(minutes=1), timedelta(minutes=50), timedelta(hours=5), timedelta(hours=25), timedelta(days=40))
    events = [{"tracking_id": "spring-sale", "event_id": f"click-{number}", "clicked_at": isoformat(now - age)}
              for number, age in enumerate(ages)]
    answer = app.test_client().post(BATCH_PATH, json={"events": events}, headers={"X-API-Key": TRACKING_KEY})
    assert answer.status_code in (200, 201), answer.get_data(as_text=True)
    assert row_of(page(admin_client), "Link tracking") == ["2", "3"]


@pytest.fixture
def troubled_destination(app, admin):
    """The test kind's destination paused by the admin, with one dead and two pending messages."""
    created = utcnow() - timedelta(hours=3)
    with app.app_context():
        for status in ("dead", "pending", "pending"):
            db.session.add(OutboxMessage(kind=KIND, payload={"url": "", "body": {}}, status=status,
                                         created_at=created if status == "pending" else utcnow()))
        db.session.commit()
        outbox.control.pause(KIND, "peer maintenance", actor=f"operator:{admin}")


def test_a_paused_destination_and_a_dead_message_need_attention_with_links_for_an_admin(
        admin_client, troubled_destination):
    html = page(admin_client)
    attention = attention_of(html)
    assert f"{KIND} is paused (peer maintenance); 2 pending" in attention
    assert f"{KIND}: 1 dead message" in attention
    assert DEAD_LINK in attention and PAUSED_LINK in attention
    destination = re.search(rf'<th scope="row">{re.escape(KIND)}</th>(.*?)</tr>', html, re.S).group(1)
    assert "paused" in destination and "3 h old" in destination
    assert re.findall(r'<td class="num">(\d+)</td>', destination) == ["2", "1"]


def test_an_operator_sees_what_needs_attention_without_links_to_admin_pages(operator_client, troubled_destination):
    attention = attention_of(page(operator_client))
    assert f"{KIND} is paused (peer maintenance); 2 pending" in attention
    assert f"{KIND}: 1 dead message" in attention
    assert "/console/deliveries" not in attention


def test_nothing_running_needs_attention_too(operator_client):
    attention = attention_of(page(operator_client))
    assert "No worker is running" in attention
    assert "The scheduler is not running (never ran here)" in attention


def test_sms_that_failed_in_the_last_day_need_attention(app, operator_client):
    now = utcnow()
    with app.app_context():
        for status, age in (("failed", timedelta(hours=2)), ("failed", timedelta(days=2)),
                            ("delivered", timedelta(hours=1))):
            db.session.add(SmsMessage(kind="custom", recipients=["233200000000"], message="Hello", status=status,
                                      performed_by="operator", created_at=now - age))
        db.session.commit()
    assert "1 SMS failed in the last day" in attention_of(page(operator_client))


def test_the_fragments_answer_each_live_region_without_the_layout(admin_client, troubled_destination):
    html = page(admin_client)
    for part, topics in (("operations", "deliveries destinations"), ("records", "records")):
        assert f'data-live-src="/console/overview/live?part={part}" data-live-topics="{topics}"' in html
    operations = page(admin_client, "/console/overview/live?part=operations")
    assert "<html" not in operations and "Needs attention" in operations and DEAD_LINK in operations
    records = page(admin_client, "/console/overview/live?part=records")
    assert "<html" not in records and "Records received" in records and "SentraTech" in records
    assert admin_client.get("/console/overview/live?part=nothing").status_code == 404


@pytest.mark.parametrize("path", ["/console/overview", "/console/overview/live?part=records"])
def test_a_visitor_not_signed_in_is_sent_to_the_sign_in(client, path):
    answer = client.get(path)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/console/login?next=")
