"""`make run` from a fresh clone serves the whole hub, and Ctrl-C stops every process it started."""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from modules.core.config import PROJECT_ROOT, all_settings
from tests.support.servers import free_port


def _health(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status, json.load(response)
    except OSError:
        return None, None


def _post(port, path, body, headers):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **headers}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def _subscribe(port, key):
    return _post(port, "/api/ingest/subscriptions", {"email": "env@example.com"}, {"X-INGEST-KEY": key})


def _track(port, key):
    return _post(port, "/api/tracking-ingest/batch", {"events": [{"tracking_id": "lt_env"}]}, {"X-API-Key": key})


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


@pytest.mark.sqlite_only
def test_make_run_from_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(clone)], check=True)
    port = free_port()
    hub_settings = {setting.name for setting in all_settings()} | {"HUB_ENV_FILE"}
    env = {key: value for key, value in os.environ.items() if key not in hub_settings}
    # A variable set in the environment wins over the generated .env, in every process make run starts.
    env.update(INGEST_KEY="ingest-key-from-the-environment", TRACKING_API_KEYS="tracking-key-from-the-environment")
    # The suite's virtualenv has the same pinned requirements: `make run` checks them instead of downloading.
    process = subprocess.Popen(["make", "run", f"VENV={PROJECT_ROOT / '.venv'}", f"PORT={port}"], cwd=clone,
                               env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        status, body = None, None
        while time.monotonic() < deadline:
            status, body = _health(port)
            if status == 200 and body["workers"] >= 1 and body["scheduler_running"]:
                break
            time.sleep(0.5)
        assert status == 200, "the hub answers /health"
        assert (body["database"], body["redis"]) == ("ok", "ok")
        assert body["workers"] >= 1 and body["scheduler_running"], body
        values = dict(line.split("=", 1) for line in (clone / ".env").read_text().splitlines() if "=" in line)
        assert len(values["SECRET_KEY"]) >= 40 and values["SECRET_KEY"] != values["INGEST_KEY"]
        assert _subscribe(port, "ingest-key-from-the-environment") == 200
        assert _subscribe(port, values["INGEST_KEY"]) == 401, "the environment wins over .env"
        assert _track(port, "tracking-key-from-the-environment") == 200
        assert (clone / "instance" / "hub.db").exists() and (clone / "instance" / "redis").is_dir()
    finally:
        os.killpg(process.pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while (process.poll() is None or _group_alive(process.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        survivors = subprocess.run(["ps", "-o", "pid,cmd", "-g", str(process.pid)], capture_output=True,
                                   text=True).stdout
        stopped = not _group_alive(process.pid)
        if not stopped:
            os.killpg(process.pid, signal.SIGKILL)
    assert stopped, f"Ctrl-C stops web, worker, scheduler and Redis; still running:\n{survivors}"
