"""Link tracking: batch click ingest, tracked links, redirects and analytics.

Contract: shared/contracts/link_tracking.md. Layout: see DESIGN.md; the batch ingest lives in ingest.py
(hand-written validation, bulk insert), tracked links in services.py, analytics in analytics.py.
"""

from flask import Flask
from flask_smorest import Blueprint

blp = Blueprint("link_tracking", __name__, description="Link tracking: click ingest, tracked links, analytics")

from modules.link_tracking import access, link_routes, routes  # noqa: E402,F401  (registers the views)
from modules.link_tracking.cli import link_tracking_group  # noqa: E402

access.register(blp)


def init_app(app: Flask) -> None:
    from modules.core.extensions import api

    api.spec.components.security_scheme("trackingApiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"})
    app.cli.add_command(link_tracking_group)
