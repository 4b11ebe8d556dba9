"""How shiptrack writes its logs: text or JSON lines on standard error, with context fields.

``SHIPTRACK_LOG_FORMAT=text`` (the default) writes lines an operator reads::

    2026-12-03T22:58:11.123Z WARNING shiptrack.dispatcher: webhook se-3 ... [webhook_id=se-3]

``SHIPTRACK_LOG_FORMAT=json`` writes one JSON object a line, for a log pipeline: ``ts`` (UTC,
milliseconds), ``level``, ``logger``, ``msg``, the context fields that apply (:data:`FIELDS`), and
``exc`` with the traceback when there is one. Context fields come from :func:`log_context` (the
edge binds ``request_id`` and ``account_id`` for a request) or from a call's ``extra``.

Every process configures logging the same way through :func:`logging_config`, which uvicorn also
applies in each server process it starts (``--processes N``).
"""

from __future__ import annotations

import json
import logging
import logging.config
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

LogFormat = Literal["text", "json"]

#: The context fields a log line carries where they apply, in this order.
FIELDS = ("request_id", "account_id", "webhook_id", "carrier_code", "tracking_number")

_NO_FIELDS: Mapping[str, object] = MappingProxyType({})
_context: ContextVar[Mapping[str, object]] = ContextVar("shiptrack_log_context", default=_NO_FIELDS)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add ``fields`` to every line logged inside the block (in this task and the tasks it
    starts); ``None`` values are left out."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def context_fields(record: logging.LogRecord) -> dict[str, object]:
    """The context fields of a record: the bound context, then the call's ``extra``."""
    fields = {name: value for name, value in _context.get().items() if name in FIELDS}
    for name in FIELDS:
        value = record.__dict__.get(name)
        if value is not None:
            fields[name] = value
    return {name: fields[name] for name in FIELDS if name in fields}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TextFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> <logger>: <message> [field=value ...]``, then any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """One line (more when a traceback follows)."""
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        fields = context_fields(record)
        if fields:
            line += " [" + " ".join(f"{name}={value}" for name, value in fields.items()) + "]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts``, ``level``, ``logger``, ``msg``, the context fields, and
    ``exc`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line."""
        entry: dict[str, object] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(context_fields(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(log_format: LogFormat, level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that sends every logger (shiptrack's, uvicorn's, the
    libraries') to standard error in ``log_format`` at ``level``. uvicorn's own access log is
    not used: the edge writes access lines itself (``shiptrack.access``), with the request's
    fields."""
    formatter = (
        "shiptrack.logs.JsonFormatter" if log_format == "json" else ("shiptrack.logs.TextFormatter")
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "shiptrack",
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"shiptrack": {"()": formatter}},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            # uvicorn's loggers carry handlers of their own unless told otherwise.
            "uvicorn": {"handlers": [], "propagate": True, "level": level.upper()},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level.upper()},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            # Libraries speak at warning and above unless shiptrack is debugged.
            "aiosqlite": {"level": "WARNING"},
            "asyncio": {"level": "WARNING"},
            "sqlalchemy": {"level": "WARNING"},
        },
    }


def configure(log_format: LogFormat, level: str) -> None:
    """Configure this process's logging (see :func:`logging_config`)."""
    logging.config.dictConfig(logging_config(log_format, level))


class Throttle:
    """At most one line per key every ``interval`` seconds, counting the ones held back, so that
    a dead webhook endpoint cannot flood the log."""

    #: Keys remembered at most; older ones are forgotten first (each is a line let through again).
    MAX_KEYS = 10_000

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        #: key -> (when its last line was let through, lines held back since)
        self._last: dict[object, tuple[float, int]] = {}

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._last)

    def allow(self, key: object) -> int | None:
        """``None`` to hold this line back; else how many were held back since the last one."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last[0] < self.interval:
            self._last[key] = (last[0], last[1] + 1)
            return None
        if last is None and len(self._last) >= self.MAX_KEYS:
            self._last = {k: v for k, v in self._last.items() if now - v[0] < self.interval} or {}
        self._last[key] = (now, 0)
        return last[1] if last is not None else 0
