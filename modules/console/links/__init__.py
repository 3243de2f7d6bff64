"""The Link tracking pages (operators and admins): tracked links with their recent clicks, search, filters,
create and a CSV of clicks (listing.py); each link's page with edit, deactivate/reactivate, its tracking URL,
analytics over a chosen window, the clicks-per-day chart (chart.py) and its last clicks live (detail.py).

Every action goes through the domain's services, the same functions as `/api/link-tracking` (and the same
request schemas), so actions are validated and audited as the API's are.
"""

from modules.console.links import detail, listing  # noqa: F401  (they add their views to the blueprint)
