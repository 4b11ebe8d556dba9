"""How the head of a request is measured against its limits, and what a client is told beyond them.

The limits themselves are settings (``SHIPTRACK_MAX_URL_BYTES``, ``SHIPTRACK_MAX_HEADER_BYTES``);
``api.protocol`` applies them as the request arrives and ``api.edge`` again for a server that
does not.
"""

from __future__ import annotations

from shiptrack.domain.errors import HeadersTooLarge, UriTooLong

#: What a header field costs beyond its name and value: ``": "`` and the CRLF that ends it, so
#: that a flood of empty fields is not free.
FIELD_OVERHEAD = 4


def field_bytes(name: bytes, value: bytes) -> int:
    """What one header field counts towards the header limit."""
    return len(name) + len(value) + FIELD_OVERHEAD


def url_too_long(limit: int) -> UriTooLong:
    """The ``414`` for a URL over ``limit`` bytes."""
    return UriTooLong(
        f"The URL (path and query string) is longer than the {limit} bytes this server accepts"
    )


def headers_too_large(limit: int) -> HeadersTooLarge:
    """The ``431`` for a header section over ``limit`` bytes."""
    return HeadersTooLarge(
        f"The request's header fields are larger than the {limit} bytes this server accepts "
        f"(each field counted as its name, its value and {FIELD_OVERHEAD} bytes)"
    )
