"""console list indexes: every destination's backlog read from one index, and a redundant index dropped.

`outbox.control` counts each destination's pending and dead messages, with the creation time of its oldest
pending one, on the overview, on every Deliveries page and on each message's page. Through
`ix_outbox_due (status, next_attempt_at)` that read fetched every pending and dead row from the table for
its kind and created_at (about 14,000 rows at 10^6 messages: 20 to 45 ms on the benchmark machine), and for
one destination PostgreSQL combined it with `ix_outbox_kind`, reading that index's entries of every
delivered message too (half a million for the dashboard). `ix_outbox_status_kind_created
(status, kind, created_at)` answers it from the index alone (bench/console_pages.py, bench/README.md).

`ix_outbox_kind (kind)` goes: `ix_outbox_kind_created (kind, created_at, id)` (0014) leads with kind and
serves every query it served, so the outbox keeps the same number of indexes to maintain per write.

Revision ID: 0015_console_list_indexes
Revises: 0014_console
"""
from alembic import op

revision = "0015_console_list_indexes"
down_revision = "0014_console"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_outbox_status_kind_created", "outbox", ["status", "kind", "created_at"])
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(batch.f("ix_outbox_kind"))


def downgrade():
    with op.batch_alter_table("outbox") as batch:
        batch.create_index(batch.f("ix_outbox_kind"), ["kind"], unique=False)
    op.drop_index("ix_outbox_status_kind_created", table_name="outbox")
