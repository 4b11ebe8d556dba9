"""``/v1/environment/webhooks``: where status changes are sent."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from shiptrack.api.deps import AccountDep, KeyRingDep, WebhooksDep, strict_query
from shiptrack.api.models import (
    CreatedWebhookModel,
    CreateWebhookBody,
    UpdateWebhookBody,
    WebhookHeaderModel,
    WebhookModel,
)
from shiptrack.api.responses import JSON
from shiptrack.api.routes import CONFLICT, EMPTY_204, ERRORS
from shiptrack.domain.errors import ValidationFailed
from shiptrack.domain.ids import format_id
from shiptrack.domain.webhooks import (
    KEEP,
    SIGNATURE_SCHEMES,
    Webhook,
    WebhookChanges,
    WebhookHeader,
)

router = APIRouter(prefix="/v1/environment/webhooks", tags=["webhooks"], responses=ERRORS)
#: What needs no API key: the public keys that verify signatures.
public = APIRouter(tags=["webhooks"])
_NO_QUERY = [Depends(strict_query())]


def webhook_json(webhook: Webhook) -> dict[str, Any]:
    """The ShipEngine ``webhook`` object; ``signatures`` (extension) only for a webhook that
    asked for fewer than every scheme, since ShipEngine's schema allows no other field and a
    client that never asks must not see one."""
    body: dict[str, Any] = {
        "webhook_id": format_id(webhook.id),
        "url": webhook.url,
        "event": webhook.event,
        "headers": [{"key": h.key, "value": h.value} for h in webhook.headers],
        "name": webhook.name,
        "store_id": webhook.store_id,
    }
    if webhook.signatures != SIGNATURE_SCHEMES:
        body["signatures"] = list(webhook.signatures)
    return body


def _headers(models: list[WebhookHeaderModel]) -> list[WebhookHeader]:
    return [WebhookHeader(m.key, m.value) for m in models]


@router.get(
    "",
    operation_id="list_webhooks",
    dependencies=_NO_QUERY,
    summary="List Webhooks",
    response_class=JSON,
    responses={200: {"model": list[WebhookModel]}},
)
async def list_webhooks(webhooks: WebhooksDep, account: AccountDep) -> JSON:
    """Every webhook of the account, as a bare array."""
    return JSON([webhook_json(w) for w in await webhooks.list_all(account)])


@router.post(
    "",
    operation_id="create_webhook",
    dependencies=_NO_QUERY,
    summary="Create a Webhook",
    response_class=JSON,
    responses={200: {"model": CreatedWebhookModel}, **CONFLICT},
)
async def create_webhook(
    webhooks: WebhooksDep, account: AccountDep, body: CreateWebhookBody
) -> JSON:
    """Register a URL for an event. Only `track` events are sent by shiptrack. The answer adds the
    webhook's signing `secret` (Standard Webhooks `whsec_…`) to ShipEngine's fields.
    `signatures` (extension) picks the signatures of its deliveries: `["standard"]` skips
    ShipEngine's RSA signature, the costly one; both by default."""
    webhook, secret = await webhooks.create(
        account,
        url=body.url,
        event=body.event,
        name=body.name,
        store_id=body.store_id,
        headers=_headers(body.headers),
        signatures=body.signatures,
    )
    return JSON({**webhook_json(webhook), "secret": secret})


@router.get(
    "/{webhook_id}",
    operation_id="get_webhook_by_id",
    dependencies=_NO_QUERY,
    summary="Get Webhook By ID",
    response_class=JSON,
    responses={200: {"model": WebhookModel}},
)
async def get_webhook(webhooks: WebhooksDep, account: AccountDep, webhook_id: str) -> JSON:
    """One webhook."""
    return JSON(webhook_json(await webhooks.get(account, webhook_id)))


@router.put(
    "/{webhook_id}",
    operation_id="update_webhook",
    dependencies=_NO_QUERY,
    summary="Update a Webhook",
    status_code=204,
    response_class=Response,
    responses={**EMPTY_204, **CONFLICT},
)
async def update_webhook(
    webhooks: WebhooksDep, account: AccountDep, webhook_id: str, body: UpdateWebhookBody
) -> Response:
    """Change the url, headers, name, store id or signatures; fields left out keep their value."""
    given = body.model_dump(exclude_unset=True)
    for required in ("url", "headers", "signatures"):
        if required in given and given[required] is None:
            raise ValidationFailed(f"{required} cannot be null", field_name=required)
    changes = WebhookChanges(
        url=given.get("url", KEEP),
        name=given.get("name", KEEP),
        store_id=given.get("store_id", KEEP),
        headers=tuple(_headers(body.headers)) if body.headers is not None else KEEP,
        signatures=tuple(body.signatures) if body.signatures is not None else KEEP,
    )
    await webhooks.update(account, webhook_id, changes)
    return Response(status_code=204)


@router.delete(
    "/{webhook_id}",
    operation_id="delete_webhook",
    dependencies=_NO_QUERY,
    summary="Delete Webhook By ID",
    status_code=204,
    response_class=Response,
    responses=EMPTY_204,
)
async def delete_webhook(webhooks: WebhooksDep, account: AccountDep, webhook_id: str) -> Response:
    """Remove a webhook."""
    await webhooks.delete(account, webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/secret",
    operation_id="get_webhook_secret",
    summary="Get a webhook's signing secret",
    response_class=JSON,
    dependencies=_NO_QUERY,
)
async def get_secret(webhooks: WebhooksDep, account: AccountDep, webhook_id: str) -> JSON:
    """The Standard Webhooks secret (`whsec_…`) that signs `webhook-signature`."""
    return JSON({"secret": await webhooks.secret(account, webhook_id)})


@router.post(
    "/{webhook_id}/secret/rotate",
    operation_id="rotate_webhook_secret",
    summary="Rotate a webhook's signing secret",
    response_class=JSON,
    dependencies=_NO_QUERY,
)
async def rotate_secret(webhooks: WebhooksDep, account: AccountDep, webhook_id: str) -> JSON:
    """A new secret; deliveries are signed with the new and the previous secret for
    `SHIPTRACK_WEBHOOK_SECRET_OVERLAP` seconds (a day by default), then with the new one only."""
    secret = await webhooks.rotate_secret(account, webhook_id)
    return JSON({"secret": secret, "previous_secret_valid_for": webhooks.secret_overlap})


@public.get("/jwks", operation_id="get_jwks", summary="Webhook signing keys", response_class=JSON)
async def jwks(keyring: KeyRingDep) -> JSON:
    """The public keys that verify `x-shipengine-rsa-sha256-signature` (no API key needed). A new
    key appears here before it signs anything; a replaced one stays for a grace period."""
    return JSON(await keyring.jwks(), headers={"Cache-Control": "max-age=300"})
