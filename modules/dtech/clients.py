"""DTech's External Sales API: every request signed with AWS SigV4 (botocore's signer), with timeouts.

Failures raise the domain's `PartnerFailure`s (errors.py), carrying an error code and the partner's own
message. Nothing here logs a body, a header, a key or a URL's query.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from modules.core import http
from modules.dtech.errors import (
    PartnerFailure,
    PartnerNotConfigured,
    PartnerRefused,
    PartnerTimeout,
    PartnerUnreachable,
    UnusableUploadUrl,
)

log = logging.getLogger(__name__)

SERVICE = "execute-api"
PARTNER_MESSAGE_KEYS = ("message", "Message", "detail", "error", "errorMessage")
MESSAGE_CHARS = 300
UPLOAD_URL_MAX_CHARS = 8192
HOST_NAME = re.compile(r"[a-z0-9.:-]+")  # letters, digits, dots, hyphens; colons of an IPv6 literal


def partner_path(*segments: str) -> str:
    """Each segment percent-encoded, so an id can never add a path segment of its own."""
    return "".join("/" + quote(segment, safe="") for segment in segments)


def content_md5(md5_hex: str) -> str:
    """The Content-MD5 header: base64 of the digest (not of its hex form)."""
    return base64.b64encode(binascii.unhexlify(md5_hex)).decode()


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """`host` (lower case) is one of `allowed_hosts`: an exact name or address, or, for an entry that starts
    with a dot, any name under it (`.amazonaws.com` allows `bucket.s3.amazonaws.com`, not `amazonaws.com`)."""
    for entry in (entry.strip().lower() for entry in allowed_hosts):
        if entry and (host == entry or (entry.startswith(".") and host.endswith(entry))):
            return True
    return False


def check_upload_url(url: str, allowed_hosts: Iterable[str]) -> str:
    """`url` when the hub may PUT a recording to it: https, no user name or password, and a host allowed
    by DTECH_UPLOAD_HOSTS. The host is read from the URL as requests prepares it, so that the host
    checked is the host connected to (`https://evil.test\\.amazonaws.com/` goes to evil.test). Raises
    UnusableUploadUrl saying why; the message never repeats the URL's path or query (its signature)."""
    if len(url) > UPLOAD_URL_MAX_CHARS:
        raise UnusableUploadUrl(f"DTech's upload_url is longer than {UPLOAD_URL_MAX_CHARS} characters")
    try:
        parts = urlsplit(requests.Request("PUT", url).prepare().url)
        host, _ = parts.hostname, parts.port
    except (requests.RequestException, ValueError) as exc:
        raise UnusableUploadUrl("DTech's upload_url is not a valid URL") from exc
    if parts.scheme != "https":
        raise UnusableUploadUrl("DTech's upload_url is not https")
    if parts.username is not None or parts.password is not None:
        raise UnusableUploadUrl("DTech's upload_url carries a user name or password")
    if not host or not HOST_NAME.fullmatch(host) or not host_allowed(host, allowed_hosts):
        raise UnusableUploadUrl(f"DTech's upload_url points at {(host or 'no host')[:100]!r}, "
                                "which is not in DTECH_UPLOAD_HOSTS")
    return url


