"""The customer spreadsheet reader: `read_rows(stream, limits)` yields each data row of an .xlsx or a .csv
file, within `Limits`; a file it cannot use is a `SpreadsheetError` saying why, for the operator.

`reader.py` tells the formats apart by their bytes, matches the header and reads .csv files; `workbook.py`
reads the first visible worksheet of an .xlsx, and `parts.py` bounds what reading a workbook's parts costs.
"""

from modules.insight.spreadsheet.reader import Limits, SpreadsheetError, read_rows

__all__ = ["Limits", "SpreadsheetError", "read_rows"]
