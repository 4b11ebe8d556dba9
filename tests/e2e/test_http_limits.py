"""Requests that are too large or not HTTP at all, over raw sockets to a real ``shiptrack serve``.

Covers the header limit (16 KB in all: ``431``, exact to the byte, counted per request on a
kept-alive connection, and enforced while an endless header is still arriving), the URL limit
(8 KB: ``414``, exact to the byte; a 100 KB query string), requests llhttp refuses (a NUL or other
control character in a header, bare LF line ends, an invalid method or request line, TLS bytes on
the plain port, both ``Content-Length`` and ``Transfer-Encoding``) answered with a ShipEngine
``400``, the server serving normally right after each, ``--processes`` workers answering the
same way, and the same limits applied by the app itself under another server (uvicorn's h11).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import (
    DatabaseServer,
    Server,
    Tenant,
    assert_error,
    cli_env,
    free_port,
    make_tenant,
    run_cli,
    start_server,
)

MAX_HEADER_BYTES = 16384
MAX_URL_BYTES = 8192
FIELD_OVERHEAD = 4  # ": " and CRLF


@dataclass
class Answer:
    """One HTTP response as read off the socket."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _port(server: Server) -> int:
    port = urlsplit(server.url).port
    assert port is not None
    return port


def _read_answer(sock: socket.socket, pending: bytes = b"") -> tuple[Answer, bytes]:
    """Read one response (the server always sends Content-Length); return it and what follows."""
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a whole answer: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        rest += chunk
    return Answer(int(status_line.split()[1]), headers, rest[:length]), rest[length:]


def exchange(server: Server, request: bytes) -> Answer:
    """Send ``request`` on a fresh connection and read the answer.

    The server may answer before it has read everything (a refused request), so a failed send is
    not an error: the answer is what counts.
    """
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=30) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        answer, _ = _read_answer(sock)
        return answer


def request_bytes(
    path: str = "/health", fields: list[tuple[str, str]] | None = None, method: str = "GET"
) -> bytes:
    """A well-formed request that asks the server to close the connection after answering."""
    fields = [("Host", "shiptrack.test"), ("Connection", "close"), *(fields or [])]
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in fields)
    return head.encode("latin-1") + b"\r\n"


def header_section_bytes(fields: list[tuple[str, str]]) -> int:
    return sum(len(name) + len(value) + FIELD_OVERHEAD for name, value in fields)


def assert_refused(answer: Answer, status: int) -> None:
    """A ShipEngine error body from the HTTP layer, with its request id, and the connection
    closing."""
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["connection"] == "close"
    body = answer.json()
    assert set(body) == {"request_id", "errors"}, body
    uuid.UUID(body["request_id"])
    assert answer.headers["x-request-id"] == body["request_id"]
    errors = body["errors"]
    assert len(errors) == 1, body
    assert errors[0]["error_source"] == "shipengine"
    assert errors[0]["error_type"] == "validation"
    assert errors[0]["error_code"] == "unspecified"
    assert errors[0]["message"]


def assert_still_serving(server: Server, tenant: Tenant | None = None) -> None:
    assert exchange(server, request_bytes()).status == 200
    if tenant is not None:
        assert tenant.client.get("/v1/carriers").status_code == 200


# --- Headers -----------------------------------------------------------------------------------


def test_17_kb_of_headers_is_431_and_15_kb_passes(server: Server, tenant: Tenant) -> None:
    response = tenant.client.get("/v1/carriers", headers={"X-Filler": "a" * 17 * 1024})
    assert_error(response, 431, "unspecified", error_type="validation")
    assert "16384 bytes" in response.json()["errors"][0]["message"]

    response = tenant.client.get("/v1/carriers", headers={"X-Filler": "a" * 15 * 1024})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("extra", "status"), [(0, 200), (1, 431)], ids=["at-limit", "one-over"])
