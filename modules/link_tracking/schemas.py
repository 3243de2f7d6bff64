"""Schemas of the link tracking API; they are also its OpenAPI documentation at /docs.

The batch ingest validates by hand (see ingest.py) for speed; its schemas here only document it.
"""

from flask import url_for
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from modules.core.fields import StorableString
from modules.core.paging import PageQuerySchema, PageSchema
from modules.core.schemas import RequestSchema
from modules.core.types import isoformat
from modules.link_tracking.destinations import UnusableDestination, location_for
from modules.link_tracking.ingest import MAX_EVENTS

LINK_FUNCTIONS_HELP = "What the link is for, e.g. job_application, portfolio, linkedin"


class UTCTimestamp(fields.DateTime):
    """ISO 8601 in UTC with a `Z`, like every timestamp of this API."""

    def _serialize(self, value, attr, obj, **kwargs):
        return isoformat(value)


# Batch ingest (documentation) --------------------------------------------------------------------

class ClickEventSchema(RequestSchema):
    tracking_id = fields.String(required=True, metadata={"description": "Non-empty, at most 100 characters",
                                                          "example": "linkedin-profile-abc123"})
    clicked_at = fields.String(metadata={"description": "ISO 8601 datetime, `Z` allowed; default: server time. "
                                                        "More than 24 h ahead of the server: stored at the server's "
                                                        "time, the value sent kept in "
                                                        "metadata.hub_client_clicked_at",
                                         "example": "2026-11-22T14:30:00Z"})
    ip_address = fields.String(metadata={"description": "At most 45 characters (IPv4 or IPv6)"})
    user_agent = fields.String(metadata={"description": "At most 500 characters"})
    referrer_url = fields.String(metadata={"description": "At most 1000 characters"})
    click_source = fields.String(metadata={"description": "At most 50 characters; default external_domain"})
    session_id = fields.String(metadata={"description": "At most 100 characters"})
    metadata = fields.Dict(metadata={"description": "Any JSON object of at most 8,192 bytes as compact UTF-8 JSON; "
                                                    "the key hub_client_clicked_at is reserved for the hub"})
    event_id = fields.String(metadata={"description": "Client-chosen id (at most 100 characters): an event whose "
                                                      "event_id is already stored is counted and not stored again"})


class ClickBatchRequestSchema(RequestSchema):
    events = fields.List(fields.Nested(ClickEventSchema), required=True,
                         metadata={"description": f"1 to {MAX_EVENTS} events"})


class ClickBatchResultsSchema(Schema):
    total_events = fields.Integer()
    successful = fields.Integer()
    failed = fields.Integer()
    errors = fields.List(fields.String(), metadata={"description": '"Event N: reason" for events not stored'})


class ClickBatchResponseSchema(Schema):
    success = fields.Boolean()
    message = fields.String(metadata={"example": "Processed 2 events"})
    warning = fields.String(metadata={"description": "Only with 207: K events failed to process"})
    results = fields.Nested(ClickBatchResultsSchema)
    timestamp = fields.String()


class TrackingErrorSchema(Schema):
    success = fields.Boolean(metadata={"example": False})
    error = fields.String(metadata={"example": "Bad Request"})
    message = fields.String()
    validation_errors = fields.List(fields.String(), metadata={"description": 'e.g. "Event 2: Missing required '
                                                                              'field: tracking_id"'})
    timestamp = fields.String()


class TrackingHealthSchema(Schema):
    status = fields.String(metadata={"description": "healthy, or unhealthy (503) when the database is down"})
    service = fields.String(metadata={"example": "tracking_ingest_api"})
    version = fields.String()
    timestamp = fields.String()
    database = fields.String()


class TrackingConnectionTestSchema(Schema):
    success = fields.Boolean()
    message = fields.String(metadata={"example": "API connection successful"})
    authenticated = fields.Boolean()
    timestamp = fields.String()


# Tracked links -----------------------------------------------------------------------------------

def _short(maximum: int) -> validate.Length:
    return validate.Length(max=maximum)


def _usable_destination(url: str) -> None:
    try:
        location_for(url)
    except UnusableDestination as problem:
        raise ValidationError(f"Not a usable destination: the URL {problem}.") from problem


