"""Each web process writes the leads of its own fallback file: machines (dynos) do not share a disk, and
the scheduled flush runs on a worker, on another machine."""

from __future__ import annotations

import json

from modules.fastcore import file_drain
from tests.fastcore.test_fallback import post_lead, queued_in_redis, stored
from tests.support.fastcore import ADMIN, UNREACHABLE_DATABASE, UNREACHABLE_REDIS

FILE_NAME = "fastcore_fallback_queue.jsonl"


def machine(make_app, fastcore_settings, folder, **overrides):
    """A web process whose instance folder is `folder` (its own disk) and whose fallback file is the default
    one in it."""
    settings = {key: value for key, value in fastcore_settings.items() if key != "FASTCORE_FALLBACK_FILE"}
    return make_app(**settings, INSTANCE_PATH=str(folder), **overrides)


def serve(app, path="/health"):
    """One request as a WSGI server serves it: it closes the response once the response is sent."""
    with app.test_client().get(path) as response:
        return response.status_code


def queued(folder) -> list[dict]:
    path = folder / FILE_NAME
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_lead_in_the_file_of_web_a_is_written_by_web_a_without_any_worker(make_app, fastcore_settings, tmp_path):
    disk_a, disk_b = tmp_path / "web-a" / "instance", tmp_path / "web-b" / "instance"
    web_a_in_the_outage = machine(make_app, fastcore_settings, disk_a, DATABASE_URL=UNREACHABLE_DATABASE,
                                  REDIS_URL=UNREACHABLE_REDIS)
    response = post_lead(web_a_in_the_outage)
    assert response.status_code == 202
    lead_id = response.get_json()["leadId"]
    assert [entry["lead"]["id"] for entry in queued(disk_a)] == [lead_id]

    web_b = machine(make_app, fastcore_settings, disk_b)
    flushed_elsewhere = web_b.test_client().post("/admin/queue/flush", headers=ADMIN).get_json()
    assert (flushed_elsewhere["flushed"], flushed_elsewhere["remaining"]) == (0, 0), "B cannot see A's disk"
    assert stored(web_b, lead_id) == (None, [])

    web_a = machine(make_app, fastcore_settings, disk_a)  # the database and Redis answer again
    assert serve(web_a) == 200
    lead, events = stored(web_a, lead_id)
    assert (lead.received_via, events) == ("file", ["lead.queued", "lead.flushed"])
    assert queued(disk_a) == []


def test_while_the_database_is_still_down_looking_at_the_file_costs_its_leads_no_attempt(
        make_app, fastcore_settings, tmp_path):
    disk = tmp_path / "web-a" / "instance"
    web_a = machine(make_app, fastcore_settings, disk, DATABASE_URL=UNREACHABLE_DATABASE,
                    REDIS_URL=UNREACHABLE_REDIS)
    post_lead(web_a)
    serve(web_a)
    assert file_drain.drain(web_a) is None
    [entry] = queued(disk)
    assert (entry["retry_count"], entry["failures"]) == (0, []), "no failure counted, no backoff"


def test_the_web_process_writes_only_its_file_leads_in_redis_wait_for_the_workers_flush(
        app, make_app, fastcore_settings, database_down_app, tmp_path):
    disk = tmp_path / "web-a" / "instance"
    in_redis = post_lead(database_down_app).get_json()["leadId"]
    in_the_file = post_lead(machine(make_app, fastcore_settings, disk, DATABASE_URL=UNREACHABLE_DATABASE,
                                    REDIS_URL=UNREACHABLE_REDIS)).get_json()["leadId"]
    web_a = machine(make_app, fastcore_settings, disk)
    assert serve(web_a) == 200
    assert stored(web_a, in_the_file)[0] is not None and queued(disk) == []
    assert [entry["lead"]["id"] for entry in queued_in_redis(app)] == [in_redis]
