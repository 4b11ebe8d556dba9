"""Medians of bench/compare.sh's alternating runs, the two checkouts side by side.

python -m bench.compare OUT_DIR

Each row is one figure of one scenario: the median over the rounds for each checkout, the ratio
after ÷ before, and the spread of each side's runs (lowest to highest), which is what "beyond noise"
is judged against.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Figure = Callable[[dict[str, Any]], float | None]


def _of_sign_bound(result: dict[str, Any]) -> float | None:
    """Deliveries per second over the sign-only loop's, when the RSA signature was made (with
    ``["standard"]`` the bound is an HMAC's and says nothing)."""
    if result["settings"].get("signatures", "both") == "standard":
        return None
    return float(result["throughput"]["of_sign_bound"])


# The figures each scenario kind is judged by.
FIGURES: dict[str, list[tuple[str, Figure]]] = {
    "api": [
        ("start req/s", lambda d: d["results"]["start"]["rps"]),
        ("start p99 ms", lambda d: d["results"]["start"]["p99_ms"]),
        ("GET req/s", lambda d: d["results"]["get"]["rps"]),
        ("GET p99 ms", lambda d: d["results"]["get"]["p99_ms"]),
    ],
    "engine": [
        ("refreshes/s", lambda d: d["results"]["per_worker"]),
        ("change→webhook p99 ms", lambda d: d["results"]["change_to_webhook_p99_ms"]),
    ],
    "webhooks": [
        ("deliveries/s", lambda d: d["throughput"]["deliveries_per_s"]),
        ("of the sign bound", _of_sign_bound),
        ("p99 ms at 500/s", lambda d: d["latency_at_rate"]["p99_ms"]),
        ("p99 ms, one hanging", lambda d: d["latency_with_hanging_endpoint"]["p99_ms"]),
    ],
    "scaleout": [
        ("1 worker refreshes/s", lambda d: d["workers"]["1"]),
        ("2 workers refreshes/s", lambda d: d["workers"]["2"]),
        ("API 1 process req/s", lambda d: d["api"]["1"]),
        ("API 2 processes req/s", lambda d: d["api"]["2"]),
    ],
}

RESULT_NAME = re.compile(r"^(?P<scenario>.+)-(?P<side>before|after)-(?P<round>\d+)\.json$")


def load(out_dir: Path) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Results by scenario name, then by side ("before" or "after")."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for path in sorted(out_dir.glob("*.json")):
        match = RESULT_NAME.match(path.name)
        text = path.read_text()
        if match is None or not text.strip():
            continue
        sides = runs.setdefault(match["scenario"], {})
        sides.setdefault(match["side"], []).append(json.loads(text))
    return runs


def _figures(runs: list[dict[str, Any]], figure: Figure) -> list[float] | None:
    """The figure of every run, or ``None`` when a run does not have it (a throughput-only run
    has no latency)."""
    try:
        values = [figure(d) for d in runs]
    except KeyError:
        return None
    return None if any(v is None for v in values) else [float(v) for v in values if v is not None]


def _number(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:,.0f}"


def rows(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> list[str]:
    """One markdown row per figure of every scenario both checkouts ran."""
    out = [
        "| scenario | figure | before | after | after ÷ before | before runs | after runs |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, sides in runs.items():
        if "before" not in sides or "after" not in sides:
            continue
        kind = sides["after"][0]["scenario"]
        for label, figure in FIGURES.get(kind, []):
            before = _figures(sides["before"], figure)
            after = _figures(sides["after"], figure)
            if not before or not after:
                continue
            b, a = statistics.median(before), statistics.median(after)
            out.append(
                f"| {name} | {label} | {_number(b)} | {_number(a)} | {a / b:.2f} | "
                f"{_number(min(before))} to {_number(max(before))} | "
                f"{_number(min(after))} to {_number(max(after))} |"
            )
    return out


def main() -> None:
    print("\n".join(rows(load(Path(sys.argv[1])))))


if __name__ == "__main__":
    main()
