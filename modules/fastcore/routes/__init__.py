"""Views of the FASTCore API: `leads` (what the site calls) and `admin` (what operators call). Importing
this package registers them on `blp`."""

from modules.fastcore.routes import admin, leads
from modules.fastcore.routes.blueprint import blp

__all__ = ["admin", "blp", "leads"]
