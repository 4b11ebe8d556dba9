"""The webhooks pages: the account's webhooks and their health, creating, editing and deleting
them, a test event, a new secret (shown once), and each webhook's deliveries with a redeliver
button. Every change goes through the same use cases and request models as the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from shiptrack.api.models import CreateWebhookBody, UpdateWebhookBody
from shiptrack.domain.errors import ShiptrackError, ValidationFailed
from shiptrack.domain.ids import format_id
from shiptrack.domain.webhooks import (
    KEEP,
    WEBHOOK_EVENTS,
    Webhook,
    WebhookChanges,
    WebhookHeader,
)
from shiptrack.services.deliveries import FAILURES_COUNTED
from shiptrack.web.console.auth import see_other
from shiptrack.web.console.deps import CheckedFormDep, PartsDep, SessionDep
from shiptrack.web.console.flash import (
    flash_of,
    forget_secret,
    hand_over_secret,
    read_secret,
    with_flash,
)
from shiptrack.web.console.forms_api import (
    attempt_error,
    headers_text,
    model_error_message,
    signatures_choice,
    webhook_body,
    when,
)
from shiptrack.web.console.session import ConsoleSession
from shiptrack.web.templating import render

router = APIRouter(prefix="/console/webhooks", include_in_schema=False)

#: Deliveries per page of a webhook.
PAGE_SIZE = 25
_MAX_CURSOR = 200


def _path(webhook: Webhook | str) -> str:
    webhook_id = format_id(webhook.id) if isinstance(webhook, Webhook) else webhook
    return f"/console/webhooks/{webhook_id}"


def _context(request: Request, session: ConsoleSession, **values: Any) -> dict[str, Any]:
    return {
        "session": session,
        "section": "webhooks",
        "flash": flash_of(request),
        "when": when,
        "attempt_error": attempt_error,
        "format_id": format_id,
        **values,
    }


@router.get("")
async def list_webhooks(request: Request, session: SessionDep, parts: PartsDep) -> Response:
    """The account's webhooks with their health, and the form to add one."""
    return await _list_page(request, session, parts)


