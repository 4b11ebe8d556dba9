"""Render bench/results/*.json as the tables of BENCHMARKS.md.

python -m bench.report bench/results/2026-11-27-*.json

Several results of one scenario and configuration (one run each, as ``bench/compare.sh`` makes
them) are rendered as one row: every figure is the median of theirs.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any


def _api(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| database | processes | endpoint | req/s | p50 ms | p99 ms | errors | ceiling req/s "
        "| ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for d in sorted(rows, key=lambda d: (d["database"], d["processes"])):
        r = d["results"]
        for name, label in (("start", "POST /v1/tracking/start"), ("get", "GET /v1/tracking")):
            ceiling = r["composite"]["rps"]
            out.append(
                f"| {d['database']} | {d['processes']} | {label} | {r[name]['rps']:,.0f} | "
                f"{r[name]['p50_ms']:.1f} | {r[name]['p99_ms']:.1f} | {r[name]['errors']:.0f} | "
                f"{ceiling:,.0f} (composite) | {r[name]['rps'] / ceiling:.2f} |"
            )
        if "metrics_cost" in r:
            for name, label in (("start", "POST /v1/tracking/start"), ("get", "GET /v1/tracking")):
                off = r[f"{name}_metrics_off"]
                out.append(
                    f"| {d['database']} | {d['processes']} | {label}, metrics off | "
                    f"{off['rps']:,.0f} | {off['p50_ms']:.1f} | {off['p99_ms']:.1f} | "
                    f"{off['errors']:.0f} | | metrics cost {100 * r['metrics_cost'][name]:.1f} % |"
                )
        out.append(
            f"| {d['database']} | {d['processes']} | bare FastAPI 204 (framework ceiling) | "
            f"{r['bare']['rps']:,.0f} | {r['bare']['p50_ms']:.1f} | {r['bare']['p99_ms']:.1f} | "
            f"{r['bare']['errors']:.0f} | | start ÷ bare {r['start_vs_bare']:.2f} |"
        )
    return out


def _engine(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| database | carrier | refreshes/s per worker | status changes per refresh | "
        "change→webhook p50 / p99 ms | driver: single-row upserts/s | "
        "driver: SKIP LOCKED claimed rows/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in sorted(rows, key=lambda d: (d["database"], d["carrier"])):
        r, c = d["results"], d["driver_ceilings"]
        out.append(
            f"| {d['database']} | {d['carrier']} | {r['per_worker']:,.0f} | "
            f"{r['status_changes_per_refresh']:.3f} | "
            f"{r['change_to_webhook_p50_ms']:,.0f} / {r['change_to_webhook_p99_ms']:,.0f} | "
            f"{c['upserts_per_s']:,.0f} | {c['claimed_rows_per_s']:,.0f} |"
        )
    return out


def _webhooks(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| database | deliveries/s (1 dispatcher) | bare aiohttp fan-out/s | ratio | "
        "duplicates | change→receiver p50 / p99 ms at 500/s | same, one endpoint hanging |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in sorted(rows, key=lambda d: d["database"]):
        t, lat, h = d["throughput"], d["latency_at_rate"], d["latency_with_hanging_endpoint"]
        out.append(
            f"| {d['database']} | {t['deliveries_per_s']:,.0f} | {t['ceiling_per_s']:,.0f} | "
            f"{t['ratio']:.2f} | {t['duplicates']:.0f} | "
            f"{lat['p50_ms']:.0f} / {lat['p99_ms']:.0f} | "
            f"{h['p50_ms']:.0f} / {h['p99_ms']:.0f} |"
        )
    return out


def _scale(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| database | subscriptions | bytes per subscription (10 events) | claim of 200, ms | "
        "worker RSS MiB |",
        "|---|---|---|---|---|",
    ]
    for d in sorted(rows, key=lambda d: d["database"]):
        for r in d["results"]:
            out.append(
                f"| {d['database']} | {r['subscriptions']:,} | "
                f"{r['bytes_per_subscription']:,.0f} | "
                f"{r['claim_200_ms']:.1f} | {r['worker_rss_mib']:.0f} |"
            )
    scraped = [(d, r) for d in rows for r in d["results"] if "metrics_scrape_ms" in r]
    if scraped:
        out += [
            "",
            "| database | subscriptions | GET /metrics p50 ms | slowest scrape ms | "
            "database gauges read (background) ms |",
            "|---|---|---|---|---|",
        ]
        for d, r in sorted(scraped, key=lambda pair: pair[0]["database"]):
            out.append(
                f"| {d['database']} | {r['subscriptions']:,} | {r['metrics_scrape_ms']:.1f} | "
                f"{r['metrics_scrape_max_ms']:.1f} | {r['metrics_read_ms']:,.0f} |"
            )
    return out


#: What makes two results the same configuration (their figures are then merged).
_CONFIGURATION = ("scenario", "database", "processes", "carrier", "sqlite_synchronous")


def median_of(results: list[Any]) -> Any:
    """One result whose every number is the median of the results' (the rest from the first);
    lists of rows are merged row by row."""
    first = results[0]
    if isinstance(first, bool) or not isinstance(first, int | float | dict | list):
        return first
    if isinstance(first, int | float):
        return statistics.median(results)
    if isinstance(first, list):
        return [median_of([r[i] for r in results]) for i in range(len(first))]
    return {key: median_of([r[key] for r in results]) for key in first}


def merged(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results, those of one configuration merged into their median."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault(tuple(result.get(k) for k in _CONFIGURATION), []).append(result)
    return [median_of(group) for group in groups.values()]


def main() -> None:
    loaded = []
    for path in sys.argv[1:]:
        text = Path(path).read_text()
        if text.strip():
            loaded.append(json.loads(text))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for data in merged(loaded):
        by_kind.setdefault(data["scenario"], []).append(data)
    for kind, render in (
        ("api", _api),
        ("engine", _engine),
        ("webhooks", _webhooks),
        ("scale", _scale),
    ):
        if kind in by_kind:
            print(f"### {kind}\n")
            print("\n".join(render(by_kind[kind])))
            print()
    if "scaleout" in by_kind:
        print("### scaleout\n")
        print(json.dumps(by_kind["scaleout"][0], indent=2))


if __name__ == "__main__":
    main()
