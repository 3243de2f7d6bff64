"""Insight customers: customers in arrears, actions, SMS through Arkesel, Excel batch upload.

Contract: shared/contracts/insight.md. Layout: see DESIGN.md (routes, schemas, models, services, jobs, clients).
"""

from flask_smorest import Blueprint

blp = Blueprint("insight", __name__, description="Insight customers")
