"""Honest ceilings (issue 18): shiptrack's ``GET /v1/tracking`` and ``POST /v1/tracking/start``
against the raw-driver ceilings of ``bench/raw_ceilings.py``, in the same run, on one database.

python -m bench.ceilings --database sqlite --processes 1 --seconds 10 --runs 3
python -m bench.ceilings --database postgresql --processes 2
python -m bench.ceilings --database sqlite --cache both   (kept GET answers on and off, same run)

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


#: ``--cache``: the ``SHIPTRACK_CACHE_SECONDS`` of the shiptrack servers a run measures (``None``:
#: the default, 2 s; ``0``: every GET reads the database).
CACHE_MODES: dict[str, tuple[float | None, ...]] = {"on": (None,), "off": (0,), "both": (None, 0)}


def measure(
    kind: str, processes: int, seconds: int, runs: int, connections: int, cache: str = "on"
) -> dict[str, Any]:
    """Medians of ``runs`` runs of shiptrack and the raw ceilings, and their ratios. With
    ``cache`` ``both``, shiptrack without kept answers is ``shiptrack_nocache_*``."""
    results: dict[str, list[dict[str, float]]] = {}
    servers: list[tuple[str, float | None]] = [
        (
            "shiptrack" if cache_seconds is None or cache == "off" else "shiptrack_nocache",
            cache_seconds,
        )
        for cache_seconds in CACHE_MODES[cache]
    ]
    for run in range(runs):
        # Alternate which goes first, so that neither always meets a warmer machine.
        order = [*servers, ("ceiling", None)]
        for who, cache_seconds in order if run % 2 == 0 else reversed(order):
            if who == "ceiling":
                figures = measure_ceiling(kind, processes, seconds, connections)
            else:
                figures = measure_shiptrack(
                    kind,
                    processes,
                    seconds,
                    connections,
                    sqlite_synchronous="full",
                    metrics=True,
                    cache_seconds=cache_seconds,
                    # As the ceiling does: the read on the freshly seeded database, then the
                    # writes (10 s of starts first would leave the read a grown WAL to go through).
                    order=("get", "start"),
                )
            for name, measured in figures.items():
                results.setdefault(f"{who}_{name}", []).append(measured)
    summary: dict[str, Any] = {
        name: {field: median([r[field] for r in values]) for field in values[0]}
        for name, values in results.items()
    }
    for who, _ in servers:
        for endpoint in ("get", "start"):
            ours, ceiling = summary[f"{who}_{endpoint}"], summary[f"ceiling_{endpoint}"]
            label = endpoint if who == "shiptrack" else f"{endpoint}_nocache"
            summary[f"{label}_ratio"] = ours["rps"] / ceiling["rps"]
            summary[f"{label}_p99_ratio"] = ours["p99_ms"] / ceiling["p99_ms"]
    return {
        "scenario": "ceilings",
        "database": kind,
        "processes": processes,
        "connections": connections,
        "seconds": seconds,
        "runs": runs,
        "cache": cache,
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
    parser.add_argument(
        "--cache", choices=sorted(CACHE_MODES), default="on", help="kept GET answers (default on)"
    )
    args = parser.parse_args()
    report = measure(
        args.database, args.processes, args.seconds, args.runs, args.connections, args.cache
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
