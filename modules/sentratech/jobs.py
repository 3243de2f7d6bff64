"""Outbox handler of the dashboard sync, and the periodic job that queues records left pending."""

from __future__ import annotations

from modules.core import outbox
from modules.core.outbox import Deferred, Permanent
from modules.core.queue import app_job
from modules.core.scheduler import periodic
from modules.sentratech import services
from modules.sentratech.clients import DashboardClient
from modules.sentratech.forms import FORMS
from modules.sentratech.models import PENDING


def sync_died(message: outbox.Message) -> None:
    """The message died (a refusal such as a 400, or retries exhausted): the record is `sync_failed`."""
    form = FORMS.get(message.payload.get("form"))
    if form and message.subject_id:
        services.mark_failed(form, message.subject_id, message.last_error)


@outbox.handler(services.SYNC_KIND, on_dead=sync_died)
def sync_record(message: outbox.Message) -> int:
    """POST the record's current revision to the dashboard; it is `synced_to_dashboard` on a 2xx or a 409.

    Body and Idempotency-Key come from one read of the row, so they always describe the same revision:
    a message queued for an older revision sends the current one (a dashboard that already has it replays
    its answer), never new content under an old key or old content under a new one."""
    form = FORMS.get(message.payload.get("form"))
    record = services.find_record(form, message.subject_id) if form else None
    if record is None:
        raise Permanent("record not found")
    client = DashboardClient.from_config()
    if client is None:
        raise Deferred("DASHBOARD_BASE_URL is not set in the worker")
    record_id, revision = record.id, record.revision
    status_code = client.post_record(form.name, services.record_body(form, record), services.idempotency_key(record))
    services.mark_synced(form, record_id, revision)
    return status_code


@periodic("sentratech.queue_unsynced", every_seconds=300, name="Queue SentraTech records still waiting for the "
          "dashboard (stored while DASHBOARD_BASE_URL was unset)")
@app_job
def queue_unsynced() -> int:
    if not services.dashboard_configured():
        return 0
    return services.queue_planned(services.plan_sync(list(FORMS.values()), (PENDING,)))
