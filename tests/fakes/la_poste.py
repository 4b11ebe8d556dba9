"""A fake La Poste Suivi v2 API (``GET /idships/{id1,id2,…}?lang=…``), answering as the official
"Swagger SUIVI" (``shared/spec/carriers/laposte/suivi-v2-openapi.json``) documents it: one object
per id with ``lang``, ``scope``, ``returnCode`` and either a ``shipment`` (``idShip``, ``holder``,
``product``, ``isFinal``, ``entryDate``, ``deliveryDate``, ``estimDate``, ``timeline``, ``event``
newest first, ``contextData``, ``url``) or a ``returnMessage``. One id: ``200`` with an array of
one object, ``400`` (an id La Poste refuses) or ``404`` (``returnCode`` 104, not yet available)
with a bare object. Several ids: ``207`` with the per-id objects, whatever each says. Labels are
English for ``lang=en_GB`` and French otherwise (La Poste's default).

Serve it with ``tests.fakes.server.serve(la_poste.app())``; the connection's ``base_url`` is the
server's URL (the fake also answers under ``/suivi/v2``, La Poste's base path).

Key (header ``X-Okapi-Key``): :data:`API_KEY` is accepted (``fake.state["keys"]`` replaces the
accepted keys); anything else is ``401`` in the Okapi gateway's words.

Magic numbers (any other id is unknown: 104 / 404):

=====================  ==========================================================================
:data:`DELIVERED`      Colissimo (holder 4) to Brazil: declared, dropped at a post office, sorted,
                       in the destination country, out for delivery, delivered; offsets
:data:`IN_TRANSIT`     Colissimo: declared, taken in charge, sorted
:data:`PICKUP_POINT`   Colissimo: out for delivery, then waiting at a pickup point (removalPoint)
:data:`ATTEMPTED`      a registered letter (holder 1): out for delivery, not deliverable (ND1)
:data:`RETURNED`       Chronopost (holder 3): not deliverable, returned, delivered to the sender
:data:`CUSTOMS`        Colissimo from abroad (PC2): in customs, then held by customs
:data:`OVERSEAS`       dates without offsets: in Paris either side of the 25 October 2026 change,
                       and in Réunion (event ``country`` RE)
:data:`UNMAPPED`       sorted, then a newest event with a code the table does not know
:data:`INVALID`        refused as not valid: ``returnCode`` 400
:data:`BACKEND_DOWN`   ``returnCode`` 504 for this id alone
:data:`SLOW`           answers ``IN_TRANSIT``'s data after ``fake.state["delay"]`` s (2)
:data:`RATE_LIMITED`   the whole call answers 429 ``TOO_MANY_REQUESTS`` with ``Retry-After: 7``
:data:`SERVER_ERROR`   the whole call answers 500
:data:`NOT_JSON`       the whole call answers 200 with HTML
=====================  ==========================================================================

State: ``fake.state["outage"] = True`` answers 503 and ``fake.state["rate_limited"] = True`` 429
(both with ``Retry-After: 1``); ``fake.state["keys"] = set()`` refuses every key (401);
``fake.state["as"] = {number: magic}`` answers ``number`` with a magic number's data (to move a
package on); ``fake.state["max_ids"] = n`` refuses calls of more than ``n`` ids with a 400 that
names no id; ``fake.state["shown"] = {number: other}`` names ``other`` as the ``idShip`` of
``number``'s answer; ``fake.state["as_text"] = True`` gives the 207's objects as JSON texts
(the spec's 207 schema is an array of strings).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

API_KEY = "okapi-key-0001"

DELIVERED = "6A00000000001"
IN_TRANSIT = "6A00000000002"
PICKUP_POINT = "6A00000000003"
ATTEMPTED = "1K00000000004"
RETURNED = "XY000000005FR"
CUSTOMS = "CB000000006US"
OVERSEAS = "6A00000000007"
UNMAPPED = "6A00000000008"
INVALID = "BAD0000000009"
BACKEND_DOWN = "6A00000000010"
SLOW = "6A00000000011"
RATE_LIMITED = "6A00000000429"
SERVER_ERROR = "6A00000000500"
NOT_JSON = "6A00000000999"

MAX_IDS = 10
LANGS = ("fr_FR", "en_GB", "de_DE", "es_ES", "it_IT", "nl_NL")
_SOON = {"Retry-After": "1"}


def _ev(code: str, date: str, en: str, fr: str, country: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"code": code, "date": date, "label_en": en, "label_fr": fr}
    if country:
        event["country"] = country
    return event


_DECLARED = ("Your parcel will soon be handed to us.", "Votre colis va bientôt nous être confié.")
_TAKEN = ("Your parcel has been dropped off at a post office.", "Votre colis a été déposé.")
_SORTED = ("Your parcel is in transit on our platforms.", "Votre colis est en transit.")
_OUT = ("Your parcel is out for delivery.", "Votre colis est en cours de livraison.")

#: Per magic number: holder, product, extra shipment fields, events newest first.
SHIPMENTS: dict[str, tuple[int, str, dict[str, Any], list[dict[str, Any]]]] = {
    DELIVERED: (
        4,
        "Colissimo",
        {
            "isFinal": True,
            "entryDate": "2026-02-17T14:43:00+01:00",
            "deliveryDate": "2026-03-09T09:38:00+01:00",
            "estimDate": "2026-03-09T09:38:00+01:00",
            "contextData": {"originCountry": "FR", "arrivalCountry": "BR"},
        },
        [
            _ev("DI1", "2026-03-09T09:38:00+01:00", "Your parcel is delivered.", "Livré."),
            _ev("MD2", "2026-03-09T09:01:00+01:00", *_OUT),
            _ev(
                "ET3",
                "2026-02-22T16:23:00+01:00",
                "Your parcel has arrived in the recipient's country.",
                "Votre colis est arrivé dans le pays du destinataire.",
            ),
            _ev("ET1", "2026-02-17T23:13:12+01:00", *_SORTED),
            _ev("PC1", "2026-02-17T14:43:00+01:00", *_TAKEN),
            _ev("DR1", "2026-02-17T14:41:00+01:00", *_DECLARED),
        ],
    ),
    IN_TRANSIT: (
        4,
        "Colissimo",
        {"isFinal": False, "entryDate": "2026-07-01T10:00:00+02:00"},
        [
            _ev("ET1", "2026-07-01T21:30:00+02:00", *_SORTED),
            _ev("PC1", "2026-07-01T10:00:00+02:00", *_TAKEN),
            _ev("DR1", "2026-06-30T18:00:00+02:00", *_DECLARED),
        ],
    ),
    PICKUP_POINT: (
        4,
        "Colissimo",
        {
            "isFinal": False,
            "contextData": {
                "removalPoint": {"name": "Bureau de poste Lyon Bellecour", "type": "BDP"},
                "deliveryChoice": {"deliveryChoice": 2},
            },
        },
        [
            _ev(
                "AG1",
                "2026-07-03T14:05:00+02:00",
                "Your parcel is waiting for you at your pickup point.",
                "Votre colis vous attend dans votre point de retrait.",
            ),
            _ev("MD2", "2026-07-03T08:10:00+02:00", *_OUT),
            _ev("PC1", "2026-07-02T11:00:00+02:00", *_TAKEN),
        ],
    ),
    ATTEMPTED: (
        1,
        "Lettre recommandée",
        {"isFinal": False},
        [
            _ev(
                "ND1",
                "2026-07-06T11:20:00+02:00",
                "The recipient was absent; a notice has been left.",
                "Le destinataire était absent ; un avis de passage a été déposé.",
            ),
            _ev("MD2", "2026-07-06T07:45:00+02:00", *_OUT),
            _ev("PC1", "2026-07-04T16:00:00+02:00", *_TAKEN),
        ],
    ),
    RETURNED: (
        3,
        "Chrono 13",
        {"isFinal": True},
        [
            _ev(
                "DI2",
                "2026-07-10T10:00:00+02:00",
                "Your shipment has been delivered to its sender.",
                "Votre envoi a été livré à son expéditeur.",
            ),
            _ev(
                "RE1",
                "2026-07-08T09:00:00+02:00",
                "Your shipment is being returned to its sender.",
                "Votre envoi est retourné à son expéditeur.",
            ),
            _ev(
                "ND1",
                "2026-07-07T12:00:00+02:00",
                "Your shipment could not be delivered: incomplete address.",
                "Votre envoi n'a pas pu être livré : adresse incomplète.",
            ),
            _ev("PC1", "2026-07-06T18:00:00+02:00", *_TAKEN),
        ],
    ),
    CUSTOMS: (
        4,
        "Colissimo international",
        {"isFinal": False, "contextData": {"originCountry": "US", "arrivalCountry": "FR"}},
        [
            _ev(
                "DO3",
                "2026-07-12T15:00:00+02:00",
                "Your parcel is held by customs.",
                "Votre colis est retenu en douane.",
            ),
            _ev(
                "DO1",
                "2026-07-11T09:00:00+02:00",
                "Your parcel is in customs.",
                "Votre colis est en douane.",
            ),
            _ev(
                "PC2",
                "2026-07-08T10:00:00-04:00",
                "Your parcel has been taken in charge in its country of dispatch.",
                "Votre colis a été pris en charge dans le pays d'expédition.",
            ),
        ],
    ),
    OVERSEAS: (
        4,
        "Colissimo outre-mer",
        {"isFinal": False, "entryDate": "2026-10-24T18:00:00"},
        [
            _ev("MD2", "2026-10-27T07:30:00", *_OUT, country="RE"),
            _ev("ET1", "2026-10-25T02:30:00", *_SORTED),
            _ev("ET1", "2026-10-24T23:00:00", *_SORTED, country="FR"),
            _ev("PC1", "2026-10-24T18:00:00", *_TAKEN),
        ],
    ),
    UNMAPPED: (
        4,
        "Colissimo",
        {"isFinal": False},
        [
            _ev("ZZ9", "2026-07-15T10:00:00+02:00", "Something unusual.", "Quelque chose."),
            _ev("ET1", "2026-07-14T22:00:00+02:00", *_SORTED),
        ],
    ),
}


def _shipment(number: str, source: str, lang: str) -> dict[str, Any]:
    holder, product, extra, events = SHIPMENTS[source]
    english = lang == "en_GB"
    return {
        "idShip": number,
        "holder": holder,
        "product": product,
        **extra,
        "timeline": [
            {
                "id": 1,
                "shortLabel": "Taken in charge" if english else "Pris en charge",
                "status": True,
                "type": 1,
            },
        ],
        "event": [
            {
                "code": e["code"],
                "date": e["date"],
                "label": e["label_en"] if english else e["label_fr"],
                **({"country": e["country"]} if "country" in e else {}),
            }
            for e in events
        ],
        "url": f"https://www.laposte.fr/outils/suivre-vos-envois?code={number}",
    }


def _entry(number: str, source: str, lang: str) -> tuple[int, dict[str, Any]]:
    """(HTTP status alone, the per-id object)."""
    base = {"lang": lang, "scope": "open", "idShip": number}
    if source == SLOW:
        source = IN_TRANSIT
    if source in SHIPMENTS:
        return 200, {
            "lang": lang,
            "scope": "open",
            "returnCode": 200,
            "shipment": _shipment(number, source, lang),
        }
    if source == INVALID:
        message = "Le numéro que vous avez saisi n'est pas valide."
        return 400, {**base, "returnCode": 400, "returnMessage": message}
    if source == BACKEND_DOWN:
        return 504, {**base, "returnCode": 504, "returnMessage": "Service indisponible."}
    message = "Votre suivi n'est pas encore disponible."
    return 404, {**base, "returnCode": 104, "returnMessage": message}


def _gateway(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status, headers=headers)


async def _track(request: web.Request) -> web.Response:
    state: dict[str, Any] = request.app["fake"].state
    if state.get("outage"):
        return _gateway(503, "SERVICE_UNAVAILABLE", "Service unavailable", **_SOON)
    if state.get("rate_limited"):
        return _gateway(429, "TOO_MANY_REQUESTS", "max quota reached", **_SOON)
    if request.headers.get("X-Okapi-Key") not in state.get("keys", {API_KEY}):
        return _gateway(401, "UNAUTHORIZED", "Invalid or missing API key")
    lang = request.query.get("lang", "fr_FR")
    ids = [i for i in request.match_info["ids"].split(",") if i]
    if (
        lang not in LANGS
        or not ids
        or len(ids) > state.get("max_ids", MAX_IDS)
        or (request.headers.get("Accept") != "application/json")
    ):
        body = {"returnCode": 400, "returnMessage": "Requête invalide.", "lang": "fr_FR"}
        return web.json_response(body, status=400)
    aliases: dict[str, str] = state.get("as", {})
    sources = [aliases.get(i, i) for i in ids]
    if RATE_LIMITED in sources:
        return _gateway(429, "TOO_MANY_REQUESTS", "max quota reached", **{"Retry-After": "7"})
    if SERVER_ERROR in sources:
        return _gateway(500, "INTERNAL_SERVER_ERROR", "Internal error")
    if NOT_JSON in sources:
        return web.Response(text="<html>Gateway</html>", content_type="text/html")
    if SLOW in sources:
        await asyncio.sleep(float(state.get("delay", 2.0)))
    shown: dict[str, str] = state.get("shown", {})
    answers = [_entry(shown.get(i, i), s, lang) for i, s in zip(ids, sources, strict=True)]
    if len(answers) == 1:
        status, entry = answers[0]
        return web.json_response([entry] if status == 200 else entry, status=status)
    items: list[Any] = [entry for _, entry in answers]
    if state.get("as_text"):
        items = [json.dumps(item) for item in items]
    return web.json_response(items, status=207)


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    application.router.add_get("/idships/{ids}", _track)
    application.router.add_get("/suivi/v2/idships/{ids}", _track)
    return application
