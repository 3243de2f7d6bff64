"""Batch click ingest: parse the body, validate every event, store the batch in one bulk insert.

This is the hot path (tens of thousands of events per second), so events are checked by hand rather
than with marshmallow, with the contract's exact reasons, and become plain row dicts that storage.py
writes with one multi-row `INSERT ... ON CONFLICT DO NOTHING`. The same functions serve the HTTP
endpoint and `flask link-tracking import`.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from modules.core import metrics
from modules.core.exceptions import Invalid, Unavailable
from modules.link_tracking.storage import new_click_ids, store_rows

MAX_EVENTS = 1000
DEFAULT_CLICK_SOURCE = "external_domain"
MAX_METADATA_DEPTH = 32
MAX_METADATA_BYTES = 8192  # an event's metadata as compact JSON in UTF-8
# A client clock this far ahead of the hub's is wrong (no time zone is 24 hours off): the click is stored
# at the time the hub received it, and the client's value is kept in its metadata under this key, which
# clients may therefore not use themselves (an event that does is refused, so the two never mix).
MAX_CLOCK_AHEAD = timedelta(hours=24)
CLIENT_CLICKED_AT = "hub_client_clicked_at"

NOT_JSON = "Request body must be JSON"
MISSING_EVENTS = "Missing required field: events (array)"
EVENTS_NOT_ARRAY = 'Field "events" must be an array'
NO_EVENTS = "Events array cannot be empty"
TOO_MANY_EVENTS = f"Batch size too large (max {MAX_EVENTS} events per request)"

NOT_AN_OBJECT = "Event must be a JSON object"
MISSING_TRACKING_ID = "Missing required field: tracking_id"
INVALID_TRACKING_ID = "Invalid tracking_id format (must be string, max 100 chars)"
INVALID_CLICKED_AT = "Invalid clicked_at format (must be ISO 8601 datetime)"
INVALID_METADATA = "Invalid metadata (must be JSON object)"
RESERVED_METADATA = f'Invalid metadata (the key "{CLIENT_CLICKED_AT}" is reserved for the hub)'
METADATA_TOO_LARGE = f"Invalid metadata (max {MAX_METADATA_BYTES} bytes as compact JSON)"
INVALID_EVENT_ID = "Invalid event_id (must be string, max 100 chars)"
UNSTORABLE_TEXT = "Could not be stored: text contains a NUL character or an unpaired surrogate"
UNSTORABLE_METADATA = f"Could not be stored: metadata is nested deeper than {MAX_METADATA_DEPTH} levels"

log = logging.getLogger(__name__)

# Optional text fields in the contract's order, with their length limits.
TEXT_LIMITS = (("ip_address", 45), ("user_agent", 500), ("referrer_url", 1000), ("click_source", 50),
               ("session_id", 100))
_TEXT_REASONS = {name: f"Invalid {name} (must be string, max {limit} chars)" for name, limit in TEXT_LIMITS}


class BadBatch(Invalid):
    """The body is not a batch at all; the message is one of the contract's."""


class InvalidEvents(Invalid):
    """At least one event broke a rule; nothing was stored. `details`: "Event N: reason" for each."""

    def __init__(self, errors: list[str]):
        super().__init__("One or more events failed validation", details=errors)


class ClicksNotStored(Unavailable):
    """The database refused or could not be reached; nothing was stored, the tracker retries the batch."""

    def __init__(self) -> None:
        super().__init__("Clicks could not be stored right now; retry the batch")


@dataclass
class BatchResult:
    total_events: int
    successful: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError("number out of range")
    return number


# Strict JSON: NaN, Infinity and 1e400 are refused here rather than failing later in the database.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
# Metadata as the hub stores it, to measure it.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def _metadata_too_large(metadata: dict[str, Any]) -> bool:
    """Over MAX_METADATA_BYTES as compact UTF-8 JSON. Cheap for the usual small metadata: that JSON takes at
    most 4 bytes per character of the value's repr (a character is at most 4 UTF-8 bytes; an escape or a
    separator never takes more bytes than its repr has characters), so it is encoded only for a repr over a
    quarter of the limit."""
    try:
        if len(repr(metadata)) <= MAX_METADATA_BYTES // 4:
            return False
        return len(_COMPACT.encode(metadata).encode("utf-8", "surrogatepass")) > MAX_METADATA_BYTES
    except RecursionError:  # nested past the interpreter's limit: unstorable_reason reports it (207)
        return False


def parse_json(raw: bytes) -> Any:
    try:
        return _DECODER.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # includes JSONDecodeError and UnicodeDecodeError
        raise BadBatch(NOT_JSON) from error


def events_of(body: Any) -> list[Any]:
    """The `events` array of a parsed body, or BadBatch with the contract's message."""
    if not isinstance(body, dict) or "events" not in body:
        raise BadBatch(MISSING_EVENTS)
    events = body["events"]
    if not isinstance(events, list):
        raise BadBatch(EVENTS_NOT_ARRAY)
    if not events:
        raise BadBatch(NO_EVENTS)
    if len(events) > MAX_EVENTS:
        raise BadBatch(TOO_MANY_EVENTS)
    return events


