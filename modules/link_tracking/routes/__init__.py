"""Views of the link tracking API: `clicks` (what trackers call: ingest and the /track redirect) and
`links` (what operators call: tracked links and analytics). Importing this package registers them on `blp`."""

from modules.link_tracking.routes import clicks, links
from modules.link_tracking.routes.blueprint import PATH_PREFIXES, blp

__all__ = ["PATH_PREFIXES", "blp", "clicks", "links"]
