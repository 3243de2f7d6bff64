"""operators: a token version, signed into every access token.

Deactivating an operator or revoking their tokens raises it, which ends every token issued before;
reactivation does not revive them.

Revision ID: 0007_operator_token_version
Revises: 0006_dtech
"""
from alembic import op
import sqlalchemy as sa

revision = "0007_operator_token_version"
down_revision = "0006_dtech"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("operator") as batch:
        batch.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("operator") as batch:
        batch.drop_column("token_version")
