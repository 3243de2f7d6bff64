"""`/docs` (Swagger UI) and `/redoc` (ReDoc): the OpenAPI documentation pages, served offline.

Their assets come from installed packages, never from a CDN nor from files copied into the repository:
Swagger UI from `swagger-ui-bundle` (swagger-ui's dist), ReDoc from `offapi` (redoc's standalone bundle).
Each asset's URL names its package's version, so it is cached for a year and a new version is a new URL.
The pages carry no inline script: Swagger UI starts from our own `static/api_docs/swagger-init.js`, which
reads the spec's URL from the page; ReDoc starts by itself from its `<redoc spec-url>` element. So the
docs' Content-Security-Policy (security.py) allows scripts from this origin only.
flask-smorest's own pages are not used: its Swagger UI template starts with an inline script.
"""

from __future__ import annotations

import hashlib
from importlib import metadata, resources
from pathlib import Path

from flask import Blueprint, Flask, abort, render_template, send_file, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

blp = Blueprint("docs_pages", __name__, template_folder="templates")

SWAGGER_UI = Path(swagger_ui_path)  # .../vendor/swagger-ui-<version>: its name carries the version
SWAGGER_UI_ASSETS = {"swagger-ui.css", "swagger-ui.css.map", "swagger-ui-bundle.js", "swagger-ui-bundle.js.map",
                     "favicon-32x32.png", "favicon-16x16.png"}
REDOC = resources.files("offapi") / "redoc.js"
REDOC_VERSION = metadata.version("offapi")
ONE_YEAR = 365 * 24 * 3600
INIT_SCRIPT = Path(__file__).resolve().parent / "static" / "api_docs" / "swagger-init.js"
# A digest of our own start-up script names its version: its URL changes with its content.
INIT_VERSION = hashlib.sha256(INIT_SCRIPT.read_bytes()).hexdigest()[:12]
SPEC = "api-docs.openapi_json"  # flask-smorest's /openapi.json (app_modular.py: OPENAPI_JSON_PATH)


def _immutable(response):
    """A versioned asset never changes under its URL."""
    response.cache_control.public = True
    response.cache_control.max_age = ONE_YEAR
    response.cache_control.immutable = True
    return response


@blp.get("/docs")
def swagger_ui():
    return render_template("api_docs/swagger_ui.html", spec_url=url_for(SPEC), swagger_ui=SWAGGER_UI.name,
                           init_script=url_for("docs_pages.swagger_init", version=INIT_VERSION))


@blp.get("/docs/static/<version>/<filename>")
def swagger_ui_asset(version: str, filename: str):
    """One file of swagger-ui's dist, under the name of the installed version only."""
    if version != SWAGGER_UI.name or filename not in SWAGGER_UI_ASSETS:
        abort(404)
    return _immutable(send_from_directory(SWAGGER_UI, filename, mimetype=_mimetype(filename)))


@blp.get("/docs/static/hub-<version>/swagger-init.js")
def swagger_init(version: str):
    if version != INIT_VERSION:
        abort(404)
    return _immutable(send_file(INIT_SCRIPT, mimetype="text/javascript"))


@blp.get("/redoc")
def redoc():
    return render_template("api_docs/redoc.html", spec_url=url_for(SPEC),
                           redoc_script=url_for("docs_pages.redoc_bundle", version=REDOC_VERSION))


@blp.get("/redoc/static/offapi-<version>/redoc.standalone.js")
def redoc_bundle(version: str):
    """ReDoc's standalone bundle (an ES module) as the installed `offapi` ships it."""
    if version != REDOC_VERSION:
        abort(404)
    with resources.as_file(REDOC) as path:
        return _immutable(send_file(path, mimetype="text/javascript"))


def _mimetype(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1]
    return {"js": "text/javascript", "css": "text/css", "png": "image/png", "map": "application/json"}[suffix]


def init_app(app: Flask) -> None:
    app.register_blueprint(blp)
