"""A sale's start form sent twice (a double click, a reload of the POST) starts one sale at DTech; a start
DTech refused can be sent again from the same form."""

from __future__ import annotations

import re

from tests.console import test_sales_pages as sales_pages
from tests.console.conftest import csrf_token

# The DTech partner and a hub talking to it, and a signed-in agent, as the sales pages' tests have them.
app, partner, agent_client = sales_pages.app, sales_pages.partner, sales_pages.agent_client
start_form, storage_ca, storage_ca_file = sales_pages.start_form, sales_pages.storage_ca, sales_pages.storage_ca_file
storage_server = sales_pages.storage_server
storage, recordings_dir = sales_pages.storage, sales_pages.recordings_dir


def start_page_form(client) -> dict[str, str]:
    html = client.get("/console/sales/start").get_data(as_text=True)
    return start_form(csrf_token(html), once=re.search(r'name="once" value="([^"]+)"', html).group(1))


def test_a_start_sent_twice_starts_one_sale(agent_client, partner):
    partner.answer_start()
    form = start_page_form(agent_client)
    assert agent_client.post("/console/sales/start", data=form).status_code == 303
    again = agent_client.post("/console/sales/start", data=form, follow_redirects=True)
    assert "already sent" in again.get_data(as_text=True)
    assert len(partner.calls("/ext/start")) == 1
