"""No input gives a 5xx: every refusal on the domain's paths is a 4xx in its envelope, with nothing stored."""

import pytest

BODIES = [
    ("{not json", "application/json"), ("[]", "application/json"), ("[1, 2]", "application/json"),
    ('"text"', "application/json"), ("null", "application/json"), ("123", "application/json"),
    ('{"original_url": ["https://example.com"], "events": "x"}', "application/json"),
    ('{"original_url": "https://example.com/\\u0000", "tracking_id": "\\ud800"}', "application/json"),
    ('{"description": "' + "é" * 100_000 + '"}', "application/json"),
    ('{"x": ' + "[" * 5000 + "]" * 5000 + "}", "application/json"), ("\xff\xfe", "application/json"),
    ("original_url=https://example.com", "application/x-www-form-urlencoded"), ("<xml/>", "application/xml"),
]
PATHS = [("POST", "/api/tracking-ingest/batch"), ("POST", "/api/link-tracking/links"),
         ("PATCH", "/api/link-tracking/links/some-link"), ("GET", "/api/link-tracking/links?limit=%00"),
         ("GET", "/track/some-link?src=%00")]


@pytest.mark.parametrize("method, path", PATHS)
def test_odd_input_is_refused_cleanly(client, key_headers, operator_headers, post_batch, stored_clicks, method, path):
    post_batch([{"tracking_id": "some-link"}])
    headers = key_headers if path.startswith("/api/tracking-ingest") else operator_headers
    for body, content_type in BODIES:
        response = client.open(path, method=method, data=body.encode("utf-8", "surrogatepass"),
                               content_type=content_type, headers=headers)
        assert response.status_code < 500, body[:40]
        if response.status_code >= 400:
            payload = response.get_json()
            assert payload["success"] is False and payload["error"] and payload["message"], body[:40]
    assert len(stored_clicks()) == 1
