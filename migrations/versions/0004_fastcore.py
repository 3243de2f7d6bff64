"""fastcore tables.

Reserved place in the linear migration history for the fastcore domain, so that each domain has one
migration of its own and the history keeps one head. The domain's issue fills it in.

Revision ID: 0004_fastcore
Revises: 0003_sentratech
"""

revision = "0004_fastcore"
down_revision = "0003_sentratech"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
