"""What the checker-label tests share: the failure detail of a score, and the committed figures check."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from traumasynth.experiments.checker_score import CheckerScore


def detail(score: CheckerScore) -> str:
    """The per-fact table, the misses and the false alarms: what a failing threshold shows."""
    return f"\n{score.table()}\nmisses: {score.misses}\nfalse alarms: {score.false_alarms}"


def assert_committed(measured: dict[str, Any], path: Path, *, test_file: str) -> None:
    """``path`` holds ``measured``; with ``TRAUMASYNTH_WRITE_CHECKER_METRICS=1``, write it first."""
    if os.environ.get("TRAUMASYNTH_WRITE_CHECKER_METRICS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    committed = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    assert committed == measured, (
        f"{path.relative_to(REPO)} is not what the checker now measures. If the change is deliberate, rewrite it: "
        f"TRAUMASYNTH_WRITE_CHECKER_METRICS=1 pytest {test_file}"
    )
