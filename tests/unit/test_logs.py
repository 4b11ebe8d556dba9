"""Log lines as an operator or a log pipeline reads them (README, Operations > Logs): text lines
with a UTC timestamp, level and logger; JSON objects with ``ts``, ``level``, ``logger``, ``msg``
and the fields that apply; and the throttle that keeps a dead webhook from flooding the log."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shiptrack.logs import FIELDS, JsonFormatter, TextFormatter, Throttle, log_context
from shiptrack.settings import Settings
from tests.support import HandClock


def record(
    message: str = "webhook %s failed",
    *args: object,
    level: int = logging.WARNING,
    extra: dict[str, object] | None = None,
    exc_info: bool = False,
) -> logging.LogRecord:
    """A record as ``logging.getLogger("shiptrack.dispatcher").log(...)`` makes it."""
    info = sys.exc_info() if exc_info else None
    made = logging.getLogger("shiptrack.dispatcher").makeRecord(
        "shiptrack.dispatcher", level, __file__, 1, message, args or ("se-3",), info, extra=extra
    )
    made.created = datetime(2026, 12, 3, 22, 58, 11, 123456, tzinfo=UTC).timestamp()
    return made


def test_a_text_line_has_the_utc_time_the_level_the_logger_and_the_message() -> None:
    line = TextFormatter().format(record())
    assert line == "2026-12-03T22:58:11.123Z WARNING shiptrack.dispatcher: webhook se-3 failed"


def test_a_text_line_ends_with_the_fields_that_apply_in_a_fixed_order() -> None:
    with log_context(request_id="req-1", account_id="se-1"):
        line = TextFormatter().format(
            record(extra={"tracking_number": "1Z999", "webhook_id": "se-3", "other": "x"})
        )
    assert line.endswith(
        "webhook se-3 failed [request_id=req-1 account_id=se-1 webhook_id=se-3 "
        "tracking_number=1Z999]"
    )


def test_a_json_line_is_one_object_with_ts_level_logger_msg_and_the_fields() -> None:
    with log_context(request_id="req-1", account_id="se-1"):
        line = JsonFormatter().format(record(extra={"carrier_code": "ups"}))
    assert "\n" not in line
    assert json.loads(line) == {
        "ts": "2026-12-03T22:58:11.123Z",
        "level": "warning",
        "logger": "shiptrack.dispatcher",
        "msg": "webhook se-3 failed",
        "request_id": "req-1",
        "account_id": "se-1",
        "carrier_code": "ups",
    }


def test_a_json_line_of_an_error_carries_its_traceback_on_the_same_line() -> None:
    try:
        raise RuntimeError("the adapter broke")
    except RuntimeError:
        line = JsonFormatter().format(
            record("adapter %s failed", level=logging.ERROR, exc_info=True)
        )
    entry = json.loads(line)
    assert entry["level"] == "error"
    assert "RuntimeError: the adapter broke" in entry["exc"]
    assert entry["exc"].startswith("Traceback")


def test_a_json_line_keeps_text_that_is_not_ascii_and_quotes_what_would_break_the_line() -> None:
    line = JsonFormatter().format(record('scan at "Zürich"\nnext line %s'))
    assert json.loads(line)["msg"] == 'scan at "Zürich"\nnext line se-3'
    assert "Zürich" in line


def test_log_context_nests_drops_missing_values_and_ends_with_its_block() -> None:
    formatter = JsonFormatter()
    with log_context(request_id="req-1", account_id=None):
        with log_context(webhook_id="se-3"):
            inner = json.loads(formatter.format(record()))
        outer = json.loads(formatter.format(record()))
    after = json.loads(formatter.format(record()))
    assert (inner["request_id"], inner["webhook_id"]) == ("req-1", "se-3")
    assert "account_id" not in inner
    assert "webhook_id" not in outer and outer["request_id"] == "req-1"
    assert not set(FIELDS) & set(after)


def test_a_call_s_extra_wins_over_the_bound_context() -> None:
    with log_context(account_id="se-1"):
        entry = json.loads(JsonFormatter().format(record(extra={"account_id": "se-2"})))
    assert entry["account_id"] == "se-2"


def test_the_throttle_lets_one_line_a_key_through_each_interval_and_counts_the_rest() -> None:
    clock = HandClock(1000.0)
    throttle = Throttle(60, clock=clock)
    assert throttle.allow("se-3") == 0
    assert [throttle.allow("se-3") for _ in range(5)] == [None] * 5
    assert throttle.allow("se-4") == 0  # another webhook has its own minute
    clock.now += 59.9
    assert throttle.allow("se-3") is None
    clock.now += 0.2
    assert throttle.allow("se-3") == 6  # the line says how many were held back
    assert throttle.allow("se-3") is None


def test_the_throttle_forgets_quiet_keys_rather_than_growing_without_end() -> None:
    clock = HandClock(1000.0)
    throttle = Throttle(60, clock=clock)
    for key in range(Throttle.MAX_KEYS):
        throttle.allow(key)
    clock.now += 61
    throttle.allow("new")
    assert len(throttle) == 1


@pytest.mark.parametrize("given", ["DEBUG", "Warning", "error"])
def test_the_log_level_is_read_in_any_case(given: str) -> None:
    assert Settings(log_level=given).log_level == given.lower()


@pytest.mark.parametrize(("name", "value"), [("log_level", "verbose"), ("log_format", "xml")])
def test_an_unknown_log_level_or_format_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({name: value})
    assert name in str(refused.value)


@pytest.mark.parametrize(
    ("url", "described"),
    [
        (
            "postgresql://postgres:s3cret@127.0.0.1:5432/test",
            "postgresql://postgres@127.0.0.1:5432/test",
        ),
        ("postgres://app:s3cret@db.internal/shiptrack", "postgresql://app@db.internal/shiptrack"),
        ("sqlite:////srv/shiptrack.db", "sqlite:/srv/shiptrack.db"),
    ],
)
def test_the_database_is_described_without_its_password(url: str, described: str) -> None:
    text = Settings(database_url=url).database_description
    assert text == described
    assert "s3cret" not in text
