"""FASTCore leads: contact-form leads, fallback queue, e-mail notifications, admin API.

Contract: shared/contracts/fastcore.md. Layout: see DESIGN.md (routes, schemas, models, services, jobs, clients).
"""

from flask_smorest import Blueprint

blp = Blueprint("fastcore", __name__, description="FASTCore leads")
