"""The core's commands: config, outbox, worker help."""

import os
import subprocess
import sys
from pathlib import Path

from modules.core import outbox
from modules.core.config import PROJECT_ROOT
from modules.core.extensions import db
from tests.support.handlers import KIND


def test_init_env_writes_fresh_random_keys_once(runner, tmp_path):
    target = tmp_path / ".env"
    assert runner.invoke(args=["config", "init-env", "--path", str(target)]).exit_code == 0
    values = dict(line.split("=", 1) for line in target.read_text().splitlines() if "=" in line)
    assert len(values["SECRET_KEY"]) >= 40 and len(values["INGEST_KEY"]) >= 40
    assert values["SECRET_KEY"] != values["INGEST_KEY"]
    assert "# SVC_PASSWORD=" in target.read_text() and "SVC_PASSWORD" not in values, \
        "partner credentials are never invented"
    other = tmp_path / "other.env"
    runner.invoke(args=["config", "init-env", "--path", str(other)])
    assert dict(line.split("=", 1) for line in other.read_text().splitlines() if "=" in line)["SECRET_KEY"] \
        != values["SECRET_KEY"]
    before = target.read_text()
    result = runner.invoke(args=["config", "init-env", "--path", str(target)])
    assert "left as it is" in result.output and target.read_text() == before


def test_outbox_stats_counts_by_status_and_kind(app, runner):
    with app.app_context():
        outbox.add(KIND, {"url": "http://127.0.0.1:1/", "body": {}})
        db.session.commit()
    result = runner.invoke(args=["outbox", "stats"])
    assert '"pending": 1' in result.output and KIND in result.output


def test_outbox_replay_needs_a_selection(runner):
    result = runner.invoke(args=["outbox", "replay"])
    assert result.exit_code != 0 and "--all-dead" in result.output


def test_worker_and_scheduler_explain_themselves(runner):
    assert "--burst" in runner.invoke(args=["worker", "--help"]).output
    assert "failover" in runner.invoke(args=["scheduler", "--help"]).output


def test_outbox_sweep_enqueues_due_messages(app, runner):
    with app.app_context():
        outbox.add(KIND, {"url": "http://127.0.0.1:1/", "body": {}})
        db.session.commit()
    assert "enqueued 0" in runner.invoke(args=["outbox", "sweep"]).output, "fresh messages are left alone"
    fast = app.test_cli_runner()
    app.config["OUTBOX_SWEEP_GRACE_SECONDS"] = 0
    assert "enqueued 1" in fast.invoke(args=["outbox", "sweep"]).output


def test_a_worker_in_a_session_of_its_own_lowers_its_cpu_priority_and_its_sessions():
    script = ("import os, pathlib; from modules.core.cli import lower_cpu_priority; lower_cpu_priority(7); "
              "group = pathlib.Path('/proc/self/autogroup'); "
              "print(os.getpriority(os.PRIO_PROCESS, 0), group.read_text().split()[-1] if group.exists() else '-')")
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            start_new_session=True, check=True)
    expected_group = "7" if Path("/proc/self/autogroup").exists() else "-"  # only Linux has session groups
    assert result.stdout.split() == [str(min(os.getpriority(os.PRIO_PROCESS, 0) + 7, 19)), expected_group]


def test_a_process_in_someone_elses_session_leaves_that_session_alone():
    group = Path("/proc/self/autogroup")
    before = group.read_text() if group.exists() else None
    script = "import os; from modules.core.cli import lower_cpu_priority; lower_cpu_priority(5); " \
             "print(os.getpriority(os.PRIO_PROCESS, 0))"
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == [str(os.getpriority(os.PRIO_PROCESS, 0) + 5)]
    assert (group.read_text() if group.exists() else None) == before
