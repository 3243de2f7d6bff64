"""The integration hub: one Flask application, one package per domain."""

__version__ = "1.0.0"

# Every domain package under modules/ that exports a flask-smorest `blp`.
DOMAINS = ("link_tracking", "sentratech", "fastcore", "insight", "dtech")
