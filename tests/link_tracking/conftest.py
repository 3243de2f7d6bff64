"""Fixtures of the link tracking tests: the tracker's key headers, posting batches, reading stored rows."""

import pytest
from sqlalchemy import select

from modules.core.extensions import db
from modules.link_tracking.models import LinkClick, TrackedLink
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
