"""Views of the Insight API, one module per area; importing this package registers them on `blp`."""

from modules.insight.routes import actions, customers, sms, upload
from modules.insight.routes.blueprint import PATH_PREFIXES, blp

__all__ = ["PATH_PREFIXES", "actions", "blp", "customers", "sms", "upload"]
