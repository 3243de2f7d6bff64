"""How gunicorn serves the hub, wherever it is started (Procfile, Procfile.dev, benches, fault suite).

Worker class `gevent`: each connection is a greenlet, so clients that send their request slowly (a
header line every few seconds, on purpose or over a bad network) cost a few kilobytes each instead of a
whole worker. With gunicorn's sync workers four such sockets stopped `/health` from answering at all;
here hundreds stay open while the hub answers everyone else at once (tests/core/test_slow_clients.py).
Database calls are not made cooperative (no psycogreen): a query blocks its worker for its duration,
as with sync workers, and `connect_timeout` keeps bounding a connection attempt.

Every setting can be overridden on the command line; `WEB_CONCURRENCY` (Heroku sets it from the dyno
size) gives the number of worker processes.
"""

import os

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
