"""`flask dtech ...`: the partner's one-off activation, and the upgrade of recordings kept on disk."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import exists, select

from modules.core.extensions import db
from modules.dtech import chunks
from modules.dtech.clients import DTechClient
from modules.dtech.errors import PartnerFailure
from modules.dtech.models import CallRecording, RecordingChunk
from modules.dtech.recordings import recordings_dir

IMPORTABLE = ("uploading", "failed")  # received, not yet accepted by DTech

dtech_group = AppGroup("dtech", help="DTech sales partner commands.")


@dtech_group.command("activate")
@click.argument("security_group")
@click.option("--account-id", required=True, type=click.UUID, help="DTech account id (UUID) the keys are for.")
@click.option("--request-token", required=True, help="One-time activation token DTech sent you.")
def activate(security_group: str, account_id: uuid.UUID, request_token: str) -> None:
    """Activate SECURITY_GROUP at DTech and print the AWS keys it returns.

    The keys are printed to standard output only (never logged): put them in AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY. The request is SigV4-signed when keys are already configured.
    """
    client = DTechClient.from_config(current_app.config)
    try:
        answer = client.activate(security_group, str(account_id), request_token)
    except PartnerFailure as failure:
        raise click.ClickException(f"{failure.code}: {failure}") from failure
    click.echo(json.dumps(answer, indent=2))


@dtech_group.group("recordings")
def recordings_group() -> None:
    """Call recordings kept by the hub."""


@recordings_group.command("import-files")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Where the files are; default DTECH_RECORDINGS_DIR (instance/recordings when empty).")
def import_files(directory: Path | None) -> None:
    """Move recording files that an older hub kept on disk into the database, once, after the upgrade.

    A file named <upload_id>.wav or .mp3 (or no extension) whose recording was received but not yet
    accepted by DTech (uploading or failed), holds no bytes in the database yet and has the announced MD5
    is copied in and deleted; its pending PUT then sends it. Any other file is left where it is and counted
    with its reason. Run it where the files are, before workers of the new version start (or replay the
    PUTs that failed meanwhile: flask outbox replay --kind dtech.recording_put ...).
    """
    outcomes = Counter(import_file(path) for path in sorted((directory or recordings_dir()).iterdir())
                       if path.is_file() and not path.name.startswith("."))
    imported = outcomes.pop("imported", 0)
    left = ", ".join(f"{count} {reason}" for reason, count in sorted(outcomes.items()))
    click.echo(f"imported {imported} recording file(s)" + (f"; left {sum(outcomes.values())}: {left}" if left else ""))


def import_file(path: Path) -> str:
    """Copy one old recording file into its recording's chunks and delete it; returns what was done."""
    recording = db.session.get(CallRecording, path.name.split(".")[0])
    stored = recording is not None and db.session.scalar(
        select(exists().where(RecordingChunk.upload_id == recording.id)))
    if recording is None:
        outcome = "with no recording"
    elif recording.status not in IMPORTABLE or recording.purged_at is not None:
        outcome = f"of {recording.status} recordings"
    elif stored:
        outcome = "already in the database"
    elif _md5(path) != recording.md5:
        outcome = "whose MD5 is not the announced one"
    else:
        chunks.store(recording.id, path)
        db.session.commit()
        path.unlink()
        return "imported"
    db.session.rollback()
    return outcome


def _md5(path: Path) -> str:
    with path.open("rb") as source:
        return hashlib.file_digest(source, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()
