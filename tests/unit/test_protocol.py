"""What ``shiptrack.api.protocol`` relies on in uvicorn and httptools.

The protocol subclasses uvicorn's ``HttpToolsProtocol`` and overrides some of its methods; these
tests fail when an upgrade renames or reshapes one of them, instead of the limits silently
no longer applying (an override of a method uvicorn stopped calling does nothing). The behaviour
itself is tested over real sockets in ``tests/e2e/test_http_limits.py``.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import httptools
import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from shiptrack.api.protocol import ShiptrackHttpProtocol, head_limits

#: The uvicorn methods the protocol overrides, with the parameters it expects them to take.
OVERRIDDEN = {
    "__init__": ["self", "config", "server_state", "app_state", "_loop"],
    "data_received": ["self", "data"],
    "on_message_begin": ["self"],
    "on_url": ["self", "url"],
    "on_header": ["self", "name", "value"],
    "on_headers_complete": ["self"],
    "send_400_response": ["self", "msg"],
}


@pytest.mark.parametrize("name", sorted(OVERRIDDEN))
def test_uvicorn_still_has_the_overridden_methods(name: str) -> None:
    method = getattr(HttpToolsProtocol, name)
    assert list(inspect.signature(method).parameters) == OVERRIDDEN[name]
    assert name in vars(ShiptrackHttpProtocol)


def test_uvicorn_answers_parse_errors_through_send_400_response() -> None:
    # The hook the protocol uses for every refusal, called from data_received.
    source = inspect.getsource(HttpToolsProtocol.data_received)
    assert "except httptools.HttpParserError" in source
    assert "self.send_400_response(" in source


def test_httptools_hands_a_callback_error_to_uvicorn_as_a_parser_error() -> None:
    class Refusing:
        def on_url(self, url: bytes) -> None:
            raise httptools.HttpParserError("refused")

    parser = httptools.HttpRequestParser(Refusing())
    with pytest.raises(httptools.HttpParserError):
        parser.feed_data(b"GET /x HTTP/1.1\r\n\r\n")


async def _app(scope: Any, receive: Any, send: Any) -> None:  # never called
    raise AssertionError


def test_a_protocol_has_the_attributes_it_uses() -> None:
    config = Config(app=_app, http=ShiptrackHttpProtocol)
    config.load()
    assert config.http_protocol_class is ShiptrackHttpProtocol
    loop = asyncio.new_event_loop()
    try:
        protocol = ShiptrackHttpProtocol(config, ServerState(), {}, _loop=loop)
    finally:
        loop.close()
    for attribute in ("transport", "cycle", "loop", "server_state", "parser"):
        assert hasattr(protocol, attribute), attribute
    assert isinstance(protocol.server_state.default_headers, list)
    protocol.on_message_begin()
    assert protocol.url == b""


def test_the_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    head_limits.cache_clear()
    monkeypatch.setenv("SHIPTRACK_MAX_URL_BYTES", "2048")
    monkeypatch.setenv("SHIPTRACK_MAX_HEADER_BYTES", "4096")
    try:
        limits = head_limits()
        assert (limits.url_bytes, limits.header_bytes) == (2048, 4096)
    finally:
        head_limits.cache_clear()
