"""Link tracking: batch click ingest, tracked links, redirects and analytics.

Contract: shared/contracts/link_tracking.md. Layout: see DESIGN.md (routes, schemas, models, services, jobs, clients).
"""

from flask_smorest import Blueprint

blp = Blueprint("link_tracking", __name__, description="Link tracking")
