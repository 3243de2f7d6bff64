"""How gunicorn serves the hub, wherever it is started (Procfile, Procfile.dev, benches, fault suite).

Worker class `gevent`: each connection is a greenlet, so clients that send their request slowly (a
header line every few seconds, on purpose or over a bad network) cost a few kilobytes each instead of a
whole worker. With gunicorn's sync workers four such sockets stopped `/health` from answering at all;
here hundreds stay open while the hub answers everyone else at once (tests/core/test_slow_clients.py).
Database calls are not made cooperative (no psycogreen): a query blocks its worker for its duration,
as with sync workers, and `connect_timeout` keeps bounding a connection attempt.

Every setting can be overridden on the command line; `WEB_CONCURRENCY` (Heroku sets it from the dyno
size) gives the number of worker processes.

Metrics (`/metrics`, modules/core/metrics.py): each worker process keeps its counters in files of
PROMETHEUS_MULTIPROC_DIR, which a scrape sums. The directory is set before any worker imports
prometheus_client (`on_starting`, in the master, before the first fork): a fresh temporary one per run,
or the one the environment names, emptied. A worker that exits is marked dead (`child_exit`), so its
live gauges leave the sums; its counters stay in them, as a counter must.
"""

import glob
import os
import re
import shutil
import tempfile

from gunicorn.glogging import Logger

worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = 1000  # open connections per worker process, slow ones included
keepalive = 5  # seconds a kept-alive connection may wait for its next request
timeout = 30  # a worker that stops answering its heartbeat this long is replaced
graceful_timeout = 30
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
control_socket_disable = True  # gunicorn's control socket (`--no-control-socket`): not used


class RedactingLogger(Logger):
    """gunicorn's logger, without what a client sent in a request it could not parse: gunicorn logs the
    refused request line or header verbatim ("Invalid HTTP Header: 'X-INGEST-KEY secret'"), and those may
    hold keys, tokens or e-mail addresses. What gunicorn found wrong is kept, the client's text is not;
    a request gunicorn failed on is logged without its query string."""

    QUOTED = re.compile(r"['\"].*", re.DOTALL)  # Python quotes the client's text with ' or, holding one, "

    def warning(self, msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith("Invalid request from"):
            msg = self.QUOTED.sub("[the client's text is not logged]", msg)
        super().warning(msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith("Error handling request"):
            args = tuple(arg.split("?", 1)[0] if isinstance(arg, str) else arg for arg in args)
        super().exception(msg, *args, **kwargs)


logger_class = RedactingLogger

METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_created_metrics_dirs = []  # the temporary directories this master made, removed when it exits


def on_starting(server):
    """A per-run metrics directory, in the environment the workers inherit: the named one emptied of an
    earlier run's files, else a new temporary one."""
    directory = os.environ.get(METRICS_DIR)
    if directory:
        os.makedirs(directory, exist_ok=True)
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.remove(stale)
    else:
        directory = tempfile.mkdtemp(prefix="hub-metrics-")
        _created_metrics_dirs.append(directory)
        os.environ[METRICS_DIR] = directory


def child_exit(server, worker):
    from prometheus_client import multiprocess  # imported once the directory is in the environment

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    for directory in _created_metrics_dirs:
        shutil.rmtree(directory, ignore_errors=True)
