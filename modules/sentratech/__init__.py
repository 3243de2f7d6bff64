"""SentraTech ingest: marketing-site forms stored and synced to the remote dashboard.

Contract: shared/contracts/sentratech.md. Layout: see DESIGN.md (routes, schemas, models, services, jobs, clients).
"""

from flask import Flask
from flask_smorest import Blueprint

blp = Blueprint("sentratech", __name__, description="SentraTech ingest: marketing-site forms")

from modules.sentratech import jobs, routes  # noqa: E402,F401  (register the routes and the outbox handler)


def init_app(app: Flask) -> None:
    from modules.core.extensions import api
    from modules.sentratech.cli import sentratech_group

    api.spec.components.security_scheme("ingestKey", {
        "type": "apiKey", "in": "header", "name": "X-INGEST-KEY",
        "description": "A value of INGEST_KEY: stores forms (it is embedded in the site's pages)"})
    api.spec.components.security_scheme("ingestReadKey", {
        "type": "apiKey", "in": "header", "name": "X-INGEST-KEY",
        "description": "A value of INGEST_READ_KEY: also reads the latest records on the status endpoints"})
    app.cli.add_command(sentratech_group)
