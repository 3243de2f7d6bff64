"""`flask ...` commands of the core: worker, scheduler, operators, config, embedded Redis (and the outbox's group,
from `modules/core/outbox/cli.py`)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import redis
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from rq import Queue, SimpleWorker

from modules.core import auth, config, embedded_redis, operator_accounts, password_reset, roles
from modules.core.exceptions import DomainError
from modules.core.models import Operator
from modules.core.outbox.cli import outbox_group
from modules.core.queue import QUEUE_NAMES
from modules.core.redis_client import get_redis, redis_url
from modules.core.scheduler import Scheduler, registered_jobs

log = logging.getLogger(__name__)
CLI_ACTOR = "cli"  # who the audit log names for a command run from a shell


def run_worker(app: Flask, queues: tuple[str, ...] = QUEUE_NAMES, burst: bool = False) -> None:
    """An RQ worker inside the app context; RQ turns the first SIGTERM into a warm shutdown.

    Jobs run in the worker process itself (RQ's SimpleWorker): forking a work horse per job cost about
    150 ms against 33 ms per delivery, and each job already gets a fresh app context and database
    session (`queue.app_job`). A crash loses nothing: the message stays claimed until its lease ends.
    RQ quits when Redis goes away while a job runs (a Redis restart): the worker then waits for Redis
    and starts again, so outbound work resumes on its own (the sweeper re-enqueues the job it held)."""
    while True:
        embedded_redis.wait_until_ready(redis_url(app), timeout=30)
        connection = get_redis(app)
        worker = SimpleWorker([Queue(name, connection=connection) for name in queues], connection=connection)
        try:
            worker.work(burst=burst, with_scheduler=True)
            return
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            if burst:
                raise
            log.warning("worker lost Redis during a job; starting again once Redis answers")


@click.command("worker")
@click.option("--queue", "queues", multiple=True, default=QUEUE_NAMES, show_default=True,
              help="Queue to listen on (repeat for several).")
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@with_appcontext
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run a worker that delivers outbox messages and periodic jobs, below normal CPU priority
    (WORKER_NICENESS)."""
    app = current_app._get_current_object()
    lower_cpu_priority(app.config["WORKER_NICENESS"])
    run_worker(app, tuple(queues), burst)


def lower_cpu_priority(niceness: int) -> None:
    """Nice this process. Linux first shares CPU time between sessions (autogroups), and process managers
    (honcho, the Procfile's) start each process in a session of its own, so a session leader also
    lowers its session's share; a process in someone else's session leaves that session alone."""
    if niceness <= 0:
        return
    os.nice(niceness)
    autogroup = Path("/proc/self/autogroup")
    if os.getsid(0) != os.getpid() or not autogroup.exists():
        return
    for _ in range(20):  # Linux takes one such change per 100 ms from unprivileged processes (EAGAIN)
        try:
            autogroup.write_text(str(niceness))
            return
        except BlockingIOError:
            time.sleep(0.1)
        except OSError as exc:  # e.g. a container that does not allow it: the plain nice still holds
            log.info("could not lower the session's CPU share", extra={"error": type(exc).__name__})
            return


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Enqueue the periodic jobs on time. Run several for failover: one acts, the others wait."""
    app = current_app._get_current_object()
    embedded_redis.wait_until_ready(redis_url(app), timeout=30)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo("scheduler: " + ", ".join(f"{job.id} every {job.every_seconds}s" for job in registered_jobs()))
    Scheduler(app).run(stop)


operators_group = AppGroup("operators", help="Manage operator accounts (they sign in to the console at /console "
                          "and to the APIs at POST /api/auth/login).")


@operators_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--role", type=click.Choice(roles.ROLES), default=roles.OPERATOR, show_default=True,
              help="admin: everything (deliveries, operators); operator: domain work.")
@click.password_option(help="Asked for when not given; at least 8 characters.")
def operators_create(email: str, name: str, role: str, password: str) -> None:
    """Create an operator who can sign in with EMAIL and a password."""
    if len(password) < password_reset.MIN_PASSWORD_CHARS:
        raise click.BadParameter(f"use at least {password_reset.MIN_PASSWORD_CHARS} characters",
                                 param_hint="--password")
    with refusals_as_click_errors():
        operator_accounts.create(email, name, role, password, actor=CLI_ACTOR)
    click.echo(f"operator {email} created with the role {role}")


@contextmanager
def refusals_as_click_errors() -> Iterator[None]:
    """A service's refusal (modules/core/exceptions.py) as the command's error message and exit status 1."""
    try:
        yield
    except DomainError as refusal:
        raise click.ClickException(refusal.message) from refusal


def _change_operator(email: str, change: Callable[[Operator], None], done: str) -> None:
    """Apply `change(operator)` (an operator_accounts call) to EMAIL's account and say `done`."""
    with refusals_as_click_errors():
        change(operator_accounts.by_email(email))
    click.echo(done.format(email=email))


@operators_group.command("deactivate")
@click.argument("email")
def operators_deactivate(email: str) -> None:
    """Stop EMAIL from signing in and end every token they hold (at once, on every process). Allowed for
    the last active admin too (the console refuses it): `flask operators create --role admin` makes one."""
    _change_operator(email, lambda operator: operator_accounts.set_active(operator, False, actor=CLI_ACTOR,
                                                                          allow_no_admin=True),
                     "operator {email} deactivated; their tokens no longer work")
    if operator_accounts.active_admins() == 0:
        click.echo("warning: no active admin is left; `flask operators create EMAIL --role admin` makes one")


@operators_group.command("activate")
@click.argument("email")
def operators_activate(email: str) -> None:
    """Let EMAIL sign in again. Tokens issued before the deactivation stay revoked."""
    _change_operator(email, lambda operator: operator_accounts.set_active(operator, True, actor=CLI_ACTOR),
                     "operator {email} activated; they sign in again to get a token")


@operators_group.command("revoke-tokens")
@click.argument("email")
def operators_revoke_tokens(email: str) -> None:
    """End every access token EMAIL holds (a lost phone, a leaked token); they may sign in again."""
    _change_operator(email, lambda operator: operator_accounts.revoke_tokens(operator, actor=CLI_ACTOR),
                     "every token of {email} revoked")


@operators_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(roles.ROLES))
def operators_set_role(email: str, role: str) -> None:
    """Give EMAIL the ROLE (admin or operator); it holds from their next page or call."""
    _change_operator(email, lambda operator: operator_accounts.set_role(operator, role, actor=CLI_ACTOR,
                                                                        allow_no_admin=True),
                     f"{{email}} now has the role {role}")


