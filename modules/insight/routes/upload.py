"""Views of the batch upload: validate a spreadsheet or rows, apply a batch."""

from __future__ import annotations

from modules.core.schemas import DetailSchema
from modules.insight.access import current_actor, ingest_endpoint, operator_endpoint
from modules.insight.routes.blueprint import blp
from modules.insight.schemas import (
    ProcessBatchResultSchema,
    ProcessBatchSchema,
    UploadFileSchema,
    UploadResultSchema,
    ValidateCustomersSchema,
    ValidationResultSchema,
)
from modules.insight.services import batches


@blp.route("/api/upload/excel", methods=["POST"])
@ingest_endpoint
@blp.arguments(UploadFileSchema, location="files")
@blp.response(200, UploadResultSchema)
@blp.alt_response(400, schema=DetailSchema, description="Not a readable spreadsheet, missing columns, too many "
                  "rows, too large once unpacked")
def upload_excel(files):
    """Validate every row of an .xlsx or .csv file (nothing is stored); the content decides which it is."""
    return batches.import_file(files["file"].stream).summary()


@blp.route("/api/upload/validate-customers", methods=["POST"])
@operator_endpoint
@blp.arguments(ValidateCustomersSchema)
@blp.response(200, ValidationResultSchema)
@blp.alt_response(400, schema=DetailSchema, description="Too many rows")
def validate_customers(body):
    """Validate rows the front end read itself (nothing is stored)."""
    return batches.validate_customers(body["customers"])


@blp.route("/api/upload/process-batch", methods=["POST"])
@ingest_endpoint
@blp.arguments(ProcessBatchSchema)
@blp.response(200, ProcessBatchResultSchema)
@blp.alt_response(400, schema=DetailSchema, description="Too many rows")
def process_batch(body):
    """Create or update customers by account number and record the rows' actions, once per batch_id.

    Any invalid row refuses the whole batch with a 422 naming each row and field."""
    return batches.apply_batch(body["data"], batches.Batch(current_actor(), body.get("batch_id"), body.get("action")))
