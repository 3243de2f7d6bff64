"""The console's CSV export (modules/console/export.py): formula-safe cells, and a failing query answered
as an error page, not as a 200 download cut short."""

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


def test_a_query_that_fails_on_its_first_rows_fails_before_the_answer_starts(app):
    def rows():
        raise RuntimeError("the query failed")
        yield ("never",)

    with app.test_request_context("/console/deliveries?format=csv"), pytest.raises(RuntimeError):
        csv_response("deliveries.csv", ["id"], rows())


def test_rows_are_streamed_after_the_first(app):
    taken = []

    def rows():
        for number in range(3):
            taken.append(number)
            yield (number,)

    with app.test_request_context("/console/deliveries?format=csv"):
        answer = csv_response("deliveries.csv", ["id"], rows())
        assert taken == [0], "only the first row is read before answering"
        assert answer.get_data(as_text=True).splitlines() == ["id", "0", "1", "2"]
