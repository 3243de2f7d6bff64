"""Schemathesis against the hub's own /openapi.json: every documented operation, valid keys configured.

Checks every answer: no 5xx, status code, content type and headers documented, body matching its declared
schema, and an operation that declares security refusing requests without it. Partners are played by a
local HTTP server, so valid requests reach the success paths. `make test` runs a bounded number
of examples per operation (FUZZ_EXAMPLES, default 15); `make fuzz` runs many more.
"""

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from app_modular import create_app
from tests.support.keys import TEST_KEYS

# What the document promises. Not included: whether every schema-valid body is accepted and every
# schema-invalid one refused: rules such as "a real spreadsheet" or "a deliverable e-mail address"
# go beyond what a schema can say.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, ignored_auth, missing_required_header, unsupported_method]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
RANDOM = bool(os.environ.get("FUZZ_RANDOM"))  # `make fuzz`: fresh examples each run; `make test`: the same ones

# The document does not depend on the database: read it once, test each operation over real HTTP.
_document = create_app({"DATABASE_URL": "sqlite://", **TEST_KEYS}).test_client().get("/openapi.json").get_json()
schema = schemathesis.openapi.from_dict(_document)


PARTNER_ANSWER = {
    "sales_process_id": "sp-fuzz", "url": "https://partner.example/sale", "url_expiry": "2030-01-01T00:00:00Z",
    "recording_id": "rec-fuzz", "status": "success", "data": {"status": "DELIVERED"},
}


@pytest.fixture
def app(make_app, httpserver):
    """Partners are configured and answer like DTech and Arkesel do, so valid requests succeed."""
    httpserver.expect_request(re.compile("^/")).respond_with_json(
        {**PARTNER_ANSWER, "upload_url": "https://fuzz-bucket.s3.amazonaws.com/upload?signature=fuzz"})
    return make_app(DIFFERENT_API_BASE=httpserver.url_for("/"),
                    DIFFERENT_ACCOUNT_ID="00000000-0000-4000-8000-000000000001",
                    AWS_ACCESS_KEY_ID="test-access-key", AWS_SECRET_ACCESS_KEY="test-secret-key",
                    ARKESEL_API_KEY="test-arkesel-key", ARKESEL_SENDER_ID="TestSender",
                    ARKESEL_BASE_URL=httpserver.url_for("/"), DASHBOARD_BASE_URL=httpserver.url_for("/"),
                    RATE_LIMITS_ENABLED=False)


@pytest.fixture
def credentials(operator_headers):
    """The header each security scheme of the document asks for, with a valid value."""
    return {
        "operatorBearer": operator_headers,
        "trackingApiKey": {"X-API-Key": TEST_KEYS["TRACKING_API_KEYS"].split(",")[0]},
        "ingestKey": {"X-INGEST-KEY": TEST_KEYS["INGEST_KEY"]},
        "fastcoreSiteToken": {"Authorization": f"Bearer {TEST_KEYS['FASTCORE_SITE_INGEST_TOKEN']}"},
        "fastcoreAdminToken": {"Authorization": f"Bearer {TEST_KEYS['FASTCORE_ADMIN_TOKEN']}"},
    }


def headers_for(case, credentials):
    for requirement in case.operation.definition.raw.get("security") or []:
        for scheme in requirement:
            if scheme in credentials:
                return credentials[scheme]
    return {}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM,
          suppress_health_check=list(HealthCheck))
def test_every_operation_honours_its_document(case, live_server, credentials):
    case.call_and_validate(base_url=live_server, headers=headers_for(case, credentials), checks=CHECKS)
