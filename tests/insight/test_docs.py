"""Every curl example of docs/insight.md works against a live hub."""

import pytest

from modules.core.config import PROJECT_ROOT
from tests.support.docs import curl_examples, run_example
from tests.support.insight import ARKESEL_KEY, SENDER, create_customer

GUIDE = PROJECT_ROOT / "docs" / "insight.md"
EMAIL, PASSWORD = "operator@example.com", "correct-horse-battery"  # the operator_headers fixture's


@pytest.fixture
def app(make_app, httpserver):
    """The live server's app: SMS configured against a local Arkesel, so the send examples answer 200."""
    return make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""))


def test_the_guide_has_an_example_for_every_endpoint():
    text = GUIDE.read_text()
    for path in ("/api/auth/login", "/api/customers/", "/api/customers/dashboard/data", "/api/actions/",
                 "/api/actions/customer/", "/api/actions/batch", "/api/sms/send", "/api/sms/send-bulk",
                 "/api/sms/send/warning/", "/api/sms/templates", "/api/sms/status/", "/api/upload/excel",
                 "/api/upload/validate-customers", "/api/upload/process-batch"):
        assert f"http://127.0.0.1:5001{path}" in text, path


def test_every_curl_example_runs(live_server, client, operator_headers):
    customer = create_customer(client, operator_headers, account_number="ACC-0001")
    message_id = client.post("/api/sms/send", headers=operator_headers, json={
        "customer_id": customer["id"], "message": "Hello"}).get_json()["message_id"]
    env = {"TOKEN": operator_headers["Authorization"].removeprefix("Bearer "), "OPERATOR_EMAIL": EMAIL,
           "OPERATOR_PASSWORD": PASSWORD, "CUSTOMER_ID": customer["id"], "MESSAGE_ID": message_id}
    examples = curl_examples(GUIDE)
    assert len(examples) >= 15
    outputs = [run_example(block, live_server, env, cwd=PROJECT_ROOT) for block in examples]
    assert '"access_token"' in outputs[0]
    assert any('"customers_created":2' in output.replace(" ", "") for output in outputs)
