"""What a real ``shiptrack serve`` and ``shiptrack worker`` write to standard error (README,
Operations > Logs): in JSON, every line one object with ``ts``, ``level``, ``logger`` and ``msg``,
access lines carrying the request id the client received and the account; in text, every line of
every server process starting with a UTC timestamp, the level and the logger; start and stop lines
naming the database without its password."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from tests.conftest import DatabaseServer, cli_env, make_tenant, run_cli, start_server

TEXT_LINE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: "
)


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line parsed (a line that is not one JSON object fails the test)."""
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    for entry in entries:
        assert {"ts", "level", "logger", "msg"} <= entry.keys(), entry
    return entries


def described(database_url: str) -> str:
    """How the start line names the database: kind, user, host, port and name, no password."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:{url.database}"
    return f"postgresql://{url.username}@{url.host}:{url.port or 5432}/{url.database}"


def test_json_logs_of_a_server_one_object_a_line_with_the_request_s_fields(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    database_url = test_database.fresh(tmp_path)
    env = cli_env(
        database_url,
        tmp_path / "data",
        SHIPTRACK_LOG_FORMAT="json",
        SHIPTRACK_LOG_LEVEL="info",
        SHIPTRACK_ACCESS_LOG="true",
    )
    server = start_server(env, tmp_path / "server.log")
    tenant = make_tenant(server)
    try:
        tenant.add_track_webhook()
        started = tenant.start("ups", "1Z999AA10123456784")
        refused = httpx.get(f"{server.url}/v1/tracking", headers={"API-Key": "wrong"})
    finally:
        tenant.client.close()
        server.stop()
    entries = json_lines(server.log.read_text())

    starts = [e for e in entries if e["msg"].startswith("API process")]
    assert [e["msg"].split()[-1] for e in starts if "stopped" in e["msg"]] == ["stopped"]
    assert described(database_url) in starts[0]["msg"]
    assert "test-secret-key" not in server.log.read_text()
    access = {e["request_id"]: e for e in entries if e["logger"] == "shiptrack.access"}
    ok = access[started.headers["x-request-id"]]
    assert (ok["level"], ok["account_id"]) == ("info", tenant.account_id)
    assert (
        '"POST /v1/tracking/start?carrier_code=ups&tracking_number=1Z999AA10123456784" 204'
        in (ok["msg"])
    )
    wrong = access[refused.headers["x-request-id"]]
    assert '"GET /v1/tracking" 401' in wrong["msg"]
    assert "account_id" not in wrong
    assert any(e["logger"] == "shiptrack.worker" and e["msg"] == "workers stopped" for e in entries)
    for entry in entries:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", entry["ts"])


def test_text_logs_of_every_server_process_start_with_the_utc_time_level_and_logger(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    env = cli_env(
        test_database.fresh(tmp_path),
        tmp_path / "data",
        SHIPTRACK_LOG_LEVEL="info",
        SHIPTRACK_ACCESS_LOG="true",
    )
    server = start_server(env, tmp_path / "server.log", serve_args=("--processes", "2"))
    try:
        for _ in range(10):
            httpx.get(f"{server.url}/health")
        # Both processes say they started before they answer; give the second a moment.
        deadline = time.monotonic() + 10
        while server.log.read_text().count("API process") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert TEXT_LINE.match(line), line
    pids = {re.search(r"API process (\d+) started", line) for line in lines} - {None}
    assert len(pids) == 2
    assert any('shiptrack.access: 127.0.0.1 "GET /health" 200' in line for line in lines)


def test_a_worker_says_when_it_starts_and_stops(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    database_url = test_database.fresh(tmp_path)
    env = cli_env(database_url, tmp_path / "data", SHIPTRACK_LOG_FORMAT="json")
    env["SHIPTRACK_LOG_LEVEL"] = "info"
    run_cli(env, "db", "upgrade")
    worker = subprocess.Popen(
        [sys.executable, "-m", "shiptrack", "worker"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stderr is not None
    # SIGTERM is the worker's to handle once its workers run.
    entries = [json.loads(worker.stderr.readline())]
    while entries[-1]["msg"] != "workers started: poller, dispatcher":
        entries.append(json.loads(worker.stderr.readline()))
    worker.send_signal(signal.SIGTERM)
    _, rest = worker.communicate(timeout=30)
    assert worker.returncode == 0
    entries += json_lines(rest)
    messages = [e["msg"] for e in entries]
    assert any(
        m.startswith("worker process ")
        and m.endswith(f"started on {described(database_url)} (no HTTP)")
        for m in messages
    ), messages
    assert messages[-1].startswith("worker process ") and messages[-1].endswith(" stopped")
    assert "workers stopped" in messages
