"""Benchmark: a 10,000-row customer spreadsheet validated, then processed, on PostgreSQL.

Starts the hub as the fault suite does (faults/stack.py): a throw-away PostgreSQL and Redis, migrations,
an operator, and the hub under gunicorn (2 workers) on loopback. Then, over HTTP as the front end would:
  1. POST /api/upload/excel with a 10,000-row .xlsx, 3 times             (target < 2 s)
  2. POST /api/upload/process-batch with 10,000 new customers, 3 times  (target < 5 s)
  3. the last rows again under a new batch id (updates), and 4. that batch again (applies nothing).
Best and median of the runs are printed, with the load average: the machine may be shared.
Run: .venv/bin/python bench/insight_upload.py [--rows N]. Takes well under a minute; cleans up after itself.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
from openpyxl import Workbook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faults.stack import Stack  # noqa: E402

FIRST_NAMES = ["Ama", "Kofi", "Efua", "Yaw", "Akosua", "Kwame", "Abena", "Kojo", "Esi", "Kwabena"]
LAST_NAMES = ["Mensah", "Boateng", "Owusu", "Asante", "Osei", "Addo", "Appiah", "Darko", "Ofori", "Agyeman"]
PREFIXES = ["024", "054", "055", "020", "050", "027", "026"]
RUNS = 3


def spreadsheet(rows: int) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["Name", "Account Number", "Phone", "Arrears"])
    for n in range(rows):
        name = f"{FIRST_NAMES[n % 10]} {LAST_NAMES[(n // 10) % 10]}-{LAST_NAMES[(n // 100) % 10]}"
        sheet.append([name, f"BENCH-{n:06d}", f"{PREFIXES[n % 7]}{n:07d}", round((n * 37) % 5000 + 0.5, 2)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def timed(method, url: str, **kwargs) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = method(url, timeout=120, **kwargs)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
    return elapsed, response


def run(rows: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    stack = Stack(workdir, {}, workers=0, scheduler=False, web_args=["--workers", "2", "--timeout", "120"])
    try:
        stack.start()
        base, headers = stack.web_url, stack.operator_headers()

        content = spreadsheet(rows)
        print(f"spreadsheet: {rows} rows, {len(content) / 1024:.0f} KiB .xlsx; load average before: "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPU(s)")
        files = {"file": ("customers.xlsx", content)}
        for _ in range(2):  # warm both gunicorn workers
            requests.post(f"{base}/api/upload/excel", headers=headers, files=files, timeout=120)
        validations = []
        for _ in range(RUNS):
            elapsed, response = timed(requests.post, f"{base}/api/upload/excel", headers=headers, files=files)
            validations.append(elapsed)
        validated = response.json()
        assert validated["valid_count"] == rows, validated["error_count"]
        data = [{key: row[key] for key in ("name", "account_number", "phone", "arrears")} for row in validated["data"]]

        creations = []
        for run_number in range(RUNS):  # each run creates 10,000 new customers (its own account numbers)
            fresh = [{**row, "account_number": f"R{run_number}-{row['account_number']}"} for row in data]
            elapsed, response = timed(requests.post, f"{base}/api/upload/process-batch", headers=headers,
                                      json={"data": fresh, "batch_id": f"create-{run_number}", "action": "warn"})
            assert response.json()["customers_created"] == rows, response.json()
            creations.append(elapsed)
        update_s, response = timed(requests.post, f"{base}/api/upload/process-batch", headers=headers,
                                   json={"data": fresh, "batch_id": "update"})
        assert response.json()["customers_updated"] == rows, response.json()
        repost_s, response = timed(requests.post, f"{base}/api/upload/process-batch", headers=headers,
                                   json={"data": fresh, "batch_id": "update"})
        assert response.json()["message"].endswith("nothing was applied again."), response.json()

        print(f"validate  POST /api/upload/excel            best {min(validations):5.2f} s, median "
              f"{statistics.median(validations):5.2f} s of {RUNS}  (target < 2 s)")
        print(f"process   POST /api/upload/process-batch    best {min(creations):5.2f} s, median "
              f"{statistics.median(creations):5.2f} s of {RUNS}  (target < 5 s; {rows} created + {rows} actions)")
        print(f"process   {rows} updates, no action          {update_s:5.2f} s")
        print(f"process   same batch id again               {repost_s:5.2f} s  (nothing applied)")
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows in the spreadsheet (default 10,000)")
    run(parser.parse_args().rows)
