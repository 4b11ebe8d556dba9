"""What a webhook URL, its custom headers and its signature schemes may be."""

from __future__ import annotations

import pytest

from shiptrack.domain.errors import ValidationFailed
from shiptrack.domain.webhooks import WebhookHeader, check_headers, check_signatures, check_url


@pytest.mark.parametrize(
    "url", ["https://example.com/hook", "http://127.0.0.1:9000/x?y=1", "https://h.example/a#b"]
)
def test_absolute_http_urls_are_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "/relative",
        "example.com/hook",
        "https://",
        "https://exa mple.com/",
        "http://example.com:99999/",
        "https://example.com/" + "a" * 2048,
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_url(url)
    assert caught.value.field_name == "url"


def test_ordinary_custom_headers_are_accepted() -> None:
    check_headers([WebhookHeader("Authorization", "Bearer x"), WebhookHeader("X-Shop", "42")])


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ([WebhookHeader("Bad Name", "x")], "headers[0]"),
        ([WebhookHeader("Content-Type", "text/plain")], "headers[0]"),
        ([WebhookHeader("ok", "x"), WebhookHeader("webhook-id", "x")], "headers[1]"),
        ([WebhookHeader("X-Shipengine-Timestamp", "x")], "headers[0]"),
        # A custom header must not pass real changes off as test events.
        ([WebhookHeader("X-Shiptrack-Test-Event", "true")], "headers[0]"),
        ([WebhookHeader("X-A", "1"), WebhookHeader("x-a", "2")], "headers[1]"),
        ([WebhookHeader("X-A", "line\r\nInjected: yes")], "headers[0].value"),
        ([WebhookHeader(f"X-{i}", "v") for i in range(21)], "headers"),
    ],
)
def test_unsendable_or_overriding_headers_are_refused(
    headers: list[WebhookHeader], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_headers(headers)
    assert caught.value.details[0].field_name == field


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (["standard"], ("standard",)),
        (["shipengine"], ("shipengine",)),
        (["standard", "shipengine"], ("shipengine", "standard")),
    ],
)
def test_signature_schemes_are_kept_in_one_order(given: list[str], kept: tuple[str, ...]) -> None:
    assert check_signatures(given) == kept


@pytest.mark.parametrize(
    ("given", "field_name", "says"),
    [
        ([], "signatures", "at least one"),
        (["hmac"], "signatures[0]", "'hmac' is not a signature scheme"),
        (["standard", "shipengine", "standard"], "signatures[2]", "given twice"),
    ],
)
def test_signature_lists_that_are_empty_unknown_or_repeated_are_refused(
    given: list[str], field_name: str, says: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_signatures(given)
    assert refused.value.field_name == field_name
    assert says in refused.value.message
