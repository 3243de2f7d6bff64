"""Fixtures of the link tracking tests: the tracker's key headers, posting batches, reading stored rows."""

import pytest
from sqlalchemy import select

from modules.core.extensions import db
from modules.link_tracking.models import LinkClick, LinkClickDaily, TrackedLink
from tests.support.link_tracking import BATCH_PATH, TRACKING_KEY


@pytest.fixture
def key_headers():
    return {"X-API-Key": TRACKING_KEY}


@pytest.fixture
def post_batch(client, key_headers):
    def post(events=None, *, body=None, headers=None):
        if body is not None:
            return client.post(BATCH_PATH, data=body, content_type="application/json",
                               headers=headers or key_headers)
        return client.post(BATCH_PATH, json={"events": events}, headers=headers or key_headers)

    return post


@pytest.fixture
def stored_clicks(app):
    def read():
        with app.app_context():
            clicks = db.session.scalars(select(LinkClick).order_by(LinkClick.clicked_at, LinkClick.event_id)).all()
            db.session.expunge_all()
            return clicks

    return read


@pytest.fixture
def stored_links(app):
    def read():
        with app.app_context():
            links = db.session.scalars(select(TrackedLink).order_by(TrackedLink.tracking_id)).all()
            db.session.expunge_all()
            return {link.tracking_id: link for link in links}

    return read


@pytest.fixture
def rollup_and_raw(app):
    """({(tracking_id, day, source): (clicks, first, last)} of the rollup, the same counted over the raw
    clicks): the two must always be equal."""
    def read():
        with app.app_context():
            raw = {}
            for click in db.session.scalars(select(LinkClick)):
                key = (click.tracking_id, click.clicked_at.date(), click.click_source)
                count, first, last = raw.get(key, (0, click.clicked_at, click.clicked_at))
                raw[key] = (count + 1, min(first, click.clicked_at), max(last, click.clicked_at))
            rollup = {(row.tracking_id, row.day, row.click_source): (row.clicks, row.first_clicked_at,
                                                                      row.last_clicked_at)
                      for row in db.session.scalars(select(LinkClickDaily))}
            db.session.rollback()
            return rollup, raw

    return read
