"""How many SMS segments (parts) a text costs, counted as the gateway counts them.

A text that the GSM 03.38 alphabet holds goes as GSM-7: 160 septets fit one SMS; a longer text is split
into parts of 153 (7 septets of each part hold the header that joins them). An extension character
(€ [ ] { } ~ ^ | \\ and the form feed) takes two septets, an escape and itself: the `gsm0338` codec's
byte length counts them so. Any other text goes as UCS-2: 70 UTF-16 code units fit one SMS, a longer
text parts of 67; a character outside the Basic Multilingual Plane (most emoji) takes two units.
"""

from __future__ import annotations

import math

from gsm0338 import Codec

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
_GSM_0338 = Codec()


def segments(text: str) -> int:
    """The number of SMS the gateway sends (and charges) for `text` to one recipient; 1 for an empty text."""
    try:
        size, single, part = len(_GSM_0338.encode(text)[0]), GSM7_SINGLE, GSM7_PART
    except UnicodeEncodeError:
        size, single, part = len(text.encode("utf-16-le")) // 2, UCS2_SINGLE, UCS2_PART
    return 1 if size <= single else math.ceil(size / part)
