"""What every benchmark scenario needs: databases, server processes, wrk, medians, the machine."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa

from shiptrack.app import Shiptrack, build
from shiptrack.settings import Settings
from shiptrack.store.database import Database
from shiptrack.store.sql import SqlStore

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "bench"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def median(values: list[float]) -> float:
    """The median, as every figure in BENCHMARKS.md is reported."""
    return float(statistics.median(values)) if values else 0.0


def sql_database(services: Shiptrack) -> Database:
    """The SQL database under the services (the benchmarks set up and read tables directly)."""
    assert isinstance(services.store, SqlStore)
    return services.store.database


async def read_row(settings: Settings, query: sa.Executable) -> tuple[Any, ...]:
    """The one row ``query`` reads from the database of ``settings``."""
    services = build(settings)
    try:
        async with sql_database(services).read() as conn:
            return tuple((await conn.execute(query)).one())
    finally:
        await services.close()


def percentile(ordered: list[float], pct: float) -> float:
    """The ``pct``-th percentile of already sorted values (nearest rank; 0 when there are none)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, empty database URL (``sqlite`` or ``postgresql``), dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="shiptrack-bench-") as home:
            yield f"sqlite+aiosqlite:///{home}/bench.db"
        return
    name = f"shiptrack_bench_{uuid.uuid4().hex[:10]}"
    _psql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            PG_ADMIN_URL.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
            + "/"
            + name
        )
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _psql(statement: str) -> None:
    subprocess.run(
        ["psql", PG_ADMIN_URL, "-qtc", statement], check=True, capture_output=True, text=True
    )


def env_for(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a shiptrack process under benchmark."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPTRACK_")}
    env.update(
        SHIPTRACK_DATABASE_URL=database_url,
        SHIPTRACK_DATA_DIR=str(data_dir),
        SHIPTRACK_SECRET_KEY="bench-secret",
        SHIPTRACK_ACCESS_LOG="false",
        SHIPTRACK_LOG_LEVEL="warning",
        SHIPTRACK_RATE_LIMIT_PER_MINUTE="100000000",
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str) -> str:
    """Run ``shiptrack ARGS``; its stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "shiptrack", *args], env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise RuntimeError(f"shiptrack {' '.join(args)}: {result.stderr}")
    return result.stdout


@dataclass
class Process:
    """A background process under measurement."""

    popen: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


@contextmanager
def helper_server(module: str) -> Iterator[str]:
    """A benchmark helper (``bench.fake_carriers``, ``bench.receiver``) on a free port, answering
    ``/stats``; its URL. Stopped afterwards."""
    port = free_port()
    popen = subprocess.Popen(
        [sys.executable, "-m", module, str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, popen, path="/stats")
        yield url
    finally:
        popen.terminate()
        popen.wait()


def wait_healthy(url: str, popen: subprocess.Popen[bytes], path: str = "/health") -> None:
    """Block until ``url + path`` answers."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"process exited with {popen.returncode}")
        try:
            httpx.get(url + path, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


@contextmanager
def shiptrack_server(env: dict[str, str], *, processes: int = 1) -> Iterator[Process]:
    """``shiptrack serve`` with ``processes`` server processes on a free port."""
    port = free_port()
    popen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shiptrack",
            "serve",
            "--port",
            str(port),
            "--processes",
            str(processes),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    process = Process(popen, f"http://127.0.0.1:{port}")
    try:
        wait_healthy(process.url, popen)
        yield process
    finally:
        process.stop()


def wrk(
    url: str,
    *,
    script: Path,
    connections: int = 64,
    seconds: int = 15,
    threads: int = 2,
    env: dict[str, str] | None = None,
) -> dict[str, float]:
    """Run wrk from its own process; requests/s, p50 and p99 (ms), and errors."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the API benchmarks: apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as combined:
        combined.write(script.read_text() + "\n" + (ROOT / "bench" / "wrk_report.lua").read_text())
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            combined.name,
            url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    os.unlink(combined.name)
    summary = re.search(r"^JSON (.*)$", result.stdout, re.M)
    if summary is None:
        raise RuntimeError(f"wrk gave no summary:\n{result.stdout}\n{result.stderr}")
    figures: dict[str, float] = json.loads(summary.group(1))
    return figures


T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` with uvloop when available."""
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)