def _destination(required: bool = False) -> StorableString:
    """Only absolute http(s) URLs that /track can send as they are meant (see destinations.py):
    `javascript:`, relative and scheme-relative URLs are refused too."""
    return StorableString(required=required, validate=[_short(2000), _usable_destination],
                          metadata={"description": "Absolute http(s) URL the link redirects to; an "
                                                   "internationalised domain is sent in IDNA, non-ASCII "
                                                   "characters of the path and query percent-encoded"})


class TrackedLinkFieldsSchema(RequestSchema):
    """`null` in a field means "not given" (the core's RequestSchema): a front end that sends every field,
    null for those the operator left alone, changes nothing it did not mean to. "" empties a text field.
    Unlike the field clients' schemas, unknown keys are refused: this is the operators' own API, with no
    legacy client to be lenient for, and a misspelt key ("orignal_url") must not answer 200 having changed
    nothing."""

    class Meta(RequestSchema.Meta):
        unknown = RAISE

    error_messages = {"type": "The body must be a JSON object."}

    original_url = _destination()
    link_function = StorableString(validate=_short(50), metadata={"description": LINK_FUNCTIONS_HELP})
    link_type = StorableString(validate=_short(50), metadata={"example": "job_posting"})
    description = StorableString(validate=_short(500))
    job_id = StorableString(validate=_short(100))
    application_id = StorableString(validate=_short(100))


class TrackedLinkCreateSchema(TrackedLinkFieldsSchema):
    original_url = _destination(required=True)
    tracking_id = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_-]{3,100}$", error=(
        "Use 3 to 100 letters, digits, '-' or '_'.")), metadata={"description": "Optional; default lt_<random>"})


class TrackedLinkUpdateSchema(TrackedLinkFieldsSchema):
    is_active = fields.Boolean(metadata={"description": "false deactivates the link, true reactivates it"})


class TrackedLinkSchema(Schema):
    tracking_id = fields.String()
    tracking_url = fields.Method("_tracking_url", metadata={"description": "Share this: /track/<tracking_id>"})
    original_url = fields.String(allow_none=True)
    link_function = fields.String(allow_none=True)
    link_type = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    job_id = fields.String(allow_none=True)
    application_id = fields.String(allow_none=True)
    is_active = fields.Boolean()
    auto_registered = fields.Boolean(metadata={"description": "First seen in a click batch, not created here"})
    created_at = UTCTimestamp()
    updated_at = UTCTimestamp()

    def _tracking_url(self, link) -> str:
        return url_for("link_tracking.follow_link", tracking_id=link.tracking_id, _external=True)


class TrackedLinkFiltersSchema(RequestSchema):
    link_function = StorableString(validate=_short(50))
    link_type = StorableString(validate=_short(50))
    active = fields.Boolean()


class TrackedLinkQuerySchema(PageQuerySchema, TrackedLinkFiltersSchema):
    """The filters, then the core's limit (1 to 200, default 50) and offset: marshmallow orders the fields of
    the bases from the last one, which keeps the documented query parameters in that order."""


class TrackedLinkPageSchema(PageSchema):
    links = fields.List(fields.Nested(TrackedLinkSchema))


class ClickAnalyticsQuerySchema(RequestSchema):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3650),
                          metadata={"description": "Window: today (UTC) and the days before it"})


class ClicksByDaySchema(Schema):
    date = fields.String(metadata={"example": "2026-11-22"})
    clicks = fields.Integer()


class ClicksBySourceSchema(Schema):
    source = fields.String()
    clicks = fields.Integer()


class ClicksByLinkSchema(Schema):
    tracking_id = fields.String()
    clicks = fields.Integer()


class ClickAnalyticsSchema(Schema):
    tracking_id = fields.String(metadata={"description": "Only in a link's analytics"})
    days = fields.Integer()
    since = fields.String(metadata={"description": "Start of the window (UTC midnight)"})
    until = fields.String(metadata={"description": "End of the window, excluded: the UTC midnight after today. "
                                                   "Every figure counts the clicks of [since, until)"})
    total_clicks = fields.Integer()
    unique_sessions = fields.Integer()
    first_click = fields.String(allow_none=True)
    last_click = fields.String(allow_none=True)
    clicks_by_day = fields.List(fields.Nested(ClicksByDaySchema))
    clicks_by_source = fields.List(fields.Nested(ClicksBySourceSchema))
    top_links = fields.List(fields.Nested(ClicksByLinkSchema), metadata={"description": "Only overall: top 10"})