def test_the_header_limit_is_exact_to_the_byte(
    server: Server, tenant: Tenant, extra: int, status: int
) -> None:
    fields = [("Host", "shiptrack.test"), ("Connection", "close"), ("API-Key", tenant.key)]
    filler = MAX_HEADER_BYTES - header_section_bytes([*fields, ("X-Filler", "")]) + extra
    request = request_bytes("/v1/carriers", [("API-Key", tenant.key), ("X-Filler", "a" * filler)])
    answer = exchange(server, request)
    if status == 200:
        assert answer.status == 200, answer
    else:
        assert_refused(answer, 431)


def test_many_small_header_fields_count_too(server: Server) -> None:
    fields = [(f"X-{n}", "") for n in range(2000)]  # under 10 bytes each, but 2,000 of them
    assert_refused(exchange(server, request_bytes(fields=fields)), 431)
    assert_still_serving(server)


def test_the_header_limit_is_per_request_on_a_kept_alive_connection(
    server: Server, tenant: Tenant
) -> None:
    fields = [("Host", "shiptrack.test"), ("API-Key", tenant.key), ("X-Filler", "a" * 10240)]
    one = "".join(f"{name}: {value}\r\n" for name, value in fields)
    request = f"GET /v1/carriers HTTP/1.1\r\n{one}\r\n".encode()
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=30) as sock:
        rest = b""
        for _ in range(3):  # 30 KB of headers on one connection, 10 KB per request
            sock.sendall(request)
            answer, rest = _read_answer(sock, rest)
            assert answer.status == 200, answer


def test_a_header_that_never_ends_is_refused_while_it_arrives(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: shiptrack.test\r\nX-Endless: ")
        sent = 0
        sock.setblocking(False)
        answered = b""
        # The server must answer long before the header ends (it never does): it may not buffer
        # an unbounded header waiting for its end. Stop sending once it has.
        while not answered and sent < 8 * 1024 * 1024:
            try:
                sent += sock.send(b"a" * 4096)
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.002)
            with contextlib.suppress(BlockingIOError):
                answered = sock.recv(65536)
        sock.settimeout(30)
        answer, _ = _read_answer(sock, answered)
    assert_refused(answer, 431)
    assert sent < 1024 * 1024, sent
    assert_still_serving(server)


# --- The URL -----------------------------------------------------------------------------------


def test_a_100_kb_query_string_is_414(server: Server) -> None:
    answer = exchange(server, request_bytes("/v1/tracking?" + "a" * 100 * 1024))
    assert_refused(answer, 414)
    assert "8192 bytes" in answer.json()["errors"][0]["message"]
    assert_still_serving(server)


def test_5000_unknown_query_parameters_are_414(server: Server, tenant: Tenant) -> None:
    # httpx's query pair type, spelled out: a list is invariant in its items.
    params: list[tuple[str, str | int | float | bool | None]] = [
        (f"p{n}", "x") for n in range(5000)
    ]
    response = tenant.client.get("/v1/carriers", params=params)
    assert_error(response, 414, "unspecified", error_type="validation")
    assert len(response.content) < 1024


@pytest.mark.parametrize(("extra", "status"), [(0, 200), (1, 414)], ids=["at-limit", "one-over"])
def test_the_url_limit_is_exact_to_the_byte(server: Server, extra: int, status: int) -> None:
    path = "/health?q="
    path += "a" * (MAX_URL_BYTES - len(path) + extra)
    answer = exchange(server, request_bytes(path))
    if status == 200:
        assert answer.status == 200, answer
    else:
        assert_refused(answer, 414)


# --- Requests that are not HTTP/1.1 ------------------------------------------------------------

