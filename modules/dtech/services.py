"""Sales processes and their recordings: what the DTech views ask for.

The process calls ask DTech synchronously (the agent needs its answer now): each makes one partner call
and, when it succeeds, writes the local record and its audit row in one transaction. When the partner
fails nothing is written and the `PartnerFailure` propagates. A received recording file is copied into
the database (chunks.py) and its PUT queued (jobs.py) in one short transaction too. Refusals are the
domain's exceptions (errors.py); audit rows name the request's actor (the core's `access.actor()`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from modules.core import audit, metrics, outbox
from modules.core.access import actor
from modules.core.exceptions import Conflict, Invalid, NotFound
from modules.core.extensions import db
from modules.core.paging import page
from modules.core.sql import LIKE_ESCAPE, contains_pattern
from modules.core.types import utcnow
from modules.dtech import chunks
from modules.dtech.clients import DTechClient, check_upload_url, content_md5
from modules.dtech.errors import PartnerFailure
from modules.dtech.jobs import RECORDING_PUT
from modules.dtech.models import CallRecording, SalesProcess
from modules.dtech.recordings import HashingFile

UPLOADABLE = ("pending", "failed")
COMPLETE_WORDS = {"complete", "completed", "done", "finished"}
STOPPED_WORDS = {"stopped", "cancelled", "canceled", "aborted"}


def partner() -> DTechClient:
    return DTechClient.from_config(current_app.config)


def _require(answer: Any, *keys: str) -> dict[str, Any]:
    """The partner's answer, when it is an object holding `keys` with short enough values."""
    if not isinstance(answer, dict):
        raise PartnerFailure("DTech's answer is not a JSON object")
    for key in keys:
        value = answer.get(key)
        too_long = key.endswith("_id") and len(str(value)) > 100
        if value in (None, "") or isinstance(value, (dict, list)) or too_long:
            raise PartnerFailure(f"DTech's answer lacks a usable {key}")
        if key == "url" and not _web_address(str(value)):
            raise PartnerFailure("DTech's answer has a url that is not an http(s) address")
    return answer


def _web_address(value: str) -> bool:
    """An absolute http(s) URL with a host: what an agent's browser may open (never `javascript:`)."""
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _short(value: Any, length: int) -> str | None:
    return None if value is None else str(value)[:length]


def _find_or_create(sales_process_id: str, account_id: str) -> SalesProcess:
    """The local record of a process, created when it was started elsewhere (or before the hub)."""
    found = db.session.scalar(select(SalesProcess).where(SalesProcess.sales_process_id == sales_process_id))
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            process = SalesProcess(sales_process_id=sales_process_id, account_id=account_id)
            db.session.add(process)
        return process
    except IntegrityError:  # a concurrent request created it first
        return db.session.scalar(select(SalesProcess).where(SalesProcess.sales_process_id == sales_process_id))


def _status_from(answer: Any) -> tuple[str | None, str | None]:
    """(local status, partner's word) from a status answer; unknown words mean the process goes on."""
    word = answer.get("status") if isinstance(answer, dict) else None
    if not isinstance(word, str) or not word:
        return None, None
    lowered = word.strip().lower()
    if lowered in COMPLETE_WORDS:
        return "complete", word
    if lowered in STOPPED_WORDS:
        return "stopped", word
    return "in_progress", word


def start_process(data: dict[str, Any], operator_id: str) -> dict[str, Any]:
    """Start a process at DTech; `operator_id` is kept as the one who started it."""
    user, lead = data["user"], data["lead"]
    answer = _require(partner().start({"account_id": data["account_id"], "user": user, "lead": lead}),
                      "sales_process_id", "url")
    process = _find_or_create(str(answer["sales_process_id"]), data["account_id"])
    process.status = "in_progress"
    process.agent_id = user["external_id"]
    process.lead_name = f"{lead['first_name']} {lead['last_name']}"
    process.lead_phone = lead["phone_mobile"]
    process.url_expiry = _short(answer.get("url_expiry"), 64)
    process.started_by = operator_id
    audit.record("dtech", "sales.started", actor=actor(), subject_id=process.sales_process_id,
                 status_code=200, details={"account_id": data["account_id"]})
    db.session.commit()
    metrics.ingested("dtech")
    return answer


