"""SentraTech ingest: marketing-site forms stored and synced to the remote dashboard.

Contract: shared/contracts/sentratech.md. Layout: docs/architecture.md.
"""

from flask import Flask

from modules.core.domains import register_domain
from modules.core.errors import fastapi_envelope
from modules.sentratech import cli, jobs
from modules.sentratech.routes import blp

__all__ = ["blp", "init_app"]

SECURITY_SCHEMES = {
    "ingestKey": {"type": "apiKey", "in": "header", "name": "X-INGEST-KEY",
                  "description": "A value of INGEST_KEY: stores forms (it is embedded in the site's pages)"},
    "ingestReadKey": {
        "type": "apiKey", "in": "header", "name": "X-INGEST-KEY",
        "description": "A value of INGEST_READ_KEY: also reads the latest records on the status endpoints"},
}


def init_app(app: Flask) -> None:
    register_domain(app, blp, envelope=fastapi_envelope, prefixes=("/api/ingest",),
                    security_schemes=SECURITY_SCHEMES, cli=cli.sentratech_group, jobs=jobs)