def _parse_clicked_at(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def check_event(event: Any, received_at: datetime, click_id: str) -> dict[str, Any] | str:
    """The row to store for one event, with `click_id` as its click id, or the reason for the first rule it
    breaks (contract order).

    Optional fields that are null or "" count as absent, as they did in the original. A clicked_at more
    than MAX_CLOCK_AHEAD ahead of `received_at` becomes `received_at`, the client's text kept in the
    metadata under CLIENT_CLICKED_AT; a past one is kept however old (imports of click history)."""
    if not isinstance(event, dict):
        return NOT_AN_OBJECT
    tracking_id = event.get("tracking_id")
    if tracking_id is None or tracking_id == "":
        return MISSING_TRACKING_ID
    if not isinstance(tracking_id, str) or len(tracking_id) > 100:
        return INVALID_TRACKING_ID
    if not tracking_id.strip():
        return MISSING_TRACKING_ID
    client_clock = event.get("clicked_at")
    if client_clock is None or client_clock == "":
        clicked_at, client_clock = received_at, None
    else:
        clicked_at = _parse_clicked_at(client_clock)
        if clicked_at is None:
            return INVALID_CLICKED_AT
        if clicked_at - received_at > MAX_CLOCK_AHEAD:
            clicked_at = received_at
        else:
            client_clock = None
    row = {"click_id": click_id, "tracking_id": tracking_id, "clicked_at": clicked_at,
           "received_at": received_at}
    for name, limit in TEXT_LIMITS:
        value = event.get(name)
        if value is None or value == "":
            row[name] = None
        elif isinstance(value, str) and len(value) <= limit:
            row[name] = value
        else:
            return _TEXT_REASONS[name]
    if row["click_source"] is None:
        row["click_source"] = DEFAULT_CLICK_SOURCE
    metadata = event.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            return INVALID_METADATA
        if CLIENT_CLICKED_AT in metadata:
            return RESERVED_METADATA
        if _metadata_too_large(metadata):
            return METADATA_TOO_LARGE
    if client_clock is not None:
        metadata = {**(metadata or {}), CLIENT_CLICKED_AT: client_clock}
    row["metadata"] = metadata
    event_id = event.get("event_id")
    if event_id is None or event_id == "":
        row["event_id"] = None
    elif isinstance(event_id, str) and len(event_id) <= 100:
        row["event_id"] = event_id
    else:
        return INVALID_EVENT_ID
    return row


def validate_events(events: list[Any], received_at: datetime) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for every event, and "Event N: reason" for each one that breaks a rule (N from 1)."""
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for number, (event, click_id) in enumerate(zip(events, new_click_ids(len(events)), strict=True), start=1):
        checked = check_event(event, received_at, click_id)
        if isinstance(checked, str):
            errors.append(f"Event {number}: {checked}")
        else:
            rows.append(checked)
    return rows, errors


def _text_unstorable(value: Any) -> bool:
    """PostgreSQL text refuses NUL and UTF-8 cannot encode an unpaired surrogate; JSON escapes allow both."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        if value.isascii():
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_text_unstorable(key) or _text_unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_text_unstorable(item) for item in value)
    return False


def _too_deep(value: Any, depth: int = 1) -> bool:
    """Deeper metadata than anyone needs would only exhaust the JSON serialiser's recursion."""
    if depth > MAX_METADATA_DEPTH:
        return True
    if isinstance(value, dict):
        return any(_too_deep(item, depth + 1) for item in value.values() if isinstance(item, (dict, list)))
    if isinstance(value, list):
        return any(_too_deep(item, depth + 1) for item in value if isinstance(item, (dict, list)))
    return False


_TEXT_COLUMNS = ("tracking_id", *(name for name, _ in TEXT_LIMITS), "event_id", "metadata")


def unstorable_reason(row: dict[str, Any], escapes_present: bool) -> str | None:
    """Why a valid row cannot be stored, if it cannot. Only JSON escapes (\\u0000, \\ud800) produce
    unstorable text, so text is scanned only when the raw input had escapes."""
    if escapes_present and any(_text_unstorable(row[name]) for name in _TEXT_COLUMNS):
        return UNSTORABLE_TEXT
    if row["metadata"] and _too_deep(row["metadata"]):
        return UNSTORABLE_METADATA
    return None


def ingest_batch(raw: bytes, received_at: datetime) -> BatchResult:
    """Parse a batch body (UTF-8 JSON `{"events": [...]}`) and ingest its events: BadBatch, InvalidEvents or
    ClicksNotStored when it cannot, else what was stored."""
    return ingest_events(events_of(parse_json(raw)), received_at, escapes_present=b"\\u" in raw)


def ingest_events(events: list[Any], received_at: datetime, escapes_present: bool = True) -> BatchResult:
    """Validate a batch all-or-nothing (InvalidEvents when any event breaks a rule), then store the events
    the database can hold; the others are reported as failed (the contract's 207). ClicksNotStored when
    the database fails."""
    rows, errors = validate_events(events, received_at)
    if errors:
        raise InvalidEvents(errors)
    storable: list[dict[str, Any]] = []
    failures: list[str] = []
    for number, row in enumerate(rows, start=1):
        reason = unstorable_reason(row, escapes_present)
        if reason:
            failures.append(f"Event {number}: {reason}")
        else:
            storable.append(row)
    try:
        store_rows(storable, received_at)
    except SQLAlchemyError as error:
        log.warning("click batch not stored", extra={"error": type(error).__name__})
        raise ClicksNotStored from error
    metrics.ingested("link_tracking", len(storable))
    return BatchResult(total_events=len(events), successful=len(storable), failed=len(failures), errors=failures)
