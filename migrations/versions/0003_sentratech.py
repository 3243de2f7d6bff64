"""sentratech tables.

Reserved place in the linear migration history for the sentratech domain, so that each domain has one
migration of its own and the history keeps one head. The domain's issue fills it in.

Revision ID: 0003_sentratech
Revises: 0002_link_tracking
"""

revision = "0003_sentratech"
down_revision = "0002_link_tracking"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
