"""Every curl example of docs/link_tracking.md works against a live hub, in the guide's order, and the
request templates under docs/api/ are accepted as they are."""

from __future__ import annotations

import json

from modules.core.config import PROJECT_ROOT
from tests.support.docs import curl_examples, run_example
from tests.support.link_tracking import TRACKING_KEY

GUIDE = PROJECT_ROOT / "docs" / "link_tracking.md"


EMAIL, PASSWORD = "operator@example.com", "correct-horse-battery"  # the operator_headers fixture's


def test_the_guide_examples_run_against_a_live_hub(live_server, operator_headers, stored_clicks, stored_links):
    examples = curl_examples(GUIDE)
    assert len(examples) == 10
    env = {"TRACKING_API_KEY": TRACKING_KEY, "OPERATOR_EMAIL": EMAIL, "OPERATOR_PASSWORD": PASSWORD,
           "TOKEN": operator_headers["Authorization"].removeprefix("Bearer ")}
    outputs = [run_example(block, live_server, env, cwd=PROJECT_ROOT) for block in examples]
    assert json.loads(outputs[0])["status"] == "healthy"
    assert json.loads(outputs[1])["authenticated"] is True
    assert json.loads(outputs[2])["results"]["successful"] == 1
    assert json.loads(outputs[3])["results"] == {"total_events": 2, "successful": 2, "failed": 0, "errors": []}
    assert json.loads(outputs[4])["token_type"] == "bearer"
    assert json.loads(outputs[5])["tracking_id"] == "spring-cv"
    assert outputs[6].strip() == "302 https://jobs.example.com/apply?id=42"
    assert json.loads(outputs[7])["total"] == 1
    assert '"is_active":false' in outputs[8].replace(" ", "")
    assert '"total_clicks":1' in outputs[9].replace(" ", "")
    assert sorted(c.tracking_id for c in stored_clicks()) == [
        "calendly-booking", "linkedin-profile-abc123", "linkedin-profile-abc123", "spring-cv"]
    assert stored_links()["spring-cv"].description == "CV link, spring campaign"


def test_the_request_templates_are_valid_batches(post_batch):
    for name, count in (("link_tracking_minimal.json", 1), ("link_tracking_full.json", 2)):
        body = (PROJECT_ROOT / "docs" / "api" / name).read_text()
        response = post_batch(body=body)
        assert response.status_code == 200, name
        assert response.get_json()["results"]["successful"] == count
