"""The DTech sales API under /api/v1/sales: thin views over services.py (recordings.py receives files).

start, continue, status, stop and recording-url wait for DTech's answer (agents need it now): the one
documented exception to "views never call the network". Each of those calls counts against the
operator's DTECH_PARTNER_CALL_RATE_LIMIT once the request is valid, before DTech is called. Partner
failures answer 502 or 504 with a code.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import request
from flask_smorest import Blueprint

from modules.core import auth
from modules.core.errors import answer_domain_errors
from modules.core.security import ingest_limit
from modules.dtech import errors, recordings, services
from modules.dtech.access import agent, count_partner_call
from modules.dtech.schemas import (
    CallRecordingUploadSchema,
    CallRecordingUrlAnswerSchema,
    CallRecordingUrlSchema,
    ProcessPathSchema,
    SalesContinueAnswerSchema,
    SalesContinueSchema,
    SalesErrorSchema,
    SalesProcessDetailSchema,
    SalesProcessPageSchema,
    SalesProcessQuerySchema,
    SalesStartAnswerSchema,
    SalesStartSchema,
    SalesStopQuerySchema,
    SalesStopSchema,
    StatusPathSchema,
)

API_PREFIX = "/api/v1/sales"
PATH_PREFIXES = (API_PREFIX,)  # a 404 or 405 under it answers in the domain's envelope too
blp = Blueprint("dtech", __name__, url_prefix=API_PREFIX, description="DTech sales")
answer_domain_errors(blp, errors.answer)

ERROR_DESCRIPTIONS = {
    400: "Invalid request: the detail names the field(s)",
    404: "Unknown id",
    409: "The recording is already uploaded",
    413: "The file is larger than DTECH_MAX_RECORDING_BYTES",
    502: "DTech refused or failed (PARTNER_ERROR, PARTNER_AUTH_FAILED, PARTNER_UNREACHABLE, "
         "PARTNER_NOT_CONFIGURED); the detail holds DTech's message",
    504: "DTech did not answer within DTECH_TIMEOUT_SECONDS (PARTNER_TIMEOUT)",
    429: "Over a limit for this operator (RATE_LIMITED): DTECH_PARTNER_CALL_RATE_LIMIT on calls that reach DTech, "
         "INGEST_RATE_LIMIT on file uploads; see Retry-After",
}
PARTNER_ERRORS = (400, 429, 502, 504)


def errors_documented(*statuses: int) -> Callable:
    """The error answers of a view in the OpenAPI document (the guard documents the 401)."""

    def decorate(view: Callable) -> Callable:
        for status in statuses:
            view = blp.alt_response(status, schema=SalesErrorSchema, description=ERROR_DESCRIPTIONS[status])(view)
        return view

    return decorate


@blp.route("/start", methods=["POST"])
@agent
@blp.arguments(SalesStartSchema)
@blp.response(200, SalesStartAnswerSchema)
@errors_documented(*PARTNER_ERRORS)
def start(data):
    """Start a sales process at DTech; answers the URL the agent opens."""
    count_partner_call()
    return services.start_process(data, auth.current_operator().id)


@blp.route("/continue/<sales_process_id>", methods=["POST"])
@agent
@blp.arguments(ProcessPathSchema, location="path")
@blp.arguments(SalesContinueSchema)
@blp.response(200, SalesContinueAnswerSchema)
@errors_documented(*PARTNER_ERRORS)
def continue_process(path, data, **_path):
    """A fresh URL for a process; body {"account_id", "user"} or {"request": {"account_id"}, "user"}."""
    count_partner_call()
    return services.continue_process(path["sales_process_id"], data)


@blp.route("/status/<sales_process_id>/<account_id>")
@agent
@blp.arguments(StatusPathSchema, location="path")
@blp.response(200, description="DTech's answer, as it gave it")
@errors_documented(*PARTNER_ERRORS)
def process_status(path, **_path):
    """DTech's status of a process; the local record follows it."""
    count_partner_call()
    return services.process_status(path["sales_process_id"], str(path["account_id"]))


@blp.route("/stop/<sales_process_id>", methods=["POST"])
@agent
@blp.arguments(ProcessPathSchema, location="path")
@blp.arguments(SalesStopQuerySchema, location="query")
@blp.arguments(SalesStopSchema)
@blp.response(200, description="DTech's answer, as it gave it")
@errors_documented(*PARTNER_ERRORS)
def stop(path, query, data, **_path):
    """Stop a process; `reason` in the body or in the query string."""
    reason = data.get("reason") or query.get("reason")
    if not reason:
        raise errors.invalid_field("reason", "Missing data for required field (give it in the body or the query).")
    count_partner_call()
    return services.stop_process(path["sales_process_id"], data["account_id"], reason)


@blp.route("/recording-url/<sales_process_id>", methods=["POST"])
@agent
@blp.arguments(ProcessPathSchema, location="path")
@blp.arguments(CallRecordingUrlSchema)
@blp.response(200, CallRecordingUrlAnswerSchema)
@errors_documented(*PARTNER_ERRORS)
def recording_url(path, data, **_path):
    """Announce a call recording; then upload the file at /recordings/<upload_id>/file."""
    count_partner_call()
    return services.request_recording_url(path["sales_process_id"], data)


@blp.route("/recordings/<upload_id>/file", methods=["POST"])
@agent
@ingest_limit()
@blp.response(202, CallRecordingUploadSchema)
@blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}}}}}})
@errors_documented(400, 404, 409, 413, 429)
def upload_recording(upload_id):
    """Upload the recording (multipart, part `file`); its MD5 must be the announced recording_hash.

    The hub keeps the file and a worker PUTs it to DTech's upload URL, retrying with backoff;
    follow it at /upload-status/<upload_id>.
    """
    recording = services.uploadable_recording(upload_id)
    request.max_content_length = recordings.max_body_bytes(request.content_length)
    received = recordings.receive_file(request.stream, request.mimetype, request.content_length,
                                       request.mimetype_params)
    return services.accept_upload(recording, received)


@blp.route("/upload-status/<upload_id>")
@agent
@blp.response(200, CallRecordingUploadSchema)
@errors_documented(404)
def upload_status(upload_id):
    """Where a recording stands: pending (awaiting the file), uploading, complete or failed."""
    return services.recording_upload(upload_id)


@blp.route("/processes")
@agent
@blp.arguments(SalesProcessQuerySchema, location="query")
@blp.response(200, SalesProcessPageSchema)
@errors_documented(400)
def list_processes(filters):
    """Sales processes kept by the hub, newest first; filter by status, agent, account, dates or lead."""
    return services.list_processes(filters)


@blp.route("/processes/<sales_process_id>")
@agent
@blp.response(200, SalesProcessDetailSchema)
@errors_documented(404)
def get_process(sales_process_id):
    """One sales process with its recordings."""
    return services.get_process(sales_process_id)
