"""Faults found by breaking the domain pages with messy data and double submits: each test shows one, and
failed before its fix."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.console.test_upload_pages import post_review, upload

CONTROL_ROWS = ("name,account_number,phone,arrears\n"
                "A\x01da\x0b,ACC-3,0241234567,12\n"
                "Ama Mensah,AC\x02C-4,02412\x1f34567,1\x042\n")


def test_the_results_of_a_file_with_control_characters_download_with_them_escaped(operator_client):
    reviewed = upload(operator_client, CONTROL_ROWS.encode(), "customers.csv").get_data(as_text=True)
    answer = post_review(operator_client, "results", reviewed)
    assert answer.status_code == 200
    rows = list(load_workbook(io.BytesIO(answer.data)).active.iter_rows(values_only=True))
    assert [row[:5] for row in rows[1:]] == [("2", "A\\x01da", "ACC-3", "0241234567", "12.00"),
                                             ("3", "Ama Mensah", "AC\\x02C-4", "02412\\x1f34567", "1\\x042")]
    assert all(row[5] == "error" for row in rows[1:])
