"""Update the vendored jkeen/tracking_number_data from a newer copy, then run the detection tests.

    python scripts/update_tracking_data.py /path/to/tracking_number_data

copies ``couriers/*.json`` (a courier file the new copy no longer has is removed), ``LICENSE``,
``README.md``, ``CHECKSUM_ALGORITHMS.md`` and ``glossary.json`` verbatim into
``src/shiptrack/domain/detection/data/``. ``SOURCE.txt`` is the new copy's own when it has one;
when the path is a git checkout, its ``Commit:`` line is set from ``git rev-parse HEAD`` (and its
``Tag:`` line from an exact tag, if any). Then ``pytest tests/unit/detection`` runs and the script
exits with its status: a new format without a ``carriers.csv`` row, a new collision, a test number
that no longer validates or a checksum name shiptrack does not implement fails there. A format id
the data renamed goes into ``aliases.csv`` (``old_format_id,new_format_id``) rather than a
rewrite of ``carriers.csv``.

``--dest`` writes elsewhere and ``--no-test`` skips pytest (both for the script's own test). The
script imports nothing of shiptrack, so it runs even when the new data breaks the package.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "shiptrack" / "domain" / "detection" / "data"
FILES = ("LICENSE", "README.md", "CHECKSUM_ALGORITHMS.md", "glossary.json")


def git(source: Path, *args: str) -> str | None:
    """A git command's output in ``source``, ``None`` when it is not a checkout (or git fails)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(source), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def source_note(source: Path, previous: str) -> str:
    """The new ``SOURCE.txt``: the copy's own (else the previous one), with the commit set."""
    note = source / "SOURCE.txt"
    text = note.read_text("utf-8") if note.is_file() else previous
    commit = git(source, "rev-parse", "HEAD")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    if commit is None:
        line = f"Commit: unknown ({source.name} is not a git checkout; copied {today})"
    else:
        line = f"Commit: {commit} (copied by scripts/update_tracking_data.py {today})"
    lines = text.splitlines()
    replaced = [line if old.startswith("Commit:") else old for old in lines]
    if replaced == lines and line not in lines:
        replaced.insert(min(1, len(replaced)), line)
    tag = git(source, "describe", "--tags", "--exact-match")
    if tag is not None:
        replaced = [f"Tag: {tag}" if old.startswith("Tag:") else old for old in replaced]
    return "\n".join(replaced) + "\n"


def copy(source: Path, dest: Path) -> list[str]:
    """Copy the data files from ``source`` into ``dest``; the names of the courier files."""
    couriers = sorted((source / "couriers").glob("*.json"))
    if not couriers:
        raise SystemExit(f"{source} has no couriers/*.json: not a tracking_number_data copy")
    previous = (dest / "SOURCE.txt").read_text("utf-8") if (dest / "SOURCE.txt").is_file() else ""
    (dest / "couriers").mkdir(parents=True, exist_ok=True)
    for stale in (dest / "couriers").glob("*.json"):
        if not (source / "couriers" / stale.name).is_file():
            stale.unlink()
    for path in couriers:
        shutil.copyfile(path, dest / "couriers" / path.name)
    for name in FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, dest / name)
    (dest / "SOURCE.txt").write_text(source_note(source, previous), "utf-8")
    return [path.name for path in couriers]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Update the vendored tracking_number_data.")
    parser.add_argument("source", type=Path, help="a checkout (or copy) of tracking_number_data")
    parser.add_argument("--dest", type=Path, default=DATA, help="where the vendored data lives")
    parser.add_argument("--no-test", action="store_true", help="do not run the detection tests")
    args = parser.parse_args(argv)
    names = copy(args.source.resolve(), args.dest)
    print(f"copied {len(names)} courier files into {args.dest}")
    if args.no_test:
        return 0
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    return subprocess.run([*command, "tests/unit/detection"], cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
