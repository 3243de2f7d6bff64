"""One driver per domain: what that domain's real clients send, one logical request per `step()`.

Each driver writes a unique marker into every record it submits (an event_id, a request_id, an account
number, a `ref=` in an SMS text, a company name...) so that the checks can count how many rows the hub
stored for it, whatever id the hub gave. A request retried after an answer that got lost may be
refused as a duplicate (FASTCore's 400, Insight's 409, DTech's 409): that means the first attempt was
stored, so the record counts as accepted, and the retry is counted as such.
"""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from faults.load import Client, Results
from faults.stack import DTECH_ACCOUNT_ID, KEYS, OPERATOR_EMAIL, OPERATOR_PASSWORD


def _marker() -> str:
    return uuid.uuid4().hex


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _ghana_mobile() -> str:
    return "024" + "".join(random.choices("0123456789", k=7))


class Driver:
    domain = ""
    pause = 0.5  # seconds between logical requests: keeps the load moderate on a 2-core machine

    def __init__(self, base_urls: Sequence[str], results: Results):
        self.client = Client(base_urls, self.domain, results)
        self.results = results

    def setup(self) -> None:
        """Anything a client does once before submitting (an operator signs in)."""

    def step(self) -> None:
        raise NotImplementedError

    def sign_in(self) -> None:
        outcome = self.client.call("POST", "/api/auth/login", "login",
                                   json={"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD})
        if outcome.status != 200:
            raise RuntimeError(f"{self.domain}: operator sign-in failed ({outcome.status})")
        self.client.headers["Authorization"] = f"Bearer {outcome.json()['access_token']}"


class LinkTrackingDriver(Driver):
    domain, pause = "link_tracking", 0.4

    def setup(self) -> None:
        self.client.headers["X-API-Key"] = KEYS["TRACKING_API_KEYS"]

    def step(self) -> None:
        events = [{"event_id": _marker(), "tracking_id": f"lt_faults_{random.randint(0, 9)}", "clicked_at": _now(),
                   "click_source": "fault_suite", "session_id": f"s-{random.randint(0, 99)}"}
                  for _ in range(random.randint(5, 20))]
        outcome = self.client.call("POST", "/api/tracking-ingest/batch", "batch", json={"events": events})
        if outcome.status == 200:
            for event in events:
                self.results.accept(self.domain, "clicks", event["event_id"], event["event_id"])


class SentraTechDriver(Driver):
    domain, pause = "sentratech", 0.7
    FORMS = ("demo_requests", "contact_requests", "roi_reports", "subscriptions")

    def setup(self) -> None:
        self.client.headers["X-INGEST-KEY"] = KEYS["INGEST_KEY"]
        self.turn = 0

    @staticmethod
    def body(form: str, marker: str) -> dict:
        """The form's body; the marker lands in the column that `checks.SENTRATECH_MARKERS` names."""
        if form == "demo_requests":
            return {"user_name": "Fault Suite", "email": f"demo-{marker}@example.com", "company": f"co-{marker}",
                    "message": "Fault suite demo request", "call_volume": 10}
        if form == "contact_requests":
            return {"full_name": "Fault Suite", "work_email": f"contact-{marker}@example.com",
                    "company_name": f"co-{marker}", "message": "Fault suite contact request"}
        if form == "roi_reports":
            return {"country": "Ghana", "monthly_volume": 1000, "bpo_spending": 5000.0, "sentratech_spending": 3000.0,
                    "sentratech_bundles": 2.0, "monthly_savings": 2000.0, "roi": 40.0, "cost_reduction": 40.0,
                    "contact_email": f"roi-{marker}@example.com"}
        return {"email": f"sub-{marker}@example.com", "source": "website"}

    def step(self) -> None:
        form = self.FORMS[self.turn % len(self.FORMS)]
        self.turn += 1
        marker = _marker()
        outcome = self.client.call("POST", f"/api/ingest/{form}", form, json=self.body(form, marker))
        if outcome.status == 200:
            self.results.accept(self.domain, form, marker, outcome.json()["id"])


class FastCoreDriver(Driver):
    domain, pause = "fastcore", 0.7

    def setup(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {KEYS['FASTCORE_SITE_INGEST_TOKEN']}"

    def step(self) -> None:
        request_id, consent = str(uuid.uuid4()), random.random() < 0.5
        body = {"name": "Fault Suite", "email": f"lead-{_marker()}@example.com", "company": "Fault Suite",
                "service": "diagnostic", "message": "Fault suite lead", "consent": consent,
                "meta": {"source": "fault_suite", "request_id": request_id, "ip_hash": _marker(),
                         "timestamp_utc": _now()}}
        outcome = self.client.call("POST", "/inbound/leads", "leads", json=body)
        answer = outcome.json()
        if outcome.status in (201, 202):
            self.results.accept(self.domain, "leads", request_id, answer["leadId"], consent=consent,
                                status=answer["status"])
        elif outcome.status == 400 and outcome.attempts > 1 and answer.get("leadId"):
            self.results.note(self.results.after_ambiguity, self.domain)
            self.results.accept(self.domain, "leads", request_id, answer["leadId"], consent=consent, status="retry")


class InsightDriver(Driver):
    domain, pause = "insight", 0.4

    def setup(self) -> None:
        self.sign_in()
        self.turn, self.customers = 0, []

    def step(self) -> None:
        task = ("customer", "action", "sms", "bulk_sms", "customer", "batch")[self.turn % 6]
        self.turn += 1
        if task != "customer" and not self.customers:
            task = "customer"
        getattr(self, f"_{task}")()

    def _customer(self) -> None:
        account = f"FLT-{_marker()[:12]}"
        outcome = self.client.call("POST", "/api/customers/", "customers", json={
            "name": "Ama Fault", "account_number": account, "phone": _ghana_mobile(), "arrears": "120.50"})
        if outcome.status == 201:
            self.customers.append(outcome.json()["id"])
            self.results.accept(self.domain, "customers", account, outcome.json()["id"])
        elif outcome.status == 409 and outcome.attempts > 1:
            self.results.note(self.results.after_ambiguity, self.domain)
            self.results.accept(self.domain, "customers", account, "")

    def _action(self) -> None:
        marker = _marker()
        outcome = self.client.call("POST", "/api/actions/", "actions", json={
            "customer_id": random.choice(self.customers), "action": random.choice(("warn", "connect")),
            "batch_id": f"faults-{marker}"})
        if outcome.status == 201:
            self.results.accept(self.domain, "actions", marker, outcome.json()["id"])

    def _sms(self) -> None:
        ref = _marker()
        outcome = self.client.call("POST", "/api/sms/send", "sms_send", json={
            "customer_id": random.choice(self.customers), "message": f"Fault suite notice ref={ref}"})
        if outcome.status == 200:
            self.results.accept(self.domain, "sms", ref, outcome.json()["message_id"])

    def _bulk_sms(self) -> None:
        ref = _marker()
        outcome = self.client.call("POST", "/api/sms/send-bulk", "sms_bulk", json={
            "recipients": [_ghana_mobile(), _ghana_mobile()], "message": f"Fault suite bulletin ref={ref}"})
        if outcome.status == 200:
            self.results.accept(self.domain, "sms", ref, outcome.json()["message_id"])

    def _batch(self) -> None:
        batch_id = f"flt-batch-{_marker()}"
        rows = [{"name": "Kwame Batch", "account_number": f"FLB-{_marker()[:12]}", "phone": _ghana_mobile(),
                 "arrears": "75.00", "action": "warn"} for _ in range(3)]
        outcome = self.client.call("POST", "/api/upload/process-batch", "process_batch",
                                   json={"batch_id": batch_id, "data": rows})
        if outcome.status == 200:
            self.results.accept(self.domain, "batches", batch_id, batch_id,
                                accounts=[row["account_number"] for row in rows])


class DTechDriver(Driver):
    domain, pause = "dtech", 0.6

    def setup(self) -> None:
        self.sign_in()

    def step(self) -> None:
        outcome = self.client.call("POST", "/api/v1/sales/start", "start", json={
            "account_id": DTECH_ACCOUNT_ID,
            "user": {"external_id": "agent-7", "first_name": "Fault", "last_name": "Agent", "provider_id": "p-1"},
            "lead": {"first_name": "Kofi", "last_name": "Mensah", "phone_mobile": "(083) 555-0100",
                     "campaign_code": "FAULTS", "lead_origin": "fault_suite"}})
        if outcome.status != 200:
            return
        process_id = outcome.json()["sales_process_id"]
        self.results.accept(self.domain, "processes", process_id, process_id)
        self._recording(process_id)

    def _recording(self, process_id: str) -> None:
        marker, audio = _marker(), b"RIFF" + random.randbytes(random.randint(2000, 8000))
        outcome = self.client.call("POST", f"/api/v1/sales/recording-url/{process_id}", "recording_url", json={
            "account_id": DTECH_ACCOUNT_ID, "date_start": "2026-01-05T10:00:00Z", "date_end": "2026-01-05T10:04:00Z",
            "recording_hash": hashlib.md5(audio, usedforsecurity=False).hexdigest(), "filename": f"{marker}.wav",
            "content_type": "audio/wav", "external_ref": marker})
        if outcome.status != 200:
            return
        upload_id, recording_id = outcome.json()["upload_id"], outcome.json()["recording_id"]
        self.results.accept(self.domain, "recordings", f"{marker}.wav", upload_id)
        outcome = self.client.call("POST", f"/api/v1/sales/recordings/{upload_id}/file", "upload",
                                   files={"file": (f"{marker}.wav", audio, "audio/wav")})
        if outcome.status == 202 or (outcome.status == 409 and outcome.attempts > 1):
            if outcome.status == 409:
                self.results.note(self.results.after_ambiguity, self.domain)
            self.results.accept(self.domain, "uploads", recording_id, upload_id)


DRIVERS = (LinkTrackingDriver, SentraTechDriver, FastCoreDriver, InsightDriver, DTechDriver)


def drive(driver: Driver, stop: threading.Event, max_steps: int) -> None:
    """A client's loop: one logical request after another until told to stop (bounded count too)."""
    driver.setup()
    for _ in range(max_steps):
        if stop.is_set():
            return
        driver.step()
        stop.wait(driver.pause)
