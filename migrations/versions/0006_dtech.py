"""dtech tables.

Reserved place in the linear migration history for the dtech domain, so that each domain has one
migration of its own and the history keeps one head. The domain's issue fills it in.

Revision ID: 0006_dtech
Revises: 0005_insight
"""

revision = "0006_dtech"
down_revision = "0005_insight"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
