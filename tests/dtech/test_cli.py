"""`flask dtech activate`: a signed activation call whose keys are printed, never logged."""

import json
import logging

from tests.support.dtech import ACCOUNT_ID, dtech_settings

ACTIVATE = ["dtech", "activate", "sg-call-centre", "--account-id", ACCOUNT_ID, "--request-token", "test-request-token"]
KEYS = {"access_key_id": "test-issued-access-key", "secret_access_key": "test-issued-secret-key"}


def test_activate_prints_the_keys_and_logs_none_of_them(runner, partner, caplog):
    partner.answer("POST", "/activate/sg-call-centre", KEYS)
    with caplog.at_level(logging.DEBUG):
        result = runner.invoke(args=ACTIVATE)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == KEYS
    [call] = partner.received
    assert call.signature_problem is None
    assert call.json() == {"account_id": ACCOUNT_ID, "request_token": "test-request-token"}
    logged = caplog.text + " ".join(json.dumps(vars(record), default=str) for record in caplog.records)
    for secret in ("test-issued-secret-key", "test-request-token", "test-dtech-secret-key"):
        assert secret not in logged


def test_activate_without_configured_keys_goes_unsigned(make_app, partner, recordings_dir):
    app = make_app(**dtech_settings(partner, recordings_dir, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY=""))
    partner.answer("POST", "/activate/sg-call-centre", KEYS, check_signature=False)
    result = app.test_cli_runner().invoke(args=ACTIVATE)
    assert result.exit_code == 0, result.output
    assert "Authorization" not in partner.received[0].headers


def test_a_refused_activation_exits_1_with_the_partners_message(runner, partner):
    partner.answer("POST", "/activate/sg-call-centre", {"message": "Request token expired"}, status=400)
    result = runner.invoke(args=ACTIVATE)
    assert result.exit_code == 1
    assert "PARTNER_ERROR: DTech answered HTTP 400: Request token expired" in result.output


def test_activate_checks_the_account_id(runner, partner):
    result = runner.invoke(args=["dtech", "activate", "sg-call-centre", "--account-id", "nope",
                                 "--request-token", "test-request-token"])
    assert result.exit_code == 2
    assert "not a valid UUID" in result.output
    assert partner.received == []
