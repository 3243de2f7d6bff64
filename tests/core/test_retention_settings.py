"""Every retention setting is checked at start-up: a negative, huge or non-numeric value stops it naming the
setting, instead of being read as "keep forever" or crashing the hourly job later (an OverflowError computing
the cutoff). 0 keeps the meaning each setting documents."""

import pytest

from modules.core.config import ConfigurationError, load_config

DAYS_OR_FOREVER = ["AUDIT_RETENTION_DAYS", "OUTBOX_RETENTION_DAYS", "INSIGHT_SMS_RETENTION_DAYS",
                   "INSIGHT_SMS_USAGE_RETENTION_DAYS"]
BATCHES = ["RETENTION_BATCH", "OUTBOX_RETENTION_BATCH", "CLICK_RETENTION_BATCH_SIZE"]
WINDOWS = [*DAYS_OR_FOREVER, "RECORDINGS_RETENTION_DAYS", "CLICK_RETENTION_MONTHS"]


@pytest.mark.parametrize(("name", "value"), [
    *((name, value) for name in WINDOWS for value in ("-1", "abc", "1.5", "1e3", "999999999", str(10 ** 30))),
    *((name, value) for name in BATCHES for value in ("-1", "abc", "1.5", "0"))])
def test_a_retention_setting_out_of_range_stops_start_up_naming_it(name, value):
    with pytest.raises(ConfigurationError) as error:
        load_config(environ={name: value})
    assert str(error.value).startswith(f"{name}: ")


@pytest.mark.parametrize("name", DAYS_OR_FOREVER + ["CLICK_RETENTION_MONTHS"])
def test_zero_keeps_forever(name):
    assert load_config(environ={name: "0"})[name] == 0


def test_zero_days_of_recordings_is_refused():
    with pytest.raises(ConfigurationError) as error:
        load_config(environ={"RECORDINGS_RETENTION_DAYS": "0"})
    assert str(error.value).startswith("RECORDINGS_RETENTION_DAYS: ")


@pytest.mark.parametrize(("name", "value"), [("AUDIT_RETENTION_DAYS", "36500"), ("CLICK_RETENTION_MONTHS", "1200"),
                                             ("RECORDINGS_RETENTION_DAYS", "3650")])
def test_a_long_window_is_kept_as_given(name, value):
    assert load_config(environ={name: value})[name] == int(value)
