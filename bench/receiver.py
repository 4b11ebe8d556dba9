"""A fast webhook receiver for the benchmarks: answers 204 (or hangs, for one path) and keeps, per
delivery, when it arrived and how long after the change it reports (``detected_at``).

It stands for the merchant's endpoint, which in production runs on another machine; here it
shares the dispatcher's two cores, so it is written on asyncio's protocol layer and httptools'
parser (the same parser uvicorn uses) rather than a web framework: every microsecond it spends is
a microsecond the dispatcher under test does not get. (It was an aiohttp app until 2026-12-05:
33.5 µs of CPU per request against 8 µs now; BENCHMARKS 0i.)

    python -m bench.receiver PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime
from typing import cast

import httptools

received: list[tuple[str, float, float | None]] = []

_NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


def _json_response(value: object) -> bytes:
    body = json.dumps(value).encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _stats() -> bytes:
    latencies = sorted(now - d for _, now, d in received if d is not None)
    ids = [i for i, _, _ in received]
    return _json_response(
        {
            "count": len(received),
            "unique": len(set(ids)),
            "first": received[0][1] if received else None,
            "last": received[-1][1] if received else None,
            "latencies": latencies,
        }
    )


class Receiver(asyncio.Protocol):
    """One connection: HTTP/1.1 requests kept alive, answered in order."""

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.webhook_id = b""
        self.body: list[bytes] = []
        self.last_header = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    # httptools' callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.webhook_id = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"webhook-id":
            self.webhook_id = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        path, _, query = self.url.partition(b"?")
        if path == b"/hook":
            now = time.time()
            detected: float | None = None
            if b"latency=1" in query:
                detected_at = json.loads(b"".join(self.body)).get("detected_at")
                if detected_at:
                    detected = datetime.fromisoformat(detected_at).timestamp()
            received.append((self.webhook_id.decode(), now, detected))
            self.transport.write(_NO_CONTENT)
        elif path == b"/hang":
            return  # never answered: the connection stays open until the client gives up
        elif path == b"/stats":
            self.transport.write(_stats())
        elif path == b"/reset":
            received.clear()
            self.transport.write(_NO_CONTENT)
        else:
            self.transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Receiver, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(int(sys.argv[1])))
    else:
        uvloop.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
