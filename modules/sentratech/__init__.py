"""SentraTech ingest: marketing-site forms stored and synced to the remote dashboard.

Contract: shared/contracts/sentratech.md. Layout: see DESIGN.md (routes, schemas, models, services, jobs, clients).
"""

from flask_smorest import Blueprint

blp = Blueprint("sentratech", __name__, description="SentraTech ingest")
