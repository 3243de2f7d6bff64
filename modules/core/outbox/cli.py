"""`flask outbox ...`: the outbox from a shell, the same services as its operator API (audited as `cli`):
messages (list, show, replay, purge), destinations (pause, resume, close a breaker) and kinds."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from flask.cli import AppGroup

from modules.core import outbox
from modules.core.exceptions import DomainError
from modules.core.outbox.replaying import MAX_IDS, REPLAYABLE

outbox_group = AppGroup("outbox", help="Outbound messages: inspect, trace, replay and purge them; pause and resume "
                                        "their destinations; see each kind's retry policy.")


class AwareDateTime(click.ParamType):
    """An ISO 8601 time with a time zone (2026-12-01T00:00:00Z, 2026-12-01T08:00+08:00)."""

    name = "ISO-TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time such as 2026-12-01T00:00:00Z", param, ctx)
        if moment.utcoffset() is None:
            self.fail(f"{value!r} has no time zone: add Z or an offset such as +00:00", param, ctx)
        return moment


def selection_options(statuses: tuple[str, ...]) -> Callable:
    """The filters of `replay` and `purge`: which messages, every one given must hold."""
    options = [
        click.argument("ids", nargs=-1),
        click.option("--kind", help="Only this kind, e.g. sentratech.dashboard_sync."),
        click.option("--destination", help="Only the kinds delivered there."),
        click.option("--status", type=click.Choice(statuses), default=statuses[0], show_default=True,
                     help="Which messages" + (": delivered ones are delivered again." if len(statuses) > 1 else ".")),
        click.option("--since", type=AwareDateTime(), help="Created at or after this time (with a time zone)."),
        click.option("--until", type=AwareDateTime(), help="Created before this time (with a time zone)."),
        click.option("--subject", "subject_id", help="Only messages about this record (a form, a lead, an SMS...)."),
        click.option("--all", "everything", is_flag=True, help="Needed when no other filter is given."),
        click.option("--dry-run", is_flag=True, help="Say how many messages of which kinds, and change nothing."),
    ]

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _selection(ids: tuple[str, ...], everything: bool, **filters: Any) -> outbox.Selection:
    selection = outbox.Selection(ids=ids, everything=everything, **filters)
    if not (selection.narrowed() or everything):
        raise click.UsageError("name message ids, --kind, --destination, --subject, --since/--until, or --all "
                               "(--all-dead)")
    if len(ids) > MAX_IDS:
        raise click.UsageError(f"at most {MAX_IDS} ids at once")
    return selection


def _run(action: Callable[[], dict[str, Any]], done: str, would: str) -> None:
    try:
        answer = action()
    except DomainError as error:
        raise click.ClickException(error.message) from None
    verb = would if answer["dry_run"] else done
    click.echo(f"{verb} {answer['matched']} message(s)")
    for kind, count in answer["by_kind"].items():
        click.echo(f"  {kind:40} {count}")


@outbox_group.command("stats")
def outbox_stats() -> None:
    """Message counts by status, overall and per kind."""
    click.echo(json.dumps(outbox.stats(), indent=2))


@outbox_group.command("list")
@click.option("--status", type=click.Choice([status.value for status in outbox.Status]))
@click.option("--kind", help="Only this kind, e.g. sentratech.dashboard_sync.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0), help="Skip this many first.")
def outbox_list(status: str | None, kind: str | None, limit: int, offset: int) -> None:
    """List messages, newest first, with their last error."""
    total, page = outbox.messages(status, kind, limit, offset)
    click.echo(f"{total} message(s)")
    for message in page:
        click.echo(f"{message.id}  {message.kind:32} {message.status:9} attempts={message.attempts} "
                   f"last={message.last_status_code or '-'} {message.last_error or ''}")


@outbox_group.command("sweep")
def outbox_sweep() -> None:
    """Enqueue due messages now (the scheduler does this every minute)."""
    click.echo(f"enqueued {outbox.sweep()} message(s)")


@outbox_group.command("replay")
@selection_options(REPLAYABLE)
@click.option("--all-dead", is_flag=True, help="Every dead message (the same as --all).")
def outbox_replay(ids: tuple[str, ...], everything: bool, all_dead: bool, dry_run: bool, **filters: Any) -> None:
    """Deliver messages again: IDS, or those the filters choose (dead ones unless --status delivered).

    Every filter given must hold; --all when there is none. Try --dry-run first: it says how many
    messages of which kinds the replay takes. The replay is one statement, and one drain delivers them.

    \b
    flask outbox replay MESSAGE_ID ...
    flask outbox replay --kind sentratech.dashboard_sync --since 2026-12-01T00:00Z --dry-run
    flask outbox replay --destination dashboard --status delivered --subject RECORD_ID
    """
    if all_dead and filters["status"] != outbox.Status.DEAD.value:
        raise click.UsageError("--all-dead takes dead messages: say --all with --status")
    selection = _selection(ids, everything or all_dead, **filters)
    _run(lambda: outbox.replay(selection, dry_run, actor="cli"), "replayed", "would replay")


@outbox_group.command("purge")
@selection_options((outbox.Status.DEAD.value,))
def outbox_purge(ids: tuple[str, ...], everything: bool, dry_run: bool, **filters: Any) -> None:
    """Delete dead messages and their attempts: IDS, or those the filters choose (--all for every one).
    Try --dry-run first. Delivered messages go on their own after OUTBOX_RETENTION_DAYS."""
    selection = _selection(ids, everything, **filters)
    _run(lambda: outbox.purge_dead(selection, dry_run, actor="cli"), "purged", "would purge")


@outbox_group.command("purge-delivered")
@click.option("--dry-run", is_flag=True, help="Say how many messages are past the window, and delete nothing.")
def outbox_purge_delivered(dry_run: bool) -> None:
    """Delete delivered messages older than OUTBOX_RETENTION_DAYS, with their attempts, now: what the
    periodic job `outbox.retention` does, here until none is left."""
    if dry_run:
        click.echo(f"would delete {outbox.expired_count()} delivered message(s)")
        return
    click.echo(f"deleted {outbox.purge_delivered(max_batches=None)} delivered message(s)")


@outbox_group.command("show")
@click.argument("subject_or_message_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 200),
              help="Messages of a subject to show.")
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0), help="Skip this many first.")
def outbox_show(subject_or_message_id: str, limit: int, offset: int) -> None:
    """One message, or every message about a subject (a form, a lead, an SMS, a recording), oldest first,
    each with every attempt: when, the outcome, the peer's status code and what it said."""
    message = outbox.traced(subject_or_message_id)
    if message is not None:
        _echo_traced(message)
        return
    total, messages = outbox.trace(subject_or_message_id, limit, offset)
    if not total:
        raise click.ClickException(f"no message has the id or the subject {subject_or_message_id}")
    click.echo(f"subject {subject_or_message_id}: {total} message(s)")
    for message in messages:
        _echo_traced(message)


