"""DTech sales: sales processes at the partner's SigV4-signed API, call recording uploads.

Contract: shared/contracts/dtech.md. Layout: see DESIGN.md (routes, schemas, models, services, jobs, clients).
"""

from flask_smorest import Blueprint

blp = Blueprint("dtech", __name__, description="DTech sales")
