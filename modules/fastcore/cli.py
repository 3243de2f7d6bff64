"""`flask fastcore queue ...`: the fallback queue from a shell (the local file is only reachable here)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from modules.fastcore import fallback

CLI_ACTOR = "cli"

fastcore_group = AppGroup("fastcore", help="FASTCore leads.")
queue_group = AppGroup("queue", help="Leads kept in the fallback queue while the database was unreachable.")
fastcore_group.add_command(queue_group)


@queue_group.command("stats")
def queue_stats() -> None:
    """Queued leads by failed attempts ("3" = dead), and per store (Redis, this machine's file)."""
    click.echo(json.dumps({**fallback.stats(), "by_store": fallback.stats_by_store()}, indent=2))


@queue_group.command("flush")
def queue_flush() -> None:
    """Write the due queued leads to the database now, including this machine's file."""
    report = fallback.flush()
    if report.already_running:
        raise click.ClickException("another flush is running; try again in a moment")
    click.echo(f"flushed {report.flushed}, duplicates dropped {report.duplicates}, failed {report.failed} "
               f"(now dead {report.dead}), remaining {report.remaining}")


@queue_group.command("replay")
def queue_replay() -> None:
    """Give dead queued leads a fresh set of attempts (then run `flush`)."""
    click.echo(f"replayed {fallback.replay(CLI_ACTOR)} lead(s)")


@queue_group.command("clear")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def queue_clear(yes: bool) -> None:
    """Delete every queued lead, dead or not. They are lost; the audit log keeps their ids."""
    size = fallback.stats()["queue_size"]
    if not yes:
        click.confirm(f"Delete {size} queued lead(s) for good?", abort=True)
    click.echo(f"cleared {fallback.clear(CLI_ACTOR)} lead(s)")
