"""How customer data is cleaned: names, phone numbers, arrears and account numbers.

Pure functions, shared by the API schemas, the spreadsheet upload and the CLI import. Each raises
`ValueError` with a message fit for an operator.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

import phonenumbers

NAME_MAX_LENGTH = 200
ACCOUNT_MAX_LENGTH = 50
MAX_ARREARS = Decimal("9999999999.99")  # what Numeric(12, 2) holds
CENTS = Decimal("0.01")
_NAME_PUNCTUATION = {" ", "-", "'"}
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_SPACES = re.compile(r"\s+")
# What makes a spreadsheet run a cell as a formula (CSV injection), fullwidth forms included.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# One phone number as people write it: digits (of any script), spaces, ( ) . - and a leading +. Anything
# else (`ext. 5`, `x5`, `#5`, a `;` or `,` or `/` between two numbers) is refused, never glued or dropped.
_ONE_PHONE_NUMBER = re.compile(r"\+?[\d\s().\-]+")


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
    if not name[0].isalpha():
        raise ValueError("Name must start with a letter.")
    return name.title()


def normalise_account_number(value: str) -> str:
    account = value.strip()
    if not account:
        raise ValueError("Account number is required.")
    if len(account) > ACCOUNT_MAX_LENGTH:
        raise ValueError(f"Account number is longer than {ACCOUNT_MAX_LENGTH} characters.")
    if any(not char.isprintable() for char in account):
        raise ValueError("Account number contains control characters.")
    if account.startswith(FORMULA_PREFIXES):
        raise ValueError(f"Account number {account!r} starts with {account[0]!r}: a spreadsheet would run it as a "
                         "formula.")
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
    if not _ONE_PHONE_NUMBER.fullmatch(text):
        raise ValueError(f"{text!r} is not one phone number: give a single number, without an extension or "
                         "other text.")
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


# Amounts written as text: an optional sign, digits (a comma only between groups of three), and at most
# two decimals after a point. `120,50` (a decimal comma), `1.250,75`, `1 250`, `GHS 5`, `1e3` do not match.
_AMOUNT = re.compile(r"(?P<sign>[+-]?)(?P<units>[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)?(?:\.(?P<decimals>[0-9]+))?",
                     re.ASCII)
_DIGITS_AND_MARKS = re.compile(r"[+-]?[0-9.,]+", re.ASCII)
SHOWN_DIGITS = 15  # what a spreadsheet shows of a number: 12.299999999999999 is shown as 12.3


def parse_amount(value: object) -> Decimal:
    """A non-negative amount with at most two decimals, as a Decimal with two decimals.

    `value` is a text (`"1250.50"`, `"12,050.00"`, `"1,000,000.5"`), an int, or a float (a JSON number or
    a spreadsheet cell, read as the spreadsheet shows it: 15 significant digits). A comma is only a
    thousands separator, in groups of three, and only beside a decimal point or in two groups or more:
    `1,250` alone could mean 1250 or 1.250 and is refused, like `120,50` and `1.250,75`. More than two
    decimals (`10.005`) are refused, never rounded. Raises ValueError naming the value.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("Not a valid amount.")
    if isinstance(value, str):
        amount = _amount_from_text(value.strip())
    elif isinstance(value, float):
        amount = _amount_from_number(value)
    else:
        amount = Decimal(value)
    if amount < 0:
        raise ValueError("Arrears cannot be negative.")
    if amount > MAX_ARREARS:
        raise ValueError(f"Arrears cannot exceed {MAX_ARREARS}.")
    return amount.quantize(CENTS) if amount else Decimal("0.00")  # `-0` is zero


def _amount_from_number(value: float) -> Decimal:
    shown = format(value, f".{SHOWN_DIGITS}g")
    amount = Decimal(shown)
    if not amount.is_finite():
        raise ValueError("Not a valid amount.")
    if amount.as_tuple().exponent < -2:
        raise ValueError(f"{shown!r} has more than two decimals: amounts are refused, never rounded.")
    return amount


def _amount_from_text(text: str) -> Decimal:
    if not text:
        raise ValueError("Arrears are required.")
    if len(text) > 30:
        raise ValueError("Not a valid amount.")
    match = _AMOUNT.fullmatch(text)
    if match is None or not (match["units"] or match["decimals"]):
        if _DIGITS_AND_MARKS.fullmatch(text) and "," in text:
            raise ValueError(f"{text!r} could be read more than one way: use a point for decimals, and commas "
                             "only between groups of three digits (12,050.00).")
        raise ValueError(f"Not a valid amount: {text!r}.")
    units, decimals = (match["units"] or "0"), match["decimals"]
    if "," in units and decimals is None and units.count(",") == 1:
        plain = units.replace(",", "")
        raise ValueError(f"{text!r} could mean {plain} or {units.replace(',', '.')}: write {plain} or {units}.00.")
    if decimals is not None and len(decimals) > 2:
        raise ValueError(f"{text!r} has more than two decimals: amounts are refused, never rounded.")
    return Decimal(f"{match['sign']}{units.replace(',', '')}.{decimals or '0'}")


def format_amount(amount: Decimal) -> str:
    return f"{amount.quantize(CENTS, rounding=ROUND_HALF_UP):.2f}"
