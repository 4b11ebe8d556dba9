"""A database restart under ``GET`` load, end to end (issue 18), on PostgreSQL only.

A real ``shiptrack serve`` (no workers, so a tracked package's answer does not change; no GET
answer cache, ``SHIPTRACK_CACHE_SECONDS=0``, so every ``GET /v1/tracking`` reaches the database)
answers a sandbox account's tracked packages to concurrent clients that call ``GET /v1/tracking``
in a loop for the whole test, every answer recorded. While they do:

- every database connection of the server is killed (``pg_terminate_backend``), several times a
  short while apart: what a restart the pool recovers from looks like. No client notices: every
  answer is the package's same ``200`` (a read whose connection is killed under it is read again
  on a fresh one, ``Store.read_quickly``); and in any case never a ``500`` or a dropped
  connection, and once the connections are replaced every answer is the same ``200``.
- the server reaches PostgreSQL through a TCP proxy on 127.0.0.1 (``tests.fakes.tcp_proxy``) that is
  cut for a second (every connection closed, new ones refused) and restored: a real down window.
  During it answers may be ``503`` in ShipEngine's format, never ``500`` nor anything else; once
  the database has been back a moment every answer is the same ``200``.

No assertion is about time: the load waits for a number of answers, not for a clock, so a slow
machine makes the tests slower, not flaky. SQLite has no database server to restart and no
connections to kill, so these tests skip there.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import (
    DatabaseServer,
    Server,
    admin_connection,
    assert_error,
    cli_env,
    make_tenant,
)
from tests.conftest import start_server as start_shiptrack
from tests.fakes.tcp_proxy import TcpProxy, proxying
from tests.support import eventually, get_tracking, start_tracking

#: Concurrent clients calling ``GET /v1/tracking`` in a loop.
CLIENTS = 16
#: Sandbox numbers the account tracks (none is a sandbox scenario: each is a plain delivery).
NUMBERS = [f"1ZRESTARTLOAD{i:04d}" for i in range(6)]
#: How many times every connection is killed, and the pause between two kills.
KILLS, BETWEEN_KILLS = 5, 0.3
#: How long the proxy stays cut, and how long after its restore answers may still be 503.
DOWN_FOR, SETTLE = 1.0, 0.5
#: Answers the load must have had before the first disturbance, after each kill (sent after it)
#: and once the database is back.
WARM_UP = AFTER_EACH = COOL_DOWN = CLIENTS


def _needs_postgresql(test_database: DatabaseServer) -> None:
    if test_database.dialect != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite has no database server to restart and no connections to kill"
        )


# --- the load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One ``GET /v1/tracking`` of the load: when it was sent and answered (``time.monotonic``),
    its status (0: no HTTP answer at all) and body."""

    number: str
    sent: float
    answered: float
    status: int
    body: Any
    response: httpx.Response | None


@dataclass
class Load:
    """``CLIENTS`` asyncio tasks, on an event loop of their own in a thread, each calling
    ``GET /v1/tracking`` for the account's packages in turn until stopped."""

    base_url: str
    key: str
    answers: list[Answer] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    def __enter__(self) -> Load:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopping.set()
        assert self._thread is not None
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "the load did not stop"
        if self._error is not None:
            raise self._error

    def wait_for_answers(self, count: int, *, sent_after: float = 0.0) -> None:
        """Wait until ``count`` requests sent after ``sent_after`` (``time.monotonic``) have been
        answered, whatever the answers (the machine may be slow: no fixed sleep is enough)."""

        def enough() -> bool | None:
            if self._error is not None:
                raise self._error
            done = sum(1 for answer in list(self.answers) if answer.sent > sent_after)
            return True if done >= count else None

        eventually(enough, f"{count} answers to the load", every=0.02)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # re-raised in the test's thread by __exit__
            self._error = error

    async def _main(self) -> None:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(
            base_url=self.base_url, headers={"API-Key": self.key}, timeout=30, limits=limits
        ) as client:
            await asyncio.gather(*(self._client(client, offset) for offset in range(CLIENTS)))

    async def _client(self, client: httpx.AsyncClient, offset: int) -> None:
        turn = offset
        while not self._stopping.is_set():
            number = NUMBERS[turn % len(NUMBERS)]
            turn += 1
            sent = time.monotonic()
            try:
                response = await client.get(
                    "/v1/tracking", params={"carrier_code": "ups", "tracking_number": number}
                )
            except httpx.TransportError as error:
                self.answers.append(
                    Answer(number, sent, time.monotonic(), 0, repr(error), response=None)
                )
                continue
            body = response.json() if response.content else None
            self.answers.append(
                Answer(number, sent, time.monotonic(), response.status_code, body, response)
            )


