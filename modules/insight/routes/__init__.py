"""Views of the Insight API, one module per area; importing this package registers them on `blp`."""

from modules.insight.routes import actions, customers, sms, upload  # noqa: F401
