"""insight SMS: segments per message, delivery receipts per Arkesel id, and segments queued per day.

A message keeps how many SMS parts it costs each recipient and the last delivery receipt of each of its
Arkesel message ids; `insight_sms_usage` counts the segments queued per UTC day, for the hub and per
operator, against the daily caps.

Revision ID: 0010_insight_sms_receipts
Revises: 0009_insight_batch_fingerprint
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_insight_sms_receipts"
down_revision = "0009_insight_batch_fingerprint"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    with op.batch_alter_table("insight_sms") as batch:
        batch.add_column(sa.Column("segments", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("receipts", JSON, nullable=False, server_default="{}"))
    op.create_table(
        "insight_sms_usage",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=254), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "scope", name=op.f("pk_insight_sms_usage")),
    )


def downgrade():
    op.drop_table("insight_sms_usage")
    with op.batch_alter_table("insight_sms") as batch:
        batch.drop_column("receipts")
        batch.drop_column("segments")
