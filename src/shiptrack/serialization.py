"""JSON as shiptrack writes it everywhere: compact UTF-8."""

from __future__ import annotations

import json
from typing import Any


def dump_json(body: Any) -> bytes:
    """Compact UTF-8 JSON bytes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
