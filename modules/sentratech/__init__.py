"""SentraTech ingest: marketing-site forms stored and synced to the remote dashboard.

Contract: shared/contracts/sentratech.md. Layout: docs/architecture.md.
"""

from flask import Flask

from modules.core.domains import register_domain
from modules.core.errors import fastapi_envelope
from modules.sentratech import cli, jobs, services
from modules.sentratech.access import SECURITY_SCHEMES
from modules.sentratech.routes import PATH_PREFIXES, blp

__all__ = ["blp", "init_app"]


def init_app(app: Flask) -> None:
    register_domain(app, blp, envelope=fastapi_envelope, prefixes=PATH_PREFIXES,
                    security_schemes=SECURITY_SCHEMES, cli=cli.sentratech_group, jobs=jobs,
                    title="SentraTech", received=services.forms_received)
