"""link_clicks partitioned by month (PostgreSQL), event-id dedupe in link_click_events, daily rollup.

On PostgreSQL `link_clicks` becomes `PARTITION BY RANGE (clicked_at)` with one partition per month of the
existing clicks plus the current month and the next three (no DEFAULT partition); the primary key becomes
(click_id, clicked_at) and the unique event_id moves to `link_click_events`. The new table is built under a
temporary name (constraint and index names are schema-wide), filled, then takes the old one's place. SQLite
keeps one table with the same primary key. `link_click_daily` is filled from the existing clicks.

Revision ID: 0012_link_clicks_partitioned
Revises: 0011_outbox_destinations
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0012_link_clicks_partitioned"
down_revision = "0011_outbox_destinations"
branch_labels = None
depends_on = None

COLUMNS = ("click_id, tracking_id, clicked_at, received_at, ip_address, user_agent, referrer_url, session_id, "
           "click_source, metadata, event_id")
CLICK_COLUMNS = """
    click_id uuid NOT NULL,
    tracking_id varchar(100) NOT NULL,
    clicked_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    ip_address varchar(45),
    user_agent varchar(500),
    referrer_url varchar(1000),
    session_id varchar(100),
    click_source varchar(50) NOT NULL,
    metadata jsonb,
    event_id varchar(100)"""


MONTHS_AHEAD = 3


def _add_months(month, count):
    index = month[0] * 12 + month[1] - 1 + count
    return index // 12, index % 12 + 1


def _create_partition(month, parent):
    """The month's partition, named and bounded as modules/link_tracking/partitions.py does at run time."""
    start = f"{month[0]:04d}-{month[1]:02d}-01 00:00:00+00"
    end_year, end_month = _add_months(month, 1)
    op.execute(f"CREATE TABLE link_clicks_y{month[0]:04d}m{month[1]:02d} PARTITION OF {parent} FOR VALUES "
               f"FROM ('{start}') TO ('{end_year:04d}-{end_month:02d}-01 00:00:00+00')")


