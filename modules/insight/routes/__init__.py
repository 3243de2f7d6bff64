"""The Insight API: customers and actions, SMS, batch upload; thin views over services/, one module per area,
all on one blueprint (blueprint.py, with the one translation of the services' refusals into the contract's
answers)."""

from modules.insight.routes import customers, sms, upload
from modules.insight.routes.blueprint import PATH_PREFIXES, blp

AREAS = (customers, sms, upload)  # importing them registers their views on `blp`
__all__ = ["PATH_PREFIXES", "blp"]
