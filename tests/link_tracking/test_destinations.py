"""Link destinations: refused at create and update when a browser or a WSGI server could not use them as
they are meant; accepted ones are sent as ASCII (IDNA host, percent-encoded path and query); /track never
answers 500, through werkzeug's and gunicorn's servers alike."""

import http.client
import unicodedata
from urllib.parse import urlsplit

import pytest
from werkzeug.urls import iri_to_uri

from modules.core.extensions import db
from modules.link_tracking.destinations import _INVISIBLE, UnusableDestination, location_for
from modules.link_tracking.models import TrackedLink

LINKS = "/api/link-tracking/links"

UNUSABLE = [
    "https://example.com/jobs\u2028apply", "https://exa\u2028mple.com/", "https://example.com/\u2029",
    "https://example.com/a\u00a0b", "https://example.com/\u3000", "https://example.com/\u200a", "https://ex\tample.com/",
    "https://example.com/a\r\nSet-Cookie: x=1", "https://example.com/\x7f", "https://example.com/\x85",
    " https://example.com/", "https://example.com/ ", "https://example.com:65536/", "https://example.com:99999/",
    "https://example.com:0/", "https://example.com:abc/", "https://example.com:-1/", "https://example.com:80:80/",
    "https://bank.com@evil.com/", "https://user:secret@example.com/", "https://@example.com/",
    "https://evil.example\\.bank.example/", "https://example.com\\@evil.com/", "https:\\\\evil.example/",
    "https://xn--zz.example/", "https://xn---bbk.example/", "https://\u0300a.example/", "https://a\u2100c.example/",
    "https://" + "a" * 64 + ".example/", "https://" + ("a" * 60 + ".") * 5 + "example/", "https://exa%2Emple.com/",
    "https://a..example/", "http://2130706433/", "http://127.1/", "http://0x7f.0.0.1/", "http://192.168.0.256/",
    "https://example.123/", "https://[fe80::1%25eth0]/", "https://[::1]x/", "https://[not-v6]/", "https:example.com",
    "https:///example.com", "HTTPS:/example.com",
    "https://example.com/" + "\U0001F600" * 1000,  # 1,000 characters, 12 KB once encoded: past proxies' header buffers
]


@pytest.fixture
def create(client, operator_headers):
    def post(url, **fields):
        return client.post(LINKS, json={"original_url": url, **fields}, headers=operator_headers)

    return post


@pytest.mark.parametrize("url", UNUSABLE)
def test_an_unusable_destination_is_refused_at_create(create, stored_links, url):
    response = create(url)
    assert response.status_code == 400, url
    body = response.get_json()
    assert (body["success"], body["error"]) == (False, "Validation Failed")
    [line] = body["validation_errors"]
    assert line.startswith("original_url: Not a usable destination: the URL ")
    assert stored_links() == {}


@pytest.mark.parametrize("url", ["https://example.com/jobs\u2028apply", "https://example.com:99999/",
                                 "https://bank.com@evil.com/", "https://xn--zz.example/"])
def test_an_unusable_destination_is_refused_at_update(client, create, operator_headers, stored_links, url):
    create("https://example.com/job/1", tracking_id="cv-1")
    response = client.patch(f"{LINKS}/cv-1", json={"original_url": url}, headers=operator_headers)
    assert response.status_code == 400
    assert response.get_json()["validation_errors"][0].startswith("original_url: Not a usable destination")
    assert stored_links()["cv-1"].original_url == "https://example.com/job/1"


def test_the_refusal_names_what_is_wrong(create):
    def reason(url):
        return create(url).get_json()["validation_errors"][0]

    assert "U+2028 (line separator) at position 25" in reason("https://example.com/jobs\u2028apply")
    assert "port '99999' is not a number from 1 to 65535" in reason("https://example.com:99999/")
    assert "user name or password" in reason("https://bank.com@evil.com/")
    assert "internationalised domain name" in reason("https://\u0300a.example/")
    assert "NFKC" in reason("https://a\u2100c.example/")


SENT_AS = [
    ("https://bücher.example/café?q=é#über", "https://xn--bcher-kva.example/caf%C3%A9?q=%C3%A9#%C3%BCber"),
    ("https://straße.de/", "https://xn--strae-oqa.de/"),  # IDNA 2008 as browsers use it, not "strasse.de"
    ("https://ＢÜＣＨＥＲ。example/", "https://xn--bcher-kva.example/"),
    ("https://例え.テスト/パス", "https://xn--r8jz45g.xn--zckzah/%E3%83%91%E3%82%B9"),
    ("https://xn--bcher-kva.example/caf%C3%A9", "https://xn--bcher-kva.example/caf%C3%A9"),
    ("https://[2001:db8::1]:8443/x?y=1", "https://[2001:db8::1]:8443/x?y=1"),
    ("http://192.0.2.10:8080/", "http://192.0.2.10:8080/"),
    ("https://r3---sn-abc.video.example/p", "https://r3---sn-abc.video.example/p"),
    ("https://cdn_1.example.com/a?b=c&d=%zz", "https://cdn_1.example.com/a?b=c&d=%zz"),
    ("https://example.com/a|b?q={x}&r=\"y\"", "https://example.com/a%7Cb?q=%7Bx%7D&r=%22y%22"),
    ("https://example.com/?q=a\\b", "https://example.com/?q=a%5Cb"),
    ("https://fa.example/\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
     "https://fa.example/%D9%85%DB%8C%E2%80%8C%D8%AE%D9%88%D8%A7%D9%87%D9%85"),
    ("HTTPS://Jobs.Example.COM/Apply", "https://jobs.example.com/Apply"),
]


