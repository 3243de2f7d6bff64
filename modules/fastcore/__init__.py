"""FASTCore leads: contact-form leads, fallback queue, e-mail notifications, admin API.

Contract: shared/contracts/fastcore.md. Layout: see DESIGN.md (routes, schemas, models, services, jobs, clients).
"""

from flask import Flask
from flask_smorest import Blueprint

from modules.core.errors import fastapi_envelope, register_envelope

blp = Blueprint("fastcore", __name__, description="FASTCore leads")
register_envelope("fastcore", fastapi_envelope, prefixes=("/inbound/", "/admin/"))

from modules.fastcore import jobs, routes  # noqa: E402,F401  (routes, outbox handlers, periodic jobs)
from modules.fastcore.cli import fastcore_group  # noqa: E402


def init_app(app: Flask) -> None:
    from modules.core.extensions import api

    api.spec.components.security_scheme("fastcoreSiteToken", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("fastcoreAdminToken", {"type": "http", "scheme": "bearer"})
    app.cli.add_command(fastcore_group)
