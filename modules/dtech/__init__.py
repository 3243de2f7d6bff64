"""DTech sales: sales processes at the partner's SigV4-signed API, call recording uploads.

Contract: shared/contracts/dtech.md. Layout: docs/architecture.md.
"""

from flask import Flask

from modules.core.domains import register_domain
from modules.dtech import cli, jobs, services
from modules.dtech.errors import dtech_envelope
from modules.dtech.routes import PATH_PREFIXES, blp

__all__ = ["blp", "init_app"]


def init_app(app: Flask) -> None:
    register_domain(app, blp, envelope=dtech_envelope, prefixes=PATH_PREFIXES, cli=cli.dtech_group, jobs=jobs,
                    title="DTech", received=services.processes_received)
