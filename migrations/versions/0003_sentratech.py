"""sentratech tables: one per form (demo, contact, ROI report, subscription), each with its sync state.

Revision ID: 0003_sentratech
Revises: 0002_link_tracking
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_sentratech"
down_revision = "0002_link_tracking"
branch_labels = None
depends_on = None

TABLES = ("sentratech_demo_request", "sentratech_contact_request", "sentratech_roi_report",
          "sentratech_subscription")


def _record_columns(table):
    """The columns every form shares (models.SyncedRecord)."""
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sync_status", sa.String(length=30), nullable=False),
        sa.Column("sync_error", sa.String(length=500), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade():
    op.create_table(
        "sentratech_demo_request",
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("company_website", sa.String(length=500), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("call_volume", sa.Integer(), nullable=False),
        sa.Column("interaction_volume", sa.Integer(), nullable=False),
        *_record_columns("sentratech_demo_request"),
    )
    op.create_table(
        "sentratech_contact_request",
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("work_email", sa.String(length=254), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("company_website", sa.String(length=500), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("assigned_rep", sa.String(length=200), nullable=True),
        sa.Column("call_volume", sa.Integer(), nullable=False),
        sa.Column("interaction_volume", sa.Integer(), nullable=False),
        sa.Column("preferred_contact_method", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        *_record_columns("sentratech_contact_request"),
    )
    op.create_table(
        "sentratech_roi_report",
        sa.Column("country", sa.String(length=100), nullable=False),
        sa.Column("monthly_volume", sa.Integer(), nullable=False),
        sa.Column("bpo_spending", sa.Float(), nullable=False),
        sa.Column("sentratech_spending", sa.Float(), nullable=False),
        sa.Column("sentratech_bundles", sa.Float(), nullable=False),
        sa.Column("monthly_savings", sa.Float(), nullable=False),
        sa.Column("roi", sa.Float(), nullable=False),
        sa.Column("cost_reduction", sa.Float(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        *_record_columns("sentratech_roi_report"),
    )
    op.create_table(
        "sentratech_subscription",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        *_record_columns("sentratech_subscription"),
        sa.UniqueConstraint("email", name=op.f("uq_sentratech_subscription_email")),
    )
    for table in TABLES:
        op.create_index(op.f(f"ix_{table}_created_at"), table, ["created_at"], unique=False)
        op.create_index(op.f(f"ix_{table}_sync_status"), table, ["sync_status"], unique=False)


def downgrade():
    for table in reversed(TABLES):
        op.drop_index(op.f(f"ix_{table}_sync_status"), table_name=table)
        op.drop_index(op.f(f"ix_{table}_created_at"), table_name=table)
        op.drop_table(table)
