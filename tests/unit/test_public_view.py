"""What the public page shows of a package, and what it hides: anyone with the link sees it."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

import pytest

from shiptrack.domain.tracking import Subscription, TrackEvent
from shiptrack.web.public_view import event_label, page_json, public_page, sentence
from shiptrack.web.templating import environment

DELIVERED_AT = datetime(2026, 12, 3, 19, 12, tzinfo=UTC)


def _package(**changes: object) -> Subscription:
    values: dict[str, object] = {
        "id": 41,
        "account_id": 7,
        "connection_id": 9,
        "carrier_code": "ups",
        "tracking_number": "1ZSANDBOX0000001",
        "active": False,
        "status_code": "DE",
        "status_detail_code": "DELIVERED",
        "carrier_status_code": "D",
        "carrier_status_description": "DELIVERED TO 12 ELM STREET, SIGNED BY MARGARET HOLLOWAY",
        "estimated_delivery_date": "2026-12-03",
        "actual_delivery_date": "2026-12-03T19:12:00.000Z",
        "exception_description": "Receiver at 12 Elm Street refused",
        "last_checked_at": datetime(2026, 12, 3, 20, 0, tzinfo=UTC),
        "last_error": "carrier said 500: internal detail",
        "stop_reason": "delivered",
        "public_token": "tok-tok-tok-tok-tok-tok",
    }
    values.update(changes)
    return Subscription(**values)  # type: ignore[arg-type]


#: A delivery scan carrying everything a carrier may say about who and where.
DELIVERY = TrackEvent(
    status_code="DE",
    status_detail_code="DELIVERED",
    occurred_at=DELIVERED_AT,
    carrier_occurred_at="2026-12-03T14:12:00",
    description="Delivered to MARGARET HOLLOWAY at 12 ELM STREET, front porch",
    city_locality="NEW YORK",
    state_province="NY",
    postal_code="10001-4321",
    country_code="US",
    company_name="Holloway Antiques LLC",
    signer="MARGARET HOLLOWAY",
    event_code="KB",
    carrier_detail_code="FS",
    carrier_status_code="D",
    carrier_status_description="DELIVERED, 12 ELM STREET",
    latitude=40.7506,
    longitude=-73.9972,
    proof_of_delivery_url="https://carrier.example/pod/secret-photo.jpg",
)
HUB = TrackEvent(
    status_code="IT",
    status_detail_code="HUB_SCAN_IN",
    carrier_occurred_at="2026-12-02T23:40:00-06:00",
    description="Arrived at Facility",
    city_locality="Memphis",
    state_province="TN",
    postal_code="38118",
    country_code="US",
)
HIDDEN = [
    "MARGARET",
    "HOLLOWAY",
    "Holloway",
    "ELM STREET",
    "Elm Street",
    "10001",
    "38118",
    "Antiques",
    "40.75",
    "73.99",
    "secret-photo",
    "front porch",
    "Arrived at Facility",
    "internal detail",
    "refused",
    "tok-tok",
]


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es"])
def test_the_public_page_hides_signer_streets_postal_codes_companies_and_errors(
    lang: str,
) -> None:
    page = public_page(_package(), [DELIVERY, HUB], lang=lang)

    everything = repr(asdict(page)) + json.dumps(page_json(page), ensure_ascii=False)
    for secret in HIDDEN:
        assert secret not in everything, secret
    # Nothing of the account either: not its id, the connection's, or the package's own id.
    shown = page_json(page)
    assert not {"account_id", "carrier_id", "connection_id", "id", "public_token"} & set(shown)
    for event in shown["events"]:
        assert set(event) == {
            "occurred_at",
            "local_time",
            "utc_offset",
            "status_code",
            "status_detail_code",
            "label",
            "city_locality",
            "state_province",
            "country_code",
        }


def test_what_it_shows_is_city_level_with_local_days_and_zones() -> None:
    page = public_page(_package(), [DELIVERY, HUB], lang="en")

    assert (page.carrier_name, page.tracking_number) == ("UPS", "1ZSANDBOX0000001")
    assert page.tracking_url.startswith("https://www.ups.com/")
    assert page.sentence == "Your package has been delivered."
    assert page.delivered_text == "December 3, 2026"
    assert page.checked_text == "December 3, 2026, 8:00 PM UTC"
    assert [day.heading for day in page.days] == [
        "Thursday, December 3, 2026",
        "Wednesday, December 2, 2026",
    ]
    delivered, hub = page.days[0].entries[0], page.days[1].entries[0]
    assert (delivered.label, delivered.place) == ("Delivered", "New York, NY, US")
    assert (delivered.time_text, delivered.zone_text) == ("2:12 PM", "UTC\u221205:00")
    assert (hub.label, hub.place, hub.time_text) == (
        "Arrived at a carrier facility",
        "Memphis, TN, US",
        "11:40 PM",
    )
    shown = page_json(page)
    assert shown["events"][0]["city_locality"] == "New York"
    assert shown["events"][0]["utc_offset"] == "-05:00"
    assert shown["events"][1]["local_time"] == "2026-12-02T23:40:00"


def test_the_page_speaks_the_chosen_language_throughout() -> None:
    page = public_page(_package(), [DELIVERY, HUB], lang="de")

    assert page.sentence == "Ihre Sendung wurde zugestellt."
    assert page.days[0].heading == "Donnerstag, 3. Dezember 2026"
    assert page.days[0].entries[0].time_text == "14:12"
    assert page.text("estimated_delivery") == "Voraussichtliche Zustellung"
    assert page_json(page)["sentence"] == page.sentence
    # The codes do not depend on the language.
    assert (
        page_json(page)["status_code"]
        == page_json(public_page(_package(), [], lang="fr"))["status_code"]
    )


def test_an_estimate_is_shown_until_delivery_and_a_never_checked_package_says_so() -> None:
    page = public_page(
        _package(
            status_code="IT",
            status_detail_code=None,
            actual_delivery_date=None,
            last_checked_at=None,
            active=True,
        ),
        [],
        lang="es",
    )
    assert page.estimated_text == "3 de diciembre de 2026"
    assert (page.checked_text, page.days) == (None, ())
    assert page.sentence == "Su paquete está en camino."
    assert page.text("as_of", when="x") == "a fecha de x"


@pytest.mark.parametrize(
    ("status", "detail", "english"),
    [
        ("UN", None, "There is no news of your package yet."),
        ("UN", "TRACKING_EXPIRED", "Tracking of this package has expired; ask the carrier if it "
         "has not arrived."),
        ("NY", "SHIPMENT_CREATED", "Your package has been announced but the carrier does not "
         "have it yet."),
        ("AC", "PICKED_UP", "The carrier has your package."),
        ("IT", "HUB_SCAN_OUT", "Your package is on its way."),
        ("IT", "OUT_FOR_DELIVERY", "Your package is out for delivery."),
        ("AT", "ATTEMPTED_DELIVERY", "The carrier tried to deliver your package but could not."),
        ("SP", "DELIVERED_TO_PICKUP_POINT", "Your package is waiting for you at a pickup point."),
        ("DE", "DELIVERED", "Your package has been delivered."),
        ("EX", "HELD_BY_CARRIER", "There is a problem with the delivery of your package."),
        ("EX", "RETURN_TO_SENDER", "Your package is being returned to the sender."),
        ("XX", None, "There is no news of your package yet."),
    ],
)  # fmt: skip
def test_a_sentence_for_every_status_and_the_details_that_say_more(
    status: str, detail: str | None, english: str
) -> None:
    assert sentence(status, detail, "en") == english
    # Every language has its own sentence, never the English one.
    others = {sentence(status, detail, lang) for lang in ("de", "fr", "es")}
    assert len(others) == 3 and english not in others


def test_out_for_delivery_in_every_language() -> None:
    assert [sentence("IT", "OUT_FOR_DELIVERY", lang) for lang in ("de", "fr", "es")] == [
        "Ihre Sendung ist in der Zustellung.",
        "Votre colis est en cours de livraison.",
        "Su paquete está en reparto.",
    ]
    assert event_label("IT", "OUT_FOR_DELIVERY", "fr") == "En cours de livraison"
    assert event_label("IT", "SOMETHING_NEW", "de") == "Unterwegs"


def test_the_page_shows_the_estimate_as_of_the_last_check_until_delivery() -> None:
    in_transit = _package(
        status_code="IT",
        status_detail_code="OUT_FOR_DELIVERY",
        actual_delivery_date=None,
        active=True,
    )
    template = environment().get_template("public/package.html")

    def render(package: Subscription, lang: str) -> str:
        page = public_page(package, [HUB], lang=lang)
        return template.render(request=None, lang=lang, page=page, languages=[])

    english, german = render(in_transit, "en"), render(in_transit, "de")
    delivered = render(_package(), "en")

    assert "Your package is out for delivery." in english
    assert "Estimated delivery" in english
    assert 'December 3, 2026 <span class="muted">(as of December 3, 2026, 8:00 PM UTC)' in english
    assert "Voraussichtliche Zustellung" in german
    assert "(Stand: 3. Dezember 2026, 20:00 UTC)" in german
    assert "Tracking has ended" not in english
    # Once delivered, the delivery day replaces the estimate.
    assert "Estimated delivery" not in delivered
    assert "Delivered</dt><dd>December 3, 2026" in delivered
    for secret in HIDDEN:
        assert secret not in english + german + delivered, secret
