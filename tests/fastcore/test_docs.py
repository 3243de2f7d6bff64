"""Every curl example of docs/fastcore.md works against a live hub, in the guide's order."""

from __future__ import annotations

import json

from sqlalchemy import select

from modules.core.config import PROJECT_ROOT
from modules.core.extensions import db
from modules.fastcore.models import Lead
from tests.support.docs import curl_examples, run_example

GUIDE = PROJECT_ROOT / "docs" / "fastcore.md"
ENV = {"FASTCORE_SITE_INGEST_TOKEN": "test-site-token", "FASTCORE_ADMIN_TOKEN": "test-admin-token"}


def test_the_guide_examples_run_against_a_live_hub(app, live_server):
    examples = curl_examples(GUIDE)
    assert len(examples) == 7
    outputs = [run_example(block, live_server, ENV) for block in examples]
    assert json.loads(outputs[1])["status"] == "received"
    assert '"status":"processing"' in outputs[3].replace(" ", "")
    assert '"flush_triggered"' in outputs[5]
    assert json.loads(outputs[6]) == {"status": "success", "message": "Queue has been cleared"}
    with app.app_context():
        lead = db.session.scalars(select(Lead)).one()
        assert (lead.name, lead.service, lead.status) == ("Jeanne Example", "compresseurs", "processing")
