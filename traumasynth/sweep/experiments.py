"""Reading ``dvc exp show --json``: the workspace, baselines and experiments with their params and metrics."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traumasynth.core.errors import DataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Experiment:
    """One revision of ``dvc exp show --json``: its parameters and its metrics files.

    Attributes:
        name: the experiment's name (``workspace``, a branch, or a generated name like ``nubby-hard``).
        rev: the git revision (``workspace`` for the working tree).
        timestamp: ISO time of the revision (empty for the workspace).
        params: ``params.yaml`` as a nested mapping.
        metrics: metrics file path -> its content; files that could not be read are left out.
    """

    name: str
    rev: str
    timestamp: str
    params: Mapping[str, Any]
    metrics: Mapping[str, Mapping[str, Any]]


def _experiment(entry: Mapping[str, Any], *, name: str | None) -> Experiment | None:
    data = entry.get("data")
    rev = str(entry.get("rev", "?"))
    label = name or entry.get("name") or (rev if rev == "workspace" else rev[:7])
    if entry.get("error") or not isinstance(data, Mapping):
        logger.warning("Skipping experiment %s: %s", label, (entry.get("error") or {}).get("msg", "no data"))
        return None
    params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
    metrics = {
        path: content["data"]
        for path, content in (data.get("metrics") or {}).items()
        if isinstance(content, Mapping) and isinstance(content.get("data"), Mapping)
    }
    return Experiment(
        name=str(label), rev=rev, timestamp=str(data.get("timestamp") or ""), params=params, metrics=metrics
    )


#: Executor states of ``dvc exp show`` whose metrics are not the experiment's own (yet).
_UNFINISHED = frozenset({"queued", "running", "failed"})


def parse_exp_show(*, exp_show: Any) -> list[Experiment]:
    """The revisions of a ``dvc exp show --json`` document: the workspace, baselines and their experiments.

    Entries that DVC reports with an error (a failed or unreadable experiment) are skipped with a
    warning; queued, running and failed experiments of the queue are skipped (their metrics files
    are still the baseline's).

    Raises:
        DataError: the document is not the list ``dvc exp show --json`` prints.
    """
    if not isinstance(exp_show, list):
        raise DataError(
            "The experiments document is not a JSON list as printed by `dvc exp show --json`. "
            "Regenerate it with `dvc exp show --json --all-commits > exps.json`."
        )
    out: list[Experiment] = []
    for entry in exp_show:
        if not isinstance(entry, Mapping):
            raise DataError("An entry of the `dvc exp show --json` document is not an object. Regenerate the file.")
        if (exp := _experiment(entry, name=None)) is not None:
            out.append(exp)
        for group in entry.get("experiments") or ():
            state = (group.get("executor") or {}).get("state")
            if state in _UNFINISHED:
                # A queued or running experiment shows its baseline's metrics under its own params.
                logger.info("Skipping experiment %s: %s", group.get("name") or "?", state)
                continue
            for run in group.get("revs") or ():
                if (exp := _experiment(run, name=run.get("name") or group.get("name"))) is not None:
                    out.append(exp)
    return out


def read_exp_show(*, path: Path | None, repo: Path = Path(".")) -> Any:
    """The parsed JSON of ``dvc exp show --json``: read from ``path``, or run in ``repo`` when it is None.

    Raises:
        DataError: the file is missing or not JSON, or ``dvc exp show`` failed.
    """
    if path is not None:
        if not path.is_file():
            raise DataError(
                f"Experiments file {path} not found. Write it with `dvc exp show --json --all-commits > {path}`."
            )
        text = path.read_text()
    else:
        # Every commit's experiments: a sweep queued before a later commit stays visible.
        cmd = [sys.executable, "-m", "dvc", "exp", "show", "--json", "--all-commits"]
        proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise DataError(
                f"`dvc exp show --json` failed in {repo} (exit {proc.returncode}): {proc.stderr.strip()[-500:]} "
                "Run it from the project root, inside the project's virtual environment."
            )
        text = proc.stdout
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"The output of `dvc exp show --json` is not JSON ({exc}).") from exc
