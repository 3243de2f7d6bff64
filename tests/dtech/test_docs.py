"""Every curl example of docs/dtech.md works against a live hub and the partner, in the guide's order."""

from __future__ import annotations

import json

from sqlalchemy import select

from modules.core.config import PROJECT_ROOT
from modules.core.extensions import db
from modules.dtech.models import CallRecording, SalesProcess
from tests.support.docs import curl_examples, run_example
from tests.support.dtech import ACCOUNT_ID, AUDIO
from tests.support.dtech_partner import SALES_PROCESS_ID, UPLOAD_PATH

GUIDE = PROJECT_ROOT / "docs" / "dtech.md"


def test_the_guide_examples_run_against_a_live_hub(app, live_server, partner, operator_headers, worker, tmp_path):
    partner.answer_start()
    partner.answer("POST", f"/ext/continue/{SALES_PROCESS_ID}", {"url": "https://dtech.test/s/1001?again=1",
                                                                 "url_expiry": "2026-11-22T10:00:00Z"})
    partner.answer("GET", f"/ext/status/{SALES_PROCESS_ID}/{ACCOUNT_ID}", {"status": "IN_PROGRESS"})
    partner.answer_recording_url()
    partner.accept_uploads()
    partner.answer("POST", f"/ext/stop/{SALES_PROCESS_ID}", {"success": True})
    (tmp_path / "call-1001.wav").write_bytes(AUDIO)
    env = {"OPERATOR_EMAIL": "operator@example.com", "OPERATOR_PASSWORD": "correct-horse-battery",
           "TOKEN": operator_headers["Authorization"].removeprefix("Bearer "), "ACCOUNT_ID": ACCOUNT_ID,
           "SALES_PROCESS_ID": SALES_PROCESS_ID}

    examples = curl_examples(GUIDE)
    assert len(examples) == 8
    outputs = [run_example(block, live_server, env, cwd=tmp_path) for block in examples]

    assert json.loads(outputs[0])["token_type"] == "bearer"
    assert json.loads(outputs[1])["sales_process_id"] == SALES_PROCESS_ID
    assert json.loads(outputs[4]) == {"status": "IN_PROGRESS"}
    assert '"status":"uploading"' in outputs[5].replace(" ", "")
    assert json.loads(outputs[6]) == {"success": True}
    assert '"sales_process_id":"sp-1001"' in outputs[7].replace(" ", "")
    assert all(call.signature_problem is None for call in partner.received if call.path != UPLOAD_PATH)
    worker.drain()
    [put] = partner.calls(UPLOAD_PATH)
    assert put.body == AUDIO
    with app.app_context():
        process = db.session.scalars(select(SalesProcess)).one()
        recording = db.session.scalars(select(CallRecording)).one()
        assert (process.status, process.stop_reason, recording.status) == ("stopped", "lead declined", "complete")
