"""Honest ceilings (issue 18): shiptrack's ``GET /v1/tracking`` and ``POST /v1/tracking/start``
against the raw-driver ceilings of ``bench/raw_ceilings.py``, in the same run, on one database.

python -m bench.ceilings --database sqlite --processes 1 --seconds 10 --runs 3
python -m bench.ceilings --database postgresql --processes 2

Each run measures shiptrack (a fresh database, 200 packages, wrk 2 threads x 64 connections on
each endpoint), then the raw ceiling app on a fresh database of its own with the same load. The
report gives the medians of each figure and, per endpoint, shiptrack's throughput divided by the
ceiling's and shiptrack's p99 divided by the ceiling's p99. Targets (issue 18): GET >= 0.5 of the
ceiling with p99 <= 2x; start >= 0.7.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bench.api import ceiling_server, measure_shiptrack
from bench.common import BENCH_DIR, database, machine, median, wrk
from bench.raw_ceilings import COUNT, PREFIX, seed

KEY = "raw-ceiling-key"


def measure_ceiling(kind: str, processes: int, seconds: int, connections: int) -> dict[str, Any]:
    """One run of the raw ceilings: the read, then the write."""
    with database(kind) as url:
        seed(url)
        env = {"CEILING_KEY": KEY}
        with ceiling_server("app", url, processes, module="bench.raw_ceilings", env=env) as app:
            read_env = {"BENCH_KEY": KEY, "BENCH_PREFIX": PREFIX, "BENCH_COUNT": str(COUNT)}
            return {
                "get": wrk(
                    app.url,
                    script=BENCH_DIR / "get_tracking.lua",
                    connections=connections,
                    seconds=seconds,
                    env=read_env,
                ),
                "start": wrk(
                    app.url,
                    script=BENCH_DIR / "bare_start.lua",
                    connections=connections,
                    seconds=seconds,
                ),
            }


def measure(kind: str, processes: int, seconds: int, runs: int, connections: int) -> dict[str, Any]:
    """Medians of ``runs`` runs of shiptrack and the raw ceilings, and their ratios."""
    results: dict[str, list[dict[str, float]]] = {}
    for run in range(runs):
        # Alternate which goes first, so that neither always meets a warmer machine.
        order = ("shiptrack", "ceiling") if run % 2 == 0 else ("ceiling", "shiptrack")
        for who in order:
            if who == "shiptrack":
                figures = measure_shiptrack(
                    kind,
                    processes,
                    seconds,
                    connections,
                    sqlite_synchronous="full",
                    metrics=True,
                )
            else:
                figures = measure_ceiling(kind, processes, seconds, connections)
            for name, measured in figures.items():
                results.setdefault(f"{who}_{name}", []).append(measured)
    summary: dict[str, Any] = {
        name: {field: median([r[field] for r in values]) for field in values[0]}
        for name, values in results.items()
    }
    for endpoint in ("get", "start"):
        ours, ceiling = summary[f"shiptrack_{endpoint}"], summary[f"ceiling_{endpoint}"]
        summary[f"{endpoint}_ratio"] = ours["rps"] / ceiling["rps"]
        summary[f"{endpoint}_p99_ratio"] = ours["p99_ms"] / ceiling["p99_ms"]
    return {
        "scenario": "ceilings",
        "database": kind,
        "processes": processes,
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
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    report = measure(args.database, args.processes, args.seconds, args.runs, args.connections)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
