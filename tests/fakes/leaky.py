"""A host that is not a carrier but gets called as one (an internal service behind a ``base_url``):
whatever it answers carries :data:`SECRET`, which shiptrack must never repeat to a client.

``state["token"]``: ``"ok"`` (the default: a token, so the connection can be made), ``"500"``
(an error page with the secret) or ``"html"`` (a 200 page with the secret). ``state["answer"]``,
for every other request: ``"html"`` (the default), ``"500"``, or ``"json-error"`` (a 400 whose JSON
carries the secret in the error shapes of UPS, USPS, FedEx, DHL and La Poste at once).
"""

from __future__ import annotations

from aiohttp import web

SECRET = "internal-secret-7d1f0c"
_PAGE = f"<html><body>admin console: {SECRET}</body></html>"


def _error(status: int) -> web.Response:
    return web.Response(status=status, text=_PAGE, content_type="text/html")


async def _token(request: web.Request) -> web.Response:
    behaviour = request.app["fake"].state.get("token", "ok")
    if behaviour == "500":
        return _error(500)
    if behaviour == "html":
        return _error(200)
    return web.json_response({"access_token": "t", "token_type": "Bearer", "expires_in": 3599})


async def _anything(request: web.Request) -> web.Response:
    behaviour = request.app["fake"].state.get("answer", "html")
    if behaviour == "500":
        return _error(500)
    if behaviour == "json-error":
        detail = {"code": SECRET, "message": SECRET}
        return web.json_response(
            {
                "response": {"errors": [detail]},  # UPS
                "error": {**detail, "errors": [detail]},  # USPS
                "errors": [detail],  # FedEx
                "title": SECRET,  # DHL (problem+json)
                "detail": SECRET,
                "returnCode": 400,  # La Poste
                "returnMessage": SECRET,
            },
            status=400,
        )
    return _error(200)


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    for path in (
        "/oauth2/v3/token",
        "/security/v1/oauth/token",
        "/oauth/token",
        "/oauth2/v2/token",  # GLS
    ):
        application.router.add_post(path, _token)
    application.router.add_route("*", "/{tail:.*}", _anything)
    return application