def continue_process(sales_process_id: str, data: dict[str, Any]) -> dict[str, Any]:
    answer = _require(partner().continue_process(sales_process_id, {"account_id": data["account_id"],
                                                                    "user": data["user"]}), "url")
    process = _find_or_create(sales_process_id, data["account_id"])
    process.status = "in_progress"
    process.agent_id = data["user"]["external_id"]
    process.url_expiry = _short(answer.get("url_expiry"), 64)
    audit.record("dtech", "sales.continued", actor=actor(), subject_id=sales_process_id, status_code=200)
    db.session.commit()
    return answer


def process_status(sales_process_id: str, account_id: str) -> Any:
    answer = partner().status(sales_process_id, account_id)
    process = _find_or_create(sales_process_id, account_id)
    status, word = _status_from(answer)
    if status:
        process.status, process.partner_status = status, word[:100]
    db.session.commit()
    return answer


def stop_process(sales_process_id: str, account_id: str, reason: str) -> Any:
    answer = partner().stop(sales_process_id, {"account_id": account_id, "reason": reason})
    process = _find_or_create(sales_process_id, account_id)
    process.status = "stopped"
    process.stop_reason = reason
    audit.record("dtech", "sales.stopped", actor=actor(), subject_id=sales_process_id, status_code=200)
    db.session.commit()
    return answer


