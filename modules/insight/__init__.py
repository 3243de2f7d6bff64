"""Insight customers: customers in arrears, actions, SMS through Arkesel, Excel batch upload.

Contract: shared/contracts/insight.md. Layout: see DESIGN.md (routes, schemas, models, services, jobs, clients).
"""

from flask import Flask
from flask_smorest import Blueprint

from modules.core.errors import fastapi_envelope, register_envelope

blp = Blueprint("insight", __name__, description="Insight customers")

PATH_PREFIXES = ("/api/customers", "/api/actions", "/api/sms", "/api/upload")


def init_app(app: Flask) -> None:
    from modules.insight.cli import insight_group

    register_envelope(blp.name, fastapi_envelope, prefixes=PATH_PREFIXES)
    app.cli.add_command(insight_group)


from modules.insight import jobs, routes  # noqa: E402,F401  (registers the views and the outbox handler)
