"""`flask insight import FILE`: the spreadsheet upload, from a shell, with progress bars."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from modules.core.exceptions import Conflict
from modules.insight.models import ACTIONS
from modules.insight.rows import validate_rows
from modules.insight.services.batches import fingerprint, process_batch
from modules.insight.services.common import Actor
from modules.insight.spreadsheet import Limits, SpreadsheetError, read_rows

SHOWN_ERRORS = 20


@click.group("insight")
def insight_group() -> None:
    """Insight customers: import spreadsheets."""


@insight_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch-id", help="Id of this batch; importing it again applies nothing. Default: a new id.")
@click.option("--action", type=click.Choice(ACTIONS, case_sensitive=False),
              help="Record this action for every customer in the file.")
@click.option("--performed-by", default="cli import", show_default=True, help="Name recorded on the actions.")
@click.option("--dry-run", is_flag=True, help="Only validate the file and report its errors.")
@with_appcontext
def import_command(file: Path, batch_id: str | None, action: str | None, performed_by: str, dry_run: bool) -> None:
    """Create or update customers from FILE (.xlsx or .csv with the columns name, account_number, phone,
    arrears). Every row is validated first; if any row has an error nothing is imported."""
    region = current_app.config["DEFAULT_PHONE_REGION"]
    with file.open("rb") as stream:
        try:
            with click.progressbar(read_rows(stream, Limits.from_config(current_app.config)), label="Validating",
                                   item_show_func=lambda item: f"row {item[0]}" if item else "") as numbered:
                rows = validate_rows(numbered, region)
        except SpreadsheetError as exc:
            raise click.ClickException(str(exc)) from exc
    bad = [row for row in rows if not row.valid]
    click.echo(f"{len(rows)} row(s), {len(rows) - len(bad)} valid, {len(bad)} with errors")
    for row in bad[:SHOWN_ERRORS]:
        click.echo(f"  row {row.number}: {'; '.join(row.messages())}", err=True)
    if len(bad) > SHOWN_ERRORS:
        click.echo(f"  ... and {len(bad) - SHOWN_ERRORS} more row(s) with errors", err=True)
    if bad:
        raise click.ClickException("nothing was imported: fix the rows above and run the import again")
    if dry_run or not rows:
        click.echo("dry run: nothing was imported" if dry_run else "nothing to import")
        return
    content = fingerprint({"data": [row.clean for row in rows], "action": action})
    try:
        with click.progressbar(length=len(rows), label="Importing") as bar:
            result = process_batch(rows, batch_id, action, Actor("cli", performed_by), content, progress=bar.update)
    except Conflict as exc:  # the batch id was used for other content
        raise click.ClickException(exc.message) from exc
    click.echo(result["message"])
    click.echo(f"batch id: {result['batch_id']}")
