"""The core's commands: config, outbox, worker help."""

from modules.core import outbox
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
