"""The HTTP/1.1 protocol ``shiptrack serve`` runs: uvicorn's httptools protocol with bounds, and
ShipEngine-format answers for requests that never reach the app.

uvicorn's ``HttpToolsProtocol`` puts no limit on the request line or the headers, and answers a
request llhttp cannot parse (a NUL in a header value, bare LF line ends, an invalid method) with a
plain-text ``400 Invalid HTTP request received.``. This subclass, handed to uvicorn as its ``http``
protocol class (its documented extension point; ``--processes`` workers import it the same way):

- counts the bytes of the URL as llhttp hands them over (``on_url``) and answers ``414`` beyond
  ``SHIPTRACK_MAX_URL_BYTES``;
- counts every header field as its name, its value and 4 bytes (``": "`` and CRLF) and answers
  ``431`` beyond ``SHIPTRACK_MAX_HEADER_BYTES``. httptools joins the pieces of one field before
  it calls ``on_header``, so whole reads that end inside a head are counted too: a single endless
  header is refused as it arrives, not buffered without end;
- answers a request llhttp refuses (uvicorn's ``send_400_response`` hook) with a ``400``.

Each answer is a ShipEngine error body with a fresh ``request_id``, also in ``x-request-id``, and
closes the connection (the rest of what the client sent cannot be trusted to frame a next request).
It depends on uvicorn internals named in ``tests/unit/test_protocol.py``, which fails if an upgrade
renames them; ``pyproject.toml`` pins the versions it was checked against.
"""

from __future__ import annotations

import asyncio
import functools
import http
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from shiptrack.api.responses import REQUEST_ID_HEADER, error_payload, new_request_id
from shiptrack.domain.errors import MalformedRequest, ShiptrackError
from shiptrack.domain.limits import field_bytes, headers_too_large, url_too_long
from shiptrack.settings import Settings

#: After a refusal, how long and how much more of the request is read and dropped before the
#: connection closes. Closing with unread data makes the kernel send a reset, which can destroy
#: the answer before the client reads it (a 100 KB URL is still arriving when it is refused).
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 1024 * 1024
#: Room for the method, the HTTP version and the line ends of the request line and the head.
_REQUEST_LINE_OVERHEAD = 64


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """How large the head of a request may be."""

    url_bytes: int
    header_bytes: int

    @property
    def raw_head_bytes(self) -> int:
        """The most bytes a head within both limits can take on the wire (give or take optional
        whitespace, which no client sends in bulk)."""
        return self.url_bytes + self.header_bytes + _REQUEST_LINE_OVERHEAD


@functools.cache
def head_limits() -> HeadLimits:
    """The limits of this process, read once from the settings (``serve`` has checked them)."""
    settings = Settings()
    return HeadLimits(url_bytes=settings.max_url_bytes, header_bytes=settings.max_header_bytes)


class _Refused(httptools.HttpParserError):
    """Stops llhttp from a callback; uvicorn then calls :meth:`send_400_response`."""


class ShiptrackHttpProtocol(HttpToolsProtocol):
    """See the module docstring."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._limits = head_limits()
        self._refusal: ShiptrackError | None = None
        self._url_bytes = 0
        self._header_bytes = 0
        # Between on_message_begin and on_headers_complete, and how many heads have ended, so that
        # data_received can tell a read that lay wholly inside one head.
        self._in_head = False
        self._heads_ended = 0
        self._raw_head_bytes = 0
        # Set once a refusal was sent: what still arrives is dropped (see _LINGER_SECONDS).
        self._dropped: int | None = None

    def data_received(self, data: bytes) -> None:
        """Parse ``data`` (uvicorn), then bound a head that has not ended yet."""
        if self._dropped is not None:
            self._dropped += len(data)
            if self._dropped > _LINGER_BYTES:
                self.transport.close()
            return
        was_in_head, heads_ended = self._in_head, self._heads_ended
        super().data_received(data)
        answered = self._dropped is not None or self.transport.is_closing()
        if answered or not (was_in_head and self._in_head and heads_ended == self._heads_ended):
            return
        # All of this read belongs to the head under way, which httptools is buffering.
        self._raw_head_bytes += len(data)
        if self._raw_head_bytes > self._limits.raw_head_bytes:
            self._answer(headers_too_large(self._limits.header_bytes))

    def on_message_begin(self) -> None:
        """A new request: its head starts empty."""
        super().on_message_begin()
        self._url_bytes = self._header_bytes = self._raw_head_bytes = 0
        self._in_head = True

    def on_url(self, url: bytes) -> None:
        """Count the URL's bytes (llhttp may hand it over in pieces)."""
        self._url_bytes += len(url)
        if self._url_bytes > self._limits.url_bytes:
            self._refuse(url_too_long(self._limits.url_bytes))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count one header field."""
        self._header_bytes += field_bytes(name, value)
        if self._header_bytes > self._limits.header_bytes:
            self._refuse(headers_too_large(self._limits.header_bytes))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """The head ended within the limits; uvicorn starts the app."""
        self._in_head = False
        self._heads_ended += 1
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request llhttp refused (or a callback here stopped)."""
        del msg  # uvicorn's plain-text reason: the answer is ShipEngine's JSON instead
        refusal, self._refusal = self._refusal, None
        self._answer(
            refusal
            or MalformedRequest(
                "The request is not valid HTTP/1.1 (llhttp refused it: a control character in a "
                "header, line ends other than CRLF, an invalid method or request line, …)"
            )
        )

    def _refuse(self, error: ShiptrackError) -> None:
        self._refusal = error
        raise _Refused(error.message)

    def _answer(self, error: ShiptrackError) -> None:
        """Send ``error`` in ShipEngine's format and end the connection."""
        if self.cycle is not None and not self.cycle.response_complete:
            # An earlier request on this connection is still being answered: a second answer
            # now would be spliced into its response.
            self.transport.close()
            return
        request_id = new_request_id()
        body = error_payload(error, request_id)
        status = http.HTTPStatus(error.status_code)
        head = [f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode("ascii")]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            f"{REQUEST_ID_HEADER}: {request_id}\r\n".encode("ascii"),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        # Half-close: the client reads the answer to its end, while the rest of its request is
        # read and dropped for a moment (the connection ends when the client closes its side).
        self.transport.write_eof()
        self._dropped = 0
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)
