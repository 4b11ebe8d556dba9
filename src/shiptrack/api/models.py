"""Request bodies (validated strictly) and response shapes (for the OpenAPI document).

Field names, types and limits follow the official ShipEngine OpenAPI schemas. Request models are
strict: a JSON number where a string belongs is an error, not a silent conversion.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

WebhookEvent = Literal[
    "batch",
    "carrier_connected",
    "order_source_refresh_complete",
    "rate",
    "report_complete",
    "sales_orders_imported",
    "track",
]
StatusCodeValue = Literal["UN", "AC", "IT", "DE", "EX", "AT", "NY", "SP"]
INT32_MAX = 2**31 - 1
SIGNATURES_FIELD = (
    "shiptrack extension: the signatures each delivery carries, `shipengine` (ShipEngine's RSA "
    "`x-shipengine-rsa-sha256-signature`) and/or `standard` (Standard Webhooks' HMAC "
    '`webhook-signature`); both when left out. `["standard"]` skips the RSA one, the costly one.'
)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class WebhookHeaderModel(_Request):
    """A custom header sent with each delivery."""

    key: str = Field(min_length=1, max_length=128, examples=["custom-key"])
    value: str = Field(max_length=1024, examples=["custom-value"])


class CreateWebhookBody(_Request):
    """``create_webhook_request_body``."""

    event: WebhookEvent
    url: str = Field(min_length=1, max_length=2048, examples=["https://example.com/hooks/track"])
    headers: list[WebhookHeaderModel] = Field(default_factory=list)
    name: str | None = Field(default=None, max_length=200, examples=["My Webhook"])
    store_id: int | None = Field(default=None, ge=0, le=INT32_MAX)
    signatures: list[str] | None = Field(
        default=None,
        max_length=8,
        description=SIGNATURES_FIELD,
        examples=[["standard"]],
    )


class UpdateWebhookBody(_Request):
    """``update_webhook_request_body``: the event of a webhook cannot change."""

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    headers: list[WebhookHeaderModel] | None = None
    name: str | None = Field(default=None, max_length=200)
    store_id: int | None = Field(default=None, ge=0, le=INT32_MAX)
    signatures: list[str] | None = Field(default=None, max_length=8, description=SIGNATURES_FIELD)


class ConnectCarrierBody(_Request):
    """Credentials of a carrier account (shiptrack's connection body, see the README)."""

    nickname: str | None = Field(default=None, min_length=1, max_length=200)
    client_id: str | None = Field(default=None, min_length=1, max_length=500)
    client_secret: str | None = Field(default=None, min_length=1, max_length=500)
    api_key: str | None = Field(default=None, min_length=1, max_length=500)
    account_number: str | None = Field(default=None, min_length=1, max_length=100)
    base_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        description="`production` (default), `test` (the carrier's test host) or any URL",
    )
    webhook_secret: str | None = Field(
        default=None,
        min_length=8,
        max_length=500,
        description="UPS and FedEx pushes: the secret they authenticate with (see the README)",
    )
    requests_per_minute: float | None = Field(
        default=None, gt=0, le=1_000_000, description="This connection's request budget"
    )
    api_version: Literal["v3", "v3r2"] | None = Field(
        default=None, description="USPS only: tracking API version (default v3r2)"
    )


# Response shapes: documentation only, the handlers build the JSON directly.


class ErrorModel(BaseModel):
    """``error``."""

    error_source: Literal["carrier", "order_source", "shipengine"]
    error_type: Literal[
        "account_status", "business_rules", "validation", "security", "system", "integrations"
    ]
    error_code: str
    message: str
    field_name: str | None = None
    carrier_id: str | None = None
    carrier_code: str | None = None


class ErrorResponseBody(BaseModel):
    """``error_response_body``."""

    request_id: str
    errors: list[ErrorModel]


class WebhookModel(BaseModel):
    """``webhook``."""

    webhook_id: str = Field(examples=["se-28529731"])
    url: str
    event: WebhookEvent
    headers: list[WebhookHeaderModel]
    name: str | None
    store_id: int | None
    signatures: list[str] | None = Field(
        default=None,
        description="shiptrack extension, present only when the webhook asked for fewer than "
        "every signature: those each delivery carries, `shipengine` (RSA, "
        "`x-shipengine-rsa-sha256-signature`) and/or `standard` (HMAC, `webhook-signature`).",
        examples=[["standard"]],
    )


class CreatedWebhookModel(WebhookModel):
    """``create_webhook_response_body`` plus the signing secret (shiptrack extension)."""

    secret: str = Field(examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class CarrierModel(BaseModel):
    """``carrier``: the fields a tracking service has to say something about."""

    carrier_id: str
    carrier_code: str
    account_number: str | None
    requires_funded_amount: bool
    balance: float
    nickname: str
    friendly_name: str
    funding_source_id: str | None
    primary: bool
    has_multi_package_supporting_services: bool
    allows_returns: bool
    supports_label_messages: bool
    disabled_by_billing_plan: bool
    services: list[dict[str, object]]
    packages: list[dict[str, object]]
    options: list[dict[str, object]]
    send_rates: bool
    supports_user_managed_rates: bool
    connection_status: Literal["pending_approval", "approved"]


class CarriersResponse(BaseModel):
    """``get_carriers_response_body``."""

    carriers: list[CarrierModel]
    request_id: str
    errors: list[ErrorModel]


class ConnectCarrierResponse(BaseModel):
    """The id of the new connection."""

    carrier_id: str


class TrackEventModel(BaseModel):
    """``track_event``."""

    occurred_at: str | None
    carrier_occurred_at: str | None
    description: str | None
    city_locality: str | None
    state_province: str | None
    postal_code: str | None
    country_code: str | None
    company_name: str | None
    signer: str | None
    event_code: str | None
    carrier_detail_code: str | None
    status_code: StatusCodeValue
    status_detail_code: str | None
    status_description: str | None
    status_detail_description: str | None
    carrier_status_code: str | None
    carrier_status_description: str | None
    latitude: float | None
    longitude: float | None
    proof_of_delivery_url: str | None


class TrackingInformationModel(BaseModel):
    """``get_tracking_log_response_body``."""

    tracking_number: str
    tracking_url: str
    status_code: StatusCodeValue
    status_detail_code: str | None
    status_description: str | None
    status_detail_description: str | None
    carrier_code: str
    carrier_id: int
    carrier_status_code: str | None
    carrier_detail_code: str | None
    carrier_status_description: str | None
    ship_date: str | None
    estimated_delivery_date: str | None
    actual_delivery_date: str | None
    exception_description: str | None
    events: list[TrackEventModel]
    public_url: str | None = Field(
        description="shiptrack extension (ShipEngine clients ignore it): the package's public "
        "tracking page, `{SHIPTRACK_PUBLIC_BASE_URL}/t/{token}`, which anyone with the link may "
        "open without a key; null for a package looked up live (not tracked)",
        examples=["https://track.example.com/t/3q2-7wVzQ0mJb1xk9Yc4aA"],
    )
