"""``scripts/update_tracking_data.py`` on a copy of the vendored data (no pytest run)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from shiptrack.domain.detection.formats import courier_files

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "update_tracking_data.py"
DATA = ROOT / "src" / "shiptrack" / "domain" / "detection" / "data"


def _run(source: Path, dest: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(source), "--dest", str(dest), "--no-test"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_script_copies_the_data_and_notes_the_commit(tmp_path: Path) -> None:
    upstream = tmp_path / "upstream"
    shutil.copytree(DATA, upstream, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    (upstream / "SOURCE.txt").unlink()  # an upstream checkout has none
    (upstream / "couriers" / "gofo.json").unlink()  # a courier the new data dropped
    dest = tmp_path / "dest"
    shutil.copytree(DATA, dest, ignore=shutil.ignore_patterns("__pycache__"))
    done = _run(upstream, dest)
    assert done.returncode == 0, done.stderr
    assert "copied 17 courier files" in done.stdout
    assert not (dest / "couriers" / "gofo.json").exists()
    for name in ("ups.json", "usps.json"):
        assert (dest / "couriers" / name).read_bytes() == (DATA / "couriers" / name).read_bytes()
    note = (dest / "SOURCE.txt").read_text()
    assert "Commit: unknown (upstream is not a git checkout" in note
    assert note.startswith("Repository: github.com/jkeen/tracking_number_data\n")


def test_the_script_refuses_a_folder_without_couriers(tmp_path: Path) -> None:
    done = _run(tmp_path, tmp_path / "dest")
    assert done.returncode != 0
    assert "not a tracking_number_data copy" in done.stderr


def test_the_vendored_data_has_every_courier() -> None:
    assert len(courier_files()) == 18


def test_from_a_git_checkout_the_commit_is_written(tmp_path: Path) -> None:
    upstream = tmp_path / "upstream"
    shutil.copytree(DATA / "couriers", upstream / "couriers")
    shutil.copyfile(DATA / "SOURCE.txt", upstream / "SOURCE.txt")

    def git(*args: str) -> str:
        command = ["git", "-C", str(upstream), "-c", "user.name=t", "-c", "user.email=t@t", *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "data")
    git("tag", "v9.9.9")
    dest = tmp_path / "dest"
    assert _run(upstream, dest).returncode == 0
    note = (dest / "SOURCE.txt").read_text().splitlines()
    assert f"Commit: {git('rev-parse', 'HEAD')} (copied by" in "\n".join(note)
    assert "Tag: v9.9.9" in note
