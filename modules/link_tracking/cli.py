"""`flask link-tracking ...`: import click events from a JSON-lines file, apply click retention."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from modules.core.types import utcnow
from modules.link_tracking import ingest, retention, storage

SHOWN_PROBLEMS = 20


link_tracking_group = AppGroup("link-tracking", help="Link tracking: import click events, click retention.")


def _check_line(line: bytes) -> dict[str, Any] | str:
    """The row for one line, or why it cannot be imported (the batch endpoint's reasons)."""
    try:
        event = ingest.parse_json(line)
    except ingest.BadBatch:
        return "not valid JSON"
    checked = ingest.check_event(event, utcnow(), storage.new_click_ids(1)[0])
    if isinstance(checked, str):
        return checked
    return ingest.unstorable_reason(checked, escapes_present=b"\\u" in line) or checked


@link_tracking_group.command("import")
@click.argument("path", metavar="FILE.jsonl", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch-size", default=ingest.MAX_EVENTS, show_default=True,
              type=click.IntRange(1, ingest.MAX_EVENTS), help="Events stored per transaction.")
def import_clicks(path: Path, batch_size: int) -> None:
    """Import click events from FILE.jsonl, one event object per line.

    Each line is checked like an event of POST /api/tracking-ingest/batch (same fields, same rules).
    Invalid lines are reported by line number and skipped; the others are stored in batches, one
    transaction per batch. Events whose event_id is already stored are not stored again, so an
    interrupted import can simply be run again. Exits with status 1 when a line was skipped.
    """
    stored, problems, batch = 0, [], []
    with path.open("rb") as source, click.progressbar(length=path.stat().st_size, label="Importing clicks",
                                                      show_pos=False, show_percent=True) as progress:
        for number, line in enumerate(source, start=1):
            progress.update(len(line))
            if not line.strip():
                continue
            checked = _check_line(line)
            if isinstance(checked, str):
                problems.append(f"line {number}: {checked}")
                continue
            batch.append(checked)
            if len(batch) == batch_size:
                storage.store_rows(batch, utcnow())
                stored, batch = stored + len(batch), []
        storage.store_rows(batch, utcnow())
        stored += len(batch)
    for problem in problems[:SHOWN_PROBLEMS]:
        click.echo(f"skipped {problem}", err=True)
    if len(problems) > SHOWN_PROBLEMS:
        click.echo(f"... and {len(problems) - SHOWN_PROBLEMS} more skipped lines", err=True)
    click.echo(f"Imported {stored} events from {path.name} ({len(problems)} lines skipped; events already "
               "stored under the same event_id were not stored again).")
    if problems:
        raise SystemExit(1)


@link_tracking_group.command("retention")
@click.option("--dry-run", is_flag=True, help="Only list the months that would be dropped.")
def apply_retention(dry_run: bool) -> None:
    """Export (CLICK_EXPORT_DIR) and drop the months of clicks wholly older than CLICK_RETENTION_MONTHS,
    with their rollup rows and event ids, as the periodic job does. Does nothing while the setting is 0."""
    config = current_app.config
    months = config["CLICK_RETENTION_MONTHS"]
    if not months:
        click.echo("Click retention is off (CLICK_RETENTION_MONTHS is 0): every click is kept.")
        return
    dropped = retention.apply_retention(months, config["CLICK_EXPORT_DIR"], config["CLICK_RETENTION_BATCH_SIZE"],
                                        dry_run=dry_run)
    verb = "would drop" if dry_run else "dropped"
    for month in dropped:
        exported = f", exported to {month.export}" if month.export else ""
        click.echo(f"{verb} {month.partition}: {month.clicks} clicks{exported}")
    click.echo(f"{len(dropped)} month(s) {verb}; the last {months} month(s) and the current one are kept.")
