"""link_tracking tables: tracked links (link_tracking) and their clicks (link_clicks).

Revision ID: 0002_link_tracking
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_link_tracking"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "link_tracking",
        sa.Column("tracking_id", sa.String(length=100), nullable=False),
        sa.Column("original_url", sa.String(length=2000), nullable=True),
        sa.Column("link_function", sa.String(length=50), nullable=True),
        sa.Column("link_type", sa.String(length=50), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("job_id", sa.String(length=100), nullable=True),
        sa.Column("application_id", sa.String(length=100), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("auto_registered", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tracking_id", name=op.f("pk_link_tracking")),
    )
    with op.batch_alter_table("link_tracking", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_tracking_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_link_tracking_link_function"), ["link_function"], unique=False)
        batch_op.create_index(batch_op.f("ix_link_tracking_link_type"), ["link_type"], unique=False)

    op.create_table(
        "link_clicks",
        sa.Column("click_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("tracking_id", sa.String(length=100), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("referrer_url", sa.String(length=1000), nullable=True),
        sa.Column("session_id", sa.String(length=100), nullable=True),
        sa.Column("click_source", sa.String(length=50), nullable=False),
        sa.Column("metadata", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("event_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["tracking_id"], ["link_tracking.tracking_id"],
                                name=op.f("fk_link_clicks_tracking_id_link_tracking"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("click_id", name=op.f("pk_link_clicks")),
        sa.UniqueConstraint("event_id", name=op.f("uq_link_clicks_event_id")),
    )
    with op.batch_alter_table("link_clicks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_clicks_clicked_at"), ["clicked_at"], unique=False)
        batch_op.create_index("ix_link_clicks_tracking_id_clicked_at", ["tracking_id", "clicked_at"], unique=False)


def downgrade():
    with op.batch_alter_table("link_clicks", schema=None) as batch_op:
        batch_op.drop_index("ix_link_clicks_tracking_id_clicked_at")
        batch_op.drop_index(batch_op.f("ix_link_clicks_clicked_at"))
    op.drop_table("link_clicks")
    with op.batch_alter_table("link_tracking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_tracking_link_type"))
        batch_op.drop_index(batch_op.f("ix_link_tracking_link_function"))
        batch_op.drop_index(batch_op.f("ix_link_tracking_created_at"))
    op.drop_table("link_tracking")
