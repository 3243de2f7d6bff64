"""Ingest endpoints of the marketing site's forms, their status, health, and the re-sync admin API."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy.exc import OperationalError

from modules.core.access import actor
from modules.core.errors import answer_domain_errors
from modules.core.extensions import db
from modules.core.schemas import DetailSchema
from modules.core.security import ingest_limit
from modules.sentratech import access, services
from modules.sentratech.access import READ_SECURITY, reads_records
from modules.sentratech.forms import FORMS, Form
from modules.sentratech.schemas import (
    FailedQuerySchema,
    IngestAnswerSchema,
    IngestStatusSchema,
    ResyncAnswerSchema,
    ResyncSchema,
    SentraTechHealthSchema,
    SyncRecordPageSchema,
)

PATH_PREFIXES = ("/api/ingest",)  # a 404 or 405 under these answers in the domain's envelope too
blp = Blueprint("sentratech", __name__, description="SentraTech ingest: marketing-site forms")
answer_domain_errors(blp)  # e.g. services.DashboardNotConfigured: 409 {"detail": "<why>"}


@blp.errorhandler(OperationalError)
def database_unreachable(error: OperationalError):
    """The database is down, restarting or locked: a 503 the client may retry; nothing was stored. The
    contract's body names the reason (`Service unavailable: <reason>`), unlike the core's generic 503."""
    db.session.rollback()
    return {"detail": f"Service unavailable: database unreachable ({type(error).__name__})"}, 503


def _add_ingest_route(form: Form) -> None:
    def ingest(fields):
        record_id = services.ingest(form, fields)
        return {"status": "success", "id": record_id, "message": f"{form.label} received",
                "dashboard_status": "queued"}

    # Each form's view has an endpoint of its own: rate limits count per endpoint.
    ingest.__name__ = ingest.__qualname__ = f"ingest_{form.name}"
    ingest.__doc__ = (f"Store a {form.label} and queue it for the dashboard.\n\n"
                      "The record is committed before the answer; a worker delivers it to the dashboard later.")
    decorators = [
        access.ingest_key,
        ingest_limit(public_key=True),  # INGEST_KEY is in the site's pages: a bucket per visitor address
        blp.arguments(form.schema()),  # an instance: a class would be instantiated per request
        blp.response(200, IngestAnswerSchema),
        blp.alt_response(429, schema=DetailSchema, description="Over INGEST_RATE_LIMIT for this key; see Retry-After"),
        blp.alt_response(503, schema=DetailSchema, description="The database is unreachable: nothing was stored"),
    ]
    view = ingest
    for decorator in reversed(decorators):
        view = decorator(view)
    blp.route(f"/api/ingest/{form.name}", methods=["POST"], endpoint=f"ingest_{form.name}")(view)


for _form in FORMS.values():
    _add_ingest_route(_form)


@blp.route(f"/api/ingest/<any({','.join(FORMS)}):form_type>/status")
@blp.response(200, IngestStatusSchema)
@blp.doc(security=READ_SECURITY)
def ingest_status(form_type: str):
    """Record counts by sync state; with a read key (INGEST_READ_KEY) in X-INGEST-KEY, also the 10 latest
    records, newest first. The ingest key (INGEST_KEY), which the site's pages embed, gets the counts only."""
    return services.form_status(FORMS[form_type], with_records=reads_records())


@blp.route("/api/health")
@blp.response(200, SentraTechHealthSchema)
@blp.alt_response(503, schema=DetailSchema, description="The database is unreachable")
def health():
    """Whether the ingest API can store forms, and whether its keys and dashboard are configured."""
    return services.health()


@blp.route("/api/admin/sentratech/resync", methods=["POST"])
@access.operator
@blp.arguments(ResyncSchema)
@blp.response(200, ResyncAnswerSchema)
@blp.alt_response(409, schema=DetailSchema, description="DASHBOARD_BASE_URL is not set")
def resync(request_body):
    """Queue stored records (all, one form, or only the failed ones) for delivery to the dashboard again.

    Records already waiting for a delivery are not queued twice. For very large re-syncs prefer the CLI,
    `flask sentratech resync`, which shows progress.
    """
    return {"queued": services.resync(request_body.get("type"), request_body["only_failed"], actor=actor())}


@blp.route("/api/admin/sentratech/records")
@access.operator
@blp.arguments(FailedQuerySchema, location="query")
@blp.response(200, SyncRecordPageSchema)
def records_by_sync_state(query):
    """Records in one sync state (sync_failed unless asked otherwise), newest first: ids, states and the
    dashboard's last error, never the forms' content."""
    total, records = services.records_by_state(query["sync_status"], query.get("type"), query["limit"],
                                               query["offset"])
    return {"total": total, "limit": query["limit"], "offset": query["offset"], "records": records}
