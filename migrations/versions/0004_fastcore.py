"""fastcore tables: lead_inbox (audit entries go to the core's audit_log).

Revision ID: 0004_fastcore
Revises: 0003_sentratech
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_fastcore"
down_revision = "0003_sentratech"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "lead_inbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("service", sa.String(length=20), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("meta", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("received_via", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_inbox")),
        sa.UniqueConstraint("request_id", name=op.f("uq_lead_inbox_request_id")),
    )
    with op.batch_alter_table("lead_inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_inbox_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_inbox_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_inbox_status"), ["status"], unique=False)


def downgrade():
    with op.batch_alter_table("lead_inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_inbox_status"))
        batch_op.drop_index(batch_op.f("ix_lead_inbox_email"))
        batch_op.drop_index(batch_op.f("ix_lead_inbox_created_at"))
    op.drop_table("lead_inbox")
