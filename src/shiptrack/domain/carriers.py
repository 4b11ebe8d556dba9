"""The carriers shiptrack can connect and track, as plain data.

A *connection code* is what a client connects and names in ``carrier_code`` (``stamps_com``); the
*tracking code* is what tracking data reports (``usps``), as ShipEngine reports a Stamps.com
package as ``usps``. Both codes find the same package.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from shiptrack.domain.errors import CarrierNotSupported


@dataclass(frozen=True, slots=True)
class CarrierKind:
    """What shiptrack knows about one connectable carrier code."""

    code: str
    friendly_name: str
    tracking_code: str
    tracking_url_template: str
    #: Credential fields a real (non-sandbox) connection must give.
    credential_fields: tuple[str, ...]
    production_url: str = ""
    #: The carrier's test host (the production host when the carrier offers none).
    test_url: str = ""

    def tracking_url(self, tracking_number: str) -> str:
        """The carrier's public tracking page for a number."""
        return self.tracking_url_template.format(tn=quote(tracking_number, safe=""))

    def api_url(self, configured: str | None) -> str:
        """The API base URL of a connection: ``production`` (the default), ``test``, or any URL
        (a proxy, or a fake carrier in tests)."""
        if configured in (None, "", "production"):
            return self.production_url
        if configured == "test":
            return self.test_url or self.production_url
        return configured.rstrip("/")


_OAUTH = ("client_id", "client_secret")
_USPS_URL = "https://tools.usps.com/go/TrackConfirmAction?tLabels={tn}"
_USPS_API = "https://apis.usps.com"

CARRIERS: dict[str, CarrierKind] = {
    kind.code: kind
    for kind in (
        CarrierKind(
            "ups",
            "UPS",
            "ups",
            "https://www.ups.com/track?tracknum={tn}",
            _OAUTH,
            "https://onlinetools.ups.com",
            "https://wwwcie.ups.com",
        ),
        CarrierKind(
            "fedex",
            "FedEx",
            "fedex",
            "https://www.fedex.com/fedextrack/?trknbr={tn}",
            _OAUTH,
            "https://apis.fedex.com",
            "https://apis-sandbox.fedex.com",
        ),
        CarrierKind(
            "usps", "USPS", "usps", _USPS_URL, _OAUTH, _USPS_API, "https://apis-tem.usps.com"
        ),
        CarrierKind(
            "stamps_com",
            "Stamps.com",
            "usps",
            _USPS_URL,
            _OAUTH,
            _USPS_API,
            "https://apis-tem.usps.com",
        ),
        CarrierKind(
            "dhl_express",
            "DHL Express",
            "dhl_express",
            "https://www.dhl.com/global-en/home/tracking.html?tracking-id={tn}",
            ("api_key",),
            "https://api-eu.dhl.com",
        ),
        CarrierKind(
            "canada_post",
            "Canada Post",
            "canada_post",
            "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={tn}",
            _OAUTH,
            "https://soa-gw.canadapost.ca",
            "https://ct.soa-gw.canadapost.ca",
        ),
        CarrierKind(
            "royal_mail",
            "Royal Mail",
            "royal_mail",
            "https://www.royalmail.com/track-your-item#/tracking-results/{tn}",
            _OAUTH,
            # The Swagger names one host for production and development: "test" is this host.
            "https://api.royalmail.net",
        ),
        CarrierKind(
            "australia_post",
            "Australia Post",
            "australia_post",
            "https://auspost.com.au/mypost/track/details/{tn}",
            # HTTP Basic (api_key:client_secret) plus the account-number header: all three needed.
            ("api_key", "client_secret", "account_number"),
            "https://digitalapi.auspost.com.au",
            "https://digitalapi.auspost.com.au/test",
        ),
        CarrierKind(
            "gls",
            "GLS",
            "gls",
            "https://gls-group.com/GROUP/en/parcel-tracking?match={tn}",
            # OAuth2 client credentials (Authentication API v2); the sandbox the specs name.
            _OAUTH,
            "https://api.gls-group.net",
            "https://api-sandbox.gls-group.net",
        ),
        CarrierKind(
            "postnl",
            "PostNL",
            "postnl",
            "https://postnl.nl/tracktrace/?B={tn}&D=NL&T=C",
            # The ShippingStatus API takes one key, in the apikey header.
            ("api_key",),
            "https://api.postnl.nl",
            "https://api-sandbox.postnl.nl",
        ),
        CarrierKind(
            "la_poste",
            "La Poste",
            "la_poste",
            "https://www.laposte.fr/outils/suivre-vos-envois?code={tn}",
            ("api_key",),
            # The Suivi spec names one server: "test" is production (test keys have low quotas).
            "https://api.laposte.fr/suivi/v2",
        ),
        # Both use DHL's Unified API with the dhl_express key; DHL has no test host for it.
        CarrierKind(
            "dhl_parcel",
            "DHL Parcel",
            "dhl_parcel",
            "https://www.dhl.com/global-en/home/tracking.html?tracking-id={tn}",
            ("api_key",),
            "https://api-eu.dhl.com",
        ),
        CarrierKind(
            "dhl_ecommerce",
            "DHL eCommerce",
            "dhl_ecommerce",
            "https://www.dhl.com/global-en/home/tracking.html?tracking-id={tn}",
            ("api_key",),
            "https://api-eu.dhl.com",
        ),
    )
}

#: Every code a client may put in ``carrier_code``: connection codes and tracking codes.
KNOWN_CODES = frozenset(CARRIERS) | {kind.tracking_code for kind in CARRIERS.values()}


def carrier_kind(code: str, *, field_name: str = "carrier_code") -> CarrierKind:
    """The carrier for a connection code, or a ``carrier_not_supported`` error naming the field."""
    try:
        return CARRIERS[code]
    except KeyError:
        supported = ", ".join(sorted(CARRIERS))
        raise CarrierNotSupported(
            f"shiptrack does not support the carrier {code[:40]!r}; supported: {supported}",
            field_name=field_name,
        ) from None


def tracking_code_for(code: str, *, field_name: str = "carrier_code") -> str:
    """The tracking code a client's ``carrier_code`` stands for (``stamps_com`` → ``usps``)."""
    if code in CARRIERS:
        return CARRIERS[code].tracking_code
    if code in KNOWN_CODES:
        return code
    carrier_kind(code, field_name=field_name)  # raises with the list of supported codes
    raise AssertionError("unreachable")
