"""What a spreadsheet cell (or a JSON value of a row) holds, read without changing its meaning.

A spreadsheet turns what people type into numbers, dates and formula results; the front end's SheetJS
sends such cells as JSON numbers. In a text column (name, account number, phone) a value the spreadsheet
may have changed is refused with a message saying so, never stored changed: a date or time, a formula
result, an error cell, a boolean, a number that is not an integer, or one of 15 digits or more (a
spreadsheet keeps 15 significant digits and JavaScript about as many: `1.2345678901234567e+19` has lost
some). A number shown through a number format is read as shown when the format is only zeros (`00000`
shows 123 as 00123, as account numbers with leading zeros are kept); any other format (`"ACC-"0000`,
`#,##0`) is refused in a text column, never guessed at. A text in scientific notation (`1.23457E+15`,
which a spreadsheet writes in a CSV export for a long number it has rounded) is refused there too.
An amount is read as the spreadsheet shows it (see `normalise.parse_amount`); a formula's result is
accepted there, as the number it showed, as is a formatted number, by its value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from modules.insight import normalise

EXACT_DIGITS = 15  # integers below 10**15 survive a spreadsheet and JavaScript unchanged
_DATE_TYPES = (datetime, date, time, timedelta)
TEXT_COLUMN_ADVICE = "format the column as Text and type the value again"


@dataclass(frozen=True)
class Formula:
    """A cell computed by a formula, with the value it last showed (None when it was never computed)."""

    value: Any


@dataclass(frozen=True)
class Formatted:
    """A typed number that the spreadsheet shows through a number format other than General: `code` is the
    format (`00000`, `"ACC-"0000`, `#,##0.00`)."""

    value: int | float
    code: str

    def text(self) -> str:
        """The number as the spreadsheet shows it, for a format made only of zeros (a whole number padded
        with zeros to the format's width, `-00123` for -123 under `00000`); ValueError for any other."""
        if not _ZEROS.fullmatch(self.code):
            shown_format = repr(self.code) if self.code else "that this reader does not know"
            raise ValueError(f"The spreadsheet shows the number {shown(self.value)} through the number format "
                             f"{shown_format}, so what it shows is not what the cell holds: {TEXT_COLUMN_ADVICE}.")
        digits = text_of(self.value)
        sign, digits = ("-", digits[1:]) if digits.startswith("-") else ("", digits)
        return sign + digits.zfill(len(self.code))


_ZEROS = re.compile(r"0+")
# A number in scientific notation, as spreadsheets and JavaScript write one: one digit before the point.
_SCIENTIFIC = re.compile(r"[+-]?[0-9](?:\.[0-9]+)?[eE][+-][0-9]+")


@dataclass(frozen=True)
class CellError:
    """A cell that shows an error: `#N/A`, `#DIV/0!`, `#VALUE!`..."""

    code: str


def shown(value: Any) -> str:
    """The value as the spreadsheet showed it, for answers that list what was given."""
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, Formula):
        return shown(value.value)
    if isinstance(value, CellError):
        return value.code
    if isinstance(value, Formatted):
        try:
            return value.text()
        except ValueError:
            return shown(value.value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return format(value, f".{normalise.SHOWN_DIGITS}g")
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()  # a date cell: spreadsheets keep dates as midnight
    if isinstance(value, _DATE_TYPES):
        return value.isoformat() if not isinstance(value, timedelta) else str(value)
    if isinstance(value, (dict, list)):
        return "[list]" if isinstance(value, list) else "[object]"
    return str(value).strip()


def _refuse_typed(value: Any) -> None:
    """The refusals shared by every column: error cells, dates, booleans and JSON objects."""
    if isinstance(value, CellError):
        raise ValueError(f"The cell shows the error {value.code}: correct it in the spreadsheet.")
    if isinstance(value, _DATE_TYPES):
        raise ValueError(f"The spreadsheet turned this value into a date or time ({shown(value)}): "
                         f"{TEXT_COLUMN_ADVICE}.")
    if isinstance(value, (bool, dict, list)):
        raise ValueError("Must be a text or a number.")


def text_of(value: Any) -> str:
    """The text a person typed in a text column; ValueError when the spreadsheet may have changed it."""
    if value is None:
        return ""
    if isinstance(value, str):
        if _SCIENTIFIC.fullmatch(value.strip()):
            raise ValueError(f"This looks like a number the spreadsheet rounded ({value.strip()}): format the column "
                             "as Text and export again.")
        return value
    if isinstance(value, Formatted):
        return value.text()
    if isinstance(value, Formula):
        raise ValueError("Is a formula: text columns take typed values only (a formula could change what is "
                         "stored or run when the data is exported).")
    _refuse_typed(value)
    if isinstance(value, int) and abs(value) < 10 ** EXACT_DIGITS:
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 10 ** EXACT_DIGITS:
        return str(int(value))
    if isinstance(value, (int, float)):
        raise ValueError(f"The spreadsheet stored this as the number {shown(value)}, which may not be what was "
                         f"typed: {TEXT_COLUMN_ADVICE}.")
    raise ValueError("Must be a text or a number.")


def amount_of(value: Any) -> Decimal:
    """An amount cell or JSON value: a number (formatted or not), a numeric text, or a formula's number (see
    parse_amount)."""
    if isinstance(value, Formatted):
        value = value.value
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return normalise.parse_amount(value)
    if isinstance(value, Formula):
        if value.value is None:
            raise ValueError("Is a formula that was never computed: open the file in a spreadsheet program and "
                             "save it again.")
        value = value.value
    _refuse_typed(value)
    return normalise.parse_amount("" if value is None else value)