async def _list_page(
    request: Request,
    session: ConsoleSession,
    parts: PartsDep,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    webhooks = await parts.webhooks.list_all(session.account)
    health = await parts.deliveries.health(session.account, webhooks)
    context = _context(
        request,
        session,
        webhooks=webhooks,
        health=health,
        capped=FAILURES_COUNTED,
        events=WEBHOOK_EVENTS,
        form=form or {"event": "track"},
        error=error,
    )
    return render(request, "console/webhooks.html", context, status_code=status_code)


@router.post("")
async def create_webhook(
    request: Request, session: SessionDep, parts: PartsDep, form: CheckedFormDep
) -> Response:
    """Create a webhook as ``POST /v1/environment/webhooks`` does; its secret is shown once on
    its page."""
    try:
        body = CreateWebhookBody.model_validate(webhook_body(form, with_event=True))
        webhook, secret = await parts.webhooks.create(
            session.account,
            url=body.url,
            event=body.event,
            name=body.name,
            store_id=body.store_id,
            headers=[WebhookHeader(h.key, h.value) for h in body.headers],
            signatures=body.signatures,
        )
    except ValidationError as error:
        return await _list_page(
            request, session, parts, form=form, error=model_error_message(error), status_code=400
        )
    except ShiptrackError as error:
        if error.status_code >= 500:
            raise
        return await _list_page(
            request, session, parts, form=form, error=error.message, status_code=error.status_code
        )
    response = see_other(with_flash(_path(webhook), "webhook-created"))
    hand_over_secret(request, response, secret, _path(webhook))
    return response


@router.get("/{webhook_id}")
async def webhook_page(
    request: Request, session: SessionDep, parts: PartsDep, webhook_id: str, cursor: str = ""
) -> Response:
    """One webhook: its health, its settings, its actions and its deliveries, failures first."""
    return await _webhook_page(request, session, parts, webhook_id, cursor=cursor)


async def _webhook_page(
    request: Request,
    session: ConsoleSession,
    parts: PartsDep,
    webhook_id: str,
    *,
    cursor: str = "",
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    if len(cursor) > _MAX_CURSOR:
        raise ValidationFailed("cursor is not a cursor this server gave out", field_name="cursor")
    found = await parts.deliveries.failures_first(
        session.account, webhook_id, limit=PAGE_SIZE, cursor=cursor or None
    )
    webhook = found.webhook
    health = (await parts.deliveries.health(session.account, [webhook]))[webhook.id]
    if form is None:
        form = {
            "url": webhook.url,
            "name": webhook.name or "",
            "store_id": "" if webhook.store_id is None else str(webhook.store_id),
            "headers": headers_text(webhook.headers),
            "signatures": signatures_choice(webhook.signatures),
        }
    context = _context(
        request,
        session,
        webhook=webhook,
        health=health,
        capped=FAILURES_COUNTED,
        page=found,
        cursor=cursor,
        form=form,
        error=error,
        secret=read_secret(request, _path(webhook)),
    )
    response = render(request, "console/webhooks_detail.html", context, status_code=status_code)
    forget_secret(request, response, _path(webhook))  # shown once
    return response


@router.post("/{webhook_id}")
async def update_webhook(
    request: Request, session: SessionDep, parts: PartsDep, form: CheckedFormDep, webhook_id: str
) -> Response:
    """Change the url, name, store id, headers and signatures as ``PUT
    /v1/environment/webhooks/{id}`` does
    (which also re-enables a disabled webhook)."""
    try:
        body = UpdateWebhookBody.model_validate(webhook_body(form, with_event=False))
        if body.url is None:
            raise ValidationFailed("url cannot be null", field_name="url")
        changes = WebhookChanges(
            url=body.url,
            name=body.name,
            store_id=body.store_id,
            headers=tuple(WebhookHeader(h.key, h.value) for h in body.headers or []),
            signatures=tuple(body.signatures) if body.signatures is not None else KEEP,
        )
        await parts.webhooks.update(session.account, webhook_id, changes)
    except ValidationError as error:
        message = model_error_message(error)
        return await _webhook_page(
            request, session, parts, webhook_id, form=form, error=message, status_code=400
        )
    except ShiptrackError as error:
        if error.status_code in (404,) or error.status_code >= 500:
            raise
        return await _webhook_page(
            request,
            session,
            parts,
            webhook_id,
            form=form,
            error=error.message,
            status_code=error.status_code,
        )
    return see_other(with_flash(_path(webhook_id), "webhook-saved"))


@router.post("/{webhook_id}/delete")
async def delete_webhook(
    session: SessionDep, parts: PartsDep, _form: CheckedFormDep, webhook_id: str
) -> Response:
    """Remove the webhook (its pending deliveries are not sent)."""
    await parts.webhooks.delete(session.account, webhook_id)
    return see_other(with_flash("/console/webhooks", "webhook-deleted"))


@router.post("/{webhook_id}/test")
async def send_test(
    session: SessionDep, parts: PartsDep, _form: CheckedFormDep, webhook_id: str
) -> Response:
    """Queue a test event, as ``POST /v1/environment/webhooks/{id}/test`` does."""
    await parts.deliveries.send_test(session.account, webhook_id)
    return see_other(with_flash(_path(webhook_id), "test-queued"))


@router.post("/{webhook_id}/rotate")
async def rotate_secret(
    request: Request, session: SessionDep, parts: PartsDep, _form: CheckedFormDep, webhook_id: str
) -> Response:
    """A new signing secret, shown once on the webhook's page."""
    secret = await parts.webhooks.rotate_secret(session.account, webhook_id)
    path = _path(await parts.webhooks.get(session.account, webhook_id))
    response = see_other(with_flash(path, "secret-rotated"))
    hand_over_secret(request, response, secret, path)
    return response


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    session: SessionDep, parts: PartsDep, _form: CheckedFormDep, webhook_id: str, delivery_id: str
) -> Response:
    """Send one delivery again with the same ``webhook-id``, as the API's redeliver does."""
    count = await parts.deliveries.redeliver(session.account, webhook_id, delivery_id)
    done = "redelivery-queued" if count else "redelivery-busy"
    return see_other(with_flash(_path(webhook_id), done))