def request_recording_url(sales_process_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Announce a recording to DTech; the hub keeps its upload URL and answers an `upload_id` for the file.
    An upload URL the hub would not PUT to (see `check_upload_url`) is a PartnerFailure: nothing is kept."""
    body = {"account_id": data["account_id"], "date_start": data["date_start"].isoformat(),
            "date_end": data["date_end"].isoformat(), "recording_hash": data["recording_hash"],
            "filename": data["filename"], "content_type": data["content_type"]}
    if data.get("external_ref"):
        body["external_ref"] = data["external_ref"]
    answer = _require(partner().recording_url(sales_process_id, body, content_md5(data["recording_hash"])),
                      "recording_id", "upload_url")
    upload_url = check_upload_url(str(answer["upload_url"]), current_app.config["DTECH_UPLOAD_HOSTS"])
    process = _find_or_create(sales_process_id, data["account_id"])
    recording = CallRecording(recording_id=str(answer["recording_id"]), sales_process=process,
                              file_name=data["filename"], content_type=data["content_type"],
                              md5=data["recording_hash"], upload_url=upload_url,
                              external_ref=data.get("external_ref"), recorded_at=data["date_start"],
                              recorded_until=data["date_end"])
    db.session.add(recording)
    db.session.flush()
    audit.record("dtech", "recording.announced", actor=actor(), subject_id=recording.id, status_code=200,
                 details={"recording_id": recording.recording_id, "sales_process_id": sales_process_id})
    db.session.commit()
    return {"recording_id": recording.recording_id, "upload_url": upload_url, "success": True,
            "upload_id": recording.id}


def _matching(filters: dict[str, Any]) -> Select:
    """The kept processes that `filters` (SalesProcessQuerySchema's keys) select."""
    query = select(SalesProcess)
    for name in ("status", "agent_id", "account_id"):
        if filters.get(name):
            query = query.where(getattr(SalesProcess, name) == str(filters[name]))
    if filters.get("search"):
        pattern = contains_pattern(filters["search"].lower())
        query = query.where(or_(func.lower(SalesProcess.lead_name).like(pattern, escape=LIKE_ESCAPE),
                                SalesProcess.lead_phone.like(pattern, escape=LIKE_ESCAPE)))
    if filters.get("created_from"):
        query = query.where(SalesProcess.created_at >= filters["created_from"])
    if filters.get("created_to"):
        query = query.where(SalesProcess.created_at <= filters["created_to"])
    return query


def list_processes(filters: dict[str, Any]) -> dict[str, Any]:
    """A page of kept processes, newest first: {"data", "total", "page", "limit", "pages"}."""
    number, limit = filters["page"], filters["limit"]
    total, rows = page(_matching(filters), limit, (number - 1) * limit, SalesProcess.created_at.desc(),
                       SalesProcess.id)
    return {"data": rows, "total": total, "page": number, "limit": limit, "pages": math.ceil(total / limit)}


def every_process(filters: dict[str, Any]) -> Iterator[SalesProcess]:
    """Every process `filters` select (no page), newest first, read from the database in batches (a CSV)."""
    query = _matching(filters).order_by(SalesProcess.created_at.desc(), SalesProcess.id)
    yield from db.session.scalars(query.execution_options(yield_per=500))


def get_process(sales_process_id: str) -> SalesProcess:
    process = db.session.scalar(select(SalesProcess).where(SalesProcess.sales_process_id == sales_process_id))
    if process is None:
        raise NotFound("No sales process with that id is kept by the hub")
    return process


# Recording uploads -----------------------------------------------------------------------------------

class RecordingUpload:
    """A recording as the upload views answer it: its columns, plus its delivery so far
    (`delivery_attempts` over all its PUT messages, `last_delivery_error` of the latest until complete)."""

    def __init__(self, recording: CallRecording):
        deliveries = outbox.messages_of(recording.id, RECORDING_PUT)
        self.recording = recording
        self.delivery_attempts = sum(message.attempts for message in deliveries)
        self.last_delivery_error = deliveries[-1].last_error if deliveries and recording.status != "complete" else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.recording, name)


def get_recording(upload_id: str) -> CallRecording:
    recording = db.session.get(CallRecording, upload_id)
    if recording is None:
        raise NotFound("No recording upload with that id")
    return recording


def recording_upload(upload_id: str) -> RecordingUpload:
    return RecordingUpload(get_recording(upload_id))


def uploadable_recording(upload_id: str) -> CallRecording:
    """Checked before the body is read, so a wrong id or a finished upload costs no transfer.

    The read transaction then ends, so no database connection is held while the file streams in.
    """
    recording = get_recording(upload_id)
    if recording.status not in UPLOADABLE:
        raise Conflict(f"This recording is already {recording.status}; it cannot be uploaded again.")
    db.session.rollback()
    return recording


def accept_upload(recording: CallRecording, received: HashingFile) -> RecordingUpload:
    """Keep a file whose MD5 matches and queue its PUT; refuse it otherwise. The file is copied into the
    database in the transaction that marks the recording received and queues the PUT, so the recording's
    bytes, its status and its message commit together or not at all; the spooled file is then deleted."""
    try:
        if received.md5 != recording.md5:
            raise Invalid(f"The file's MD5 is {received.md5} but recording_hash was {recording.md5}; "
                          "the file was not kept and nothing was sent to DTech.", code="MD5_MISMATCH")
        _keep(recording, received)
    finally:
        received.discard()
    return recording_upload(recording.id)


def _keep(recording: CallRecording, received: HashingFile) -> None:
    now = utcnow()
    claimed = db.session.execute(
        update(CallRecording)
        .where(CallRecording.id == recording.id, CallRecording.status.in_(UPLOADABLE))
        .values(status="uploading", size=received.size, received_at=now, updated_at=now, failed_at=None,
                purged_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise Conflict("This recording was uploaded by another request meanwhile.")
    try:
        chunks.store(recording.id, received.path)
        outbox.add(RECORDING_PUT, {"upload_id": recording.id}, subject_id=recording.id)
        audit.record("dtech", "recording.received", actor=actor(), subject_id=recording.id, status_code=202,
                     details={"recording_id": recording.recording_id, "size": received.size})
        db.session.commit()
        metrics.ingested("dtech")
    except BaseException:
        db.session.rollback()
        raise


def processes_received(since: datetime) -> int:
    """Sales processes started since `since` (the console's overview), counted through the created_at index."""
    return db.session.scalar(select(func.count()).select_from(SalesProcess).where(SalesProcess.created_at >= since))