def describe(answers: list[Answer], out_of: list[Answer], limit: int = 5) -> str:
    """The first few of ``answers`` (``out_of`` all the load's), for an assertion message."""
    statuses = Counter(answer.status for answer in answers)
    shown = [f"{a.number}: {a.status} {a.body!r}"[:600] for a in answers[:limit]]
    return f"{len(answers)} of {len(out_of)} answers ({dict(statuses)}), e.g.:\n" + "\n".join(shown)


def assert_200_or_503(answers: list[Answer], before: dict[str, Any]) -> None:
    """Every answer is the package's answer from ``before`` (200), or a ShipEngine-format 503."""
    unexpected = [a for a in answers if a.status not in (200, 503)]
    assert not unexpected, describe(unexpected, answers)
    changed = [a for a in answers if a.status == 200 and a.body != before[a.number]]
    assert not changed, describe(changed, answers)
    for answer in answers:
        if answer.status == 503:
            assert answer.response is not None
            assert_error(answer.response, 503, "unspecified", error_type="system")


def assert_no_500_logged(server: Server) -> None:
    """The server logged no unexpected failure (what a 500 is logged as)."""
    log = server.log.read_text()
    assert "failed unexpectedly" not in log, log[-8000:]


# --- the server --------------------------------------------------------------------------------


def start_server(database_url: str, home: Path) -> Server:
    """A server with no workers (a tracked package keeps what start stored, so its answer does
    not change) and no GET answer cache (every GET reaches the database)."""
    env = cli_env(
        database_url,
        home / "data",
        SHIPTRACK_RATE_LIMIT_PER_MINUTE="100000000",
        SHIPTRACK_RUN_WORKERS="false",
        SHIPTRACK_CACHE_SECONDS="0",
    )
    return start_shiptrack(env, home / "server.log")


def tracked_packages(server: Server) -> tuple[str, dict[str, Any]]:
    """A sandbox account with a ``track`` webhook tracking ``NUMBERS`` (UPS): its key, and each
    package's ``GET /v1/tracking`` answer before anything happens to the database."""
    tenant = make_tenant(server, sandbox=True)
    with tenant.client:
        tenant.add_track_webhook()
        for number in NUMBERS:
            start_tracking(tenant, "ups", number)
        return tenant.key, {number: get_tracking(tenant, "ups", number) for number in NUMBERS}


@dataclass
class ProxiedServer:
    server: Server
    proxy: TcpProxy


@pytest.fixture
def proxied_server(test_database: DatabaseServer, tmp_path: Path) -> Iterator[ProxiedServer]:
    """A server reaching a PostgreSQL database of its own through a TCP proxy the test cuts."""
    _needs_postgresql(test_database)
    direct = test_database.fresh(tmp_path)
    with proxying(direct) as proxy:
        running = start_server(proxy.url(direct), tmp_path)
        try:
            yield ProxiedServer(running, proxy)
        finally:
            running.stop()


async def _terminate(url: str) -> int:
    conn = await admin_connection(url, database="postgres")
    try:
        killed = await conn.fetchval(
            "SELECT count(*) FROM ("
            "  SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            "  WHERE datname = $1 AND pid <> pg_backend_pid()"
            ") AS terminated",
            make_url(url).database,
        )
        return int(killed)
    finally:
        await conn.close()


def kill_connections(server: Server) -> int:
    """Kill every connection to the server's database (its pool's); how many there were."""
    return asyncio.run(_terminate(server.env["SHIPTRACK_DATABASE_URL"]))


# --- connections killed under load ------------------------------------------------------------


