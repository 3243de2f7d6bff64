"""How customer data is cleaned: names, phone numbers, arrears and account numbers.

Pure functions, shared by the API schemas, the spreadsheet upload and the CLI import. Each raises
`ValueError` with a message fit for an operator.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import phonenumbers

NAME_MAX_LENGTH = 200
ACCOUNT_MAX_LENGTH = 50
MAX_ARREARS = Decimal("9999999999.99")  # what Numeric(12, 2) holds
CENTS = Decimal("0.01")
_NAME_PUNCTUATION = {" ", "-", "'"}
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_SPACES = re.compile(r"\s+")


def normalise_name(value: str) -> str:
    """Letters (accented too), spaces, hyphens and apostrophes; spaces collapsed; title-cased."""
    name = _SPACES.sub(" ", unicodedata.normalize("NFC", value).translate(_APOSTROPHES)).strip()
    if not name:
        raise ValueError("Name is required.")
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"Name is longer than {NAME_MAX_LENGTH} characters.")
    if not any(char.isalpha() for char in name) or any(
            not (char.isalpha() or char in _NAME_PUNCTUATION) for char in name):
        raise ValueError("Name may only contain letters, spaces, hyphens and apostrophes.")
    return name.title()


def normalise_account_number(value: str) -> str:
    account = value.strip()
    if not account:
        raise ValueError("Account number is required.")
    if len(account) > ACCOUNT_MAX_LENGTH:
        raise ValueError(f"Account number is longer than {ACCOUNT_MAX_LENGTH} characters.")
    if any(not char.isprintable() for char in account):
        raise ValueError("Account number contains control characters.")
    return account


def _parse_phone(value: str, region: str) -> phonenumbers.PhoneNumber:
    text = value.strip()
    if not text:
        raise ValueError("Phone number is required.")
    if len(text) > 30:
        raise ValueError("Not a valid phone number.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("Not a valid phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"Not a valid phone number for {region}.")
    return number


def normalise_phone(value: str, region: str) -> str:
    """National form without spaces (`0241234567`) for numbers of `region`; E.164 for any other."""
    number = _parse_phone(value, region)
    if phonenumbers.region_code_for_number(number) != region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(char for char in national if char.isdigit())


def international_phone(value: str, region: str) -> str:
    """The form SMS providers want: country code and number, no `+` (`233241234567`)."""
    return phonenumbers.format_number(_parse_phone(value, region), phonenumbers.PhoneNumberFormat.E164)[1:]


def parse_amount(value: object) -> Decimal:
    """A non-negative amount with at most two decimals, from a number or a text like `1,200.50`."""
    if isinstance(value, bool) or value is None:
        raise ValueError("Not a valid amount.")
    text = str(value).strip().replace(",", "")
    if not text or len(text) > 30:
        raise ValueError("Arrears are required." if not text else "Not a valid amount.")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("Not a valid amount.") from exc
    if not amount.is_finite():
        raise ValueError("Not a valid amount.")
    if amount < 0:
        raise ValueError("Arrears cannot be negative.")
    if amount > MAX_ARREARS:
        raise ValueError(f"Arrears cannot exceed {MAX_ARREARS}.")
    return amount.quantize(CENTS, rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal) -> str:
    return f"{amount.quantize(CENTS, rounding=ROUND_HALF_UP):.2f}"
