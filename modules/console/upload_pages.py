"""The Spreadsheet upload pages (operators and admins): upload an .xlsx or .csv of Insight customers, see every
row as parsed with its errors, process it, download the row results as an .xlsx.

Everything goes through Insight's batch service, the same as the API: `batches.import_file` reads and
validates the file as `POST /api/upload/excel` does (same limits: MAX_CONTENT_LENGTH for the request, the
INSIGHT_* limits while reading), and `batches.apply_batch` processes the rows as `POST
/api/upload/process-batch` does, validated again, under the batch id chosen at upload: a second click (or a
reload of the results) applies nothing twice. The rows travel between the pages in a signed hidden field
(upload_review.py). A file the reader refuses is a 400 page saying why, a refused batch a 422 page.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, g, render_template, request

from modules.console.access import page
from modules.console.blueprint import blp
from modules.console.upload_review import XLSX_TYPE, Review, StaleReview, fits, form_limit, results_workbook
from modules.core import roles
from modules.core.access import actor
from modules.core.exceptions import DomainError
from modules.core.security import charge
from modules.core.types import new_id
from modules.insight.services import batches
from modules.insight.services.common import Actor, UnusableInput

TEMPLATE = "console/upload/upload.html"


def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    review: Review | None = context.get("review")
    sealed = review.sealed() if review else None
    if sealed is not None and not fits(sealed):
        context["too_large"] = f"{len(sealed) // 1000:,} kB of rows; a form carries at most {form_limit() // 1000:,} kB"
        sealed = None
    return render_template(TEMPLATE, sealed=sealed, **context), status


def _opened() -> Review:
    try:
        return Review.opened(request.form.get("review", ""))
    except StaleReview as stale:
        abort(400, str(stale))


@blp.route("/customers/upload", methods=["GET", "POST"])
@page(roles.OPERATOR)
def customers_upload():
    """The upload form; a POSTed file comes back as its rows with their errors, and a Process button when
    every row is valid."""
    if request.method == "GET":
        return _page()
    charge("INGEST_RATE_LIMIT")  # per operator, as the API's upload (a 429 page past it)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(400, problem="Choose a file to upload: an .xlsx workbook or a .csv file.")
    try:
        imported = batches.import_file(upload.stream)
    except UnusableInput as refused:
        return _page(400, problem=str(refused), filename=upload.filename)
    if not imported.rows:
        return _page(400, problem="The file has the columns but no customer rows.", filename=upload.filename)
    return _page(review=Review.of(new_id(), imported.rows), filename=upload.filename)


@blp.route("/customers/upload/process", methods=["POST"])
@page(roles.OPERATOR)
def customers_upload_process():
    """Apply the reviewed rows as one batch (its id chosen at upload: processing twice applies them once)."""
    charge("INGEST_RATE_LIMIT")
    review = _opened()
    if not review.rows or review.error_count:
        abort(422, "Only a file without errors can be processed: fix the rows and upload it again.")
    operator = g.operator
    try:
        answer = batches.apply_batch(review.batch_rows(),
                                     batches.Batch(Actor(actor(), operator.name or operator.email), review.batch_id))
    except DomainError as refused:
        return _page(422, review=review, problem=refused.message)
    return _page(review=Review(review.batch_id, review.rows, answer["message"]), answer=answer)


@blp.route("/customers/upload/results", methods=["POST"])
@page(roles.OPERATOR)
def customers_upload_results():
    """The review's rows with their outcome, as an .xlsx download."""
    review = _opened()
    name = f"customers-upload-{review.batch_id}.xlsx"
    return Response(results_workbook(review), mimetype=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
