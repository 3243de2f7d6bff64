"""dtech recording chunks: a received recording's bytes live in the database, not on the web host's disk.

Adds `dtech_recording_chunk` (upload_id, seq, data; deleted with its recording) and, on
`dtech_call_recording`, `failed_at` (when its PUT failed for good; the retention window counts from it)
and `purged_at` (when its bytes were deleted after RECORDINGS_RETENTION_DAYS). Recordings that already
failed take their `updated_at` as `failed_at`. Files received before this revision are moved into the
table by `flask dtech recordings import-files`.

Revision ID: 0013_dtech_recording_chunks
Revises: 0012_link_clicks_partitioned
"""
from alembic import op
import sqlalchemy as sa

revision = "0013_dtech_recording_chunks"
down_revision = "0012_link_clicks_partitioned"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dtech_recording_chunk",
        sa.Column("upload_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["upload_id"], ["dtech_call_recording.id"],
                                name=op.f("fk_dtech_recording_chunk_upload_id_dtech_call_recording"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("upload_id", "seq", name=op.f("pk_dtech_recording_chunk")),
    )
    with op.batch_alter_table("dtech_call_recording", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE dtech_call_recording SET failed_at = updated_at WHERE status = 'failed'")


def downgrade():
    with op.batch_alter_table("dtech_call_recording", schema=None) as batch_op:
        batch_op.drop_column("purged_at")
        batch_op.drop_column("failed_at")
    op.drop_table("dtech_recording_chunk")
