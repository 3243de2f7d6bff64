"""`flask insight import FILE`: the spreadsheet upload, from a shell, with progress bars. It goes through the
same service as the API (`batches.import_file`), so a file imported here and the same rows posted to the
API under one batch id are one batch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import click
from flask.cli import AppGroup

from modules.core.exceptions import DomainError
from modules.insight.models import ACTIONS
from modules.insight.rows import Row
from modules.insight.services.batches import Advance, Batch, InvalidRows, Numbered, import_file
from modules.insight.services.common import Actor

SHOWN_ERRORS = 20
CLI_ACTOR = "cli"  # how the audit log names a shell, as the core's commands do
NOTHING_IMPORTED = "nothing was imported: fix the rows above and run the import again"

insight_group = AppGroup("insight", help="Insight customers: import spreadsheets.")


@insight_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch-id", help="Id of this batch; importing it again applies nothing. Default: a new id.")
@click.option("--action", type=click.Choice(ACTIONS, case_sensitive=False),
              help="Record this action for every customer in the file.")
@click.option("--performed-by", default="cli import", show_default=True, help="Name recorded on the actions.")
@click.option("--dry-run", is_flag=True, help="Only validate the file and report its errors.")
def import_command(file: Path, batch_id: str | None, action: str | None, performed_by: str, dry_run: bool) -> None:
    """Create or update customers from FILE (.xlsx or .csv with the columns name, account_number, phone,
    arrears). Every row is validated first; if any row has an error nothing is imported."""
    batch = None if dry_run else Batch(Actor(CLI_ACTOR, performed_by), batch_id, action)
    try:
        with file.open("rb") as stream:
            result = import_file(stream, batch, ProgressBars())
    except InvalidRows as exc:
        _report(exc.rows)
        raise click.ClickException(NOTHING_IMPORTED) from exc
    except DomainError as exc:  # not a customer spreadsheet; the batch id was used for other content
        raise click.ClickException(exc.message) from exc
    _report(result.rows)
    if not all(row.valid for row in result.rows):
        raise click.ClickException(NOTHING_IMPORTED)
    if result.applied is None:
        click.echo("dry run: nothing was imported" if dry_run else "nothing to import")
        return
    click.echo(result.applied["message"])
    click.echo(f"batch id: {result.applied['batch_id']}")


def _report(rows: list[Row]) -> None:
    """How many rows, and the errors of the first SHOWN_ERRORS rows that have some."""
    bad = [row for row in rows if not row.valid]
    click.echo(f"{len(rows)} row(s), {len(rows) - len(bad)} valid, {len(bad)} with errors")
    for row in bad[:SHOWN_ERRORS]:
        click.echo(f"  row {row.number}: {'; '.join(row.messages())}", err=True)
    if len(bad) > SHOWN_ERRORS:
        click.echo(f"  ... and {len(bad) - SHOWN_ERRORS} more row(s) with errors", err=True)


class ProgressBars:
    """click's progress bars for `batches.import_file`: rows read and validated, then rows applied."""

    def reading(self, rows: Iterator[Numbered]) -> AbstractContextManager[Iterable[Numbered]]:
        return click.progressbar(rows, label="Validating",
                                 item_show_func=lambda item: f"row {item[0]}" if item else "")

    @contextmanager
    def applying(self, total: int) -> Iterator[Advance]:
        with click.progressbar(length=total, label="Importing") as bar:
            yield bar.update