def _create_rollup_and_events():
    op.create_table(
        "link_click_events",
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_link_click_events")),
    )
    op.create_index(op.f("ix_link_click_events_clicked_at"), "link_click_events", ["clicked_at"], unique=False)
    op.create_table(
        "link_click_daily",
        sa.Column("tracking_id", sa.String(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("click_source", sa.String(length=50), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("first_clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tracking_id"], ["link_tracking.tracking_id"],
                                name=op.f("fk_link_click_daily_tracking_id_link_tracking"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tracking_id", "day", "click_source", name=op.f("pk_link_click_daily")),
    )
    op.create_index(op.f("ix_link_click_daily_day"), "link_click_daily", ["day"], unique=False)


def _fill_rollup_and_events(day_of_click: str):
    op.execute("INSERT INTO link_click_events (event_id, clicked_at) "
               "SELECT event_id, clicked_at FROM link_clicks WHERE event_id IS NOT NULL")
    op.execute("INSERT INTO link_click_daily (tracking_id, day, click_source, clicks, first_clicked_at, "
               f"last_clicked_at) SELECT tracking_id, {day_of_click}, click_source, count(*), min(clicked_at), "
               "max(clicked_at) FROM link_clicks GROUP BY 1, 2, 3")


def _months_to_create(connection) -> list[tuple[int, int]]:
    """Every month that holds a click, and the current month with the next MONTHS_AHEAD."""
    rows = connection.execute(sa.text(
        "SELECT DISTINCT CAST(extract(year FROM clicked_at AT TIME ZONE 'UTC') AS int), "
        "CAST(extract(month FROM clicked_at AT TIME ZONE 'UTC') AS int) FROM link_clicks")).all()
    now = datetime.now(UTC)
    current = (now.year, now.month)
    return sorted({(year, month) for year, month in rows} | {_add_months(current, n) for n in range(MONTHS_AHEAD + 1)})


def _upgrade_postgresql():
    connection = op.get_bind()
    op.execute(f"CREATE TABLE link_clicks_partitioned ({CLICK_COLUMNS},\n"
               "    CONSTRAINT pk_link_clicks_partitioned PRIMARY KEY (click_id, clicked_at),\n"
               "    CONSTRAINT fk_link_clicks_partitioned_tracking_id FOREIGN KEY (tracking_id) "
               "REFERENCES link_tracking (tracking_id) ON DELETE CASCADE\n"
               ") PARTITION BY RANGE (clicked_at)")
    for month in _months_to_create(connection):
        _create_partition(month, "link_clicks_partitioned")
    op.execute(f"INSERT INTO link_clicks_partitioned ({COLUMNS}) SELECT {COLUMNS} FROM link_clicks")
    _fill_rollup_and_events("(clicked_at AT TIME ZONE 'UTC')::date")
    op.execute("DROP TABLE link_clicks")
    op.execute("ALTER TABLE link_clicks_partitioned RENAME TO link_clicks")
    op.execute("ALTER TABLE link_clicks RENAME CONSTRAINT pk_link_clicks_partitioned TO pk_link_clicks")
    op.execute("ALTER TABLE link_clicks RENAME CONSTRAINT fk_link_clicks_partitioned_tracking_id "
               "TO fk_link_clicks_tracking_id_link_tracking")
    op.execute("CREATE INDEX ix_link_clicks_clicked_at ON link_clicks (clicked_at)")
    op.execute("CREATE INDEX ix_link_clicks_tracking_id_clicked_at ON link_clicks (tracking_id, clicked_at) "
               "INCLUDE (session_id)")


def upgrade():
    _create_rollup_and_events()
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
        return
    _fill_rollup_and_events("date(clicked_at)")
    with op.batch_alter_table("link_clicks", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint("uq_link_clicks_event_id", type_="unique")
        batch_op.drop_constraint("pk_link_clicks", type_="primary")
        batch_op.create_primary_key("pk_link_clicks", ["click_id", "clicked_at"])


def _downgrade_postgresql():
    op.execute(f"CREATE TABLE link_clicks_single ({CLICK_COLUMNS},\n"
               "    CONSTRAINT pk_link_clicks_single PRIMARY KEY (click_id),\n"
               "    CONSTRAINT uq_link_clicks_single_event_id UNIQUE (event_id),\n"
               "    CONSTRAINT fk_link_clicks_single_tracking_id FOREIGN KEY (tracking_id) "
               "REFERENCES link_tracking (tracking_id) ON DELETE CASCADE)")
    op.execute(f"INSERT INTO link_clicks_single ({COLUMNS}) SELECT {COLUMNS} FROM link_clicks")
    op.execute("DROP TABLE link_clicks")  # and its partitions
    op.execute("ALTER TABLE link_clicks_single RENAME TO link_clicks")
    for old, new in (("pk_link_clicks_single", "pk_link_clicks"), ("uq_link_clicks_single_event_id",
                                                                  "uq_link_clicks_event_id"),
                     ("fk_link_clicks_single_tracking_id", "fk_link_clicks_tracking_id_link_tracking")):
        op.execute(f"ALTER TABLE link_clicks RENAME CONSTRAINT {old} TO {new}")
    op.execute("CREATE INDEX ix_link_clicks_clicked_at ON link_clicks (clicked_at)")
    op.execute("CREATE INDEX ix_link_clicks_tracking_id_clicked_at ON link_clicks (tracking_id, clicked_at)")


def downgrade():
    """Back to one table with a unique event_id; the rollup and the event-id table are dropped."""
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        with op.batch_alter_table("link_clicks", schema=None, recreate="always") as batch_op:
            batch_op.drop_constraint("pk_link_clicks", type_="primary")
            batch_op.create_primary_key("pk_link_clicks", ["click_id"])
            batch_op.create_unique_constraint("uq_link_clicks_event_id", ["event_id"])
    op.drop_index(op.f("ix_link_click_daily_day"), table_name="link_click_daily")
    op.drop_table("link_click_daily")
    op.drop_index(op.f("ix_link_click_events_clicked_at"), table_name="link_click_events")
    op.drop_table("link_click_events")

