"""sentratech: a revision per record, and a subscription's source up to 100 characters.

The dashboard's Idempotency-Key is `<id>:<revision>`, so every change of a record is a new request.

Revision ID: 0008_sentratech_revisions
Revises: 0007_operator_token_version
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_sentratech_revisions"
down_revision = "0007_operator_token_version"
branch_labels = None
depends_on = None

TABLES = ("sentratech_demo_request", "sentratech_contact_request", "sentratech_roi_report",
          "sentratech_subscription")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("sentratech_subscription") as batch:
        batch.alter_column("source", existing_type=sa.String(length=20), type_=sa.String(length=100),
                           existing_nullable=False)


def downgrade():
    """Refused while a stored source is longer than the old column holds: it would be cut."""
    longer = op.get_bind().scalar(sa.text("SELECT count(*) FROM sentratech_subscription WHERE length(source) > 20"))
    if longer:
        raise RuntimeError(f"{longer} subscription source(s) are longer than 20 characters; shorten them "
                           "before downgrading below 0008_sentratech_revisions")
    with op.batch_alter_table("sentratech_subscription") as batch:
        batch.alter_column("source", existing_type=sa.String(length=100), type_=sa.String(length=20),
                           existing_nullable=False)
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("revision")