@dataclass
class KilledUnderLoad:
    """What the load saw while every database connection of the server was killed, ``KILLS``
    times: each package's answer before, the load's answers, how many connections each kill hit,
    and when the last kill was (``time.monotonic``)."""

    server: Server
    before: dict[str, Any]
    answers: list[Answer]
    killed: list[int]
    last_kill: float


@pytest.fixture(scope="module")
def killed_under_load(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KilledUnderLoad]:
    """A server connected straight to a PostgreSQL database of its own, whose connections are all
    killed ``KILLS`` times, ``BETWEEN_KILLS`` apart, under ``GET /v1/tracking`` load (run once
    for the tests that read what the load saw)."""
    _needs_postgresql(test_database)
    home = tmp_path_factory.mktemp("killed")
    server = start_server(test_database.fresh(home), home)
    try:
        key, before = tracked_packages(server)
        killed = []
        with Load(server.url, key) as load:
            load.wait_for_answers(WARM_UP)
            for _ in range(KILLS):
                last_kill = time.monotonic()
                killed.append(kill_connections(server))
                time.sleep(BETWEEN_KILLS)
                # The load goes on between the kills, on the connections that replace the killed.
                load.wait_for_answers(AFTER_EACH, sent_after=last_kill)
            time.sleep(SETTLE)
            load.wait_for_answers(COOL_DOWN, sent_after=last_kill + SETTLE)
        yield KilledUnderLoad(server, before, load.answers, killed, last_kill)
    finally:
        server.stop()


def test_killed_connections_under_get_load_never_give_a_500_and_recover(
    killed_under_load: KilledUnderLoad,
) -> None:
    run = killed_under_load
    # Every kill hit the server's pooled connections (busy ones among them, under this load).
    assert all(count > 0 for count in run.killed), run.killed
    # Every answer is the package's same 200, or a ShipEngine-format 503 the client can retry:
    # never a 500, a dropped connection or anything else.
    assert_200_or_503(run.answers, run.before)
    # Once the connections have been replaced, every answer is the same 200 again.
    after = [a for a in run.answers if a.sent > run.last_kill + SETTLE]
    assert len(after) >= COOL_DOWN
    failed = [a for a in after if a.status != 200 or a.body != run.before[a.number]]
    assert not failed, describe(failed, run.answers)
    assert_no_500_logged(run.server)
    assert httpx.get(f"{run.server.url}/ready").status_code == 200
    assert run.server.process.poll() is None


def test_killed_connections_under_get_load_are_invisible(
    killed_under_load: KilledUnderLoad,
) -> None:
    # What a restart the pool recovers from should look like: no client notices at all.
    failed = [a for a in killed_under_load.answers if a.status != 200]
    assert not failed, describe(failed, killed_under_load.answers)


# --- the database down for a second -------------------------------------------------------------


def test_a_database_down_for_a_second_under_get_load_answers_503_then_recovers(
    proxied_server: ProxiedServer,
) -> None:
    server, proxy = proxied_server.server, proxied_server.proxy
    key, before = tracked_packages(server)
    with Load(server.url, key) as load:
        load.wait_for_answers(WARM_UP)
        cut = time.monotonic()
        with proxy.down():
            time.sleep(DOWN_FOR)
        restored = time.monotonic()
        time.sleep(SETTLE)
        load.wait_for_answers(COOL_DOWN, sent_after=restored + SETTLE)

    answers = load.answers
    # Before the cut and once the database has been back a moment: every answer is the same 200.
    steady = [a for a in answers if a.answered < cut or a.sent > restored + SETTLE]
    assert any(a.answered < cut for a in steady), "no answer before the cut"
    assert any(a.sent > restored + SETTLE for a in steady), "no request after the restore"
    failed = [a for a in steady if a.status != 200 or a.body != before[a.number]]
    assert not failed, describe(failed, answers)
    # Around the down window: the same 200, or a ShipEngine-format 503; never a 500.
    assert_200_or_503(answers, before)
    # The window was real: requests were refused while the database was away.
    refused = [a for a in answers if a.status == 503]
    assert refused, "no 503 while the database was down"
    assert all(cut < a.answered and a.sent < restored + SETTLE for a in refused)
    assert_no_500_logged(server)
    assert httpx.get(f"{server.url}/ready").status_code == 200
    assert server.process.poll() is None
