"""What FASTCore's tests send: the site's and the admin's tokens, a valid lead, unreachable stores."""

from __future__ import annotations

import uuid

SITE = {"Authorization": "Bearer test-site-token"}
ADMIN = {"Authorization": "Bearer test-admin-token"}
UNREACHABLE_DATABASE = "postgresql://nobody@127.0.0.1:1/none"
UNREACHABLE_REDIS = "unix:///nonexistent/redis.sock"
ADMIN_INBOX = "sales@example.com"


def lead_body(**overrides) -> dict:
    """A valid lead as the site posts it; `meta_<key>=` overrides a meta field."""
    meta = {"source": "contact-page", "request_id": str(uuid.uuid4()), "ip_hash": "iphash-0001",
            "timestamp_utc": "2026-11-22T08:00:00Z", "user_agent_hash": "uahash-0001"}
    for key in [k for k in overrides if k.startswith("meta_")]:
        meta[key.removeprefix("meta_")] = overrides.pop(key)
    body = {"name": "Jeanne Test", "email": "jeanne.test@example.com", "phone": "+33 6 00 00 00 00",
            "company": "Garage Test", "service": "compresseurs", "message": "Need a quote for two compressors.",
            "consent": True, "meta": meta}
    body.update(overrides)
    return body