@pytest.mark.parametrize("url, location", SENT_AS)
def test_a_usable_destination_is_kept_and_sent_as_ascii(client, create, stored_links, url, location):
    created = create(url, tracking_id="intl")
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["original_url"] == url and stored_links()["intl"].original_url == url
    response = client.get("/track/intl")
    assert response.status_code == 302
    assert response.headers["Location"] == location


@pytest.mark.sqlite_only
def test_the_invisible_characters_are_exactly_controls_spaces_and_surrogates():
    expected = {chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) in ("Cc", "Cs", "Zs", "Zl", "Zp")}
    assert {chr(c) for c in range(0x110000) if _INVISIBLE.match(chr(c))} == expected


SAMPLE_CODE_POINTS = [*range(0x300), *range(0x300, 0x3100, 11), *range(0x3100, 0x110000, 997),
                      0x200B, 0x200C, 0x200D, 0x202E, 0x2028, 0x2029, 0x2100, 0x3002, 0xFEFF, 0xFF0E, 0xFF20, 0xFF1A]


@pytest.mark.sqlite_only
def test_every_location_is_printable_ascii_and_what_werkzeug_sends():
    """Latin-1 and a sample of every other block in the host, path, query, fragment, port and user name:
    the answer is a refusal or a printable-ASCII location that werkzeug's Location handling leaves as is."""
    sent = 0
    for c in map(chr, SAMPLE_CODE_POINTS):
        for url in (f"https://h{c}st.example/", f"https://example.com/p{c}th", f"https://example.com/?q={c}",
                    f"https://example.com/#{c}", f"https://example.com:8{c}/", f"https://{c}@example.com/"):
            try:
                location = location_for(url)
            except UnusableDestination:
                continue
            sent += 1
            assert location.isascii() and location.isprintable() and " " not in location, url
            assert iri_to_uri(location) == location and location_for(location) == location, url
    assert sent > 5_000


def store_link(app, tracking_id, url):
    """A destination saved before destinations were checked this way."""
    with app.app_context():
        db.session.add(TrackedLink(tracking_id=tracking_id, original_url=url, is_active=True, auto_registered=False))
        db.session.commit()


STORED_EARLIER = ["https://example.com:99999/", "https://exa\u2028mple.com/", "https://" + "a" * 64 + ".example/",
                  "https://bank.com@evil.com/", "https://example.com/a\r\nSet-Cookie: x=1", "https://[::1/",
                  "https://example.com:abc/", "http://2130706433/"]


def fetch(base_url, path, method="GET", headers=None):
    """One request over real HTTP, redirects not followed: (status, headers, body)."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def check_stored_destinations(app, base_url, stored_clicks):
    store_link(app, "good", "https://bücher.example/café")
    for number, url in enumerate(STORED_EARLIER):
        store_link(app, f"old-{number}", url)
    for number, url in enumerate(STORED_EARLIER):
        for headers in ({"Accept": "application/json"}, {"Accept": "text/html"}):
            status, answer_headers, body = fetch(base_url, f"/track/old-{number}", headers=headers)
            assert status == 404, (url, status, body[:200])
            assert "Location" not in answer_headers and "Set-Cookie" not in answer_headers
        status, _, body = fetch(base_url, f"/track/old-{number}", headers={"Accept": "application/json"})
        assert b"destination cannot be used" in body
    status, answer_headers, _ = fetch(base_url, "/track/good")
    assert (status, answer_headers["Location"]) == (302, "https://xn--bcher-kva.example/caf%C3%A9")
    assert [click.tracking_id for click in stored_clicks()] == ["good"]


def test_a_destination_stored_earlier_never_gives_a_500_through_werkzeug(app, live_server, stored_clicks):
    check_stored_destinations(app, live_server, stored_clicks)


def test_a_destination_stored_earlier_never_gives_a_500_through_gunicorn(app, served_hub, stored_clicks):
    """Through gunicorn as the Procfile serves it (it refuses bad header values itself)."""
    check_stored_destinations(app, served_hub.url, stored_clicks)
