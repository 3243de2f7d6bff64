"""What SentraTech's tests send: the ingest key, the dashboard's service account, a valid body per form."""

from __future__ import annotations

import copy

INGEST_HEADERS = {"X-INGEST-KEY": "test-ingest-key"}
SVC_EMAIL = "svc@example.com"
SVC_PASSWORD = "test-dashboard-password"

VALID_BODIES = {
    "demo_requests": {"user_name": "Ada Example", "email": "ada@example.com", "company": "Example Ltd",
                      "message": "We would like a demo.", "company_website": "https://example.com",
                      "phone": "+1 555 0100", "source": "homepage", "call_volume": 1200, "interaction_volume": 300},
    "contact_requests": {"full_name": "Ben Example", "work_email": "ben@example.com", "company_name": "Example Inc",
                         "message": "Please call us.", "phone": "+1 555 0101", "call_volume": 10,
                         "interaction_volume": 0, "preferred_contact_method": "Phone", "status": "in_progress"},
    "roi_reports": {"country": "Ghana", "monthly_volume": 5000, "bpo_spending": 12000.5, "sentratech_spending": 8000,
                    "sentratech_bundles": 2, "monthly_savings": 4000.5, "roi": 33.3, "cost_reduction": 0.33,
                    "contact_email": "cfo@example.com"},
    "subscriptions": {"email": "reader@example.com", "source": "landing", "status": "subscribed"},
}
LABELS = {"demo_requests": "Demo request", "contact_requests": "Contact request", "roi_reports": "ROI report",
          "subscriptions": "Subscription"}


def valid_body(form: str, **changes) -> dict:
    body = copy.deepcopy(VALID_BODIES[form])
    body.update(changes)
    return body
