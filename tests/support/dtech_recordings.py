"""Helpers of the DTech recording tests: announce a recording, upload its file, read its state."""

import base64
import hashlib
from datetime import timedelta

from sqlalchemy import func, select

from modules.core import outbox
from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.types import utcnow
from modules.dtech.models import CallRecording, RecordingChunk
from tests.support.dtech import AUDIO, RECORDING_BODY, multipart
from tests.support.dtech_partner import SALES_PROCESS_ID, UPLOAD_PATH

CONTENT_MD5 = base64.b64encode(hashlib.md5(AUDIO).digest()).decode()


def announce(client, headers, partner):
    partner.answer_recording_url()
    response = client.post(f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}", json=RECORDING_BODY, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["upload_id"]


def upload(client, headers, upload_id, content=AUDIO):
    return client.post(f"/api/v1/sales/recordings/{upload_id}/file", data=multipart(content), headers=headers,
                       content_type="multipart/form-data")


def upload_status(client, headers, upload_id):
    response = client.get(f"/api/v1/sales/upload-status/{upload_id}", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def puts(partner):
    return partner.calls(UPLOAD_PATH)


def outbox_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def sweep_at(app, seconds_from_now):
    with app.app_context():
        return outbox.sweep(now=utcnow() + timedelta(seconds=seconds_from_now))


def recording_rows(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CallRecording))


def chunk_rows(app, upload_id=None):
    """How many chunk rows are stored (of `upload_id`, or of every recording)."""
    with app.app_context():
        query = select(func.count()).select_from(RecordingChunk)
        if upload_id is not None:
            query = query.where(RecordingChunk.upload_id == upload_id)
        return db.session.scalar(query)


def stored_bytes(app, upload_id):
    """The recording's bytes as the database holds them, its chunks in order."""
    with app.app_context():
        return b"".join(db.session.scalars(select(RecordingChunk.data).where(RecordingChunk.upload_id == upload_id)
                                           .order_by(RecordingChunk.seq)))
