"""No name, phone, e-mail, reason, partner message, key or upload URL signature in any of the hub's log lines."""

import json
import logging

from tests.support.dtech import LEAD, RECORDING_BODY, START_BODY, multipart
from tests.support.dtech_partner import SALES_PROCESS_ID, SECRET_KEY

PRIVATE = [LEAD["first_name"], LEAD["last_name"], "555-0142", LEAD["email"], "lead declined", "presigned-by-dtech",
           "Campaign closed for Thandi", SECRET_KEY, "test-dtech-access-key", "Sipho"]


def test_the_whole_flow_logs_nothing_private(client, operator_headers, partner, worker, caplog):
    caplog.set_level(logging.INFO)
    partner.answer("POST", "/ext/start", {"message": "Campaign closed for Thandi"}, status=400, oneshot=True)
    assert client.post("/api/v1/sales/start", json=START_BODY, headers=operator_headers).status_code == 502
    partner.answer_start()
    assert client.post("/api/v1/sales/start", json=START_BODY, headers=operator_headers).status_code == 200
    partner.answer_recording_url()
    upload_id = client.post(f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}", json=RECORDING_BODY,
                            headers=operator_headers).get_json()["upload_id"]
    partner.accept_uploads(status=500, oneshot=True)
    client.post(f"/api/v1/sales/recordings/{upload_id}/file", data=multipart(b"wrong bytes"),
                headers=operator_headers, content_type="multipart/form-data")
    partner.answer("POST", f"/ext/stop/{SALES_PROCESS_ID}", {"success": True})
    client.post(f"/api/v1/sales/stop/{SALES_PROCESS_ID}?reason=lead%20declined", headers=operator_headers)
    worker.drain()

    ours = [record for record in caplog.records if record.name != "werkzeug"]  # werkzeug logs the test peer
    assert any(record.name == "modules.dtech.clients" for record in ours), "the partner's refusal was logged"
    logged = "\n".join(record.getMessage() + json.dumps(vars(record), default=str) for record in ours)
    for private in PRIVATE:
        assert private not in logged
