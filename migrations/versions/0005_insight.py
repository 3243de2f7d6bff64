"""insight tables.

Reserved place in the linear migration history for the insight domain, so that each domain has one
migration of its own and the history keeps one head. The domain's issue fills it in.

Revision ID: 0005_insight
Revises: 0004_fastcore
"""

revision = "0005_insight"
down_revision = "0004_fastcore"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
