"""A real RQ worker run in the test's own process."""

from __future__ import annotations

from rq import SimpleWorker

from modules.core.queue import QUEUE_NAMES
from modules.core.redis_client import get_redis


class Drainer:
    """Runs queued jobs in this process with a real RQ worker until the queues are empty."""

    def __init__(self, app):
        self.app = app

    def drain(self, queues=QUEUE_NAMES) -> None:
        with self.app.app_context():
            connection = get_redis(self.app)
            SimpleWorker(list(queues), connection=connection).work(burst=True)
