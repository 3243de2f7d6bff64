"""The console's one blueprint, `/console`, and its navigation.

Each page module (signin, overview, deliveries, audit, operators, live) adds its views to `blp`;
`modules/console/__init__.py` imports them all. Templates live in `templates/console/`, our own CSS and
scripts in `static/console/` (no CDN, no copied third-party file).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app

from modules.core import roles

blp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                static_folder="static", static_url_path="/static")


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    role: roles.Needed  # the role(s) a page needs (None: any signed-in operator)


NAV = (
    NavItem("console.overview", "Overview", None),
    NavItem("console.links", "Links", roles.OPERATOR),
    NavItem("console.forms", "Forms", roles.OPERATOR),
    NavItem("console.leads", "Leads", roles.OPERATOR),
    NavItem("console.customers", "Customers", roles.OPERATOR),
    NavItem("console.sales", "Sales", roles.AGENT),
    NavItem("console.deliveries", "Deliveries", roles.ADMIN),
    NavItem("console.audit", "Audit log", roles.ADMIN),
    NavItem("console.operators", "Operators", roles.ADMIN),
)


def navigation(role: str | None) -> list[NavItem]:
    """The pages `role` may open, among those this app serves."""
    return [item for item in NAV if item.endpoint in current_app.view_functions and roles.allows(role, item.role)]
