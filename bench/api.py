"""Scenario 1: the API under load, from wrk in its own process, against its ceilings.

python -m bench.api --database sqlite --processes 1 --seconds 15 --runs 3
python -m bench.api --database sqlite --sqlite-synchronous normal   (the durability cost: compare)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.ceiling_apps import create_table
from bench.common import (
    BENCH_DIR,
    ROOT,
    Process,
    cli,
    database,
    env_for,
    free_port,
    machine,
    median,
    run_async,
    shiptrack_server,
    wait_healthy,
    wrk,
)

BENCH = BENCH_DIR


@contextmanager
def ceiling_server(factory: str, database_url: str, processes: int) -> Iterator[Process]:
    """A ceiling app under uvicorn with shiptrack's server settings."""
    if factory == "composite":
        run_async(create_table(database_url))
    port = free_port()
    popen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"bench.ceiling_apps:{factory}",
            "--factory",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
            "--workers",
            str(processes),
        ],
        cwd=ROOT,
        env={**_base_env(), "CEILING_DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    process = Process(popen, f"http://127.0.0.1:{port}")
    try:
        wait_healthy(process.url, popen, path="/docs")
        yield process
    finally:
        process.stop()


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("SHIPTRACK_")}


def prepare_account(env: dict[str, str]) -> str:
    """A sandbox account (simulated carriers connected) with a ``track`` webhook; its key."""
    return cli(env, "account", "create", "--name", "bench", "--sandbox").strip().splitlines()[-1]


def measure(
    kind: str,
    processes: int,
    seconds: int,
    runs: int,
    connections: int,
    sqlite_synchronous: str = "full",
) -> dict[str, Any]:
    """Medians of ``runs`` runs of every figure of scenario 1 on one database kind."""
    results: dict[str, list[dict[str, float]]] = {
        "start": [],
        "get": [],
        "composite": [],
        "bare": [],
    }
    for _ in range(runs):
        with database(kind) as url, tempfile.TemporaryDirectory() as home:
            env = env_for(
                url,
                Path(home),
                SHIPTRACK_RUN_WORKERS="false",
                SHIPTRACK_SQLITE_SYNCHRONOUS=sqlite_synchronous,
            )
            cli(env, "db", "upgrade")
            key = prepare_account(env)
            with shiptrack_server(env, processes=processes) as server:
                hook = httpx.post(
                    server.url + "/v1/environment/webhooks",
                    headers={"API-Key": key},
                    json={"event": "track", "url": "https://receiver.invalid/hook"},
                )
                hook.raise_for_status()
                prefix = "G"
                for i in range(1, 201):
                    httpx.post(
                        server.url + "/v1/tracking/start",
                        params={"carrier_code": "ups", "tracking_number": f"{prefix}{i:09d}"},
                        headers={"API-Key": key},
                    ).raise_for_status()
                wrk_env = {"BENCH_KEY": key, "BENCH_PREFIX": prefix, "BENCH_COUNT": "200"}
                results["start"].append(
                    wrk(
                        server.url,
                        script=BENCH / "start_tracking.lua",
                        connections=connections,
                        seconds=seconds,
                        env=wrk_env,
                    )
                )
                results["get"].append(
                    wrk(
                        server.url,
                        script=BENCH / "get_tracking.lua",
                        connections=connections,
                        seconds=seconds,
                        env=wrk_env,
                    )
                )
        with database(kind) as url, ceiling_server("composite", url, processes) as ceiling:
            results["composite"].append(
                wrk(
                    ceiling.url,
                    script=BENCH / "bare_start.lua",
                    connections=connections,
                    seconds=seconds,
                )
            )
        with ceiling_server("bare", "", processes) as ceiling:
            results["bare"].append(
                wrk(
                    ceiling.url,
                    script=BENCH / "bare_start.lua",
                    connections=connections,
                    seconds=seconds,
                )
            )
    # Per setup, the median of each figure; then the ratios between setups.
    summary: dict[str, Any] = {
        name: {field: median([r[field] for r in values]) for field in values[0]}
        for name, values in results.items()
    }
    summary["start_vs_composite"] = summary["start"]["rps"] / summary["composite"]["rps"]
    summary["start_vs_bare"] = summary["start"]["rps"] / summary["bare"]["rps"]
    return {
        "scenario": "api",
        "database": kind,
        "processes": processes,
        "sqlite_synchronous": sqlite_synchronous,
        "connections": connections,
        "seconds": seconds,
        "runs": runs,
        "machine": machine(),
        "results": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--sqlite-synchronous",
        choices=["full", "normal"],
        default="full",
        help="SHIPTRACK_SQLITE_SYNCHRONOUS of the shiptrack server (the ceilings keep full)",
    )
    args = parser.parse_args()
    report = measure(
        args.database,
        args.processes,
        args.seconds,
        args.runs,
        args.connections,
        args.sqlite_synchronous,
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
