"""Recordings at the edges of their size: empty, and exactly at and around one chunk."""


from concurrent.futures import ThreadPoolExecutor

import pytest

from modules.core import outbox
from modules.dtech.chunks import CHUNK_BYTES
from modules.dtech.jobs import RECORDING_PUT
from tests.dtech.test_recording_chunks import announce_content
from tests.support.dtech import dtech_settings
from tests.support.dtech_recordings import chunk_rows, puts, stored_bytes, upload, upload_status


@pytest.mark.parametrize("size", [1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES])
def test_a_recording_at_a_chunk_boundary_is_delivered_whole(app, client, operator_headers, partner, worker, size):
    content = bytes(n % 251 for n in range(size))
    upload_id = announce_content(client, operator_headers, partner, content)
    partner.accept_uploads()
    response = upload(client, operator_headers, upload_id, content)
    assert (response.status_code, response.get_json()["size"]) == (202, size)
    assert chunk_rows(app, upload_id) == -(-size // CHUNK_BYTES)
    assert stored_bytes(app, upload_id) == content
    worker.drain()
    [put] = puts(partner)
    assert put.body == content
    assert upload_status(client, operator_headers, upload_id)["status"] == "complete"


def test_an_empty_recording_is_delivered_as_an_empty_put(app, client, operator_headers, partner, worker):
    """An empty file announced with the empty MD5 is PUT with an empty body (as before the chunks), not
    failed for "bytes not in the database": it has no chunk because it has no byte."""
    upload_id = announce_content(client, operator_headers, partner, b"")
    partner.accept_uploads()
    response = upload(client, operator_headers, upload_id, b"")
    assert (response.status_code, response.get_json()["size"]) == (202, 0)
    worker.drain()
    [put] = puts(partner)
    assert put.body == b"" and put.headers["Content-Length"] == "0"
    assert upload_status(client, operator_headers, upload_id)["status"] == "complete"


def test_the_size_limit_is_exact(make_app, operator_headers, partner, recordings_dir):
    app = make_app(**dtech_settings(partner, recordings_dir, DTECH_MAX_RECORDING_BYTES=CHUNK_BYTES))
    client = app.test_client()
    over = bytes(CHUNK_BYTES + 1)
    upload_id = announce_content(client, operator_headers, partner, over)
    response = upload(client, operator_headers, upload_id, over)
    assert response.status_code == 413 and response.get_json()["code"] == "PAYLOAD_TOO_LARGE"
    assert chunk_rows(app, upload_id) == 0 and list(recordings_dir.iterdir()) == []
    exact = bytes(CHUNK_BYTES)
    upload_id = announce_content(client, operator_headers, partner, exact)
    response = upload(client, operator_headers, upload_id, exact)
    assert (response.status_code, response.get_json()["size"]) == (202, CHUNK_BYTES)
    assert stored_bytes(app, upload_id) == exact


def test_two_uploads_of_one_recording_at_once_store_it_once(app, operator_headers, partner):
    """Both bodies arrive together: one is kept (202), the other is a 409; one PUT queued, one copy stored."""
    content = bytes(n % 253 for n in range(CHUNK_BYTES + 7))
    upload_id = announce_content(app.test_client(), operator_headers, partner, content)
    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(lambda _: upload(app.test_client(), operator_headers, upload_id, content)
                                   .status_code, range(2)))
    assert statuses == [202, 409]
    assert chunk_rows(app, upload_id) == 2 and stored_bytes(app, upload_id) == content
    with app.app_context():
        assert len(outbox.messages_of(upload_id, RECORDING_PUT)) == 1
