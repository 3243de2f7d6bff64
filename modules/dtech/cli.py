"""`flask dtech ...`: the partner's one-off activation."""

from __future__ import annotations

import json
import uuid

import click
from flask import current_app
from flask.cli import AppGroup

from modules.dtech.clients import DTechClient
from modules.dtech.errors import PartnerFailure

dtech_group = AppGroup("dtech", help="DTech sales partner commands.")


@dtech_group.command("activate")
@click.argument("security_group")
@click.option("--account-id", required=True, type=click.UUID, help="DTech account id (UUID) the keys are for.")
@click.option("--request-token", required=True, help="One-time activation token DTech sent you.")
def activate(security_group: str, account_id: uuid.UUID, request_token: str) -> None:
    """Activate SECURITY_GROUP at DTech and print the AWS keys it returns.

    The keys are printed to standard output only (never logged): put them in AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY. The request is SigV4-signed when keys are already configured.
    """
    client = DTechClient.from_config(current_app.config)
    try:
        answer = client.activate(security_group, str(account_id), request_token)
    except PartnerFailure as failure:
        raise click.ClickException(f"{failure.code}: {failure}") from failure
    click.echo(json.dumps(answer, indent=2))
