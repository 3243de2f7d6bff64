"""outbox destinations: the pause switch and circuit breaker of each place outbox messages go.

Revision ID: 0011_outbox_destinations
Revises: 0010_insight_sms_receipts
"""
from alembic import op
import sqlalchemy as sa

revision = "0011_outbox_destinations"
down_revision = "0010_insight_sms_receipts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_destination",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_by", sa.String(length=200), nullable=True),
        sa.Column("pause_reason", sa.String(length=500), nullable=True),
        sa.Column("breaker", sa.String(length=20), nullable=False),
        sa.Column("breaker_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsent_alert", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_outbox_destination")),
    )


def downgrade():
    op.drop_table("outbox_destination")