def partner_message(response: requests.Response) -> str:
    """The partner's own explanation: API Gateway's {"message"}, FastAPI's {"detail"}, or the text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in PARTNER_MESSAGE_KEYS:
            if body.get(key):
                value = body[key]
                return (value if isinstance(value, str) else json.dumps(value))[:MESSAGE_CHARS]
    return response.text.strip()[:MESSAGE_CHARS] or response.reason or "no message"


class DTechClient:
    """DTech's operations; `from_config(app.config)` reads the settings. Each call uses its own session."""

    def __init__(self, base_url: str, region: str, credentials: Credentials | None, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.region = region
        self.credentials = credentials
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DTechClient:
        access_key = config.get("AWS_ACCESS_KEY_ID") or config.get("AWS_ACCESS_KEY")
        secret_key = config.get("AWS_SECRET_ACCESS_KEY") or config.get("AWS_SECRET_KEY")
        credentials = Credentials(access_key, secret_key) if access_key and secret_key else None
        return cls(config.get("DIFFERENT_API_BASE") or "", config.get("AWS_REGION") or "eu-west-1", credentials,
                   float(config.get("DTECH_TIMEOUT_SECONDS") or 10))

    # The partner's operations -------------------------------------------------------------------------

    def start(self, body: dict[str, Any]) -> Any:
        return self.call("start", "POST", partner_path("ext", "start"), body)

    def continue_process(self, sales_process_id: str, body: dict[str, Any]) -> Any:
        return self.call("continue", "POST", partner_path("ext", "continue", sales_process_id), body)

    def status(self, sales_process_id: str, account_id: str) -> Any:
        return self.call("status", "GET", partner_path("ext", "status", sales_process_id, account_id))

    def stop(self, sales_process_id: str, body: dict[str, Any]) -> Any:
        return self.call("stop", "POST", partner_path("ext", "stop", sales_process_id), body)

    def recording_url(self, sales_process_id: str, body: dict[str, Any], content_md5: str) -> Any:
        return self.call("recording-url", "POST", partner_path("recording-url", sales_process_id), body,
                         headers={"Content-MD5": content_md5})

    def activate(self, security_group: str, account_id: str, request_token: str) -> Any:
        """Unsigned only when no keys are configured yet: the request token then vouches for the caller."""
        return self.call("activate", "POST", partner_path("activate", security_group),
                         {"account_id": account_id, "request_token": request_token}, require_keys=False)

    # Transport ----------------------------------------------------------------------------------------

    def call(self, operation: str, method: str, path: str, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, require_keys: bool = True) -> Any:
        """Send one signed request; `operation` names it in log lines (never the path: it holds ids)."""
        if not self.base_url or (require_keys and self.credentials is None):
            raise PartnerNotConfigured(
                "DTech is not configured: set DIFFERENT_API_BASE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        signed = self.sign(method, self.base_url + path, body, headers or {})
        try:
            response = http.session(timeout=self.timeout).request(method, signed.url, data=signed.body,
                                                                  headers=dict(signed.headers))
        except requests.Timeout as exc:
            log.warning("dtech call timed out", extra={"operation": operation})
            raise PartnerTimeout("DTech did not answer in time; try again") from exc
        except requests.RequestException as exc:
            log.warning("dtech unreachable", extra={"operation": operation, "error": type(exc).__name__})
            raise PartnerUnreachable(f"DTech could not be reached ({type(exc).__name__}); try again") from exc
        if not 200 <= response.status_code < 300:
            log.warning("dtech refused a call", extra={"operation": operation, "status": response.status_code})
            if 300 <= response.status_code < 400:  # redirects are never followed (core/http.py)
                target = http.redirect_target(response) or "(no Location)"
                raise PartnerRefused(response.status_code,
                                     f"redirect to {target} not followed; check DIFFERENT_API_BASE")
            raise PartnerRefused(response.status_code, partner_message(response))
        if not response.content.strip():
            return {}  # e.g. a 204 to stop
        try:
            return response.json()
        except ValueError as exc:
            raise PartnerFailure("DTech answered with something that is not JSON") from exc

    def sign(self, method: str, url: str, body: dict[str, Any] | None, headers: dict[str, str]) -> AWSRequest:
        """A request signed with SigV4 for `execute-api` (left unsigned when no keys are configured)."""
        all_headers = {"Accept": "application/json", **headers}
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        request = AWSRequest(method=method, url=url, data=data, headers=all_headers)
        if self.credentials is not None:
            SigV4Auth(self.credentials, SERVICE, self.region).add_auth(request)
        return request
