"""The console's CSV export (modules/console/export.py): formula-safe cells, rows read by the stream."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from modules.console.export import csv_response, safe_cell


@pytest.mark.parametrize("value, written", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+233201234567", "'+233201234567"),
    ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain", "plain"), (None, ""), (42, "42"), (datetime(2026, 11, 30, 12, tzinfo=UTC), "2026-11-30T12:00:00+00:00"),
])
def test_cells_a_spreadsheet_would_run_as_formulas_become_text(value, written):
    assert safe_cell(value) == written


def test_rows_are_read_only_once_the_answer_streams(app):
    """A server-side cursor (yield_per) opened in the view would die with the view's session: the rows are
    read by the stream, with a fresh one."""
    taken = []

    def rows():
        for number in range(3):
            taken.append(number)
            yield (number,)

    with app.test_request_context("/console/deliveries?format=csv"):
        answer = csv_response("deliveries.csv", ["id"], rows())
        assert taken == []
        assert answer.get_data(as_text=True).splitlines() == ["id", "0", "1", "2"]
