"""Scenario 1: the API under load, from wrk in its own process, against its ceilings.

python -m bench.api --database sqlite --processes 1 --seconds 15 --runs 3
python -m bench.api --database sqlite --sqlite-synchronous normal   (the durability cost: compare)
python -m bench.api --database sqlite --metrics both   (the cost of metrics: on and off, same run)

``--metrics both`` measures start-tracking and GET on shiptrack with ``SHIPTRACK_METRICS=true``
and with ``false``, one after the other in each run (the order alternating from run to run), and
reports the share of throughput the instrumentation costs.
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
def ceiling_server(
    factory: str,
    database_url: str,
    processes: int,
    *,
    module: str = "bench.ceiling_apps",
    env: dict[str, str] | None = None,
) -> Iterator[Process]:
    """A ceiling app (``module:factory``) under uvicorn with shiptrack's server settings."""
    if factory == "composite":
        run_async(create_table(database_url))
    port = free_port()
    popen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"{module}:{factory}",
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
        env={**_base_env(), "CEILING_DATABASE_URL": database_url, **(env or {})},
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


#: ``--metrics``: which shiptrack servers a run measures (``SHIPTRACK_METRICS``).
METRICS_MODES = {"on": (True,), "off": (False,), "both": (True, False)}


def measure_shiptrack(
    kind: str,
    processes: int,
    seconds: int,
    connections: int,
    *,
    sqlite_synchronous: str,
    metrics: bool,
    cache_seconds: float | None = None,
    order: tuple[str, ...] = ("start", "get"),
) -> dict[str, dict[str, float]]:
    """One run of start-tracking and GET on a fresh database, with metrics on or off (and
    ``SHIPTRACK_CACHE_SECONDS`` when given; else its default), in ``order``."""
    cache = {} if cache_seconds is None else {"SHIPTRACK_CACHE_SECONDS": str(cache_seconds)}
    with database(kind) as url, tempfile.TemporaryDirectory() as home:
        env = env_for(
            url,
            Path(home),
            SHIPTRACK_RUN_WORKERS="false",
            SHIPTRACK_SQLITE_SYNCHRONOUS=sqlite_synchronous,
            SHIPTRACK_METRICS=str(metrics).lower(),
            **cache,
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
            scripts = {"start": "start_tracking.lua", "get": "get_tracking.lua"}
            return {
                name: wrk(
                    server.url,
                    script=BENCH / scripts[name],
                    connections=connections,
                    seconds=seconds,
                    env=wrk_env,
                )
                for name in order
            }


def measure(
    kind: str,
    processes: int,
    seconds: int,
    runs: int,
    connections: int,
    sqlite_synchronous: str = "full",
    metrics: str = "on",
) -> dict[str, Any]:
    """Medians of ``runs`` runs of every figure of scenario 1 on one database kind.

    ``start`` and ``get`` are shiptrack with ``metrics`` as asked (``both``: on); with ``both``,
    ``start_metrics_off`` and ``get_metrics_off`` too, measured in the same runs."""
    results: dict[str, list[dict[str, float]]] = {
        "start": [],
        "get": [],
        "composite": [],
        "bare": [],
    }
    modes = METRICS_MODES[metrics]
    for run in range(runs):
        # Alternate which server goes first, so that neither always meets a warmer machine.
        for enabled in modes if run % 2 == 0 else tuple(reversed(modes)):
            figures = measure_shiptrack(
                kind,
                processes,
                seconds,
                connections,
                sqlite_synchronous=sqlite_synchronous,
                metrics=enabled,
            )
            suffix = "" if enabled or len(modes) == 1 else "_metrics_off"
            for name, measured in figures.items():
                results.setdefault(name + suffix, []).append(measured)
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
    if len(modes) == 2:
        # The share of throughput the instrumentation costs (negative: within noise, faster).
        summary["metrics_cost"] = {
            name: 1 - summary[name]["rps"] / summary[f"{name}_metrics_off"]["rps"]
            for name in ("start", "get")
        }
    return {
        "scenario": "api",
        "database": kind,
        "processes": processes,
        "sqlite_synchronous": sqlite_synchronous,
        "metrics": metrics,
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
    parser.add_argument(
        "--metrics",
        choices=sorted(METRICS_MODES),
        default="on",
        help="SHIPTRACK_METRICS of the shiptrack server; both: on and off in the same runs",
    )
    args = parser.parse_args()
    report = measure(
        args.database,
        args.processes,
        args.seconds,
        args.runs,
        args.connections,
        args.sqlite_synchronous,
        args.metrics,
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
