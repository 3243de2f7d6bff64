"""Periodic jobs of link tracking: monthly partitions created ahead, and click retention."""

from __future__ import annotations

from flask import current_app

from modules.core.queue import app_job
from modules.core.scheduler import periodic
from modules.link_tracking import partitions, retention


@periodic("link_tracking.create_partitions", every_seconds=6 * 3600,
          name="Create link_clicks' partitions for this month and the next ones")
@app_job
def create_partitions() -> list[str]:
    """The names of the current month's partition and the next MONTHS_AHEAD (none on SQLite)."""
    return partitions.create_months_ahead()


@periodic("link_tracking.click_retention", every_seconds=3600,
          name="Export and drop clicks older than CLICK_RETENTION_MONTHS")
@app_job
def click_retention() -> list[str]:
    """The partitions (months) dropped; nothing while CLICK_RETENTION_MONTHS is 0."""
    config = current_app.config
    dropped = retention.apply_retention(config["CLICK_RETENTION_MONTHS"], config["CLICK_EXPORT_DIR"],
                                        config["CLICK_RETENTION_BATCH_SIZE"])
    return [month.partition for month in dropped]
