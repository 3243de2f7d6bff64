"""What DTech's tests send: accounts, a lead and its agent, a recording, and the hub's settings for the
partner of tests/support/dtech_partner.py."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from tests.support.dtech_partner import STORAGE_HOST, DTechPartner

ACCOUNT_ID = "0b4f6a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
OTHER_ACCOUNT_ID = "9e8d7c6b-5a49-4382-9170-f6e5d4c3b2a1"

AUDIO = b"RIFF....WAVEfmt " + bytes(range(256)) * 40
AUDIO_MD5 = hashlib.md5(AUDIO).hexdigest()

LEAD = {"first_name": "Thandi", "last_name": "Mokoena", "phone_mobile": "(083) 555-0142",
        "campaign_code": "FUNERAL-2026", "lead_origin": "inbound-call", "email": "thandi@example.com"}
USER = {"external_id": "agent-17", "first_name": "Sipho", "last_name": "Dube", "provider_id": "provider-3"}
START_BODY = {"account_id": ACCOUNT_ID, "user": USER, "lead": LEAD}
RECORDING_BODY = {"account_id": ACCOUNT_ID, "date_start": "2026-11-22T08:00:00Z", "date_end": "2026-11-22T08:12:30Z",
                  "recording_hash": AUDIO_MD5, "filename": "call-1001.wav", "content_type": "audio/wav",
                  "external_ref": "crm-55"}


def multipart(content: bytes, name: str = "file") -> dict[str, Any]:
    return {name: (io.BytesIO(content), "call-1001.wav", "audio/wav")}


def dtech_settings(partner: DTechPartner, recordings_dir, **overrides) -> dict[str, Any]:
    """The hub's settings to talk to `partner` (its credentials, its storage's host and CA)."""
    return {"DIFFERENT_API_BASE": partner.base_url, "DIFFERENT_ACCOUNT_ID": ACCOUNT_ID,
            "AWS_ACCESS_KEY_ID": partner.credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": partner.credentials.secret_key, "AWS_REGION": partner.region,
            "DTECH_RECORDINGS_DIR": str(recordings_dir),
            "DTECH_UPLOAD_HOSTS": STORAGE_HOST, "DTECH_UPLOAD_CA_FILE": partner.ca_file, **overrides}
