"""`flask link-tracking import FILE.jsonl`: batches, the endpoint's rules, a summary, safe to run again."""

import json


def write_lines(path, lines):
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_import_stores_valid_lines_in_batches_and_reports_the_others(runner, tmp_path, stored_clicks, stored_links):
    source = write_lines(tmp_path / "clicks.jsonl", [
        {"tracking_id": "a", "event_id": "e1", "clicked_at": "2026-11-01T10:00:00Z"},
        {"tracking_id": "b", "event_id": "e2"},
        "{broken",
        "",
        {"tracking_id": "", "event_id": "e3"},
        {"tracking_id": "a", "event_id": "e4", "ip_address": "x" * 46},
        {"tracking_id": "c", "event_id": "e5", "click_source": "import"},
        '{"tracking_id": "nul\\u0000"}',
    ])
    result = runner.invoke(args=["link-tracking", "import", str(source), "--batch-size", "2"])
    assert result.exit_code == 1
    assert "Imported 3 events from clicks.jsonl (4 lines skipped" in result.output
    assert "skipped line 3: not valid JSON" in result.output
    assert "skipped line 5: Missing required field: tracking_id" in result.output
    assert "skipped line 6: Invalid ip_address (must be string, max 45 chars)" in result.output
    assert "skipped line 8: Could not be stored" in result.output
    assert sorted(c.event_id for c in stored_clicks()) == ["e1", "e2", "e5"]
    assert sorted(stored_links()) == ["a", "b", "c"]


def test_running_an_import_again_stores_nothing_twice(runner, tmp_path, stored_clicks):
    source = write_lines(tmp_path / "clicks.jsonl", [{"tracking_id": "a", "event_id": f"e{n}"} for n in range(25)])
    for _ in range(2):
        result = runner.invoke(args=["link-tracking", "import", str(source), "--batch-size", "10"])
        assert result.exit_code == 0, result.output
        assert "Imported 25 events" in result.output
    assert sorted(click.event_id for click in stored_clicks()) == sorted(f"e{n}" for n in range(25))


def test_import_help_and_bad_options(runner, tmp_path):
    help_text = runner.invoke(args=["link-tracking", "import", "--help"]).output
    assert "FILE.jsonl" in help_text and "--batch-size" in help_text and "event_id" in help_text
    empty = write_lines(tmp_path / "empty.jsonl", [])
    assert runner.invoke(args=["link-tracking", "import", str(empty), "--batch-size", "1001"]).exit_code == 2
    assert runner.invoke(args=["link-tracking", "import", str(tmp_path / "missing.jsonl")]).exit_code == 2
