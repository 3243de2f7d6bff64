"""link_tracking tables.

Reserved place in the linear migration history for the link_tracking domain, so that each domain has one
migration of its own and the history keeps one head. The domain's issue fills it in.

Revision ID: 0002_link_tracking
Revises: 0001_core
"""

revision = "0002_link_tracking"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