def _echo_traced(message: dict[str, Any]) -> None:
    click.echo(f"{message['id']}  {message['kind']} -> {message['destination']}  {message['status']}  "
               f"created {message['created_at']:%Y-%m-%d %H:%M:%S}Z")
    for attempt in message["attempt_log"]:
        click.echo(f"  #{attempt.number} {attempt.started_at:%Y-%m-%d %H:%M:%S}Z {attempt.outcome:9} "
                   f"{attempt.status_code or '-'} {attempt.error or ''}")


@outbox_group.command("destinations")
def outbox_destinations() -> None:
    """Every destination: its state (active, paused, open, half_open) and since when, its breaker's
    consecutive failures, its pending and dead messages, its kinds, and why it is held."""
    rows = [(d["name"], d["state"], _when(d["since"]), str(d["failures"]), str(d["pending"]), str(d["dead"]),
             ", ".join(d["kinds"]), _why(d)) for d in outbox.control.states()]
    _table(("destination", "state", "since", "failures", "pending", "dead", "kinds", "why"), rows)


@outbox_group.command("pause")
@click.argument("name")
@click.option("--reason", help="Why, for the other operators (at most 500 characters).")
def outbox_pause(name: str, reason: str | None) -> None:
    """Hold every message of destination NAME until `flask outbox resume NAME`: none is claimed, none uses
    an attempt, none is dropped."""
    _act(lambda: outbox.control.pause(name, reason, actor="cli"))


@outbox_group.command("resume")
@click.argument("name")
def outbox_resume(name: str) -> None:
    """Deliver destination NAME's messages again, oldest first."""
    _act(lambda: outbox.control.resume(name, actor="cli"))


@outbox_group.command("close-breaker")
@click.argument("name")
def outbox_close_breaker(name: str) -> None:
    """Close destination NAME's circuit breaker now (the peer is known to be back) and deliver its backlog."""
    _act(lambda: outbox.control.close_breaker(name, actor="cli"))


@outbox_group.command("kinds")
def outbox_kinds() -> None:
    """Every kind: its destination, backoff (seconds before each retry; from its OUTBOX_BACKOFF_<KIND>
    setting or the code), attempts before it is dead, the breaker's settings, and the destination's state."""
    rows = [(k["kind"], k["destination"], ",".join(map(str, k["backoff"])) or "-", str(k["attempts"]),
             f"{k['backoff_from']} ({k['backoff_setting']})", f"{k['breaker_threshold']} failures, "
             f"{k['breaker_cooldown_seconds']}s", k["state"]) for k in outbox.kinds()]
    _table(("kind", "destination", "backoff", "attempts", "backoff from", "breaker", "state"), rows)


def _act(action: Callable[[], dict[str, Any]]) -> None:
    try:
        destination = action()
    except DomainError as error:
        raise click.ClickException(error.message) from None
    why = _why(destination)
    click.echo(f"{destination['name']}: {destination['state']}" + (f" ({why})" if why else ""))


def _why(destination: dict[str, Any]) -> str:
    if destination["state"] == "active":
        return ""
    paused_by = f", by {destination['paused_by']}" if destination["paused_by"] else ""
    probe = f", probe at {_when(destination['retry_at'])}" if destination["retry_at"] else ""
    return f"{destination['reason']}{paused_by}{probe}"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}Z" if moment else "-"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
