"""Real servers for tests and benchmarks: PostgreSQL (the system's binaries) and Redis (embedded).

PostgreSQL refuses to run as root, so as root the data directory belongs to the `postgres` user and
the server runs under `runuser`. When no server can be started this raises with a clear message:
the suite must fail loudly rather than skip the PostgreSQL half.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from modules.core import embedded_redis


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pg_bin_dir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise RuntimeError("No PostgreSQL server binaries (pg_ctl) found. Install them (`apt-get install postgresql`) "
                       "or set TEST_DATABASE_URL to a server the tests may use.")


class PostgresServer:
    """A throw-away PostgreSQL cluster in `base_dir`, listening on 127.0.0.1 only."""

    def __init__(self, base_dir: Path, port: int | None = None):
        self.bin = _pg_bin_dir()
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.port = port or free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")

    def init(self) -> PostgresServer:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.base_dir, "postgres")
        self._run("initdb", "-D", str(self.data_dir), "--auth=trust", "-U", "postgres", "-E", "UTF8")
        return self

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.base_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(self.base_dir / "server.log"),
                  "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def pid(self) -> int:
        """The postmaster's process id (its backends are its children)."""
        return int((self.data_dir / "postmaster.pid").read_text().split()[0])


class RedisServer:
    """The embedded Redis binary on a unix socket; can be stopped and started again in place."""

    def __init__(self, directory: Path):
        self.socket = Path(directory) / "redis.sock"
        self.url = embedded_redis.url_for(self.socket)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = embedded_redis.start(self.socket)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class HubServer:
    """The hub under gunicorn with the project's gunicorn.conf.py, the way the Procfile serves it, on a
    free loopback port (or `port`); `settings` become its environment (no .env is read)."""

    def __init__(self, settings: dict[str, object], workers: int = 2, log_path: Path | None = None,
                 port: int | None = None):
        root = Path(__file__).resolve().parents[2]
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **{key: str(value) for key, value in settings.items()}, "HUB_ENV_FILE": "",
               "WEB_CONCURRENCY": str(workers), "LOG_LEVEL": "WARNING"}
        self.log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--config", str(root / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", "app_modular:create_app()"],
            cwd=root, env=env, stdout=self.log, stderr=self.log)

    def wait_until_up(self, timeout: float = 30) -> HubServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited during start-up")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()
