"""Scenario 5: scale-out on PostgreSQL: 1 vs 2 worker processes, 1 vs 2 API processes.

    python -m bench.scaleout --packages 20000 --runs 3

Worker throughput comes from scenario 2's harness (fake carrier over real HTTP), API throughput from
scenario 1's (wrk, start-tracking); afterwards the database is searched for duplicates: two status
changes of one package with the same sequence, one scan stored twice in a package's history, two
outbox rows for one change and one webhook (the constraints and row locks forbid them; the check
proves nothing slipped through).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import httpx

from bench import api, engine
from bench.common import BENCH_DIR, cli, database, env_for, machine, median, shiptrack_server, wrk

DUPLICATES = {
    "status_changes": "SELECT count(*) FROM (SELECT subscription_id, sequence FROM status_changes "
    "GROUP BY 1, 2 HAVING count(*) > 1) d",
    "deliveries": "SELECT count(*) FROM (SELECT webhook_id, status_change_id FROM deliveries "
    "GROUP BY 1, 2 HAVING count(*) > 1) d",
}


def api_throughput(processes: int, seconds: int) -> float:
    with database("postgresql") as url, tempfile.TemporaryDirectory() as home:
        env = env_for(url, Path(home), SHIPTRACK_RUN_WORKERS="false")
        cli(env, "db", "upgrade")
        key = api.prepare_account(env)
        with shiptrack_server(env, processes=processes) as server:
            httpx.post(
                server.url + "/v1/environment/webhooks",
                headers={"API-Key": key},
                json={"event": "track", "url": "https://receiver.invalid/hook"},
            ).raise_for_status()
            result = wrk(
                server.url,
                script=BENCH_DIR / "start_tracking.lua",
                seconds=seconds,
                env={"BENCH_KEY": key},
            )
            return float(result["rps"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workers = {
        n: [
            engine.run_once("postgresql", "usps", args.packages, n, duplicates=DUPLICATES)
            for _ in range(args.runs)
        ]
        for n in (1, 2)
    }
    apis = {n: [api_throughput(n, args.seconds) for _ in range(args.runs)] for n in (1, 2)}
    one = median([r["refreshes_per_s"] for r in workers[1]])
    two = median([r["refreshes_per_s"] for r in workers[2]])
    result = {
        "scenario": "scaleout",
        "database": "postgresql",
        "machine": machine(),
        "settings": vars(args),
        "workers": {"1": one, "2": two, "ratio": two / one},
        "api": {
            "1": median(apis[1]),
            "2": median(apis[2]),
            "ratio": median(apis[2]) / median(apis[1]),
        },
        "duplicates": {
            name: max(r["duplicates"][name] for runs in workers.values() for r in runs)
            for name in workers[1][0]["duplicates"]
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
