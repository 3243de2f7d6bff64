"""/docs (Swagger UI) and /redoc (ReDoc) work offline: every asset comes from the hub itself (installed
packages and our own start-up script), no inline script, and a Content-Security-Policy naming no other host."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.sqlite_only  # pages and files: the database does not matter

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
ONE_YEAR = "max-age=31536000"


class Page(HTMLParser):
    """The URLs a page loads (src, href), its scripts, and any inline script, style or event handler."""

    def __init__(self, html: str):
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]
        self.inline += [f"{tag} {name}" for name, _ in attrs if name == "style" or name.startswith("on")]
        if tag == "style":
            self.inline.append("style element")
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append("inline script")


def _page(client, path: str) -> Page:
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    return Page(response.get_data(as_text=True))


def _check_same_origin_assets(client, page: Page) -> None:
    """Every URL is a path on this hub, answers 200 with its type, and is cached for a year."""
    assert page.urls
    for url in page.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
        answer = client.get(url)
        suffix = re.search(r"\.[a-z]+$", parts.path).group()
        assert answer.status_code == 200, url
        assert answer.mimetype == CONTENT_TYPES[suffix], url
        assert ONE_YEAR in answer.headers["Cache-Control"] and "immutable" in answer.headers["Cache-Control"], url
        assert len(answer.get_data()) > 100, url


def _csp(client, path: str) -> dict[str, list[str]]:
    [policy] = client.get(path).headers.getlist("Content-Security-Policy")
    assert "http" not in policy and "cdn" not in policy and "googleapis" not in policy
    return {name: values for name, *values in (directive.split() for directive in policy.split(";"))}


def test_docs_loads_swagger_ui_from_the_hub_with_no_inline_script(client):
    page = _page(client, "/docs")
    assert page.inline == []
    assert len(page.scripts) == 2 and all(script.get("src") for script in page.scripts)
    assert any("swagger-ui-bundle.js" in url for url in page.urls)
    assert any(url.endswith("/swagger-init.js") for url in page.urls)
    _check_same_origin_assets(client, page)


def test_docs_csp_allows_this_origin_only(client):
    csp = _csp(client, "/docs")
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"] and csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == ["'none'"]


def test_the_spec_the_pages_name_is_served(client):
    response = client.get("/docs")
    [spec_url] = re.findall(r'data-spec-url="([^"]+)"', response.get_data(as_text=True))
    spec = client.get(spec_url)
    assert spec_url == "/openapi.json" and spec.status_code == 200
    assert "/health" in spec.get_json()["paths"]
    assert re.findall(r'spec-url="([^"]+)"', client.get("/redoc").get_data(as_text=True)) == [spec_url]


def test_redoc_loads_its_bundle_from_the_hub_as_a_module(client):
    page = _page(client, "/redoc")
    assert page.inline == []
    [script] = page.scripts
    assert script["type"] == "module" and script["src"].startswith("/redoc/static/")
    _check_same_origin_assets(client, page)


def test_redoc_sends_no_telemetry(client):
    """ReDoc 3 reports usage to Redocly unless told not to (the CSP would block it anyway)."""
    assert 'disable-telemetry="true"' in client.get("/redoc").get_data(as_text=True)


def test_redoc_csp_allows_inline_styles_but_scripts_from_this_origin_only(client):
    csp = _csp(client, "/redoc")
    assert csp["script-src"] == ["'self'"] and csp["connect-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]  # styled-components writes <style> elements
    assert csp["font-src"] == ["data:"]


@pytest.mark.parametrize("path", [
    "/docs/static/swagger-ui-0.0.1/swagger-ui.css",         # not the installed version
    "/docs/static/{swagger}/index.html",                    # in the package, not served (petstore start-up)
    "/docs/static/{swagger}/..%2F..%2F__init__.py",
    "/docs/static/hub-000000000000/swagger-init.js",        # an old digest of our script
    "/redoc/static/offapi-0.0.1/redoc.standalone.js",
])
def test_only_the_installed_assets_are_served(client, path):
    swagger = re.search(r"/docs/static/(swagger-ui-[^/]+)/", client.get("/docs").get_data(as_text=True)).group(1)
    assert client.get(path.format(swagger=swagger)).status_code == 404