HEAD = b"GET /health HTTP/1.1\r\nHost: shiptrack.test\r\n"
MALFORMED = {
    "nul-in-header-value": HEAD + b"X-Note: a\x00b\r\n\r\n",
    "control-char-in-header-name": HEAD + b"X\x01Note: a\r\n\r\n",
    "del-in-header-value": HEAD + b"X-Note: a\x7fb\r\n\r\n",
    "bare-lf-line-ends": b"GET /health HTTP/1.1\nHost: shiptrack.test\n\n",
    "bare-cr-in-header": HEAD + b"X-Note: a\rb\r\n\r\n",
    "folded-header": HEAD + b"X-Note: a\r\n b\r\n\r\n",
    "invalid-method": b"BREW /health HTTP/1.1\r\nHost: shiptrack.test\r\n\r\n",
    "space-in-request-target": b"GET /he alth HTTP/1.1\r\nHost: shiptrack.test\r\n\r\n",
    "non-ascii-path": b"GET /h\xffealth HTTP/1.1\r\nHost: shiptrack.test\r\n\r\n",
    "tls-on-the-plain-port": bytes.fromhex("16030100f5010000f10303") + b"\x00" * 40,
    "content-length-and-chunked": b"POST /health HTTP/1.1\r\nHost: shiptrack.test\r\n"
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("request_", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_request_the_parser_refuses_gets_a_shipengine_400(
    server: Server, tenant: Tenant, request_: bytes
) -> None:
    answer = exchange(server, request_)
    assert_refused(answer, 400)
    assert_still_serving(server, tenant)


# --- Other ways of running the server ----------------------------------------------------------


@pytest.mark.slow
def test_every_process_of_serve_processes_answers_in_shipengine_format(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    env = cli_env(test_database.fresh(tmp_path), tmp_path / "data", SHIPTRACK_RUN_WORKERS="false")
    running = start_server(env, tmp_path / "server.log", serve_args=("--processes", "2"))
    try:
        # Each connection lands on one of the two processes; twenty make missing one unlikely
        # (and every answer must be the protocol's own, whichever process gave it).
        for _ in range(10):
            assert_refused(exchange(running, MALFORMED["nul-in-header-value"]), 400)
            assert_refused(exchange(running, request_bytes("/health?" + "a" * 9000)), 414)
        assert_still_serving(running)
    finally:
        running.stop()


@pytest.fixture(scope="module")
def h11_server(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The app under uvicorn's h11 protocol, which lets heads of up to 256 KB through, and with a
    64 KB URL limit: the app's own checks are all that stand in the way."""
    home = tmp_path_factory.mktemp("h11")
    env = cli_env(
        test_database.fresh(home),
        home / "data",
        SHIPTRACK_RUN_WORKERS="false",
        SHIPTRACK_RATE_LIMIT_PER_MINUTE="1000000",
        SHIPTRACK_MAX_URL_BYTES="65536",
    )
    run_cli(env, "db", "upgrade")
    port = free_port()
    log = home / "server.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "shiptrack.app:create_app", "--factory"),
                *("--http", "h11", "--h11-max-incomplete-event-size", str(256 * 1024)),
                *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
            ],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    running = Server(url=f"http://127.0.0.1:{port}", env=env, process=process, log=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{running.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        yield running
    finally:
        running.stop()


def test_under_another_server_the_app_refuses_large_heads_itself(h11_server: Server) -> None:
    response = httpx.get(f"{h11_server.url}/health", headers={"X-Filler": "a" * 17 * 1024})
    assert_error(response, 431, "unspecified", error_type="validation")
    answer = exchange(h11_server, request_bytes("/health?q=" + "a" * 70 * 1024))
    assert answer.status == 414, answer
    assert answer.json()["errors"][0]["error_code"] == "unspecified"
    assert exchange(h11_server, request_bytes("/health?q=" + "a" * 60 * 1024)).status == 200


def test_5000_unknown_query_parameters_under_a_larger_url_limit_get_a_short_answer(
    h11_server: Server,
) -> None:
    tenant = make_tenant(h11_server)
    with tenant.client:
        names = [f"p{n}" for n in range(5000)]
        response = tenant.client.get("/v1/carriers", params=[(name, "x") for name in names])
    assert_error(response, 400, "invalid_field_value", field_name="p0")
    listed = response.json()["errors"]
    assert [entry["field_name"] for entry in listed[:19]] == names[:19]
    assert listed[-1]["message"].startswith("4,981 more errors were left out")
    assert len(response.content) < 8192, len(response.content)
