"""Arkesel SMS API, version 2: send (from the worker); status and balance look-ups (synchronous, short timeout).

POST <base>/api/v2/sms/send with header `api-key` and JSON {"sender", "message", "recipients", "sandbox"?,
"callback_url"?}; GET <base>/api/v2/sms/<id>; GET <base>/api/v2/clients/balance-details. 402 (balance) and
403 (key) cannot succeed later; 5xx and timeouts can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import requests
from flask import current_app

from modules.core import http, outbox


class ProviderUnavailable(Exception):
    """A look-up (status, balance) failed: the reason is safe to show (no key, no number)."""


_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,12}")


def _digits(recipient: Any) -> str:
    """A recipient as the hub writes it (international form, digits only), from Arkesel's answer."""
    return re.sub(r"[^0-9]", "", str(recipient))


@dataclass(frozen=True)
class ArkeselClient:
    base_url: str
    api_key: str
    sender: str
    sandbox: bool

    @classmethod
    def from_config(cls) -> ArkeselClient | None:
        """None when SMS is not configured (no key or no sender id)."""
        config = current_app.config
        if not (config.get("ARKESEL_API_KEY") and config.get("ARKESEL_SENDER_ID")):
            return None
        return cls(config["ARKESEL_BASE_URL"].rstrip("/"), config["ARKESEL_API_KEY"], config["ARKESEL_SENDER_ID"],
                   bool(config.get("ARKESEL_SANDBOX")))

    @property
    def _headers(self) -> dict[str, str]:
        return {"api-key": self.api_key, "Accept": "application/json"}

    def send(self, recipients: list[str], message: str,
             callback_url: str | None = None) -> tuple[int, dict[str, str] | None]:
        """Send one message; returns the status code and Arkesel's ids, {recipient: Arkesel message id}, of
        the recipients its answer lists with an id (matched on their digits: Arkesel may write a `+`), or
        None when the answer lists no ids at all (`data` not a list). With `callback_url`, Arkesel calls it
        back with each recipient's delivery receipt."""
        body: dict[str, Any] = {"sender": self.sender, "message": message, "recipients": recipients}
        if self.sandbox:
            body["sandbox"] = True
        if callback_url:
            body["callback_url"] = callback_url
        response = http.send(http.session(), "POST", f"{self.base_url}/api/v2/sms/send", json=body,
                             headers=self._headers)
        status = http.check_delivery(response)
        try:
            answer = response.json()
        except ValueError as exc:
            raise outbox.Permanent("Arkesel answered without JSON", status) from exc
        if not isinstance(answer, dict) or answer.get("status") != "success":
            reason = answer.get("message") if isinstance(answer, dict) else None
            raise outbox.Permanent(f"Arkesel refused the message: {str(reason or 'no reason given')[:200]}", status)
        data = answer.get("data")
        if not isinstance(data, list):
            return status, None
        return status, {_digits(item.get("recipient")): str(item["id"]).strip() for item in data
                        if isinstance(item, dict) and item.get("id") is not None and str(item["id"]).strip()}

    def status(self, provider_id: str) -> dict[str, Any]:
        """Arkesel's record of one message, e.g. {"status": "DELIVERED", ...}."""
        return self._look_up(f"/api/v2/sms/{provider_id}")

    def balance(self) -> int:
        """The account's SMS balance: how many SMS (segments) it can still pay for. Arkesel answers
        {"status": "success", "data": {"sms_balance": "2003", "main_balance": "GHS 20.99"}}; anything but a
        whole number there is ProviderUnavailable."""
        balance = self._look_up("/api/v2/clients/balance-details").get("sms_balance")
        if isinstance(balance, int) and not isinstance(balance, bool):
            return balance
        if isinstance(balance, str) and _WHOLE_NUMBER.fullmatch(balance.strip()):
            return int(balance)
        raise ProviderUnavailable("Arkesel answered without a readable SMS balance.")

    def _look_up(self, path: str) -> dict[str, Any]:
        """The `data` object of a GET answer (empty when there is none); ProviderUnavailable when Arkesel
        does not answer within ARKESEL_STATUS_TIMEOUT_SECONDS, redirects or answers anything but a 200 JSON."""
        timeout = float(current_app.config["ARKESEL_STATUS_TIMEOUT_SECONDS"])
        try:
            response = http.session(timeout=timeout).get(f"{self.base_url}{path}", headers=self._headers)
        except requests.Timeout as exc:
            raise ProviderUnavailable(f"Arkesel did not answer within {timeout:g} s.") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable("Arkesel could not be reached.") from exc
        if 300 <= response.status_code < 400:  # redirects are never followed (core/http.py)
            raise ProviderUnavailable(f"Arkesel answered HTTP {response.status_code}, a redirect to "
                                      f"{http.redirect_target(response) or '(no Location)'}, not followed.")
        if response.status_code != 200:
            raise ProviderUnavailable(f"Arkesel answered HTTP {response.status_code}.")
        try:
            data = response.json().get("data")
        except (ValueError, AttributeError) as exc:
            raise ProviderUnavailable("Arkesel answered without JSON.") from exc
        return data if isinstance(data, dict) else {}
