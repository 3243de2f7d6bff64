"""The migration history: one head, released revisions never edited, and the models match what the
migrations build."""

import hashlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from modules.core.config import PROJECT_ROOT
from modules.core.extensions import db
from modules.link_tracking.partitions import include_name

VERSIONS = PROJECT_ROOT / "migrations" / "versions"
RELEASED = PROJECT_ROOT / "migrations" / "released.txt"


def history(app) -> ScriptDirectory:
    with app.app_context():
        return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def released() -> dict[str, str]:
    """{file name: sha256} of the released revisions (migrations/released.txt)."""
    rows = [line.split() for line in RELEASED.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return {name: digest for name, digest in rows}


def test_migrations_have_one_head(app):
    assert len(history(app).get_heads()) == 1, "two revisions share a down_revision: chain the newer one on the head"


@pytest.mark.sqlite_only
def test_released_revisions_are_unchanged():
    """A deployed database has run each released revision once: an edit would never reach it."""
    changed = sorted(name for name, digest in released().items()
                     if not (VERSIONS / name).is_file()
                     or hashlib.sha256((VERSIONS / name).read_bytes()).hexdigest() != digest)
    assert changed == [], (
        f"released migration revision(s) edited or removed: {', '.join(changed)}. Databases already deployed "
        "have run them and will not run them again: restore them (git checkout main -- migrations/versions/) "
        "and make your schema change a new revision (flask db revision -m ..., down_revision = the current head).")


@pytest.mark.sqlite_only
def test_every_released_revision_is_in_the_history(app):
    """released.txt names the files of revisions that exist, from the first one on, with no gap."""
    scripts = {script.path.rsplit("/", 1)[-1]: script for script in history(app).walk_revisions()}
    names = list(released())
    assert set(names) <= set(scripts), "released.txt names a file that is not a revision"
    chain = [scripts[name] for name in names]
    assert [script.down_revision for script in chain] == [None, *(script.revision for script in chain[:-1])], (
        "released.txt lists the released revisions in the order of the history, from the first")


def test_the_migrated_database_is_at_the_head(app):
    with app.app_context(), db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    assert current == history(app).get_current_head()


def test_models_match_the_migrated_schema(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": include_name})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "a model changed without a migration"


@pytest.mark.sqlite_only
def test_operators_from_before_roles_become_admins_and_new_ones_operators(tmp_path, base_config):
    """0014_console: an operator who could use every API until now keeps doing so (admin); an account added
    afterwards without a role is an `operator`. On a database of its own at 0013, then upgraded."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app_modular import create_app

    app = create_app({**base_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'old.db'}"})
    with app.app_context():
        upgrade(revision="0013_dtech_recording_chunks")
        db.session.execute(text("INSERT INTO operator (id, email, name, password_hash, is_active, token_version, "
                                "created_at) VALUES ('old', 'old@example.com', '', 'x', 1, 0, '2026-01-01')"))
        db.session.commit()
        upgrade(revision="0014_console")
        db.session.execute(text("INSERT INTO operator (id, email, name, password_hash, is_active, token_version, "
                                "created_at) VALUES ('new', 'new@example.com', '', 'x', 1, 0, '2026-01-02')"))
        roles = dict(db.session.execute(text("SELECT id, role FROM operator")).all())
        db.session.rollback()
        db.engine.dispose()
    assert roles == {"old": "admin", "new": "operator"}
