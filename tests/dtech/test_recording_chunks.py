"""Where a recording's bytes live: in the database, in chunks, from the upload that checks them until DTech
accepted them (or RECORDINGS_RETENTION_DAYS after their PUT failed for good); never on the web host's disk."""

import hashlib
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from modules.core import outbox
from modules.core.config import ConfigurationError
from modules.core.extensions import db
from modules.core.types import utcnow
from modules.dtech.chunks import CHUNK_BYTES
from modules.dtech.jobs import RECORDING_PUT, purge_batch, purge_failed_recordings
from modules.dtech.models import CallRecording
from tests.support.dtech import AUDIO, RECORDING_BODY, dtech_settings, multipart
from tests.support.dtech_partner import SALES_PROCESS_ID
from tests.support.dtech_recordings import announce, chunk_rows, puts, stored_bytes, upload, upload_status
from tests.support.dtech_worker import run_worker_elsewhere

BIG = bytes(range(256)) * (10 * 1024) + b"tail"  # 2.5 MiB and 4 bytes: three chunks
RETENTION = timedelta(days=14)  # RECORDINGS_RETENTION_DAYS' default


def announce_content(client, headers, partner, content):
    partner.answer_recording_url()
    body = {**RECORDING_BODY, "recording_hash": hashlib.md5(content).hexdigest()}
    response = client.post(f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["upload_id"]


def failed_recording(client, headers, partner, worker):
    """A recording whose PUT the storage refused (403): `failed`, its bytes kept."""
    upload_id = announce(client, headers, partner)
    partner.accept_uploads(status=403, oneshot=True)
    assert upload(client, headers, upload_id).status_code == 202
    worker.drain()
    assert upload_status(client, headers, upload_id)["status"] == "failed"
    return upload_id


def recording(app, upload_id):
    with app.app_context():
        found = db.session.get(CallRecording, upload_id)
        db.session.expunge(found)
        return found


def test_a_recording_received_by_one_instance_is_delivered_by_a_worker_on_another_host(
        app, client, operator_headers, partner, recordings_dir, base_config, tmp_path):
    upload_id = announce_content(client, operator_headers, partner, BIG)
    partner.accept_uploads()
    response = upload(client, operator_headers, upload_id, BIG)
    assert (response.status_code, response.get_json()["size"]) == (202, len(BIG))
    assert chunk_rows(app, upload_id) == 3 == -(-len(BIG) // CHUNK_BYTES)
    assert stored_bytes(app, upload_id) == BIG
    shutil.rmtree(recordings_dir)  # the web host's disk is wiped (a restart): nothing the worker needs was there

    elsewhere = tmp_path / "worker-host"
    finished = run_worker_elsewhere(base_config, dtech_settings(partner, elsewhere / "spool"), elsewhere / "instance")
    assert finished.returncode == 0, finished.stderr[-3000:]

    [put] = puts(partner)
    assert hashlib.md5(put.body).hexdigest() == hashlib.md5(BIG).hexdigest()
    assert put.headers["Content-Length"] == str(len(BIG)) and "Transfer-Encoding" not in put.headers
    assert status_and_rows(app, client, operator_headers, upload_id) == ("complete", 0)
    assert not (elsewhere / "spool").exists() or list((elsewhere / "spool").iterdir()) == []


def status_and_rows(app, client, headers, upload_id):
    return upload_status(client, headers, upload_id)["status"], chunk_rows(app, upload_id)


def test_a_failed_recording_keeps_its_bytes_and_a_replay_delivers_them(app, client, operator_headers, partner,
                                                                       worker, runner):
    upload_id = failed_recording(client, operator_headers, partner, worker)
    assert stored_bytes(app, upload_id) == AUDIO
    partner.accept_uploads()
    result = runner.invoke(args=["outbox", "replay", "--kind", RECORDING_PUT, "--subject", upload_id])
    assert result.exit_code == 0 and "replayed 1" in result.output, result.output
    worker.drain()
    assert [put.body == AUDIO for put in puts(partner)] == [True, True]
    assert status_and_rows(app, client, operator_headers, upload_id) == ("complete", 0)


def test_retention_deletes_only_the_bytes_of_recordings_failed_longer_ago(app, client, operator_headers, partner,
                                                                          worker):
    old = failed_recording(client, operator_headers, partner, worker)
    recent = failed_recording(client, operator_headers, partner, worker)
    delivered = announce(client, operator_headers, partner)
    partner.accept_uploads(oneshot=True)
    assert upload(client, operator_headers, delivered).status_code == 202
    worker.drain()
    in_flight = announce(client, operator_headers, partner)
    partner.accept_uploads(status=503, oneshot=True)
    assert upload(client, operator_headers, in_flight).status_code == 202
    worker.drain()
    assert upload_status(client, operator_headers, in_flight)["status"] == "uploading"
    with app.app_context():  # `recent` failed ten days after `old`
        db.session.execute(update(CallRecording).where(CallRecording.id == recent)
                           .values(failed_at=utcnow() + timedelta(days=10)))
        db.session.commit()
        assert purge_failed_recordings(now=utcnow() + RETENTION + timedelta(days=1)) == 1

    assert [chunk_rows(app, upload_id) for upload_id in (old, recent, delivered, in_flight)] == [0, 1, 0, 1]
    purged = recording(app, old)
    assert (purged.status, purged.purged_at is not None) == ("failed", True), "the row stays"
    assert recording(app, recent).purged_at is None
    with app.app_context():
        assert purge_failed_recordings(now=utcnow() + RETENTION - timedelta(days=1)) == 0, "within the window"


def test_retention_deletes_in_bounded_batches(app, client, operator_headers, partner, worker):
    upload_ids = [failed_recording(client, operator_headers, partner, worker) for _ in range(3)]
    cutoff = utcnow() + timedelta(seconds=1)
    with app.app_context():
        assert [purge_batch(cutoff, 2), purge_batch(cutoff, 2), purge_batch(cutoff, 2)] == [2, 1, 0]
    assert [chunk_rows(app, upload_id) for upload_id in upload_ids] == [0, 0, 0]
    assert all(recording(app, upload_id).purged_at is not None for upload_id in upload_ids)


def test_a_recording_of_many_chunks_is_purged_a_batch_at_a_time(app, client, operator_headers, partner, worker):
    upload_id = announce_content(client, operator_headers, partner, BIG)
    partner.accept_uploads(status=403, oneshot=True)
    assert upload(client, operator_headers, upload_id, BIG).status_code == 202
    worker.drain()
    with app.app_context():
        assert purge_batch(utcnow() + timedelta(seconds=1), 2) == 2
    assert chunk_rows(app, upload_id) == 1
    assert recording(app, upload_id).purged_at is not None, "marked at its first batch: no replay sends a part"
    with app.app_context():
        assert purge_failed_recordings(now=utcnow() + RETENTION + timedelta(days=1), batch_chunks=2) == 1
    assert chunk_rows(app, upload_id) == 0


def test_a_replay_after_the_bytes_were_purged_fails_for_good_and_a_new_upload_still_works(
        app, client, operator_headers, partner, worker, runner):
    upload_id = failed_recording(client, operator_headers, partner, worker)
    with app.app_context():
        purge_failed_recordings(now=utcnow() + RETENTION + timedelta(days=1))
    partner.accept_uploads()
    result = runner.invoke(args=["outbox", "replay", "--kind", RECORDING_PUT, "--subject", upload_id])
    assert "replayed 1" in result.output, result.output
    worker.drain()
    assert len(puts(partner)) == 1, "nothing was sent"
    status = upload_status(client, operator_headers, upload_id)
    assert (status["status"], status["attempts"]) == ("failed", 1)
    assert status["last_error"] == (f"the recording's bytes were deleted on {utcnow():%Y-%m-%d}, "
                                    "RECORDINGS_RETENTION_DAYS after it failed; the agent must upload it again")
    with app.app_context():
        assert [message.status for message in outbox.messages_of(upload_id, RECORDING_PUT)] == ["dead"]

    assert upload(client, operator_headers, upload_id).status_code == 202
    worker.drain()
    assert puts(partner)[-1].body == AUDIO
    assert status_and_rows(app, client, operator_headers, upload_id) == ("complete", 0)
    assert recording(app, upload_id).purged_at is None


@pytest.mark.sqlite_only
def test_the_retention_setting_is_a_whole_number_of_days(make_app, partner, recordings_dir):
    assert make_app(**dtech_settings(partner, recordings_dir, RECORDINGS_RETENTION_DAYS="30")).config[
        "RECORDINGS_RETENTION_DAYS"] == 30
    for wrong in ("0", "-1", "1.5", "two weeks", "999999999"):
        with pytest.raises(ConfigurationError, match="^RECORDINGS_RETENTION_DAYS: "):
            make_app(**dtech_settings(partner, recordings_dir, RECORDINGS_RETENTION_DAYS=wrong))


def received_by_the_old_version(app, client, headers, partner, content=AUDIO):
    """A recording as the version before the chunks left it: `uploading`, its PUT queued, its bytes in a file."""
    upload_id = announce(client, headers, partner)
    with app.app_context():
        db.session.execute(update(CallRecording).where(CallRecording.id == upload_id)
                           .values(status="uploading", size=len(content), received_at=utcnow()))
        outbox.add(RECORDING_PUT, {"upload_id": upload_id}, subject_id=upload_id)
        db.session.commit()
    return upload_id


def test_import_files_moves_the_old_versions_files_into_the_database(app, client, operator_headers, partner, worker,
                                                                     runner, recordings_dir):
    kept = received_by_the_old_version(app, client, operator_headers, partner)
    other = received_by_the_old_version(app, client, operator_headers, partner)
    recordings_dir.mkdir(parents=True, exist_ok=True)
    (recordings_dir / f"{kept}.wav").write_bytes(AUDIO)
    (recordings_dir / f"{other}.wav").write_bytes(AUDIO + b"damaged")
    (recordings_dir / "no-such-upload.mp3").write_bytes(AUDIO)
    (recordings_dir / ".incoming-abc.part").write_bytes(b"an upload in progress")

    result = runner.invoke(args=["dtech", "recordings", "import-files"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("imported 1 recording file(s); left 2: 1 whose MD5 is not the announced one, "
                                     "1 with no recording")
    assert {path.name for path in recordings_dir.iterdir()} == {".incoming-abc.part", "no-such-upload.mp3",
                                                                f"{other}.wav"}
    assert stored_bytes(app, kept) == AUDIO and chunk_rows(app, other) == 0
    again = runner.invoke(args=["dtech", "recordings", "import-files"])
    assert again.output.startswith("imported 0 recording file(s)")

    partner.accept_uploads()
    worker.drain()
    assert [put.body for put in puts(partner)] == [AUDIO]
    assert status_and_rows(app, client, operator_headers, kept) == ("complete", 0)
    other_status = upload_status(client, operator_headers, other)
    assert other_status["status"] == "failed"
    assert "run `flask dtech recordings import-files` where its file is" in other_status["last_error"]


def test_import_files_explains_itself(runner):
    result = runner.invoke(args=["dtech", "recordings", "import-files", "--help"])
    assert result.exit_code == 0
    assert "Move recording files that an older hub kept on disk into the database" in result.output


def test_a_second_upload_after_a_failure_replaces_the_stored_bytes(app, client, operator_headers, partner, worker):
    upload_id = announce_content(client, operator_headers, partner, BIG)
    partner.accept_uploads(status=403, oneshot=True)
    assert upload(client, operator_headers, upload_id, BIG).status_code == 202
    worker.drain()
    assert chunk_rows(app, upload_id) == 3
    with app.app_context():
        db.session.execute(update(CallRecording).where(CallRecording.id == upload_id)
                           .values(md5=hashlib.md5(AUDIO).hexdigest()))
        db.session.commit()
    assert upload(client, operator_headers, upload_id, AUDIO).status_code == 202
    assert stored_bytes(app, upload_id) == AUDIO
    with app.app_context():
        assert db.session.scalar(select(CallRecording.size).where(CallRecording.id == upload_id)) == len(AUDIO)


def test_an_upload_refused_for_its_md5_stores_no_bytes(app, client, operator_headers, partner, recordings_dir):
    upload_id = announce(client, operator_headers, partner)
    response = client.post(f"/api/v1/sales/recordings/{upload_id}/file", data=multipart(BIG),
                           headers=operator_headers, content_type="multipart/form-data")
    assert (response.status_code, response.get_json()["code"]) == (400, "MD5_MISMATCH")
    assert chunk_rows(app) == 0 and list(recordings_dir.iterdir()) == []
