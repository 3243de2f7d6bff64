"""The app as every client sees it: health, JSON errors, request ids, OpenAPI, configuration."""

import json
import logging
import os
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app_modular import create_app
from modules.core.config import ConfigurationError, load_config
from modules.core.config import database_url as database_url_setting
from modules.core.extensions import db


def test_health_reports_database_redis_and_outbox(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["version"].count(".") == 2
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert body["outbox"] == {"pending": 0, "dead": 0}
    assert body["workers"] == 0 and body["scheduler_running"] is False


def test_health_answers_503_when_the_database_is_unreachable(make_app):
    app = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["database"].startswith("unavailable")


@pytest.mark.postgres_only
def test_a_pooled_connection_the_server_closed_is_replaced_not_answered_503(app, client, database_url):
    """What a PostgreSQL restart does to every pooled connection; the pool checks without a round trip."""
    assert client.get("/health").status_code == 200
    with app.app_context():
        assert db.engine.pool.checkedin() >= 1
    admin = create_engine(database_url_setting(database_url), poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        for _ in range(100):
            others = connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                             "current_database() AND pid <> pg_backend_pid()")).scalar_one()
            if not others:
                break
            time.sleep(0.05)
    admin.dispose()
    response = client.get("/health")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"


def test_health_reports_redis_down_without_failing(make_app, tmp_path):
    app = make_app(REDIS_URL=f"unix://{tmp_path}/nothing.sock")
    body = app.test_client().get("/health").get_json()
    assert body["status"] == "ok" and body["redis"].startswith("unavailable")


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/no/such/path", 404),
    ("DELETE", "/health", 405),
])
def test_unknown_paths_and_methods_answer_json(client, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.is_json and "detail" in response.get_json()


def test_body_over_the_limit_is_refused_with_413(make_app):
    client = make_app(MAX_CONTENT_LENGTH=100).test_client()
    response = client.post("/api/auth/login", data="x" * 1000, content_type="application/json")
    assert response.status_code == 413
    assert response.is_json


def test_malformed_json_is_a_422_not_a_500(client):
    response = client.post("/api/auth/login", data="{not json", content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body"]


def test_an_unexpected_error_answers_json_500_without_a_trace(app):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json() == {"detail": "Internal server error"}


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/health").headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/health", headers={"X-Request-ID": "bad id!"}).headers["X-Request-ID"] != "bad id!"


def test_access_log_is_one_json_line_without_body_or_key(client, caplog):
    caplog.set_level(logging.INFO, logger="hub.access")
    client.post("/api/auth/login?email=a@b.c", json={"email": "someone@example.com", "password": "hunter2-secret"},
                headers={"X-Request-ID": "req-1", "Authorization": "Bearer test-secret-key-for-signing"})
    records = [r for r in caplog.records if r.name == "hub.access"]
    assert len(records) == 1
    record = records[0]
    assert (record.method, record.path, record.status, record.request_id) == ("POST", "/api/auth/login", 401, "req-1")
    from modules.core.request_log import JsonFormatter
    line = JsonFormatter().format(record)
    assert json.loads(line)["duration_ms"] == record.duration_ms
    for leaked in ("someone@example.com", "hunter2", "test-secret-key", "a@b.c"):
        assert leaked not in line


def test_the_access_log_gives_the_time_the_request_took_in_milliseconds(app, caplog):
    @app.route("/slow")
    def slow():
        time.sleep(0.2)
        return "done"

    caplog.set_level(logging.INFO, logger="hub.access")
    app.test_client().get("/slow")
    [record] = [r for r in caplog.records if r.name == "hub.access"]
    assert 200 <= record.duration_ms < 2000


def test_openapi_and_docs_are_served(client):
    spec = client.get("/openapi.json").get_json()
    assert "/health" in spec["paths"] and "/api/auth/login" in spec["paths"]
    assert "operatorBearer" in spec["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200


def test_production_refuses_to_start_without_its_secrets():
    with pytest.raises(ConfigurationError) as error:
        create_app({"APP_ENV": "production", "SECRET_KEY": "", "DATABASE_URL": "sqlite://", "REDIS_URL": ""})
    assert "SECRET_KEY" in str(error.value) and "REDIS_URL" in str(error.value)
    assert "DATABASE_URL" not in str(error.value)


def test_flask_env_production_is_honoured():
    config = load_config(environ={"FLASK_ENV": "production"})
    assert config["APP_ENV"] == "production"


def test_heroku_postgres_urls_are_accepted():
    assert load_config(environ={"DATABASE_URL": "postgres://u:p@h:5432/d"})["DATABASE_URL"] == (
        "postgresql+psycopg2://u:p@h:5432/d")


def test_environment_wins_over_env_file(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("INGEST_KEY=from-file\nSVC_EMAIL=file@example.com\n")
    monkeypatch.setenv("HUB_ENV_FILE", str(env_file))
    config = load_config(environ={"INGEST_KEY": "from-env,second"})
    assert config["INGEST_KEY"] == ["from-env", "second"]
    assert config["SVC_EMAIL"] == "file@example.com"


def test_env_example_lists_every_setting():
    from modules.core.config import PROJECT_ROOT, all_settings, env_example
    committed = (PROJECT_ROOT / ".env.example").read_text()
    assert committed == env_example(), "run `flask config example > .env.example`"
    for setting in all_settings():
        assert f"\n{setting.name}=" in committed


def test_an_unreachable_database_answers_503_with_retry_after(make_app, operator_headers):
    app = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/api/admin/outbox", headers=operator_headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json() == {"detail": "Service temporarily unavailable, please retry"}


def test_a_json_number_too_long_for_python_is_a_422_not_a_500(client):
    response = client.post("/api/auth/login", data='{"email": 1' + "0" * 5000 + ', "password": "x"}',
                           content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body"]


def test_a_nul_character_never_becomes_a_500(app, client):
    """PostgreSQL refuses NUL in text; SQLite stores it, so there the login simply fails."""
    response = client.post("/api/auth/login", json={"email": "a\u0000b@example.com", "password": "x"})
    with app.app_context():
        expected = 422 if db.engine.dialect.name == "postgresql" else 401
    assert response.status_code == expected


def test_deeply_nested_json_is_a_422_not_a_500(client):
    response = client.post("/api/auth/login", data="[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body"]


def test_an_unpaired_surrogate_never_becomes_a_500(client):
    response = client.post("/api/auth/login", data='{"email": "a\\ud800b@example.com", "password": "x"}',
                           content_type="application/json")
    assert response.status_code == 422
    assert response.get_json() == {"detail": "Text may not contain unpaired surrogate characters"}


def test_a_value_out_of_range_answers_422_where_no_schema_caught_it(app):
    @app.route("/overflow")
    def overflow():
        raise OverflowError("date value out of range")

    response = app.test_client().get("/overflow")
    assert (response.status_code, response.get_json()) == (422, {"detail": "A value is out of range."})


def test_the_instance_folder_is_readable_by_its_owner_only(app):
    """It holds the SQLite database, the embedded Redis's file and recordings."""
    assert os.stat(app.instance_path).st_mode & 0o777 == 0o700


def test_the_database_pool_is_sized_by_settings(make_app):
    app = make_app(DATABASE_URL="postgresql://u:p@127.0.0.1:9/d", DATABASE_POOL_SIZE="2", DATABASE_MAX_OVERFLOW="0")
    with app.app_context():
        from modules.core.extensions import db
        assert (db.engine.pool.size(), db.engine.pool._max_overflow) == (2, 0)


def test_a_pool_of_no_connection_is_refused_naming_the_setting():
    with pytest.raises(ConfigurationError) as error:
        load_config(environ={"DATABASE_POOL_SIZE": "0"})
    assert "DATABASE_POOL_SIZE" in str(error.value)


@pytest.mark.parametrize(("name", "value"), [("PORT", "abc"), ("OUTBOX_RETENTION_DAYS", "ten"),
                                             ("DATABASE_MAX_OVERFLOW", "-1")])
def test_a_malformed_setting_stops_start_up_naming_it(name, value):
    with pytest.raises(ConfigurationError) as error:
        load_config(environ={name: value})
    assert str(error.value).startswith(f"{name}: ")


def test_instance_path_gives_each_process_its_own_instance_folder(make_app, tmp_path):
    """Two processes on one host (the fault suite's "machines") must not share local files."""
    folder = tmp_path / "host-a" / "instance"
    app = make_app(INSTANCE_PATH=str(folder), DATABASE_URL="")
    assert app.instance_path == str(folder)
    assert os.stat(folder).st_mode & 0o777 == 0o700
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{folder / 'hub.db'}", "local files go there"


@pytest.mark.parametrize("value", ["instance-a", "./instance", "~/hub/instance", "../elsewhere"])
def test_a_relative_instance_path_stops_start_up_naming_it(make_app, value):
    """A relative folder would depend on the directory each process starts in (web and worker would not
    share, or would wrongly share, the SQLite database, the embedded Redis and the fallback file)."""
    with pytest.raises(ConfigurationError) as error:
        make_app(INSTANCE_PATH=value, DATABASE_URL="")
    assert str(error.value).startswith("INSTANCE_PATH: ")
