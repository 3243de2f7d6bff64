"""SMS segments are counted as the gateway counts (and charges) them: GSM-7 160, then 153 a part; UCS-2 70,
then 67 a part; an extension character two septets; a character outside the BMP two UTF-16 units."""

import pytest

from modules.insight.segments import segments

pytestmark = pytest.mark.sqlite_only  # no database


@pytest.mark.parametrize("text, expected", [
    ("", 1),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 153 * 2, 2),
    ("a" * (153 * 2 + 1), 3),
    ("é" * 160, 1),  # é is in the GSM alphabet
    ("\n" * 160, 1),
    ("a" * 158 + "€", 1),  # € takes two septets: 160
    ("a" * 159 + "€", 2),  # 161
    ("[]{}~^|\\" * 10, 1),  # 80 extension characters: 160 septets
    ("[]{}~^|\\" * 20, 3),  # 320 septets
    ("a" * 304 + "€", 2),  # 306 septets
    ("a" * 305 + "€", 3),  # 307
    ("ж" * 70, 1),
    ("ж" * 71, 2),
    ("ж" * 67 * 2, 2),
    ("ж" * (67 * 2 + 1), 3),
    ("a" * 69 + "ж", 1),  # one character outside GSM makes the whole text UCS-2
    ("a" * 70 + "ж", 2),
    ("a" * 68 + "😀", 1),  # the emoji is two UTF-16 units: 70
    ("a" * 69 + "😀", 2),  # 71
    ("😀" * 67, 2),  # 134 units
    ("😀" * 68, 3),  # 136
])
def test_segments_are_counted_as_the_gateway_counts_them(text, expected):
    assert segments(text) == expected
