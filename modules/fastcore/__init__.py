"""FASTCore leads: contact-form leads, fallback queue, e-mail notifications, admin API.

Contract: shared/contracts/fastcore.md. Layout: docs/architecture.md.
"""

from flask import Flask

from modules.core.domains import register_domain
from modules.core.errors import fastapi_envelope
from modules.fastcore import cli, file_drain, jobs, services
from modules.fastcore.access import SECURITY_SCHEMES
from modules.fastcore.routes import PATH_PREFIXES, blp

__all__ = ["blp", "init_app"]


def init_app(app: Flask) -> None:
    register_domain(app, blp, envelope=fastapi_envelope, prefixes=PATH_PREFIXES,
                    security_schemes=SECURITY_SCHEMES, cli=cli.fastcore_group, jobs=jobs,
                    title="FASTCore", received=services.leads_received)
    file_drain.init_app(app)
