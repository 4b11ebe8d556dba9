"""Carrier detection: detections per second on one core, for typical numbers (target: 50,000/s).

    python -m bench.detect --seconds 1 --runs 3

Each number is detected in a tight loop for ``--seconds``, ``--runs`` times; the median rate is
reported, as a table and as JSON. The process is pinned to one CPU where the OS allows it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from bench.common import machine, median
from shiptrack.domain.detection import detect

#: name -> a number as a user pastes it.
NUMBERS = {
    "ups_1z": "1Z5R89390357567127",
    "usps_22": "9400 1112 0108 0805 4830 16",
    "fedex_12": "986578788855",
    "unknown": "HELLO-WORLD-1234",
}


def rate(number: str, seconds: float) -> float:
    """Detections of ``number`` per second over about ``seconds``."""
    batch = 1000
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            detect(number)
        done += batch
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    results: dict[str, Any] = {}
    for name, number in NUMBERS.items():
        rates = [rate(number, args.seconds) for _ in range(args.runs)]
        found = detect(number).candidates
        results[name] = {
            "number": number,
            "detections_per_s": round(median(rates)),
            "us_per_detection": round(1e6 / median(rates), 2),
            "candidates": [f"{c.format_id}:{c.confidence}" for c in found],
        }
    print(f"{'number':<10} {'detections/s':>13} {'µs':>7}  candidates")
    for name, row in results.items():
        print(
            f"{name:<10} {row['detections_per_s']:>13,} {row['us_per_detection']:>7}  "
            + (", ".join(row["candidates"]) or "-")
        )
    result = {
        "scenario": "detect",
        "machine": machine(),
        "settings": vars(args),
        "results": results,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
