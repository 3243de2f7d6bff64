"""Insight customers: customers in arrears, actions, SMS through Arkesel, Excel batch upload.

Contract: shared/contracts/insight.md. Layout: docs/architecture.md.
"""

from flask import Flask

from modules.core.domains import register_domain
from modules.core.errors import fastapi_envelope
from modules.insight import cli, jobs
from modules.insight.routes import PATH_PREFIXES, blp
from modules.insight.services import customers, sms

__all__ = ["blp", "init_app"]


def init_app(app: Flask) -> None:
    register_domain(app, blp, envelope=fastapi_envelope, prefixes=PATH_PREFIXES, cli=cli.insight_group, jobs=jobs,
                    title="Insight", received=customers.customers_received, concerns=sms.failing_sms)
