"""Every curl example of docs/sentratech.md runs against a live hub and succeeds."""

from __future__ import annotations

import pytest

from modules.core.config import PROJECT_ROOT
from tests.support.docs import curl_examples, run_example

GUIDE = PROJECT_ROOT / "docs" / "sentratech.md"
EXAMPLES = curl_examples(GUIDE)


@pytest.fixture
def app(make_app, httpserver):
    """The live server's app has a dashboard configured, as the re-sync example needs, and a read key."""
    return make_app(DASHBOARD_BASE_URL=httpserver.url_for("/"), INGEST_READ_KEY="test-read-key")


def test_the_guide_has_an_example_for_each_form():
    text = "\n".join(EXAMPLES)
    for form in ("demo_requests", "contact_requests", "roi_reports", "subscriptions"):
        assert f"/api/ingest/{form}" in text


@pytest.mark.parametrize("block", EXAMPLES, ids=[f"example-{n}" for n in range(len(EXAMPLES))])
def test_a_curl_example_works(live_server, operator_headers, block):
    token = operator_headers["Authorization"].removeprefix("Bearer ")
    output = run_example(block, live_server, {"INGEST_KEY": "test-ingest-key", "INGEST_READ_KEY": "test-read-key",
                                                  "TOKEN": token})
    assert output.strip()
