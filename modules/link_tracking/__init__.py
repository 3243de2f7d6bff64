"""Link tracking: batch click ingest, tracked links, redirects and analytics.

Contract: shared/contracts/link_tracking.md. Layout: docs/architecture.md; the batch ingest lives in
ingest.py (hand-written validation) and storage.py (bulk insert), tracked links in services.py, analytics in
analytics.py (from the daily rollup), link destinations in destinations.py, monthly partitions in partitions.py,
retention in retention.py, periodic jobs in jobs.py.
"""

from flask import Flask

from modules.core.domains import register_domain
from modules.link_tracking import cli, jobs, services
from modules.link_tracking.access import SECURITY_SCHEMES
from modules.link_tracking.errors import tracking_envelope
from modules.link_tracking.routes import PATH_PREFIXES, blp

__all__ = ["blp", "init_app"]


def init_app(app: Flask) -> None:
    register_domain(app, blp, envelope=tracking_envelope, prefixes=PATH_PREFIXES,
                    security_schemes=SECURITY_SCHEMES, cli=cli.link_tracking_group, jobs=jobs,
                    title="Link tracking", received=services.clicks_received)
