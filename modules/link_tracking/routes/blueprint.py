"""The link tracking blueprint; the views live beside it in this package."""

from flask_smorest import Blueprint

from modules.core.errors import answer_domain_errors, handle_api_error
from modules.link_tracking.errors import answer, fail

blp = Blueprint("link_tracking", __name__, description="Link tracking: click ingest, tracked links, analytics")

PATH_PREFIXES = ("/api/tracking-ingest", "/api/link-tracking", "/track/")

answer_domain_errors(blp, answer)


@blp.errorhandler(RecursionError)
def too_deeply_nested(_error: RecursionError):
    """webargs' JSON parsing of a body nested thousands of levels deep raises RecursionError (a 500 in
    the core's handler); for this blueprint's views it is what it is: a bad body."""
    return handle_api_error(fail(400, "The JSON body is nested too deeply"))
