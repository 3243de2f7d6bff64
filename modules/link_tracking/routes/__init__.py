"""Views of the link tracking API: `clicks` (what trackers call: ingest and the /track redirect) and
`links` (what operators call: tracked links and analytics). Importing this package registers them on `blp`."""

from modules.link_tracking.routes import clicks, links
from modules.link_tracking.routes.blueprint import blp

__all__ = ["blp", "clicks", "links"]