@operators_group.command("reset-link")
@click.argument("email")
def operators_reset_link(email: str) -> None:
    """Print a one-time link where EMAIL sets a new password (valid PASSWORD_RESET_HOURS, until used)."""
    with refusals_as_click_errors():
        click.echo(operator_accounts.reset_link(operator_accounts.by_email(email), actor=CLI_ACTOR))


@operators_group.command("list")
def operators_list() -> None:
    """Every operator: e-mail, role, active or not."""
    for operator in auth.all_operators():
        click.echo(f"{operator.email}\t{operator.role}\t{'active' if operator.is_active else 'deactivated'}")


config_group = AppGroup("config", help="Settings: the documented example and a development .env.")


@config_group.command("example", with_appcontext=False)
def config_example() -> None:
    """Print .env.example (every setting with a comment)."""
    click.echo(config.env_example(), nl=False)


@config_group.command("init-env", with_appcontext=False)
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), default=config.PROJECT_ROOT / ".env",
              show_default=True)
def config_init_env(path: Path) -> None:
    """Write a development .env with fresh random keys, unless it exists."""
    if path.exists():
        click.echo(f"{path} exists; left as it is")
        return
    path.write_text(config.fresh_env_file())
    path.chmod(0o600)
    click.echo(f"wrote {path} with fresh random keys")


redis_group = AppGroup("redis", help="The embedded Redis used when REDIS_URL is unset.")


@redis_group.command("serve")
def redis_serve() -> None:
    """Run the embedded Redis in the foreground (make run does this)."""
    if current_app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL is set: the hub uses that server, not the embedded one")
    embedded_redis.serve_forever(embedded_redis.socket_path(current_app.instance_path))


def init_app(app: Flask) -> None:
    for command in (worker_command, scheduler_command, outbox_group, operators_group, config_group, redis_group):
        app.cli.add_command(command)
