"""The drain signal under gunicorn's gevent workers: requests that commit while this process's call to
Redis for a drain is still waiting for its answer rely on that call and make none of their own
(modules/core/queue.py, `enqueue_once` with a quiet time). Each such call is made while the request still
holds its database connection, so one per request made the pool open connections under a burst."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GREENLETS = 30

# In a process of its own: gevent's monkey patching, as gunicorn's gevent worker does it, must come first
# and must not reach the test session.
BURST = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()

    import sys

    import gevent
    from flask import Flask

    from modules.core import queue
    from modules.core.redis_client import get_redis

    app = Flask("drain-signal-burst")
    app.config.update(REDIS_URL=sys.argv[1], REDIS_RETRY_PAUSE_SECONDS=5)
    greenlets = int(sys.argv[2])
    with app.app_context():
        redis = get_redis()
        redis.delete(queue.WAITING_KEY_PREFIX + "burst")
        redis.config_resetstat()

        def commit():
            with app.app_context():
                assert queue.enqueue_once(gevent.getcurrent, "burst", quiet_seconds=10)

        gevent.joinall([gevent.spawn(commit) for _ in range(greenlets)], raise_error=True)
        print(redis.info("commandstats")["cmdstat_set"]["calls"])
        redis.delete(queue.WAITING_KEY_PREFIX + "burst")
        queue.get_queue().empty()
""")


def test_commits_during_a_drain_signal_in_flight_make_no_redis_call_of_their_own(redis_server):
    result = subprocess.run([sys.executable, "-c", BURST, redis_server.url, str(GREENLETS)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    calls = int(result.stdout.split()[-1])
    assert calls == 1, f"{calls} Redis calls for {GREENLETS} commits within one quiet time"
