"""What services raise when they refuse: domain exceptions that know nothing of HTTP.

Services raise these (or their own subclasses); each domain's routes map them to its clients' answer
with one error handler (`errors.answer_domain_errors(blp, answer)`). The CLI catches the same exceptions,
so an upload from the command line and one from the API go through the same services.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal. `message` is for the client; `code` a stable machine-readable name where the domain's
    contract has one; `details` e.g. a list of field errors."""

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message, self.code, self.details = message, code, details


class NotFound(DomainError):
    """The thing named does not exist (or is not this caller's to see)."""


class Conflict(DomainError):
    """The request contradicts the current state: a duplicate, a concurrent change, a finished upload."""


class Invalid(DomainError):
    """The input is well-formed but cannot be accepted (a value the schema could not judge alone)."""


class Unavailable(DomainError):
    """A part the request needs (a partner, a setting, storage) cannot serve it now."""
