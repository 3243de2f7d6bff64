"""A sixth domain, added by following docs/core.md's "New domain" checklist, runs: its routes, a model with
its own migration, an outbox kind delivered to a real HTTP peer, a periodic job and a CLI command.

The test writes the throw-away domain `modules/scratchpad/` and its migration, runs it in a child process
(so its table never joins this process's metadata), and removes every file it wrote.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from modules.core.config import PROJECT_ROOT

pytestmark = pytest.mark.sqlite_only  # it brings its own SQLite database; once is enough

NAME = "scratchpad"
PACKAGE = PROJECT_ROOT / "modules" / NAME
MIGRATION = PROJECT_ROOT / "migrations" / "versions" / f"9999_{NAME}.py"

# Checklist step 1: the package, with the standard files (docs/core.md, "New domain").
FILES = {
    "__init__.py": '''
        """Scratchpad: a throw-away domain written by tests/core/test_new_domain.py."""

        from flask import Flask

        from modules.core.domains import register_domain
        from modules.core.errors import fastapi_envelope
        from modules.scratchpad import cli, jobs
        from modules.scratchpad.routes import blp

        __all__ = ["blp", "init_app"]


        def init_app(app: Flask) -> None:
            register_domain(app, blp, envelope=fastapi_envelope, prefixes=("/api/scratchpad",),
                            security_schemes={"scratchpadKey": {"type": "apiKey", "in": "header", "name": "X-Key"}},
                            cli=cli.group, jobs=jobs)
    ''',
    "settings.py": '''
        from modules.core.config import Setting, as_list

        SETTINGS = [
            Setting("SCRATCHPAD_KEY", "", "X-Key values accepted", as_list, secret=True),
            Setting("SCRATCHPAD_WEBHOOK_URL", "", "Where each new note is posted"),
        ]
    ''',
    "models.py": '''
        from datetime import datetime

        from sqlalchemy import String, Text
        from sqlalchemy.orm import Mapped, mapped_column

        from modules.core.extensions import db
        from modules.core.types import UTCDateTime, new_id, utcnow


        class Note(db.Model):
            __tablename__ = "scratchpad_note"

            id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
            text: Mapped[str] = mapped_column(Text)
            created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ''',
    "schemas.py": '''
        from marshmallow import Schema, fields, validate

        from modules.core.schemas import RequestSchema


        class NoteInSchema(RequestSchema):
            text = fields.String(required=True, validate=validate.Length(min=1, max=500))


        class NoteSchema(Schema):
            id = fields.String()
            text = fields.String()
    ''',
    "access.py": '''
        from modules.core.access import Guard
        from modules.core.errors import ApiError


        def refuse(_reason: str) -> ApiError:
            return ApiError(401, body={"detail": "Invalid key"})


        note_key = Guard(refuse).header_key("X-Key", "SCRATCHPAD_KEY", scheme="scratchpadKey")
    ''',
    "jobs.py": '''
        from modules.core import http, outbox
        from modules.core.queue import app_job
        from modules.core.redis_client import get_redis
        from modules.core.scheduler import periodic
        from flask import current_app
        from sqlalchemy import func, select

        from modules.core.extensions import db
        from modules.scratchpad.models import Note

        NOTE_POSTED = "scratchpad.note_posted"


        @outbox.handler(NOTE_POSTED, backoff=(10,))
        def post_note(message: outbox.Message) -> int:
            note = db.session.get(Note, message.subject_id)
            response = http.send(http.session(), "POST", current_app.config["SCRATCHPAD_WEBHOOK_URL"],
                                 json={"id": note.id, "text": note.text}, headers={"Idempotency-Key": message.id})
            return http.check_delivery(response)


        @periodic("scratchpad.count_notes", every_seconds=60, name="Count the notes")
        @app_job
        def count_notes() -> int:
            count = db.session.scalar(select(func.count()).select_from(Note))
            get_redis().set("scratchpad:count", count)
            return count
    ''',
    "services.py": '''
        from modules.core import audit, outbox
        from modules.core.exceptions import NotFound
        from modules.core.extensions import db
        from modules.scratchpad.jobs import NOTE_POSTED
        from modules.scratchpad.models import Note


        def add_note(text: str, actor: str) -> Note:
            note = Note(text=text)
            db.session.add(note)
            db.session.flush()
            outbox.add(NOTE_POSTED, {}, subject_id=note.id)
            audit.record("scratchpad", "note.added", actor=actor, subject_id=note.id)
            db.session.commit()
            return note


        def get_note(note_id: str) -> Note:
            note = db.session.get(Note, note_id)
            if note is None:
                raise NotFound("Note not found")
            return note
    ''',
    "routes.py": '''
        from flask_smorest import Blueprint

        from modules.core.access import actor
        from modules.core.errors import answer_domain_errors
        from modules.scratchpad import services
        from modules.scratchpad.access import note_key
        from modules.scratchpad.schemas import NoteInSchema, NoteSchema

        blp = Blueprint("scratchpad", __name__, url_prefix="/api/scratchpad", description="Scratchpad")
        answer_domain_errors(blp)


        @blp.route("/notes", methods=["POST"])
        @note_key
        @blp.arguments(NoteInSchema)
        @blp.response(201, NoteSchema)
        def add_note(note):
            return services.add_note(note["text"], actor())


        @blp.route("/notes/<note_id>")
        @note_key
        @blp.response(200, NoteSchema)
        def get_note(note_id):
            return services.get_note(note_id)
    ''',
    "cli.py": '''
        import click
        from flask.cli import AppGroup
        from sqlalchemy import func, select

        from modules.core.extensions import db
        from modules.scratchpad.models import Note

        group = AppGroup("scratchpad", help="The scratchpad's notes.")


        @group.command("count")
        def count() -> None:
            """How many notes there are."""
            click.echo(f"{db.session.scalar(select(func.count()).select_from(Note))} note(s)")
    ''',
}

# Checklist step 3: a new revision after the current head.
MIGRATION_TEXT = '''
    """scratchpad: notes (throw-away, tests/core/test_new_domain.py)."""
    from alembic import op
    import sqlalchemy as sa

    revision = "9999_scratchpad"
    down_revision = "{head}"
    branch_labels = None
    depends_on = None


    def upgrade():
        op.create_table(
            "scratchpad_note",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_scratchpad_note")),
        )


    def downgrade():
        op.drop_table("scratchpad_note")
'''

# What the child process does with the hub and the new domain (step 2: name it among the domains).
RUN = '''
    import json, sys
    from datetime import UTC, datetime
    from flask_migrate import upgrade
    from rq import SimpleWorker

    from app_modular import create_app
    from modules import DOMAINS
    from modules.core.queue import QUEUE_NAMES
    from modules.core.redis_client import get_redis
    from modules.core.scheduler import Scheduler

    settings = json.loads(sys.argv[1])
    app = create_app(settings, domains=(*DOMAINS, "scratchpad"))

    def drain():
        with app.app_context():
            SimpleWorker(list(QUEUE_NAMES), connection=get_redis(app)).work(burst=True)

    with app.app_context():
        upgrade()
    client = app.test_client()
    key = {"X-Key": "scratch-key"}
    answers = {"unauthorized": client.post("/api/scratchpad/notes", json={"text": "hi"}).status_code}
    created = client.post("/api/scratchpad/notes", json={"text": "first note"}, headers=key)
    answers["created"] = [created.status_code, created.get_json()]
    note_id = created.get_json()["id"]
    answers["read"] = client.get(f"/api/scratchpad/notes/{note_id}", headers=key).get_json()
    missing = client.get("/api/scratchpad/notes/nope", headers=key)
    answers["missing"] = [missing.status_code, missing.get_json()]
    drain()
    answers["periodic"] = Scheduler(app).run_due(datetime.now(UTC))
    drain()
    with app.app_context():
        answers["counted"] = int(get_redis().get("scratchpad:count"))
        get_redis().delete("scratchpad:count")
    answers["cli"] = app.test_cli_runner().invoke(args=["scratchpad", "count"]).output.strip()
    document = client.get("/openapi.json").get_json()
    answers["documented"] = ["/api/scratchpad/notes" in document["paths"],
                             "scratchpadKey" in document["components"]["securitySchemes"]]
    print(json.dumps(answers))
'''


def _write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text).lstrip())


@pytest.fixture
def scratchpad_domain():
    assert not PACKAGE.exists() and not MIGRATION.exists(), "a scratchpad was left behind by an earlier run"
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    try:
        PACKAGE.mkdir()
        for name, text in FILES.items():
            _write(PACKAGE / name, text)
        _write(MIGRATION, MIGRATION_TEXT.replace("{head}", head))
        yield
    finally:
        shutil.rmtree(PACKAGE, ignore_errors=True)
        MIGRATION.unlink(missing_ok=True)


def _alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return config


def test_a_domain_added_by_the_checklist_runs_and_leaves_nothing_behind(scratchpad_domain, base_config, httpserver,
                                                                          tmp_path):
    httpserver.expect_request("/notes", method="POST").respond_with_json({"ok": True})
    settings = {**base_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}", "SCRATCHPAD_KEY": "scratch-key",
                "SCRATCHPAD_WEBHOOK_URL": httpserver.url_for("/notes")}
    script = tmp_path / "run_scratchpad.py"
    _write(script, RUN)
    env = {**os.environ, "HUB_ENV_FILE": "", "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, str(script), json.dumps(settings)], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])

    assert answers["unauthorized"] == 401
    assert answers["created"][0] == 201 and answers["created"][1]["text"] == "first note"
    note_id = answers["created"][1]["id"]
    assert answers["read"] == {"id": note_id, "text": "first note"}
    assert answers["missing"] == [404, {"detail": "Note not found"}]
    (request, _response), = httpserver.log
    assert request.get_json() == {"id": note_id, "text": "first note"}, "the outbox kind delivered the note"
    assert request.headers["Idempotency-Key"]
    assert "scratchpad.count_notes" in answers["periodic"] and answers["counted"] == 1
    assert answers["cli"] == "1 note(s)"
    assert answers["documented"] == [True, True]


def test_the_scratchpad_is_gone_afterwards():
    """The fixture's clean-up ran (this follows the test above in file order)."""
    assert not PACKAGE.exists() and not MIGRATION.exists()
