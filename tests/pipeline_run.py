"""One small real pipeline run, shared by the end-to-end tests and the documentation's commands.

`build_pipeline` copies this checkout as a fresh clone has it (tracked and untracked, not ignored
files; no outputs, caches or lock), writes small settings on top of `params.yaml` (`SMALL`), runs
`dvc repro` and commits. `tests/conftest.py` builds it once per session (fixture
`pipeline_run`); tests that change the workspace work in a clone of it (`clone_run`), so the
order of the tests does not matter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DVC = str(BIN / "dvc")
ITEMS_PER_SOURCE = 3

#: Small settings on top of params.yaml: a 2,500-row cohort, two epochs, three one-candidate notes.
SMALL = {
    "prepare": {"n_rows": 2500, "min_class_rows": 5},
    "train_dp_tabular": {"epochs": 2, "vae": {"epochs": 2}, "ddpm": {"epochs": 2}},
    "sample": {"augment_target": 60},
    "narrate": {"n_rows": ITEMS_PER_SOURCE, "n_candidates": 1, "max_tokens": 40, "shard_size": 2},
    "evaluate": {
        "bootstrap": 20, "hgb_max_iter": 20, "discriminator_rows": 300, "privacy_rows": 200, "text_rows": 50,
        "text_max_features": 500,
    },
    "review": {"n_items_per_source": ITEMS_PER_SOURCE},
}  # fmt: skip


def env(root: Path) -> dict[str, str]:
    """The environment of every command in the copy ``root``: this Python's bin first (stage
    commands call `python` and `dvc`), the copy's own package first (an editable install may point
    at another checkout), one thread each (CI boxes are small), a git identity for commits."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(root),
        "OMP_NUM_THREADS": "1",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
    }


def run(cwd: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run a command in ``cwd``; a non-zero exit fails with the command and its output's tail."""
    proc = subprocess.run(list(args), cwd=cwd, env=env(cwd), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}:\n{tail}")
    return proc


#: Committed files under the output folders that are inputs, not what `dvc repro` writes: the sweeps
#: (stages/sweep_report.py), the checker's measured recall (a dep of evaluate), the audit figures, and
#: data/raw/ (its README and .gitignore; prepare depends on the folder).
KEPT = ("metrics/sweep_", "metrics/plots/sweep_", "metrics/checker/", "metrics/audit_", "data/raw/")


def _is_output(name: str) -> bool:
    if name.startswith(KEPT):
        return False
    return name == "dvc.lock" or name.startswith(("metrics/", "data/", "models/"))


def copy_checkout(dest: Path) -> None:
    """The files a fresh clone has (plus uncommitted work), without pipeline outputs, caches or lock."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    for name in filter(None, listed):
        src = REPO / name
        if not src.is_file() or _is_output(name):
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / name)
    (dest / "metrics").mkdir(exist_ok=True)


def _merge(params: dict, small: dict) -> None:
    """``small``'s settings written into ``params``, nested sections key by key (the rest kept)."""
    for key, value in small.items():
        if isinstance(value, dict) and isinstance(params.get(key), dict):
            _merge(params[key], value)
        else:
            params[key] = value


def build_pipeline(root: Path) -> Path:
    """``root`` after a full `dvc repro` of this checkout with the small settings, committed."""
    copy_checkout(root)
    params = yaml.safe_load((root / "params.yaml").read_text())
    _merge(params, SMALL)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(root, "git", "init", "-q")
    run(root, DVC, "repro", timeout=1800)
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-qm", "small run")
    return root


def clone_run(source: Path, dest: Path) -> Path:
    """A clone of the committed small run at ``dest``, its outputs checked out from ``source``'s DVC cache.

    The clone shares the cache (nothing is copied twice); what runs in it (`dvc exp run`, edits
    of params.yaml) leaves ``source``'s workspace and experiments as they were.
    """
    run(source, "git", "clone", "-q", str(source), str(dest))
    run(dest, DVC, "cache", "dir", "--local", str(source / ".dvc" / "cache"))
    run(dest, DVC, "checkout", "--quiet")
    return dest
