"""Link tracking: batch click ingest, tracked links, redirects and analytics.

Contract: shared/contracts/link_tracking.md. Layout: docs/architecture.md; the batch ingest lives in
ingest.py (hand-written validation, bulk insert), tracked links in services.py, analytics in analytics.py.
"""

from flask import Flask

from modules.core.domains import register_domain
from modules.link_tracking import access, cli
from modules.link_tracking.routes import blp

__all__ = ["blp", "init_app"]

SECURITY_SCHEMES = {"trackingApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}


def init_app(app: Flask) -> None:
    register_domain(app, blp, envelope=access.tracking_envelope, prefixes=access.PATH_PREFIXES,
                    security_schemes=SECURITY_SCHEMES, cli=cli.link_tracking_group)
