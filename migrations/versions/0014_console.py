"""console: operator roles, console sign-in sessions, and the indexes behind the console's lists.

- `operator.role`: `admin` (everything: deliveries, operators) or `operator` (domain work). Operators that
  exist before this revision become admins (they could use every API until now); new accounts default to
  `operator`.
- `console_session`: one row per console sign-in; the cookie carries a random token and the row its
  SHA-256, so a copy of the database opens no session. Signing out deletes the row; deactivating an
  operator deletes all of theirs.
- Keyset pagination, newest first: `outbox (created_at, id)`, `outbox (status, created_at, id)`,
  `outbox (kind, created_at, id)` and `audit_log (actor, created_at, id)`, `audit_log (created_at, id)`.

Revision ID: 0014_console
Revises: 0013_dtech_recording_chunks
"""
from alembic import op
import sqlalchemy as sa

revision = "0014_console"
down_revision = "0013_dtech_recording_chunks"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("operator") as batch:
        batch.add_column(sa.Column("role", sa.String(length=20), nullable=False, server_default="admin"))
    with op.batch_alter_table("operator") as batch:
        batch.alter_column("role", existing_type=sa.String(length=20), server_default="operator")
    op.create_table(
        "console_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operator.id"],
                                name=op.f("fk_console_session_operator_id_operator"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_session")),
    )
    op.create_index(op.f("ix_console_session_operator_id"), "console_session", ["operator_id"])
    op.create_index("ix_outbox_created", "outbox", ["created_at", "id"])
    op.create_index("ix_outbox_status_created", "outbox", ["status", "created_at", "id"])
    op.create_index("ix_outbox_kind_created", "outbox", ["kind", "created_at", "id"])
    op.create_index("ix_audit_log_created", "audit_log", ["created_at", "id"])
    op.create_index("ix_audit_log_actor_created", "audit_log", ["actor", "created_at", "id"])


def downgrade():
    op.drop_index("ix_audit_log_actor_created", table_name="audit_log")
    op.drop_index("ix_audit_log_created", table_name="audit_log")
    op.drop_index("ix_outbox_kind_created", table_name="outbox")
    op.drop_index("ix_outbox_status_created", table_name="outbox")
    op.drop_index("ix_outbox_created", table_name="outbox")
    op.drop_index(op.f("ix_console_session_operator_id"), table_name="console_session")
    op.drop_table("console_session")
    with op.batch_alter_table("operator") as batch:
        batch.drop_column("role")
