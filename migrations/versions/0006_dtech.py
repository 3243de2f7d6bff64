"""dtech tables: sales processes kept from DTech's answers, and their call recordings.

Revision ID: 0006_dtech
Revises: 0005_insight
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_dtech"
down_revision = "0005_insight"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dtech_sales_process",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sales_process_id", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("partner_status", sa.String(length=100), nullable=True),
        sa.Column("agent_id", sa.String(length=100), nullable=True),
        sa.Column("lead_name", sa.String(length=201), nullable=True),
        sa.Column("lead_phone", sa.String(length=20), nullable=True),
        sa.Column("url_expiry", sa.String(length=64), nullable=True),
        sa.Column("stop_reason", sa.String(length=500), nullable=True),
        sa.Column("started_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dtech_sales_process")),
        sa.UniqueConstraint("sales_process_id", name=op.f("uq_dtech_sales_process_sales_process_id")),
    )
    with op.batch_alter_table("dtech_sales_process", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dtech_sales_process_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dtech_sales_process_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dtech_sales_process_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_dtech_sales_process_status"), ["status"], unique=False)

    op.create_table(
        "dtech_call_recording",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("recording_id", sa.String(length=100), nullable=False),
        sa.Column("process_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("upload_url", sa.Text(), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["process_id"], ["dtech_sales_process.id"],
                                name=op.f("fk_dtech_call_recording_process_id_dtech_sales_process"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dtech_call_recording")),
    )
    with op.batch_alter_table("dtech_call_recording", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dtech_call_recording_process_id"), ["process_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dtech_call_recording_recording_id"), ["recording_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dtech_call_recording_status"), ["status"], unique=False)


def downgrade():
    op.drop_table("dtech_call_recording")
    op.drop_table("dtech_sales_process")
