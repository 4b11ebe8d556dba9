"""The console's pure helpers for the webhooks and carriers pages: forms turned into API bodies,
flash codes, deliveries merged newest first, a connection's budget left."""

from __future__ import annotations

from datetime import UTC, datetime

from shiptrack.carriers.base import Budget
from shiptrack.carriers.pacing import RequestPacer
from shiptrack.domain.delivery import DeliveryView, newest_first
from shiptrack.domain.webhooks import WebhookHeader
from shiptrack.web.console.flash import MESSAGES, with_flash
from shiptrack.web.console.forms_api import (
    attempt_error,
    budget_text,
    connect_body,
    connect_fields,
    headers_text,
    parse_headers,
    webhook_body,
    when,
)


def test_header_lines_become_the_apis_headers_and_back() -> None:
    text = "X-Team: parcels\n\n  Authorization: Bearer a:b  \nbare"
    headers = parse_headers(text)
    assert headers == [
        {"key": "X-Team", "value": "parcels"},
        {"key": "Authorization", "value": "Bearer a:b"},
        {"key": "bare", "value": ""},
    ]
    kept = [WebhookHeader(h["key"], h["value"]) for h in headers[:2]]
    assert headers_text(kept) == "X-Team: parcels\nAuthorization: Bearer a:b"


def test_a_webhook_form_becomes_the_apis_body() -> None:
    form = {"url": " https://x.invalid/h ", "name": "", "store_id": "12", "event": "track"}
    assert webhook_body(form, with_event=True) == {
        "url": "https://x.invalid/h",
        "name": None,
        "store_id": 12,
        "headers": [],
        "signatures": ["shipengine", "standard"],
        "event": "track",
    }
    assert webhook_body({"signatures": "standard"}, with_event=False)["signatures"] == ["standard"]
    # Not a number: passed on as text, for the API's model to refuse in its own words.
    assert webhook_body({"store_id": "twelve"}, with_event=False)["store_id"] == "twelve"
    assert "event" not in webhook_body({}, with_event=False)


def test_a_connect_form_sends_only_the_carriers_fields_that_were_filled_in() -> None:
    dhl = connect_fields("dhl_express", ("api_key",), push=False, usps=False)
    names = [field.name for field in dhl]
    assert "api_key" in names and "client_id" not in names
    assert "webhook_secret" not in names and "api_version" not in names
    ups = [
        f.name for f in connect_fields("ups", ("client_id", "client_secret"), push=True, usps=False)
    ]
    assert "webhook_secret" in ups
    form = {"api_key": "k", "client_id": "smuggled", "nickname": " ", "requests_per_minute": "30"}
    assert connect_body(form, dhl) == {"api_key": "k", "requests_per_minute": 30.0}
    secret = next(field for field in dhl if field.name == "api_key")
    assert secret.kind == "password"  # never shown back


def test_australia_post_asks_its_account_number_once_as_a_required_field() -> None:
    fields = connect_fields(
        "australia_post", ("api_key", "client_secret", "account_number"), push=False, usps=False
    )
    account = [field for field in fields if field.name == "account_number"]
    assert len(account) == 1
    assert (account[0].label, account[0].kind, account[0].hint) == ("Account number", "text", "")
    form = {"api_key": "k", "client_secret": "s", "account_number": "0007654321"}
    assert connect_body(form, fields) == form


def test_flash_codes_name_fixed_messages() -> None:
    assert with_flash("/console/webhooks/se-1", "webhook-saved") == (
        "/console/webhooks/se-1?done=webhook-saved"
    )
    assert MESSAGES["redelivery-busy"].kind == "error"


def test_budgets_read_per_minute_or_per_day() -> None:
    assert budget_text(60000.0) == "60,000/min"
    assert budget_text(30.0) == "30/min"
    assert budget_text(1.5) == "1.5/min"
    assert budget_text(0.5) == "720/day"
    assert budget_text(250 / 1440) == "250/day"  # DHL's Starter plan


def test_an_attempts_error_is_shown_only_when_it_says_more_than_its_status() -> None:
    assert attempt_error(500, "HTTP 500") is None
    assert attempt_error(None, "connection refused") == "connection refused"
    assert attempt_error(410, "HTTP 410: gone for good") == "HTTP 410: gone for good"
    assert attempt_error(204, None) is None


def test_times_read_in_utc_to_the_second() -> None:
    assert when(datetime(2026, 12, 4, 5, 6, 7, 890, tzinfo=UTC)) == "2026-12-04 05:06:07 UTC"
    assert when(None, "never") == "never"


def _view(row_id: int, state: str) -> DeliveryView:
    return DeliveryView(
        id=row_id,
        webhook_id=1,
        status_change_id=None,
        message_id=f"m{row_id}",
        state=state,
        attempts=0,
        sequence=0,
        next_attempt_at=None,
        delivered_at=None,
        last_error=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        carrier_code=None,
        tracking_number=None,
        status_code=None,
    )


def test_pages_of_two_states_merge_newest_first() -> None:
    pending = [_view(9, "pending"), _view(4, "pending")]
    delivered = [_view(8, "delivered"), _view(7, "delivered"), _view(1, "delivered")]
    assert [row.id for row in newest_first([pending, delivered])] == [9, 8, 7, 4, 1]


async def test_the_budget_left_is_the_burst_when_idle_and_shrinks_with_each_reservation() -> None:
    pacer = RequestPacer()
    budget = Budget(requests_per_second=1 / 60, burst=3)
    seen = [pacer.available(7, budget)]
    for _ in range(3):
        assert pacer.reserve(7, budget, max_wait=0).reserved
        seen.append(pacer.available(7, budget))
    assert seen == [3, 2, 1, 0]
    assert pacer.available(8, budget) == 3  # another connection's budget is its own
