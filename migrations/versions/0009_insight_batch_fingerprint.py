"""insight batches: a fingerprint of the body each batch id was first applied with, so that the same id
with another body is refused (409) and an exact repeat answers as the first time.

Revision ID: 0009_insight_batch_fingerprint
Revises: 0007_operator_token_version
"""
from alembic import op
import sqlalchemy as sa

revision = "0009_insight_batch_fingerprint"
down_revision = "0007_operator_token_version"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("insight_batch") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("insight_batch") as batch:
        batch.drop_column("fingerprint")
