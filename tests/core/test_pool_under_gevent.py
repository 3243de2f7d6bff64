"""The web process's connection pool under gunicorn's gevent workers: greenlets that interleave (at a
rate limiter's Redis call, at a socket wait) still share the pool's kept connections, so a burst of
requests does not open, and close again, a PostgreSQL connection per request (modules/core/extensions.py:
checking out a connection must not yield to another greenlet)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modules.core.config import database_url as database_url_setting

ROOT = Path(__file__).resolve().parents[2]
GREENLETS = 40

# Run in a process of its own: gevent's monkey patching, as gunicorn's gevent worker does it, must come
# before anything else is imported, and must not reach the test session.
BURST = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()

    import sys

    import gevent
    from sqlalchemy import create_engine, event, text

    import modules.core.extensions  # noqa: F401  (the pool's checkout hook)
    from app_modular import _engine_options

    url, greenlets = sys.argv[1], int(sys.argv[2])
    settings = {"DATABASE_URL": url, "DATABASE_POOL_SIZE": 5, "DATABASE_MAX_OVERFLOW": 10}
    engine = create_engine(url, **_engine_options(settings))
    opened = []
    event.listen(engine, "connect", lambda *_args: opened.append(1))

    def request():
        gevent.sleep(0)  # the rate limiter's Redis call: other greenlets run meanwhile
        with engine.begin() as connection:
            connection.execute(text("SELECT 1"))

    gevent.joinall([gevent.spawn(request) for _ in range(greenlets)], raise_error=True)
    print(len(opened))
""")


@pytest.mark.postgres_only
def test_a_burst_of_gevent_requests_reuses_the_pools_connections(database_url):
    url = database_url_setting(database_url)
    result = subprocess.run([sys.executable, "-c", BURST, url, str(GREENLETS)], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    opened = int(result.stdout.split()[-1])
    assert opened <= 5, f"{opened} connections opened for {GREENLETS} requests"
