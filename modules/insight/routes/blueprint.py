"""The Insight blueprint; the views live beside it in this package, one module per area."""

from flask_smorest import Blueprint

blp = Blueprint("insight", __name__, description="Insight customers")

PATH_PREFIXES = ("/api/customers", "/api/actions", "/api/sms", "/api/upload")
