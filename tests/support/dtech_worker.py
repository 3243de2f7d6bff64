"""A worker on a host of its own, for the DTech tests: the hub's worker in a separate process whose
instance folder and DTECH_RECORDINGS_DIR are not the web app's, so the two share no disk (as web and
worker dynos on Heroku-style hosts). It runs in burst mode: it exits once the queues are empty."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from app_modular import create_app
from modules.core.cli import run_worker
from modules.core.config import PROJECT_ROOT

INSTANCE_VARIABLE = "DTECH_TEST_INSTANCE_PATH"


def run_worker_elsewhere(base_config: dict[str, Any], settings: dict[str, Any], instance_path: Path,
                         timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the worker with `settings` over `base_config`, its instance folder at `instance_path`, until the
    queues are empty; returns the finished process (its output captured)."""
    env = {**os.environ, **{key: str(value) for key, value in {**base_config, **settings}.items() if key != "TESTING"},
           "HUB_ENV_FILE": "", INSTANCE_VARIABLE: str(instance_path)}
    return subprocess.run([sys.executable, "-m", "tests.support.dtech_worker"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


if __name__ == "__main__":
    app = create_app()
    app.instance_path = os.environ[INSTANCE_VARIABLE]
    with app.app_context():
        run_worker(app, burst=True)
