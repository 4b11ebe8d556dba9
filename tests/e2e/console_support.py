"""Driving the console over plain HTTP (no browser): signing in, reading a form's CSRF token."""

from __future__ import annotations

import re

import httpx

from tests.conftest import Server, Tenant

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def console(server: Server, tenant: Tenant) -> tuple[httpx.Client, str]:
    """A client signed in to the console with the tenant's key, and the session's CSRF token."""
    client = httpx.Client(base_url=server.url, timeout=30)
    form = client.get("/console/sign-in")
    signed_in = client.post(
        "/console/sign-in", data={"csrf_token": csrf_of(form), "api_key": tenant.key}
    )
    assert signed_in.status_code == 303, signed_in.text
    page = client.get("/console/webhooks")
    assert page.status_code == 200, page.text
    return client, csrf_of(page)
