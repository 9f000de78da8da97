"""`data/raw/`, where a user's private table goes: ignored by git, and a dependency of `prepare` that DVC watches.

`base.dataset_path` is a parameter: DVC sees the path change, not the file behind it. The folder
dep is what makes a file replaced at the same path rerun `prepare`; the test runs the real DVC on
this repository's own `dvc.yaml` (`dvc commit` and `dvc status`, no `dvc repro`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

BIN = Path(sys.executable).parent
RAW = "data/raw"


def _git(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def git_checkout() -> Path:
    if shutil.which("git") is None or _git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout")
    return REPO


@pytest.mark.parametrize("name", ["my_ed.csv", "my_ed.parquet", "export 2024/ed.csv", "ed.csv.gz"])
def test_private_tables_in_data_raw_are_ignored_by_git(git_checkout: Path, name: str) -> None:
    assert _git("check-ignore", "-q", f"{RAW}/{name}").returncode == 0, f"git would commit {RAW}/{name}"


def test_the_readme_of_data_raw_is_tracked(git_checkout: Path) -> None:
    for name in ("README.md", ".gitignore"):
        assert _git("check-ignore", "-q", f"{RAW}/{name}").returncode == 1, name
        assert (REPO / RAW / name).is_file()


def test_the_docs_suggest_only_ignored_paths_for_private_data(git_checkout: Path) -> None:
    text = (REPO / "docs" / "data.md").read_text()
    assert f"`{RAW}/my_ed.csv`" in text
    assert _git("check-ignore", "-q", f"{RAW}/my_ed.csv").returncode == 0


def test_prepare_depends_on_data_raw_and_says_so_on_its_command_line() -> None:
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["prepare"]
    assert RAW in stage["deps"]
    assert f"--raw-dir {RAW}" in stage["cmd"]


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}


def _run(cwd: Path, *args: str) -> str:
    proc = subprocess.run(list(args), cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_replacing_the_raw_file_makes_dvc_report_prepare_changed(git_checkout: Path, tmp_path: Path) -> None:
    """In a copy of the project: record `prepare` as run, replace the raw file, ask `dvc status`."""
    dvc = BIN / "dvc"
    if not dvc.is_file():
        pytest.skip("dvc is not installed beside this Python")
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout.split("\0")
    for name in filter(None, listed):
        outputs = name.startswith(("metrics/", "data/", "models/")) and not name.startswith(f"{RAW}/")
        if name == "dvc.lock" or outputs or not (REPO / name).is_file():
            continue
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, tmp_path / name)
    _run(tmp_path, "git", "init", "-q")
    table = tmp_path / RAW / "my_ed.csv"
    table.write_text("age,sex\n30,female\n")
    # Stand-ins for prepare's outputs, so that `dvc commit` can record the stage as run.
    (tmp_path / "data/prepared").mkdir(parents=True)
    (tmp_path / "data/prepared/train.parquet").write_text("stand-in")
    (tmp_path / "metrics").mkdir(exist_ok=True)
    (tmp_path / "metrics/prepare.json").write_text("{}\n")
    _run(tmp_path, str(dvc), "commit", "--force", "prepare")
    assert "up to date" in _run(tmp_path, str(dvc), "status", "prepare")

    table.write_text("age,sex\n31,male\n")  # a new export, same path, same params
    status = _run(tmp_path, str(dvc), "status", "prepare")
    assert "prepare:" in status and "changed deps" in status, status
    assert re.search(rf"modified:\s+{RAW}\n", status), status
