"""The hub started the production way: PostgreSQL, Redis, `flask db upgrade`, gunicorn, workers, scheduler.

Every process is a subprocess in its own session with its settings in the environment (no .env is read),
its output in `<workdir>/logs/<name>.log`. Two topologies: `one-host` (one gunicorn, the workers and the
scheduler sharing one instance folder, as on a single server) and `machines` (two gunicorn servers on
their own ports, as two web dynos, the workers and the scheduler; every process has its own instance
folder, `<workdir>/hosts/<name>/instance`, so nothing is shared but PostgreSQL and Redis, as on dynos
with their own disks; one-off `flask` commands get a folder of their own too).

Like a process manager, `supervise()` starts again any hub process that exited on its own, and counts
it. Faults act through this class: SIGKILL a worker (it runs jobs in its own process), restart Redis,
restart PostgreSQL on the same port. The benchmarks (bench/) start their hub with it too, choosing its
processes, gunicorn's options and the settings.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psutil
import requests

from tests.support.servers import PostgresServer, RedisServer, free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the virtualenv of the interpreter running this: gunicorn, flask
OPERATOR_EMAIL = "faults-operator@example.com"
OPERATOR_PASSWORD = "faults-operator-password"
# Placeholder keys, shared by the hub's environment and the load generator.
KEYS = {
    "SECRET_KEY": "faults-secret-key-placeholder",
    "TRACKING_API_KEYS": "faults-tracking-key",
    "INGEST_KEY": "faults-ingest-key",
    "FASTCORE_SITE_INGEST_TOKEN": "faults-site-token",
    "FASTCORE_ADMIN_TOKEN": "faults-admin-token",
    "ARKESEL_API_KEY": "faults-arkesel-key",
    "AWS_ACCESS_KEY_ID": "faults-access-key",
    "AWS_SECRET_ACCESS_KEY": "faults-secret-access-key",
}
DTECH_ACCOUNT_ID = "0b4f6a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"


class Stack:
    """The hub's processes: gunicorn (`web`, run with `web_args`), `workers` x `flask worker` and, with
    `scheduler`, `flask scheduler`; `settings` are added to the environment of each (and win). With
    `machines`, two gunicorn servers (`web-1`, `web-2`, at `web_urls`) and one instance folder per process."""

    def __init__(self, workdir: Path, settings: dict[str, str], workers: int = 2, scheduler: bool = True,
                 web_args: Sequence[str] = ("--workers", "2"), machines: bool = False):
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        # Its own temporary directory: PostgreSQL runs as `postgres` and must own the whole path below it.
        self.pg_dir = Path(tempfile.mkdtemp(prefix="hub-stack-pg-"))
        self.postgres = PostgresServer(self.pg_dir)
        self.redis = RedisServer(workdir / "redis")
        self.machines = machines
        self.web_names = ["web-1", "web-2"] if machines else ["web"]
        self.web_urls = [f"http://127.0.0.1:{free_port()}" for _ in self.web_names]
        self.web_url = self.web_urls[0]  # where an operator's request lands (any web would do)
        self.settings = settings
        self.workers, self.scheduler, self.web_args = workers, scheduler, list(web_args)
        self.database_url = ""
        self.processes: dict[str, subprocess.Popen] = {}
        self.log_files: list = []
        self.restarts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stopping = False

    # Start-up -------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.postgres.init()
        self.postgres.start()
        self.database_url = self.postgres.create_database("hub")
        self.redis.start()
        self.flask("db", "upgrade")
        self.flask("operators", "create", OPERATOR_EMAIL, "--name", "Fault suite", "--role", "admin",
                   "--password", OPERATOR_PASSWORD)
        for name in self.process_names():
            self.spawn(name)
        self._wait_until_healthy()

    def process_names(self) -> list[str]:
        return [*self.web_names, *(f"worker-{n}" for n in range(1, self.workers + 1)),
                *(["scheduler"] * self.scheduler)]

    def topology(self) -> str:
        """The processes and what they share, for the report."""
        webs = ", ".join(f"{name} (gunicorn {' '.join(self.web_args)} on {url.removeprefix('http://')})"
                         for name, url in zip(self.web_names, self.web_urls, strict=True))
        folders = "each its own instance folder" if self.machines else "one shared instance folder"
        return (f"{webs}, {self.workers} x flask worker, {int(self.scheduler)} x flask scheduler; {folders}; "
                "one PostgreSQL, one Redis")

    def instance_path(self, name: str) -> Path:
        """The instance folder of process `name` (`one-off` for `flask` commands an operator runs)."""
        return self.workdir / "hosts" / name / "instance" if self.machines else self.workdir / "instance"

    def env(self, name: str = "one-off") -> dict[str, str]:
        defaults = {"APP_ENV": "production", "LOG_LEVEL": "WARNING", **KEYS}
        port = self.web_urls[self.web_names.index(name)] if name in self.web_names else self.web_url
        return {**os.environ, **defaults, **self.settings, "HUB_ENV_FILE": "", "FLASK_APP": "app_modular",
                "INSTANCE_PATH": str(self.instance_path(name)), "PORT": port.rsplit(":", 1)[1],
                "DATABASE_URL": self.database_url, "REDIS_URL": self.redis.url,
                "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}

    def _command(self, name: str) -> list[str]:
        if name in self.web_names:
            url = self.web_urls[self.web_names.index(name)]
            return [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "--bind",
                    url.removeprefix("http://"), *self.web_args, "app_modular:create_app()"]
        return [str(BIN / "flask"), "scheduler" if name == "scheduler" else "worker"]

    def spawn(self, name: str) -> subprocess.Popen:
        """Start the process `name` (`web`/`web-<n>`, `scheduler` or `worker-<n>`), its output in its log."""
        log = open(self.logs / f"{name}.log", "ab")  # closed by stop()
        self.log_files.append(log)
        self.processes[name] = subprocess.Popen(self._command(name), cwd=ROOT, env=self.env(name), stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        return self.processes[name]

    def end(self, name: str) -> None:
        """Stop the process `name` and its children (SIGTERM, then SIGKILL after 10 s)."""
        with self.lock:
            _end(self.processes.pop(name))

    def operator_headers(self) -> dict[str, str]:
        """Authorization headers of the operator `start()` created, signed in over HTTP."""
        answer = requests.post(f"{self.web_url}/api/auth/login", timeout=30,
                               json={"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD})
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def _wait_until_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(self.web_urls)
        while waiting and time.monotonic() < deadline:
            try:
                if requests.get(f"{waiting[0]}/health", timeout=2).status_code == 200:
                    waiting.pop(0)
                    continue
            except requests.RequestException:
                pass
            time.sleep(0.5)
        if waiting:
            raise RuntimeError(f"the hub did not become healthy within {timeout:.0f} s (see {self.logs})")

    def flask(self, *args: str, timeout: float = 120) -> str:
        """Run a `flask` command as an operator would; raises with its output when it fails."""
        result = subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=self.env(), capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"flask {args[0]} {args[1] if len(args) > 1 else ''} failed: "
                               f"{(result.stderr or result.stdout).strip()[-800:]}")
        return result.stdout.strip()

    # Supervision and faults ---------------------------------------------------------------------------

    def supervise(self) -> None:
        """Start again any hub process that exited by itself (a process manager's job)."""
        with self.lock:
            if self.stopping:
                return
            for name, process in list(self.processes.items()):
                if process.poll() is not None:
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    self.spawn(name)

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker (and any child it started), then start a new one."""
        with self.lock:
            _kill_tree(self.processes[name].pid, signal.SIGKILL)
            self.processes[name].wait(timeout=10)
            self.spawn(name)

    def restart_redis(self, down_seconds: float) -> None:
        self.redis.stop()
        time.sleep(down_seconds)
        self.redis.start()

    def restart_postgres(self, down_seconds: float) -> None:
        self.postgres.stop("fast")
        time.sleep(down_seconds)
        self.postgres.start()

    # Shut-down -------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop everything this run started, whatever state it is in; never raises."""
        with self.lock:
            self.stopping = True
        for process in self.processes.values():
            _kill_tree(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            _reap(process)
        try:
            self.redis.stop()
        except Exception:  # clean-up goes on whatever failed before
            if self.redis.process is not None:
                self.redis.process.kill()
        if self.postgres.data_dir.exists():
            try:
                self.postgres.stop("immediate")
            except RuntimeError:
                pass  # not running
        shutil.rmtree(self.pg_dir, ignore_errors=True)
        for log in self.log_files:
            log.close()


def _end(process: subprocess.Popen) -> None:
    """SIGTERM the process and its children, and wait for it."""
    _kill_tree(process.pid, signal.SIGTERM)
    _reap(process)


def _reap(process: subprocess.Popen) -> None:
    """Wait for a process told to end; SIGKILL it and its children after 10 s."""
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _kill_tree(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _kill_tree(pid: int, signum: int) -> None:
    """Signal a process and every descendant (gunicorn's workers, anything a worker started)."""
    try:
        parent = psutil.Process(pid)
        family = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for member in family:
        try:
            member.send_signal(signum)
        except psutil.NoSuchProcess:
            pass
