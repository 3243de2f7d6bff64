"""The overview page: what `/health` knows, at a glance."""

from __future__ import annotations

from flask import render_template

from modules.console.access import page
from modules.console.blueprint import blp
from modules.core.routes import service_status


@blp.route("/overview")
@page()
def overview():
    return render_template("console/overview.html", health=service_status())
