"""A real ``shiptrack serve`` signs its deliveries in signing processes of its own
(``SHIPTRACK_WEBHOOK_SIGNING_PROCESSES``), and they end with it: stopped with SIGTERM, the
server stops its workers, leaves no signing process behind, and its JSON log stays one object a
line (nothing of theirs on standard error). A killed parent, a killed signing process and the
fall-back to threads: tests/integration/test_rsa_signing_processes.py."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import DatabaseServer, delivery_env, make_tenant, start_server
from tests.e2e.webhook_support import (
    create_webhook,
    jwks,
    receiving,
    send_test_event,
    verify_shipengine,
)
from tests.support import processes_end, signing_processes


def test_a_server_signs_in_its_own_processes_and_they_end_with_it(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    env = delivery_env(
        test_database.fresh(tmp_path),
        tmp_path / "data",
        SHIPTRACK_LOG_FORMAT="json",
        SHIPTRACK_LOG_LEVEL="info",
        SHIPTRACK_WEBHOOK_SIGNING_PROCESSES="2",
    )
    server = start_server(env, tmp_path / "server.log")
    tenant = make_tenant(server)
    with receiving() as receiver:
        try:
            webhook = create_webhook(tenant, receiver.url)
            send_test_event(tenant, webhook["webhook_id"])
            [request] = receiver.wait_for_requests(1, "the test event")
            keys = jwks(server)
            signers = signing_processes(server.process.pid)
        finally:
            tenant.client.close()
            server.stop()

    verify_shipengine(keys, request.headers, request.body)
    assert len(signers) == 2
    assert processes_end(signers, seconds=1)
    entries = [json.loads(line) for line in server.log.read_text().splitlines() if line.strip()]
    assert any(e["msg"] == "workers stopped" for e in entries)
