"""DTech sales: sales processes at the partner's SigV4-signed API, call recording uploads.

Contract: shared/contracts/dtech.md. Layout: see DESIGN.md (routes, schemas, models, services, jobs, clients).
"""

from flask import Flask
from flask_smorest import Blueprint

blp = Blueprint("dtech", __name__, url_prefix="/api/v1/sales", description="DTech sales")

from modules.dtech import jobs, routes  # noqa: E402,F401  (registers the views and the outbox handler)
from modules.dtech.cli import dtech_group  # noqa: E402


def init_app(app: Flask) -> None:
    app.cli.add_command(dtech_group)
