"""When the workers write down that a carrier connection worked: after a back-off at once,
otherwise at most once a minute (the console shows the time to the minute)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from shiptrack.domain.check import ConnectionState

NOW = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
STATE = ConnectionState(
    id=1,
    account_id=1,
    carrier_code="ups",
    simulated=True,
    base_url=None,
    account_number=None,
    sealed_credentials=None,
    backoff_until=None,
    failures=0,
    last_error=None,
    exception_watch_days=None,
)


def test_a_success_is_noted_when_none_was_or_the_last_is_a_minute_old() -> None:
    assert STATE.success_to_note(NOW)
    recent = replace(STATE, last_success_at=NOW - timedelta(seconds=59))
    assert not recent.success_to_note(NOW)
    assert replace(STATE, last_success_at=NOW - timedelta(seconds=60)).success_to_note(NOW)


def test_a_success_after_failures_is_noted_at_once() -> None:
    backing_off = replace(STATE, last_success_at=NOW, failures=2, last_error="HTTP 503")
    assert backing_off.success_to_note(NOW)
