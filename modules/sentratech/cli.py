"""`flask sentratech ...`: sync state per form, and bulk re-sync to the dashboard."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from modules.sentratech import jobs, services
from modules.sentratech.forms import FORMS
from modules.sentratech.models import FORM_TYPES

sentratech_group = AppGroup("sentratech", help="SentraTech ingest: records' dashboard sync state and bulk re-sync.")


@sentratech_group.command("status")
def status_command() -> None:
    """Records per form and their sync state (pending, synced, failed)."""
    for form in FORMS.values():
        counts = services.sync_counts(form)
        sync = counts["sync"]
        click.echo(f"{form.name:18} total={counts['total_count']:<8} pending={sync['pending']:<8} "
                   f"synced={sync['synced']:<8} failed={sync['failed']}")


@sentratech_group.command("resync")
@click.option("--type", "form_type", type=click.Choice(FORM_TYPES), help="Only this form (default: every form).")
@click.option("--only-failed", is_flag=True, help="Only records in sync_failed (default: every record).")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10000),
              help="Records queued per transaction.")
def resync_command(form_type: str | None, only_failed: bool, batch_size: int) -> None:
    """Queue stored records for delivery to the dashboard again.

    Each record gets a new outbox message (its Idempotency-Key stays `<id>:<revision>`, so the dashboard
    can recognise a version it already has) and is delivered by the workers. Records already waiting
    for a delivery are skipped. Needs DASHBOARD_BASE_URL.

    \b
    Examples:
      flask sentratech resync --only-failed
      flask sentratech resync --type subscriptions
    """
    try:
        plan = services.plan_resync(form_type, only_failed)
    except services.DashboardNotConfigured as exc:
        raise click.ClickException(exc.message) from exc
    total = sum(len(ids) for _, ids in plan)
    with click.progressbar(length=total, label="Queueing records", show_pos=True) as bar:
        queued = jobs.queue_planned(plan, batch_size, progress=bar.update, actor="cli")
    click.echo(f"queued {queued} record(s) for the dashboard")
