"""insight batches: a fingerprint of the body each batch id was first applied with.

The same batch id with another body is then refused (409), and an exact repeat answers as the first time.

Revision ID: 0009_insight_batch_fingerprint
Revises: 0008_sentratech_revisions
"""
from alembic import op
import sqlalchemy as sa

revision = "0009_insight_batch_fingerprint"
down_revision = "0008_sentratech_revisions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("insight_batch") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("insight_batch") as batch:
        batch.drop_column("fingerprint")
